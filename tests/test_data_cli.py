"""``gen3d data categories|build|preview`` through Typer's test runner."""

from __future__ import annotations

import json

import numpy as np
import typer
from typer.testing import CliRunner

from gen3d.cli.data import register
from gen3d.data.procedural import CATEGORIES, category_names

app = typer.Typer()
register(app)


@app.callback()
def _root() -> None:
    """Test root (keeps ``data`` a sub-command)."""


runner = CliRunner()


def test_categories_plain_and_json():
    res = runner.invoke(app, ["data", "categories"])
    assert res.exit_code == 0 and res.output.strip().splitlines() == category_names()
    rows = json.loads(runner.invoke(app, ["data", "categories", "--json"]).output)
    assert [r["name"] for r in rows] == category_names() and [r["label"] for r in rows] == list(range(len(rows)))
    assert rows[0]["synonyms"] == CATEGORIES[rows[0]["name"]].synonyms and rows[0]["size_m"] > 0


def test_build_and_errors(tmp_path):
    out = tmp_path / "c"
    res = runner.invoke(
        app,
        [
            "data",
            "build",
            "--n",
            "6",
            "--out",
            str(out),
            "--points",
            "64",
            "--shard-size",
            "4",
            "--categories",
            "chair,mug",
            "--sdf",
            "--sdf-near",
            "16",
            "--sdf-uniform",
            "16",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "wrote 6 shapes" in res.output
    lines = (out / "manifest.jsonl").read_text().splitlines()
    assert [json.loads(s)["category"] for s in lines] == ["chair", "mug"] * 3
    assert np.load(out / "shards" / "shard-00001.sdf_occ.npy").shape == (2, 32)
    bad = runner.invoke(app, ["data", "build", "--n", "2", "--out", str(tmp_path / "d"), "--categories", "dragon"])
    assert bad.exit_code != 0 and "unknown categories" in bad.output
    clash = runner.invoke(app, ["data", "build", "--n", "6", "--out", str(out), "--points", "128"])
    assert clash.exit_code != 0 and "different cache" in clash.output


def test_preview_writes_a_contact_sheet(tmp_path):
    from PIL import Image

    out = tmp_path / "sheet.png"
    res = runner.invoke(app, ["data", "preview", "--category", "mug", "-n", "4", "-o", str(out), "--size", "64"])
    assert res.exit_code == 0, res.output
    img = Image.open(out)
    assert img.size[0] > 2 * 64 and img.size[1] > 2 * 64
    res = runner.invoke(app, ["data", "preview", "--category", "unicorn", "-o", str(out)])
    assert res.exit_code != 0 and "unknown category" in res.output
