"""`visio audit`: manifests and Helm charts from anywhere, read as the API server decodes them
(`manifests`); a chart someone else wrote renders in a child process within limits (`isolated`).
"""
