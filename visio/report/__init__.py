"""Rendering an engine Report for people and machines; each format is one module taking the Report.

`visio audit` and `visio plan` share these; new formats (sarif, junit, html) go beside them.
"""
