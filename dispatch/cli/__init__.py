"""Command-line entry point: runs the Typer app and maps failures to exit codes.

Exit codes: 0 success; 1 a problem the user can fix (one line on stderr); 2 usage error;
70 an unexpected error (a short message plus the path of the full traceback); 130 Ctrl-C.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from dispatch.core.errors import DispatchError

if TYPE_CHECKING:
    import typer

EXIT_INTERNAL = 70
COMMAND_MODULES = ("plan_cmd", "split_cmd", "start_cmd", "sessions_cmd", "integrate_cmd",
                   "teams_cmd",
                   "extras_cmd")


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        return _run(args)
    except DispatchError as exc:
        print(f"dispatch: error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("dispatch: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        return _report_crash(exc)


def _run(args: list[str]) -> int:
    from dispatch.cli import fast

    if fast.handles(args):
        return fast.run(args)
    if args == ["--version"]:  # what scripts and CI ask first: no need for the whole app
        from dispatch import __version__

        print(f"dispatch {__version__}")
        return 0
    app = _for_command(load_app(), args)
    result = app(args=args, prog_name="dispatch", standalone_mode=False)
    return result if isinstance(result, int) else 0


def load_app() -> typer.Typer:
    """The Typer app with every command registered (imported only when needed)."""
    from importlib import import_module

    from dispatch.cli.app import app

    for module in COMMAND_MODULES:  # importing a module registers its commands, in this order
        import_module(f"dispatch.cli.{module}")
    return app


def _for_command(app: typer.Typer, args: list[str]) -> typer.Typer:
    """The app with only the command that `args` name. Typer builds every registered command
    (each function's signature read, each option made) on every call: about 35 ms for the
    whole app, spent before any work. The app's own help, a mistyped command (its "did you
    mean") and shell completion keep every command."""
    import copy

    named = [c for c in app.registered_commands if args and c.name == args[0]]
    if not named or os.environ.get("_DISPATCH_COMPLETE"):
        return app
    narrow = copy.copy(app)
    narrow.registered_commands = named
    return narrow


def _report_crash(exc: BaseException) -> int:
    import tempfile
    import time
    import traceback

    if _usage_error(exc):
        exc.show()  # type: ignore[attr-defined]
        return int(exc.exit_code)  # type: ignore[attr-defined]
    if os.environ.get("DISPATCH_DEBUG"):
        traceback.print_exception(exc)
        return EXIT_INTERNAL
    stamp = time.strftime("%Y%m%d-%H%M%S")
    fd, path = tempfile.mkstemp(prefix=f"dispatch-crash-{stamp}-", suffix=".log")
    with os.fdopen(fd, "w") as log:
        log.write("".join(traceback.format_exception(exc)))
    print(f"dispatch: unexpected error ({type(exc).__name__}: {exc}); this is a bug in dispatch. "
          f"Traceback saved to {path}", file=sys.stderr)
    return EXIT_INTERNAL


def _usage_error(exc: BaseException) -> bool:
    # Typer's click exceptions (bad option, missing argument) and the fast path's UsageError
    # carry `show` and `exit_code`.
    return hasattr(exc, "show") and hasattr(exc, "exit_code")
