"""`visio drift`: a stack's desired objects against the live ones, field by field (`compare`), read
through the one cluster client (`visio.cluster`).
"""
