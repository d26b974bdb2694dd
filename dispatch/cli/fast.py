"""A lean path for `dispatch status`, run without importing Typer.

Typer builds pydantic adapters for the parameters of the command it runs, which costs more
than the whole status query; status is polled by people, scripts and the slash command, so
it is parsed here with argparse instead. The Typer command in `sessions_cmd.py` stays the
documented interface (`dispatch status -h` goes there) and both call
`show.command`; tests/test_cli.py checks that the two accept the same options.
"""

from __future__ import annotations

import argparse
from typing import NoReturn


class UsageError(Exception):
    exit_code = 2

    def show(self) -> None:
        import sys

        print(f"Usage: dispatch status [OPTIONS] [FEATURE]\nTry 'dispatch status -h' for "
              f"help.\n\nError: {self}", file=sys.stderr)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def parser() -> argparse.ArgumentParser:
    found = _Parser(prog="dispatch status", add_help=False, allow_abbrev=False)
    found.add_argument("feature", nargs="?")
    found.add_argument("-f", "--feature", dest="feature_option")
    found.add_argument("--json", dest="as_json", action="store_true")
    found.add_argument("--format", dest="fmt")
    found.add_argument("--watch", action=argparse.BooleanOptionalAction, default=False)
    found.add_argument("--interval", type=float, default=2.0)
    found.add_argument("-v", "--verbose", action="store_true")
    return found


def handles(args: list[str]) -> bool:
    return args[:1] == ["status"] and not {"-h", "--help"} & set(args)


def run(args: list[str]) -> int:
    from dispatch.commands.status import show

    options = parser().parse_args(args[1:])
    if options.interval < 0.2:
        raise UsageError(f"Invalid value for '--interval': {options.interval} is not in the "
                         "range x>=0.2.")
    if options.feature and options.feature_option and options.feature != options.feature_option:
        raise UsageError("the feature is named twice, differently; name it once")
    return show.command(options.feature or options.feature_option, as_json=options.as_json,
                        watch_=options.watch, interval=options.interval,
                        verbose=options.verbose, fmt=options.fmt)
