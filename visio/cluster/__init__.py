"""Reading a live cluster, read-only, with the official `kubernetes` client.

`kinds` is the table of what is read and how; `connect` turns a kubeconfig into an API client;
`reader` lists every kind page by page and records each kind it could not read; `running` finds the
images pods actually run; `scan` judges the snapshot with the one rule engine.
"""
