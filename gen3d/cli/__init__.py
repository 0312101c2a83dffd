"""The ``gen3d`` command line: a thin Typer shell over the library.

Each command group lives in its own module exposing ``register(app)``. Modules import torch and the
heavy stages inside their command functions only, so ``gen3d --help`` stays fast.
"""

from __future__ import annotations

import importlib

import typer

from gen3d import __version__

app = typer.Typer(
    name="gen3d",
    help="Text prompt -> textured, game-ready 3D mesh (GLB/OBJ/PLY/USDZ), offline on a CPU.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Command modules, in the order their commands appear in --help.
COMMAND_MODULES = ["gen3d.cli.make", "gen3d.cli.mesh", "gen3d.cli.train", "gen3d.cli.eval", "gen3d.cli.data",
                   "gen3d.cli.info", "gen3d.cli.serve", "gen3d.cli.batch", "gen3d.cli.render", "gen3d.cli.models"]


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"gen3d {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """gen3d: text prompt -> coloured point cloud -> textured mesh."""


for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main() -> None:
    app()
