"""Typed stack configuration shared by the `visio` CLI and the Pulumi program."""

from visio.config.loader import Stack, load_stack, load_stack_file, stack_names, stack_path
from visio.config.model import StackConfig
from visio.config.secure import SecureValue

__all__ = ["SecureValue", "Stack", "StackConfig", "load_stack", "load_stack_file", "stack_names", "stack_path"]
