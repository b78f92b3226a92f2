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

# Command -> the module defining `register(app)` for it, in the order of `visio --help`. Only the
# module of the command being run is imported: a one-file `visio audit` does not load the Kubernetes
# client, the stack models or the report renderers that other commands need.
COMMANDS = {
    "stacks": "visio.stacks.command",
    "validate": "visio.stacks.validate",
    "plan": "visio.plan.command",
    "audit": "visio.audit.command",
    "scan": "visio.scan.command",
    "drift": "visio.drift.command",
    "summarize": "visio.summarize.command",
    "verify": "visio.verify.command",
    "capacity": "visio.capacity.command",
    "admission": "visio.admission.command",
}
_loaded: set[str] = set()


@app.callback()
def _group() -> None:
    """Sovereign Visio platform: stacks, offline plans and sovereignty audits."""


def load_commands(names: list[str] | None = None) -> typer.Typer:
    """Register the named commands (every one when None) and return the app."""
    for name in names if names is not None else list(COMMANDS):
        if name not in _loaded:
            importlib.import_module(COMMANDS[name]).register(app)
            _loaded.add(name)
    return app


def _command_in(args: list[str]) -> str | None:
    first = next((a for a in args if not a.startswith("-")), None)
    return first if first in COMMANDS else None


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
        # Help and unknown commands list every command; a known one loads alone.
        command = _command_in(args)
        load_commands([command] if command is not None else None)
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
