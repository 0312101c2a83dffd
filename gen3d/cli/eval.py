"""``gen3d eval``: score a model on a prompt file; ``gen3d eval train-classifier`` trains the judge."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from gen3d.cli.make import run_guarded

eval_app = typer.Typer(help="Evaluate a model on a prompt file (category/colour accuracy, P-FID, P-IS, ...).",
                       invoke_without_command=True)


@eval_app.callback()
def evaluate(
    ctx: typer.Context,
    prompts: Path = typer.Option(Path("assets/eval/prompts.jsonl"), "--prompts", help="JSONL: prompt, category, "
                                 "color (optional)."),
    model: str = typer.Option("gen3d-small", "--model", help="Model name or folder."),
    seeds: int = typer.Option(2, "--seeds", help="Samples per prompt."),
    first_seed: int = typer.Option(0, "--first-seed", help="Seed index of the first sample per prompt (8 with "
                                   "--seeds 4: a second set of samples beside --seeds 8)."),
    points: int = typer.Option(None, "--points", help="Points per sample (default: the model's)."),
    steps: int = typer.Option(None, "--steps", help="Diffusion steps (default: the model's)."),
    guidance: float = typer.Option(None, "--guidance", help="Classifier-free guidance scale (default: the model's)."),
    limit: int = typer.Option(None, "--limit", help="Only the first N prompts."),
    json_out: Path = typer.Option(None, "--json", help="Write the results here."),
    sheet: Path = typer.Option(None, "--sheet", help="Write a contact sheet PNG of the samples here."),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda | mps."),
    classifier: Path = typer.Option(None, "--classifier", help="The judge's weights (default: the bundled "
                                    "assets/eval/classifier.safetensors)."),
    conditioning: str = typer.Option(None, "--conditioning", help="What the model reads: caption (the understood "
                                     "object in its training words; the default), prompt (as typed) or blend."),
    mesh: bool = typer.Option(True, "--mesh/--no-mesh", help="Also run every sample through the mesh + texture "
                              "stage of gen3d make and score the final meshes (about 1 s per sample; on by "
                              "default)."),
    mesh_sheet: Path = typer.Option(None, "--mesh-sheet", help="Write a contact sheet PNG of the final meshes here."),
    mesh_reference: int = typer.Option(4, "--mesh-reference", help="Ground-truth shapes per category, meshed the "
                                       "same way, for the final meshes' geometry figures."),
) -> None:
    """Sample every prompt SEEDS times and print the metrics table.

    Example: gen3d eval --prompts assets/eval/prompts.jsonl --seeds 2 --json eval.json --sheet eval.png
    """
    if ctx.invoked_subcommand is not None:
        return
    from gen3d.eval.report import evaluate as run_eval
    from gen3d.eval.report import format_table, geometry_rows, mesh_column, weakest_lines

    extra = {} if classifier is None else {"classifier": classifier}
    res = run_guarded(run_eval, prompts, model=model, seeds=seeds, points=points, steps=steps, guidance=guidance,
                      limit=limit, device=device, sheet=sheet, first_seed=first_seed,
                      log=lambda m: typer.echo(m, err=True), conditioning=conditioning, mesh=mesh,
                      mesh_sheet=mesh_sheet, mesh_reference=mesh_reference, **extra)
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{res['model']}: {res['prompts']} prompts x {res['seeds']} seeds")
    scored = bool(res.get("mesh_scored"))
    for col in ("metric", "cloud", "final mesh", "reference") if scored else ("metric", "value", "reference"):
        table.add_column(col)
    for (name, value, ref), mesh_value in zip(format_table(res), mesh_column(res), strict=True):
        table.add_row(*((name, value, mesh_value, ref) if scored else (name, value, ref)))
    Console().print(table)
    if scored:
        geo = Table(title="final meshes: geometry (ground truth: procedural shapes of the same categories, "
                    "meshed the same way)")
        for col in ("figure", "final meshes", "ground truth"):
            geo.add_column(col)
        for row in geometry_rows(res):
            geo.add_row(*row)
        Console().print(geo)
    weak = weakest_lines(res)
    if weak:
        typer.echo("weakest categories: " + "; ".join(weak))
    if json_out:
        json_out.write_text(json.dumps(res, indent=2) + "\n")
        typer.echo(f"wrote {json_out}")


@eval_app.command("train-classifier")
def train_classifier_cmd(
    cache: Path = typer.Option(..., "--cache", help="A shape cache from 'gen3d data build'."),
    out: Path = typer.Option(Path("assets/eval/classifier.safetensors"), "-o", "--out"),
    steps: int = typer.Option(3000, "--steps"),
    batch: int = typer.Option(32, "--batch"),
) -> None:
    """Train the point-cloud classifier used by gen3d eval; prints its held-out accuracy.

    Example: gen3d eval train-classifier --cache /data/cache --steps 3000
    """
    from gen3d.eval.classifier import train_classifier

    meta = run_guarded(train_classifier, cache, out, steps=steps, batch=batch, log=lambda m: typer.echo(m, err=True))
    typer.echo(f"held-out accuracy {meta['heldout_accuracy']:.4f} on {meta['heldout_shapes']} shapes; wrote {out}")


def register(app: typer.Typer) -> None:
    app.add_typer(eval_app, name="eval")
