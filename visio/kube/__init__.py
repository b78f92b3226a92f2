"""Kubernetes objects as plan and audit read them: the OpenAPI schema check, the API server's
defaulting, and rendering Helm charts with the Helm library.
"""
