"""What every part of the platform shares: errors, safe readers, key paths, project paths, images, regions.

It imports nothing else of the project, so the rule engine, the components and the command-line front
ends can all depend on it without depending on each other.
"""
