"""One-line errors for the command line: message + fix, non-zero exit, no traceback unless --debug."""

from __future__ import annotations

import os
import sys

import typer


class Gen3DError(Exception):
    """A user-facing error: its message names the problem and the fix."""


def fail(message: str, code: int = 2) -> None:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def debug_enabled() -> bool:
    return os.environ.get("GEN3D_DEBUG", "") not in ("", "0") or "--debug" in sys.argv
