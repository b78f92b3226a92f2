"""`visio scan`: a live cluster's objects (`live`) and the images its pods actually run (`running`),
judged by the rule engine, read through the one cluster client (`visio.cluster`).
"""
