"""Typed stack configuration shared by the `visio` CLI and the Pulumi program."""

from common.config.loader import Stack, load_stack, load_stack_file, stack_names, stack_path
from common.config.model import StackConfig
from common.config.secure import SecureValue

__all__ = ["SecureValue", "Stack", "StackConfig", "load_stack", "load_stack_file", "stack_names", "stack_path"]
