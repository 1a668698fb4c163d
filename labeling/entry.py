"""The `labeling` command's entry point: Ctrl+C while the command is still loading its modules (a second or more on
a busy machine) ends it with exit status 130 and no traceback, as Ctrl+C does once it runs (cli.main)."""

from __future__ import annotations

import sys


def main() -> None:
    """Load the command and run it."""
    try:
        from labeling import cli
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(cli.main())
