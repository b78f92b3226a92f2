"""`visio verify`: proof that running services behave as their stack declares.

Local mode starts coturn and Redis on loopback from the configuration the charts render; cluster
mode execs into the stack's pods. Both run the same checks through testinfra hosts.
"""
