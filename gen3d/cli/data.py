"""``gen3d data categories|build|preview``: the procedural dataset and users' mesh folders."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from gen3d.cli.errors import fail

data_app = typer.Typer(
    help="The procedural 3D dataset: list categories, build a cache, preview shapes.", no_args_is_help=True
)


@data_app.command("categories")
def categories(as_json: bool = typer.Option(False, "--json", help="Add family, synonyms and sizes.")) -> None:
    """List the category names, one a line, in label order.

    Example: gen3d data categories --json
    """
    from gen3d.data.procedural import CATEGORIES, category_names

    names = category_names()
    if not as_json:
        typer.echo("\n".join(names))
        return
    rows = [
        {
            "name": n,
            "label": i,
            "family": CATEGORIES[n].family,
            "synonyms": CATEGORIES[n].synonyms,
            "size_m": CATEGORIES[n].size_m,
        }
        for i, n in enumerate(names)
    ]
    typer.echo(json.dumps(rows, indent=2))


def _progress_bar(total: int, label: str):
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    progress = Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn()
    )
    task = progress.add_task(label, total=total)
    return progress, lambda done, _total: progress.update(task, completed=done)


def _parse_categories(text: str | None) -> tuple[str, ...]:
    if not text:
        return ()
    from gen3d.data.procedural import CATEGORIES

    cats = tuple(c.strip() for c in text.split(",") if c.strip())
    unknown = [c for c in cats if c not in CATEGORIES]
    if unknown:
        fail(f"unknown categories {unknown}: see `gen3d data categories`")
    return cats


@data_app.command("build")
def build(
    out: Path = typer.Option(..., "--out", "-o", help="Cache directory (resumes an unfinished build)."),
    n: int = typer.Option(20000, "--n", help="Number of shapes (round-robin over the categories)."),
    seed: int = typer.Option(0, "--seed", help="Dataset seed: same seed, same bytes."),
    points: int = typer.Option(4096, "--points", help="Surface points stored per shape (FPS order)."),
    sdf: bool = typer.Option(False, "--sdf", help="Also store occupancy samples for the mesh decoder."),
    sdf_near: int = typer.Option(4096, "--sdf-near", help="Occupancy queries near the surface."),
    sdf_uniform: int = typer.Option(4096, "--sdf-uniform", help="Occupancy queries uniform in the cube."),
    shard_size: int = typer.Option(1000, "--shard-size", help="Shapes per shard file."),
    workers: int = typer.Option(1, "--workers", "-j", help="Worker processes."),
    category: str = typer.Option(None, "--categories", help="Comma-separated subset of categories."),
    from_folder: Path = typer.Option(None, "--from-folder", help="Build from your own meshes instead."),
    captions: Path = typer.Option(None, "--captions", help="Captions CSV/JSONL for --from-folder."),
    up: str = typer.Option("y", "--up", help="Up axis of the meshes in --from-folder: y or z."),
) -> None:
    """Build a sharded dataset cache (points + captions, optionally SDF samples) with a progress bar.

    Examples:
      gen3d data build --n 20000 --out /data/base-1024 --points 1024
      gen3d data build --n 2000 --out /data/sdf --sdf --workers 2
      gen3d data build --from-folder my_meshes/ --out /data/mine
    """
    import time

    from gen3d.data.cache import CacheSpec, build_cache, build_cache_from_shapes

    if n < 1 or points < 1 or shard_size < 1 or workers < 1:
        fail("--n, --points, --shard-size and --workers must be positive")
    if up not in ("y", "z"):
        fail("--up must be y or z")
    sdf_sizes = (sdf_near, sdf_uniform) if sdf else None
    t0 = time.perf_counter()
    if from_folder is not None:
        from gen3d.data.folder import load_folder

        if not from_folder.is_dir():
            fail(f"{from_folder} is not a folder")
        shapes, report = load_folder(from_folder, captions, up=up)
        typer.echo(report.summary())
        if not shapes:
            fail(f"no usable meshes in {from_folder}")
        progress, cb = _progress_bar(len(shapes), "meshes")
        with progress:
            meta = build_cache_from_shapes(out, shapes, points, sdf_sizes, seed, shard_size, cb)
    else:
        spec = CacheSpec(
            n=n,
            seed=seed,
            n_points=points,
            sdf=sdf_sizes,
            shard_size=shard_size,
            categories=_parse_categories(category),
        )
        progress, cb = _progress_bar(n, "shapes")
        try:
            with progress:
                meta = build_cache(out, spec, workers=workers, progress=cb)
        except ValueError as e:
            fail(str(e))
    dt = time.perf_counter() - t0
    typer.echo(f"wrote {meta['n']} shapes to {out} in {dt:.1f} s ({meta['n'] / max(dt, 1e-9):.1f} shapes/s)")


@data_app.command("preview")
def preview(
    category: str = typer.Option(None, "--category", "-c", help="Category to show (default: all, one each)."),
    n: int = typer.Option(16, "-n", help="Number of shapes."),
    out: Path = typer.Option(Path("sheet.png"), "-o", "--out", help="PNG contact sheet to write."),
    seed: int = typer.Option(0, "--seed", help="First shape seed."),
    size: int = typer.Option(192, "--size", help="Tile size in pixels."),
    cols: int = typer.Option(0, "--cols", help="Columns (default: about square)."),
    points: int = typer.Option(0, "--points", help="Render N sampled surface points instead of meshes."),
    captions: bool = typer.Option(False, "--captions", help="Label tiles with a caption, not the name."),
    from_folder: Path = typer.Option(None, "--from-folder", help="Preview your own meshes instead."),
) -> None:
    """Render a contact sheet of generated shapes (headless pyrender) so you can look at them.

    Examples:
      gen3d data preview --category chair -n 16 -o sheet.png
      gen3d data preview -n 42 --points 2048 -o all.png
    """
    import math

    from gen3d.render import contact_sheet, render_mesh, render_points

    if n < 1 or size < 16:
        fail("-n must be positive and --size at least 16")
    if from_folder is not None:
        from gen3d.data.folder import load_folder

        shapes, report = load_folder(from_folder)
        typer.echo(report.summary())
        shapes = shapes[:n]
        if not shapes:
            fail(f"no usable meshes in {from_folder}")
    else:
        from gen3d.data.procedural import CATEGORIES, category_names, generate_shape

        if category is not None and category not in CATEGORIES:
            fail(f"unknown category {category!r}: see `gen3d data categories`")
        names = category_names()
        if category:
            shapes = [generate_shape(category, seed + i) for i in range(n)]
        else:
            shapes = [generate_shape(names[i % len(names)], seed + i // len(names)) for i in range(n)]
    images, labels = [], []
    for s in shapes:
        if points:
            from gen3d.data.sampling import sample_surface

            images.append(render_points(sample_surface(s, points, 0), (size, size)))
        else:
            images.append(render_mesh(s.mesh(), (size, size)))
        labels.append(s.captions[0] if captions else (s.params.get("file") or s.category))
    sheet = contact_sheet(images, cols or math.ceil(math.sqrt(len(images))), labels)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    typer.echo(f"wrote {out} ({len(images)} shapes)")


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")
