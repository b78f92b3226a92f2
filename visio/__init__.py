"""The `visio` command line: one package per front end (plan, audit, scan, drift, verify, summarize)."""
