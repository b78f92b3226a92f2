"""Pulumi components of the platform, one per service, and their pure values builders."""
