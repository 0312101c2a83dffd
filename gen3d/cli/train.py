"""``gen3d train base|upsample|sdf|export``: train models from a config file, resumable; export shipped weights."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from gen3d.cli.errors import fail
from gen3d.cli.make import run_guarded

train_app = typer.Typer(help="Train the base diffusion model, the upsampler or the mesh decoder; export weights.",
                        no_args_is_help=True)

SET_HELP = "Override a config value, one per --set: --set train.steps=500 --set train.lr=1e-4."
CONFIGS = Path(__file__).resolve().parent.parent.parent / "assets" / "configs"


def _config(config: Path | None, default: str, overrides: list[str]) -> dict:
    from gen3d.train.loop import load_train_config

    path = config or CONFIGS / default
    if not path.is_file():
        fail(f"config {path} not found: pass --config FILE (see assets/configs/)")
    ov = {}
    for item in overrides:
        if "=" not in item:
            fail(f"--set expects KEY=VALUE (e.g. train.steps=500), got {item!r}")
        k, v = item.split("=", 1)
        try:
            ov[k] = json.loads(v)
        except json.JSONDecodeError:
            ov[k] = v
    return load_train_config(path, ov)


def _stopped(res: dict, out: Path) -> None:
    typer.echo(f"stopped at step {res['step']} ({res['seconds'] / 60:.1f} min in total); run folder {out}")


@train_app.command("base")
def base(
    out: Path = typer.Option(Path("runs/base"), "--out", help="Run folder (resumes when it holds a checkpoint)."),
    config: Path = typer.Option(None, "--config", help="Training config JSON (default: gen3d-small-base)."),
    data: Path = typer.Option(None, "--data", help="Fine-tune on a folder of your meshes (+ captions file)."),
    init_from: str = typer.Option(None, "--init-from", help="Start from these weights (default with --data: "
                                  "the bundled gen3d-small)."),
    max_steps: int = typer.Option(None, "--max-steps", help="Stop after this many more steps."),
    time_limit: float = typer.Option(None, "--time-limit", help="Stop after this many seconds."),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda | mps."),
    set_: list[str] = typer.Option([], "--set", help=SET_HELP),
) -> None:
    """Train (or resume) the text-conditioned point diffusion model.

    Examples:
      gen3d train base --out runs/base
      gen3d train base --data my_meshes/ --out runs/finetune --max-steps 500
    """
    from gen3d.train.base import train

    cfg = _config(config, "gen3d-small-base.json", set_)
    if data is not None and init_from is None:
        from gen3d.registry import get_spec

        init_from = str(get_spec("gen3d-small").path("base"))
    res = run_guarded(train, cfg, out, max_steps=max_steps, time_limit=time_limit, device=device,
                      init_from=init_from, data_folder=str(data) if data else None)
    _stopped(res, out)


@train_app.command("upsample")
def upsample(
    out: Path = typer.Option(Path("runs/upsample"), "--out", help="Run folder (resumes when it holds a checkpoint)."),
    config: Path = typer.Option(None, "--config", help="Training config JSON (default: gen3d-small-upsample)."),
    data: Path = typer.Option(None, "--data", help="Train on a folder of your meshes (default: data.cache from "
                              "the config, else procedural shapes)."),
    init_from: str = typer.Option(None, "--init-from", help="Start from these upsampler weights (.safetensors)."),
    max_steps: int = typer.Option(None, "--max-steps", help="Stop after this many more steps."),
    time_limit: float = typer.Option(None, "--time-limit", help="Stop after this many seconds."),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda | mps."),
    set_: list[str] = typer.Option([], "--set", help=SET_HELP),
) -> None:
    """Train (or resume) the point upsampler: a base-sized cloud -> extra points (Point-E upsample layout).

    Examples:
      gen3d train upsample --out runs/upsample --time-limit 3600
      gen3d train upsample --set data.cache=data/shapes --out runs/upsample
      gen3d train upsample --data my_meshes/ --out runs/upsample-mine --max-steps 500
      gen3d train export runs/upsample -o my-model/upsample.safetensors
    """
    from gen3d.train.upsample import train

    cfg = _config(config, "gen3d-small-upsample.json", set_)
    res = run_guarded(train, cfg, out, max_steps=max_steps, time_limit=time_limit, device=device,
                      init_from=init_from, data_folder=str(data) if data else None)
    _stopped(res, out)


@train_app.command("sdf")
def sdf(
    out: Path = typer.Option(Path("runs/sdf"), "--out", help="Run folder (resumes when it holds a checkpoint)."),
    config: Path = typer.Option(None, "--config", help="Training config JSON (default: gen3d-small-sdf)."),
    init_from: str = typer.Option(None, "--init-from", help="Start from these decoder weights (.safetensors)."),
    max_steps: int = typer.Option(None, "--max-steps", help="Stop after this many more steps."),
    time_limit: float = typer.Option(None, "--time-limit", help="Stop after this many seconds."),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda | mps."),
    set_: list[str] = typer.Option([], "--set", help=SET_HELP),
) -> None:
    """Train (or resume) the learned SDF mesh decoder.

    Example: gen3d train sdf --out runs/sdf --time-limit 3600
    """
    from gen3d.train.sdf import train

    cfg = _config(config, "gen3d-small-sdf.json", set_)
    res = run_guarded(train, cfg, out, max_steps=max_steps, time_limit=time_limit, device=device,
                      init_from=init_from)
    _stopped(res, out)


@train_app.command("export")
def export(
    run: Path = typer.Argument(..., help="A run folder."),
    out: Path = typer.Option(..., "-o", "--out", help="Target .safetensors (a .json config is written beside)."),
) -> None:
    """Write a run's EMA weights as fp16 safetensors + JSON config.

    Example: gen3d train export runs/base -o assets/models/gen3d-small/base.safetensors
    """
    from gen3d.train.loop import export_ema

    typer.echo(f"wrote {run_guarded(export_ema, run, out)}")


def register(app: typer.Typer) -> None:
    app.add_typer(train_app, name="train")
