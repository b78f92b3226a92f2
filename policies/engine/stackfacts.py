"""The facts about a stack that stack-level rules judge, decided once for `visio plan` and the pack.

The backend is the one `pulumi` would use: PULUMI_BACKEND_URL, else Pulumi.yaml's `backend.url`. The
secrets provider and the environment come from the stack file as written, so a stack file that does
not validate still gets judged on what it says.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from common.config.loader import secrets_provider
from common.errors import InputError
from common.paths import PROJECT_ROOT
from common.yamlsafe import load_one, read_text
from policies.engine.model import StackFacts

PROJECT_FILE = PROJECT_ROOT / "Pulumi.yaml"


def backend_url(project_file: Path = PROJECT_FILE) -> str | None:
    url = os.environ.get("PULUMI_BACKEND_URL", "").strip()
    if url:
        return url
    project = load_one(read_text(project_file, max_bytes=1024 * 1024), project_file.name)
    backend = project.get("backend") if isinstance(project, dict) else None
    if backend is not None and not isinstance(backend, dict):
        raise InputError(f"{project_file.name}: backend: must be a mapping")
    value = (backend or {}).get("url")
    return value if isinstance(value, str) and value.strip() else None


def stack_facts(
    name: str | None, stack_file: Mapping[str, Any] | None, production: bool, project_file: Path = PROJECT_FILE
) -> StackFacts:
    """`production` is the policy config's; a stack file saying `visio:environment: prod` also makes it so."""
    provider: str | None = None
    if stack_file is not None:
        settings = stack_file.get("config")
        environment = settings.get("visio:environment") if isinstance(settings, dict) else None
        production = production or environment == "prod"
        provider = secrets_provider(stack_file)
    return StackFacts(
        name=name or "(unknown)",
        production=production,
        backend_url=backend_url(project_file),
        secrets_provider=provider,
    )
