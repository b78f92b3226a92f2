"""Sovereign Visio platform: typed stacks, rendering, and the `visio` command-line tool."""

from pathlib import Path

# The project root: where Pulumi.yaml, stacks/ and charts/ live.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
