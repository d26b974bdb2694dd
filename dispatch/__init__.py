"""dispatch: run several Claude Code sessions in parallel on one feature."""

__version__ = "0.1.0"
