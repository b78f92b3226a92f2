"""`visio stacks` and `visio validate`: the stack files, listed and checked against the typed configuration.
"""
