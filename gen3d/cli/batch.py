"""``gen3d batch``: a prompt file -> a folder of assets + manifest.jsonl + index.html, locally or on Ray."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from gen3d.cli.errors import fail


def register(app: typer.Typer) -> None:
    @app.command()
    def batch(
        prompts: Path = typer.Argument(..., help="Prompt file: .txt (one a line), .csv (prompt column + options) "
                                       "or .jsonl ({\"prompt\": ..., \"seed\": ..., ...} a line)."),
        out: Path = typer.Option(..., "--out", "-o", help="Output folder (assets, manifest.jsonl, index.html)."),
        fmt: str = typer.Option(None, "--format", help="Comma-separated formats: glb,obj,ply,usdz,fbx (default: "
                                "the preset's, else glb)."),
        variations: int = typer.Option(None, "--variations", help="K variations per prompt (seeds s, s+1, ...)."),
        seed: int = typer.Option(0, "--seed", help="Batch seed: rows without a seed get one derived from it and "
                                 "their row number (recorded in the manifest)."),
        resume: bool = typer.Option(False, "--resume", help="Skip jobs already done (manifest + sha256); retry "
                                    "failed and missing ones."),
        force: bool = typer.Option(False, "--force", help="Start over: overwrite the manifest and outputs."),
        backend: str = typer.Option("local", "--backend", help="local | ray."),
        address: str = typer.Option(None, "--address", help="Ray cluster address (default: start a local one)."),
        workers: int = typer.Option(None, "--workers", help="Ray actors (default: one per GPU, else one per "
                                    "--cpus-per-worker CPUs)."),
        cpus_per_worker: int = typer.Option(1, "--cpus-per-worker", help="CPUs (torch threads) per Ray actor."),
        model: str = typer.Option("gen3d-small", "--model", help="Model name (gen3d models list) or folder."),
        device: str = typer.Option("auto", "--device", help="auto | cpu | cuda | mps."),
        steps: int = typer.Option(None, "--steps", help="Diffusion steps (default: the model's)."),
        guidance: float = typer.Option(None, "--guidance", help="Classifier-free guidance scale."),
        mesher: str = typer.Option(None, "--mesher", help="sdf | shell | poisson | alpha | ball (default: sdf when "
                                   "the model has a decoder, else shell)."),
        texture_size: int = typer.Option(None, "--texture-size", help="Texture size in texels (default 1024)."),
        max_faces: int = typer.Option(None, "--max-faces", help="Face budget."),
        size: float = typer.Option(None, "--size", help="Largest dimension in metres."),
        lods: int = typer.Option(None, "--lods", help="Also write K coarser levels per asset (ID_LOD1.glb, ...)."),
        preset: str = typer.Option(None, "--preset", help="unity | unreal | godot | web: as gen3d make --preset; "
                                   "explicit options and prompt-file columns override it."),
        collision: str = typer.Option(None, "--collision", help="none | convex | decomposed collision hulls."),
        normal_map: bool = typer.Option(None, "--normal-map/--no-normal-map", help="Bake normal maps for each "
                                        "asset and its LODs (default: off, on with a preset)."),
        no_thumbnails: bool = typer.Option(False, "--no-thumbnails", help="Skip the pyrender thumbnails."),
        as_json: bool = typer.Option(False, "--json", help="Print a JSON summary on stdout."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No per-asset lines."),
        debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
    ) -> None:
        """Generate every prompt of a file into a folder, with a manifest, resume and a gallery.

        Examples:
          gen3d batch prompts.txt --out out/ --format glb,obj --variations 2
          gen3d batch prompts.csv --out out/ --resume
          gen3d batch prompts.jsonl --out out/ --backend ray --address 10.0.0.5:6379
        """
        from gen3d.cli.make import run_guarded

        run_guarded(_batch, prompts, out, fmt, variations, seed, resume, force, backend, address, workers,
                    cpus_per_worker, model, device, steps, guidance, mesher, texture_size, max_faces, size,
                    not no_thumbnails, as_json, quiet, lods=lods, preset=preset, collision=collision,
                    normal_map=normal_map)


def _batch(prompts, out, fmt, variations, seed, resume, force, backend, address, workers, cpus_per_worker, model,
           device, steps, guidance, mesher, texture_size, max_faces, size, thumbnails, as_json, quiet, lods=None,
           preset=None, collision=None, normal_map=None) -> None:
    from gen3d.batch.jobs import BatchError, _convert, parse_formats, plan, read_prompts
    from gen3d.batch.runner import run_batch

    if backend not in ("local", "ray"):
        fail(f"unknown --backend {backend!r}: use local or ray")
    if address and backend != "ray":
        fail("--address needs --backend ray")
    if resume and force:
        fail("--resume and --force contradict each other: choose one")
    if variations is not None and not 1 <= variations <= 64:
        fail("--variations must be between 1 and 64")
    for name, value in (("--workers", workers), ("--cpus-per-worker", cpus_per_worker), ("--steps", steps),
                        ("--texture-size", texture_size), ("--max-faces", max_faces)):
        if value is not None and value < 1:
            fail(f"{name} must be positive")
    try:
        formats = parse_formats(fmt) if fmt is not None else None
        rows = read_prompts(prompts)
        defaults = {"variations": variations, "steps": steps, "guidance": guidance, "mesher": mesher,
                    "texture_size": texture_size, "max_faces": max_faces, "size": size, "lods": lods,
                    "preset": preset, "collision": collision, "normal_map": normal_map}
        defaults = {k: _convert(k, v, "options") for k, v in defaults.items() if v is not None}
        jobs = plan(rows, formats=formats, batch_seed=seed, defaults=defaults)
    except BatchError as e:
        fail(str(e))
    _check_engine_tools(jobs)
    if backend == "ray":
        import importlib.util

        if importlib.util.find_spec("ray") is None:
            fail("--backend ray needs ray: pip install 'gen3d[ray]'")
    _check_model(model)

    err = typer.get_text_stream("stderr")
    total = len(jobs)
    state = {"n": 0}

    def say(text: str) -> None:
        if not (quiet or as_json):
            err.write(text + "\n")
            err.flush()

    def on_start(info) -> None:
        if backend == "ray":
            hosts = sorted({i["host"] for i in info})
            say(f"ray: {len(info)} worker(s) on {', '.join(hosts)} ({info[0]['device']})")
            per = info[0].get("cpu_seconds_per_sample")
            if per and info[0]["device"] == "cpu":
                say(f"note: {info[0]['model']} is meant for GPUs; on CPUs expect about "
                    f"{per * total / len(info) / 60:.0f} min for {total} asset(s)")
        else:
            per = info.spec.cpu_seconds_per_sample
            if per and info.device.type == "cpu":
                say(f"note: {info.spec.name} is meant for GPUs; on this CPU expect about "
                    f"{per * total / 60:.0f} min for {total} asset(s)")

    def on_event(kind: str, job, rec) -> None:
        state["n"] += 1
        head = f"[{state['n']}/{total}]"
        if kind == "skip":
            say(f"{head} done already  {job.id}")
        elif rec["status"] == "ok":
            say(f"{head} ok      {job.id} ({rec['timings'].get('total', 0):.1f} s)")
        else:
            say(f"{head} FAILED  {job.id}: {rec['error']}")

    try:
        summary = run_batch(jobs, out, model=model, device=device, backend=backend, resume=resume, force=force,
                            address=address, workers=workers, cpus_per_worker=cpus_per_worker, thumbnails=thumbnails,
                            on_event=on_event, on_start=on_start)
    except BatchError as e:
        fail(str(e))
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        say(f"{summary['ok']} ok, {summary['failed']} failed, {summary['skipped']} done already "
            f"({summary['seconds']:.1f} s); manifest {summary['manifest']}, gallery {summary['gallery']}")
    if summary["failed"]:
        if not as_json:
            typer.secho(f"error: {summary['failed']} of {total} asset(s) failed; see {summary['manifest']} "
                        f"and re-run with --resume to retry them", err=True, fg=typer.colors.RED)
        raise typer.Exit(1)


def _check_engine_tools(jobs) -> None:
    """FBX needs Blender and decomposed collision needs CoACD: say so before any job runs."""
    if any("fbx" in j.formats for j in jobs):
        from gen3d.export.fbx import BlenderMissingError, require_blender

        try:
            require_blender()
        except BlenderMissingError as e:
            fail(str(e))
    if any(j.options.get("collision") == "decomposed" for j in jobs):
        from gen3d.mesh.collision import coacd_available

        if not coacd_available():
            fail("--collision decomposed needs CoACD: pip install 'gen3d[engines]' (or pip install coacd)")


def _check_model(model: str) -> None:
    """Unknown or missing models fail before any output is touched."""
    from gen3d.registry import ModelError, resolve

    try:
        spec = resolve(model)
    except ModelError as e:
        fail(str(e))
    base = spec.path("base")
    if not base.is_file():
        hint = f"run 'gen3d models download {spec.name}'" if not spec.bundled else "check the model folder"
        fail(f"model {spec.name} is not available ({base} missing): {hint}")
