"""The command line."""

import sys

from greet.core import greet


def main(argv: list[str]) -> int:
    print(greet(" ".join(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
