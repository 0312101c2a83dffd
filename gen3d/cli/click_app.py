"""The ``gen3d`` Typer app as a plain click command, for generated docs.

``docs/cli.md`` renders it with the ``mkdocs-click`` extension, so the CLI reference always matches the app.
"""

from __future__ import annotations

import typer

from gen3d.cli import app

command = typer.main.get_command(app)
