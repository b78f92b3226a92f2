"""The `visio` command-line tool: one Typer app, each command registered by its front end's package."""

from __future__ import annotations

import importlib
import sys
import traceback

import typer

from common.errors import InputError, redact

# Exit codes every command keeps: 0 clean, 1 findings (or drift), 2 unusable input, 3 a crash, so a
# pipeline never mistakes a crash for a verdict.
EXIT_INPUT = 2
EXIT_CRASH = 3

app = typer.Typer(
    name="visio",
    help="Sovereign Visio platform: stacks, offline plans and sovereignty audits.\n\n"
    "Exit codes: 0 clean, 1 mandatory findings (or drift), 2 unusable input, 3 internal error "
    "(rerun with --debug for the traceback).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Each module defines `register(app)`; the order is the order of `visio --help`.
COMMANDS = (
    "visio.stacks.command",
    "visio.stacks.validate",
    "visio.plan.command",
    "visio.audit.command",
    "visio.scan.command",
    "visio.drift.command",
    "visio.summarize.command",
    "visio.verify.command",
    "visio.capacity.command",
    "visio.admission.command",
)


def _load_commands() -> None:
    for module in COMMANDS:
        importlib.import_module(module).register(app)


_load_commands()


def _crash_line(exc: BaseException) -> str:
    detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
    what = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    return f"error: internal error ({redact(what)}); rerun with --debug for the traceback"


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    # `--debug` is accepted anywhere before `--`, so it can be added to any failing command line.
    end = args.index("--") if "--" in args else len(args)
    debug = "--debug" in args[:end]
    if debug:
        args = [a for i, a in enumerate(args) if i >= end or a != "--debug"]
    # Names and values come from untrusted input: never let one that cannot be encoded kill the output.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    try:
        app(args=args, prog_name="visio", standalone_mode=True)
    except InputError as exc:
        for line in exc.problems:
            print(f"error: {redact(line)}", file=sys.stderr)
        sys.exit(EXIT_INPUT)
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:
        if debug:
            traceback.print_exc()
        print(_crash_line(exc), file=sys.stderr)
        sys.exit(EXIT_CRASH)
