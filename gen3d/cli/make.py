"""``gen3d make``: prompt -> textured asset file(s), with staged progress, ETA and reproducible seeds."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import typer

from gen3d.cli.errors import debug_enabled, fail

FORMATS = ("glb", "obj", "ply", "usdz", "fbx")


def slug(prompt: str, limit: int = 48) -> str:
    s = re.sub(r"[^a-z0-9]+", "_", prompt.lower()).strip("_")
    return (s[:limit].rstrip("_") or "asset")


def run_guarded(fn, *args, **kw):
    """Run ``fn``; known failures become one line on stderr and exit code 2 (traceback only with --debug)."""
    try:
        return fn(*args, **kw)
    except typer.Exit:
        raise
    except KeyboardInterrupt:
        typer.secho("interrupted: no partial files were left behind", err=True, fg=typer.colors.RED)
        raise typer.Exit(130) from None
    except MemoryError:
        if debug_enabled():
            raise
        fail("out of memory: lower --texture-size or --mesh-resolution, or close other programs")
    except Exception as exc:  # noqa: BLE001 - turned into a one-line error below
        import torch

        if debug_enabled():
            raise
        if isinstance(exc, torch.OutOfMemoryError):
            fail("out of GPU memory: use --device cpu or a smaller batch")
        if isinstance(exc, (ValueError, OSError, RuntimeError)):
            fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        raise


def register(app: typer.Typer) -> None:
    @app.command()
    def make(
        prompt: str = typer.Argument(..., help="What to make, e.g. \"a red chair\"."),
        output: Path = typer.Option(None, "-o", "--output", help="Output file (default: a slug of the prompt)."),
        fmt: str = typer.Option(None, "--format", help="glb | obj | ply | usdz | fbx (default: from -o, else the "
                                "preset's, else glb; fbx needs Blender's bpy)."),
        seed: int = typer.Option(None, "--seed", help="Random seed (printed when not given)."),
        variations: int = typer.Option(1, "--variations", help="Make K variations (seeds seed, seed+1, ...)."),
        steps: int = typer.Option(None, "--steps", help="Diffusion steps (default: the model's)."),
        guidance: float = typer.Option(None, "--guidance", help="Classifier-free guidance scale."),
        model: str = typer.Option("gen3d-small", "--model", help="Model name (gen3d models list) or folder."),
        device: str = typer.Option("auto", "--device", help="auto | cpu | cuda | mps."),
        mesher: str = typer.Option(None, "--mesher", help="sdf | shell | poisson | alpha | ball (default: the "
                                   "model's choice: its learned decoder, sdf, for gen3d-small)."),
        texture_size: int = typer.Option(None, "--texture-size", help="Texture size in texels (default 1024)."),
        mesh_resolution: int = typer.Option(None, "--mesh-resolution", help="SDF grid resolution (default 128, "
                                            "or 64 for clouds of at most 512 points, such as gen3d-small's)."),
        max_faces: int = typer.Option(None, "--max-faces", help="Face budget (decimate before unwrapping)."),
        lods: int = typer.Option(None, "--lods", help="Also write K coarser levels (NAME_LOD1.glb, ...; default 0)."),
        preset: str = typer.Option(None, "--preset", help="unity | unreal | godot | web: the engine's format, "
                                   "axes and units, face budget, texture size, LODs, collision and names "
                                   "(docs/engines.md); explicit options override it."),
        collision: str = typer.Option(None, "--collision", help="none | convex | decomposed: collision hulls "
                                      "named the engine's way (decomposed needs coacd; default none)."),
        normal_map: bool = typer.Option(None, "--normal-map/--no-normal-map", help="Bake the full-resolution "
                                        "surface into a normal map for the mesh and each LOD (default: off, "
                                        "on with a preset)."),
        size: float = typer.Option(None, "--size", help="Largest dimension in metres (default: the object's "
                                   "real size when known, else 1)."),
        preview: Path = typer.Option(None, "--preview", help="Also render a PNG preview here."),
        points_only: bool = typer.Option(False, "--points-only", help="Stop after diffusion; write a PLY cloud."),
        as_json: bool = typer.Option(False, "--json", help="Print a JSON summary on stdout."),
        explain: bool = typer.Option(False, "--explain", help="Say how the prompt was understood (category, "
                                     "colour, material, size) and what the model was conditioned on."),
        color: str = typer.Option(None, "--color", help="Exact main colour: a colour name or hex code, e.g. "
                                  "crimson or \"#aa2222\" (default: the colour the prompt names)."),
        conditioning: str = typer.Option(None, "--conditioning", help="What the model reads: caption (the "
                                         "understood object in its training words; default), prompt, blend."),
        force: bool = typer.Option(False, "--force", help="Overwrite existing files."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
        debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
    ) -> None:
        """Generate a textured 3D asset from a text prompt.

        Examples:
          gen3d make "a red chair"
          gen3d make "a wooden table" -o table.obj --seed 7 --size 1.2
          gen3d make "a blue mug" --variations 4 --format glb --preview mug.png
        """
        run_guarded(_make, prompt, output, fmt, seed, variations, steps, guidance, model, device, mesher,
                    texture_size, max_faces, lods, size, preview, points_only, as_json, force, quiet,
                    mesh_resolution=mesh_resolution, explain=explain, color=color, conditioning=conditioning,
                    preset=preset, collision=collision, normal_map=normal_map)


def reproduce_command(seed: int) -> str:
    """The command line as given, with the seed made explicit and --force added (the files now exist)."""
    import shlex
    import sys

    args, skip = [], False
    for a in sys.argv[1:]:
        if skip:
            skip = False
            continue
        if a == "--seed":
            skip = True
            continue
        if a.startswith("--seed=") or a in ("--force", "--json", "--quiet", "-q"):
            continue
        args.append(a)
    return shlex.join(["gen3d", *args, "--seed", str(seed), "--force"])


def _plan_outputs(prompt: str, output: Path | None, fmt: str | None, seeds: list[int], points_only: bool) -> list[Path]:
    if fmt is not None and fmt not in FORMATS:
        fail(f"unknown --format {fmt!r}: use one of {', '.join(FORMATS)}")
    if output is not None:
        suffix = output.suffix.lower().lstrip(".")
        if suffix and suffix not in FORMATS:
            fail(f"cannot write .{suffix} files: use .glb, .obj, .ply, .usdz or .fbx")
        fmt = fmt or suffix or "glb"
        base = output if output.suffix else output.with_suffix(f".{fmt}")
    else:
        fmt = fmt or ("ply" if points_only else "glb")
        base = Path(f"{slug(prompt)}.{fmt}")
    if points_only and fmt != "ply":
        fail("--points-only writes a point cloud: use --format ply or a .ply output")
    if base.suffix.lstrip(".") != fmt:
        base = base.with_suffix(f".{fmt}")
    if len(seeds) == 1:
        return [base]
    return [base.with_name(f"{base.stem}_seed{s}{base.suffix}") for s in seeds]


def _check_engine_tools(outs: list[Path], collision: str, points_only: bool) -> None:
    """FBX needs Blender and --collision decomposed needs CoACD: say so before any slow work."""
    from gen3d.mesh.collision import check_collision_mode, require_coacd

    if points_only:
        return
    if check_collision_mode(collision) == "decomposed":
        require_coacd()
    if any(o.suffix.lower() == ".fbx" for o in outs):
        from gen3d.export.fbx import require_blender

        require_blender()


def _make(prompt, output, fmt, seed, variations, steps, guidance, model, device, mesher, texture_size, max_faces,
          lods, size, preview, points_only, as_json, force, quiet, mesh_resolution=None, explain=False, color=None,
          conditioning=None, preset=None, collision=None, normal_map=None) -> None:
    import secrets

    from gen3d.atomic import check_outputs
    from gen3d.export import output_paths
    from gen3d.export.engines import apply_preset, get_preset
    from gen3d.mesh.reconstruct import check_resolution
    from gen3d.pipeline import STAGES, clean_prompt

    prompt, _ = clean_prompt(prompt)
    check_resolution(mesh_resolution)  # before any slow work
    if color is not None:
        from gen3d.text.colors import resolve_color

        resolve_color(color)
    if conditioning is not None and conditioning not in ("caption", "prompt", "blend"):
        fail(f"unknown --conditioning {conditioning!r}: use caption, prompt or blend")
    if variations < 1 or variations > 64:
        fail("--variations must be between 1 and 64")
    seed = secrets.randbelow(2**31) if seed is None else seed
    seeds = [seed + i for i in range(variations)]
    engine = get_preset(preset)  # explicit options win over the preset's
    if engine is not None and fmt is None and not points_only and (output is None or not output.suffix):
        fmt = engine.format
    opts = apply_preset(preset, texture_size=texture_size, max_faces=max_faces, lods=lods, collision=collision,
                        normal_map=normal_map)
    texture_size, max_faces = (1024 if opts["texture_size"] is None else opts["texture_size"]), opts["max_faces"]
    lods, collision, normal_map = opts["lods"] or 0, opts["collision"] or "none", bool(opts["normal_map"])
    outs = _plan_outputs(prompt, output, fmt, seeds, points_only)
    _check_engine_tools(outs, collision, points_only)
    planned = [p for o in outs for p in (output_paths(o, lods=lods) if not points_only else [o])]
    if preview is not None:
        planned.append(preview)
    check_outputs(planned, force=force)  # before any slow work (creates missing output folders)

    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    console = Console(stderr=True, quiet=quiet or as_json)
    t0 = time.perf_counter()
    with Progress(TextColumn("[bold]{task.fields[stage]:<9}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=console,
                  transient=True, disable=quiet or as_json) as bar:
        task = bar.add_task("gen3d", total=len(STAGES), stage="load")
        from gen3d.pipeline import load_pipeline

        pipe = load_pipeline(model, device)
        if pipe.spec.cpu_seconds_per_sample and pipe.device.type == "cpu":
            est = pipe.spec.cpu_seconds_per_sample * len(seeds)
            console.print(f"[yellow]note:[/] {pipe.spec.name} is meant for GPUs; on this CPU expect about "
                          f"{est / 60:.0f} min for {len(seeds)} sample(s)")

        def progress(stage: str, frac: float) -> None:
            bar.update(task, completed=STAGES.index(stage) + min(max(frac, 0.0), 1.0), stage=stage)

        if explain:
            u = pipe.understand(prompt)
            console.print(f"understood as: {u.summary()}")
            console.print(f"conditioned on: {pipe.conditioning_texts([prompt], conditioning)[0]!r}"
                          + (f"; exact colour {color}" if color else ""))

        assets = pipe.generate_many([prompt] * len(seeds), seeds=seeds, steps=steps, guidance=guidance,
                                    mesher=mesher, texture_size=texture_size, max_faces=max_faces, size=size,
                                    lods=lods, points_only=points_only, progress=progress,
                                    mesh_resolution=mesh_resolution, conditioning=conditioning, color=color,
                                    normal_map=normal_map, collision=collision)
        progress("export", 0.0)
        written = []
        for asset, out in zip(assets, outs, strict=True):
            written.extend(asset.save(out, force=force, lods=lods if not points_only else None, preset=preset))
        if preview is not None:
            from gen3d.render import render_asset_preview

            render_asset_preview(assets[0], preview)
            written.append(preview)
        progress("export", 1.0)
    for w in sorted({w for a in assets for w in a.metadata.get("warnings", [])}):
        console.print(f"[yellow]warning:[/] {w}")
    total = time.perf_counter() - t0
    summary = {
        "prompt": prompt, "model": pipe.spec.name, "seeds": seeds, "files": [str(p) for p in written],
        "seconds": round(total, 2), "timings_s": [{k: round(v, 3) for k, v in a.timings.items()} for a in assets],
        "warnings": sorted({w for a in assets for w in a.metadata.get("warnings", [])}),
        "understood": assets[0].metadata.get("understood", {}).get("summary"),
        "conditioning": assets[0].metadata.get("conditioning"),
    }
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    if not quiet:
        for p in written:
            typer.echo(f"wrote {p}")
        typer.echo(f"seed {', '.join(map(str, seeds))} ({total:.1f} s); reproduce with: {reproduce_command(seed)}")
