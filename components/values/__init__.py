"""Chart values computed from a typed stack configuration (pure Python, no Pulumi).

Each module `components/values/<chart>.py` exposes `values(stack)` (the chart's values) and
`secrets(stack)` (the Kubernetes Secrets the component generates for that chart, by name and key).
"""
