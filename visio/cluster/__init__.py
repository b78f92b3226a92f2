"""The one client of a live cluster's API, read-only, used by `visio scan` and `visio drift`.

`kinds` is the table of what is read and where; `connect` turns a kubeconfig into an API client;
`api` makes the requests (one error type, timeouts, paging that restarts an expired list,
discovery); `reader` lists every kind of the table and records each kind it could not read;
`localnodes` makes the simulated nodes of the local control plane from a stack's capacity.
"""
