"""What the commands' arguments share: choosing stacks (one STACK or --all)."""

from __future__ import annotations

from common.config import stack_names
from common.errors import InputError


def selected_stacks(stack: str | None, all_stacks: bool) -> list[str]:
    if all_stacks == (stack is not None):
        raise InputError("give one STACK or --all")
    names = stack_names() if all_stacks else [stack or ""]
    if not names:
        raise InputError("stacks/: no Pulumi.<stack>.yaml files")
    return names
