"""The console script ``learnexport``. It imports the command line inside ``main``, so
that an interrupt while the (heavy) imports run is handled like any other: one line,
exit 130, no traceback."""

from __future__ import annotations

import sys


def main() -> None:
    from .errors import INTERRUPTED  # light: before the heavy imports an interrupt may hit

    try:
        from .cli import main as run
    except KeyboardInterrupt:
        sys.stderr.write(f"learnexport: {INTERRUPTED}\n")
        raise SystemExit(130) from None
    run()
