"""The one client of a live cluster's API, read-only, used by `visio scan` and `visio drift`.

`kinds` is the table of what is read and how; `connect` turns a kubeconfig into an API client;
`reader` lists every kind page by page and records each kind it could not read; `localnodes` makes
the simulated nodes of the local control plane from a stack's capacity.
"""
