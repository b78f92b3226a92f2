"""Where the project keeps its stacks and charts, and how a path is shown to a person."""

from __future__ import annotations

from pathlib import Path

# The project root: where Pulumi.yaml, stacks/ and charts/ live.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
STACKS_DIR = PROJECT_ROOT / "stacks"
CHARTS_DIR = PROJECT_ROOT / "charts"


def chart_path(name: str) -> Path:
    return CHARTS_DIR / name


def display(path: Path) -> str:
    """The path relative to the working directory, else to the project, else as given."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        try:
            return str(path.resolve().relative_to(PROJECT_ROOT))
        except ValueError:
            return str(path)
