"""``gen3d batch``: prompt files, planning, manifest, resume, failures, Ctrl-C, gallery (local backend)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gen3d.batch.jobs import BatchError, Job, derived_seed, plan, read_prompts
from gen3d.batch.manifest import MANIFEST, read_manifest
from gen3d.cli import app

pytest.importorskip("open3d", reason="the test mesher (poisson) needs open3d")
runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]
FAST = ["--mesher", "poisson", "--texture-size", "256"]


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def gen3d(*args: str):
    return runner.invoke(app, [str(a) for a in args])


# ---------------------------------------------------------------------------------------------- reading


def test_read_prompts_txt_csv_jsonl(tmp_path) -> None:
    txt = tmp_path / "p.txt"
    txt.write_text("# my prompts\na red chair\n\n  a   blue mug  \n")
    rows = read_prompts(txt)
    assert [(r.line, r.index, r.prompt, r.options) for r in rows] == [(2, 0, "a red chair", {}),
                                                                      (4, 1, "a blue mug", {})]
    csv = tmp_path / "p.csv"
    csv.write_text('prompt,seed,guidance,format,mesher\n"a chair, red",7,2.5,"glb,obj",\na lamp,,,,alpha\n')
    rows = read_prompts(csv)
    assert rows[0].prompt == "a chair, red"
    assert rows[0].options == {"seed": 7, "guidance": 2.5, "format": "glb,obj"}
    assert rows[1].options == {"mesher": "alpha"}
    jl = tmp_path / "p.jsonl"
    jl.write_text('{"prompt": "a torus", "variations": 2, "texture_size": 512}\n\n"a sword"\n')
    rows = read_prompts(jl)
    assert [(r.prompt, r.options) for r in rows] == [("a torus", {"variations": 2, "texture_size": 512}),
                                                     ("a sword", {})]


@pytest.mark.parametrize(("name", "content", "match"), [
    ("p.jsonl", '{"prompt": "a"}\n{"prompt": "b", "colour": "red"}\n', "line 2: unknown option 'colour'"),
    ("p.jsonl", '{"prompt": "a", "seed": "x"}\n', "line 1: option seed must be int"),
    ("p.jsonl", '{"prompt": "a"\n', "line 1: not valid JSON"),
    ("p.jsonl", '{"seed": 3}\n', "line 1: the prompt is empty"),
    ("p.jsonl", '{"prompt": "a", "format": "stl"}\n', "unknown format 'stl'"),
    ("p.jsonl", '{"prompt": "a", "variations": 0}\n', "variations must be between 1 and 64"),
    ("p.csv", "text,seed\na chair,1\n", "header with a 'prompt' column"),
    ("p.csv", "prompt,steps\na chair,-3\n", "line 2: steps must be positive"),
    ("p.csv", "prompt,seed\na chair, red,3\n", "line 2: more cells than header columns"),
    ("p.txt", "# only a comment\n\n", "holds no prompts"),
    ("p.yaml", "- a chair\n", "use a .txt"),
])
def test_read_prompts_errors_name_the_line(tmp_path, name, content, match) -> None:
    p = tmp_path / name
    p.write_text(content)
    with pytest.raises(BatchError, match=match):
        read_prompts(p)


def test_plan_seeds_variations_formats(tmp_path) -> None:
    p = tmp_path / "p.jsonl"
    p.write_text('{"prompt": "a red chair", "seed": 10, "variations": 2}\n{"prompt": "a mug", "format": "obj"}\n'
                 '{"prompt": "a red chair", "name": "chair two", "steps": 4}\n')
    jobs = plan(read_prompts(p), formats=["glb"], batch_seed=5, defaults={"texture_size": 256, "steps": None})
    assert [j.id for j in jobs] == ["0000_a_red_chair_v0", "0000_a_red_chair_v1", "0001_a_mug", "0002_chair_two"]
    assert [j.seed for j in jobs[:2]] == [10, 11]
    assert jobs[2].seed == derived_seed(5, 1) and jobs[3].seed == derived_seed(5, 2)
    assert derived_seed(5, 1) != derived_seed(6, 1) and 0 <= derived_seed(5, 1) < 2**31
    assert derived_seed(5, 1) == 1050854746  # stable across runs and machines (sha256, not hash())
    assert jobs[2].formats == ["obj"] and jobs[2].outputs() == ["0001_a_mug.obj", "0001_a_mug.mtl",
                                                                 "0001_a_mug_basecolor.png"]
    assert jobs[3].options == {"steps": 4, "texture_size": 256}
    assert Job.from_dict(json.loads(json.dumps(jobs[3].to_dict()))) == jobs[3]


# ---------------------------------------------------------------------------------------------- end to end


def _records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / MANIFEST).read_text().splitlines()]


def test_batch_manifest_failure_gallery_and_resume(tmp_path, tiny_model) -> None:
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"prompt": "a red chair", "seed": 3}\n'
                       '{"prompt": "a blue mug", "format": "glb,obj"}\n'
                       '{"prompt": "a lamp <b>", "mesher": "sdf"}\n')  # the tiny model has no SDF decoder
    out = tmp_path / "out"
    res = gen3d("batch", prompts, "--out", out, "--model", tiny_model, *FAST, "--seed", "1")
    # one failed prompt is recorded, the batch goes on, and the exit code says something failed
    assert res.exit_code == 1, res.output
    assert "1 of 3 asset(s) failed" in res.output and "Traceback" not in res.output
    recs = _records(out)
    assert [r["id"] for r in recs] == ["0000_a_red_chair", "0001_a_blue_mug", "0002_a_lamp_b"]
    ok, mug, bad = recs
    assert ok["status"] == "ok" and ok["seed"] == 3 and ok["prompt"] == "a red chair"
    assert mug["seed"] == derived_seed(1, 1)
    assert ok["options"] == {"mesher": "poisson", "texture_size": 256}
    assert {"points", "decode", "export", "total"} <= set(ok["timings"])
    assert [o["path"] for o in mug["outputs"]] == ["0001_a_blue_mug.glb", "0001_a_blue_mug.obj",
                                                   "0001_a_blue_mug.mtl", "0001_a_blue_mug_basecolor.png"]
    for r in (ok, mug):
        for o in r["outputs"]:
            assert sha(out / o["path"]) == o["sha256"] and (out / o["path"]).stat().st_size == o["bytes"]
    assert bad["status"] == "error" and "no SDF decoder" in bad["error"] and bad["outputs"] == []
    assert not list(out.glob("0002_*"))
    import trimesh

    mesh = trimesh.load(out / "0000_a_red_chair.glb", force="mesh")
    assert len(mesh.faces) > 20
    # the gallery shows every job, escapes prompts, links outputs and thumbnails
    page = (out / "index.html").read_text()
    assert "2 of 3 assets ok" in page and "a lamp &lt;b&gt;" in page and "no SDF decoder" in page
    assert 'href="0001_a_blue_mug.obj"' in page
    if ok["thumbnail"]:  # pyrender present: thumbnails are real PNGs
        from PIL import Image

        img = Image.open(out / ok["thumbnail"])
        lo, hi = img.convert("L").getextrema()
        assert img.size == (192, 192) and hi - lo > 20
        assert f'src="{ok["thumbnail"]}"' in page

    # no --resume/--force on an existing batch: refused, nothing touched
    before = (out / MANIFEST).read_bytes()
    res = gen3d("batch", prompts, "--out", out, "--model", tiny_model, *FAST, "--seed", "1")
    assert res.exit_code == 2 and "--resume" in res.output and len(res.output.strip().splitlines()) == 1
    assert (out / MANIFEST).read_bytes() == before

    # resume: done jobs are skipped; a deleted and a corrupted output are made again (same bytes),
    # the failed job is retried (and fails again)
    chair_glb = out / "0000_a_red_chair.glb"
    chair_glb.unlink()
    mug_png = out / "0001_a_blue_mug_basecolor.png"
    mug_png.write_bytes(b"corrupted")
    res = gen3d("batch", prompts, "--out", out, "--model", tiny_model, *FAST, "--seed", "1", "--resume")
    assert res.exit_code == 1, res.output
    new = _records(out)[3:]
    assert [r["id"] for r in new] == ["0000_a_red_chair", "0001_a_blue_mug", "0002_a_lamp_b"]
    assert sha(chair_glb) == ok["outputs"][0]["sha256"]  # reproducible: same prompt + seed -> same bytes
    assert [o["sha256"] for o in new[1]["outputs"]] == [o["sha256"] for o in mug["outputs"]]

    # everything intact now: a resume with the failing row removed does no work at all
    prompts.write_text("\n".join(prompts.read_text().splitlines()[:2]) + "\n")
    res = gen3d("batch", prompts, "--out", out, "--model", tiny_model, *FAST, "--seed", "1", "--resume", "--json")
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    assert (summary["ok"], summary["failed"], summary["skipped"]) == (0, 0, 2)
    assert len(_records(out)) == 6
    # changed options are not "done": a different texture size regenerates the asset
    res = gen3d("batch", prompts, "--out", out, "--model", tiny_model, "--mesher", "poisson",
                "--texture-size", "128", "--seed", "1", "--resume", "--json", "--no-thumbnails")
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["ok"] == 2
    latest = read_manifest(out)
    assert latest["0000_a_red_chair"]["options"]["texture_size"] == 128
    assert "0002_a_lamp_b" in latest  # older records stay in the manifest and the gallery


@pytest.mark.parametrize(("args", "match"), [
    (["--format", "glb,stl"], "unknown format 'stl'"),
    (["--model", "no-such-model"], "unknown model 'no-such-model'"),
    (["--backend", "spark"], "unknown --backend 'spark'"),
    (["--address", "127.0.0.1:1"], "--address needs --backend ray"),
    (["--resume", "--force"], "contradict"),
    (["--variations", "0"], "--variations must be between 1 and 64"),
])
def test_batch_errors_are_one_line(tmp_path, tiny_model, args, match) -> None:
    prompts = tmp_path / "p.txt"
    prompts.write_text("a red chair\n")
    args = [a if a != "TINY" else str(tiny_model) for a in args]
    model = [] if "--model" in args else ["--model", str(tiny_model)]
    res = gen3d("batch", prompts, "--out", tmp_path / "out", *model, *args)
    assert res.exit_code == 2, res.output
    assert match in res.output and len(res.output.strip().splitlines()) == 1 and "Traceback" not in res.output
    assert not (tmp_path / "out").exists()


def test_batch_unwritable_output_and_missing_file(tmp_path, tiny_model) -> None:
    prompts = tmp_path / "p.txt"
    prompts.write_text("a red chair\n")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    res = gen3d("batch", prompts, "--out", blocker / "out", "--model", tiny_model)
    assert res.exit_code == 2 and "cannot create output folder" in res.output, res.output
    res = gen3d("batch", tmp_path / "missing.txt", "--out", tmp_path / "o", "--model", tiny_model)
    assert res.exit_code == 2 and "does not exist" in res.output and len(res.output.strip().splitlines()) == 1


def test_ctrl_c_leaves_no_partial_files_and_resume_finishes(tmp_path, tiny_model) -> None:
    prompts = tmp_path / "p.txt"
    prompts.write_text("a red chair\na blue mug\na lamp\na barrel\na sword\na torus\n")
    out = tmp_path / "out"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYOPENGL_PLATFORM": "egl"}
    cmd = [sys.executable, "-c", "from gen3d.cli import main; main()", "batch", str(prompts), "--out", str(out),
           "--model", str(tiny_model), "--format", "glb,obj", *FAST, "--no-thumbnails"]
    # as from a terminal: a suite started in the background (``cmd &``) inherits SIGINT ignored, and Python
    # then installs no KeyboardInterrupt handler in the child
    proc = subprocess.Popen(cmd, env=env, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if (out / MANIFEST).is_file() and (out / MANIFEST).read_text().count("\n") >= 1:
                break
            time.sleep(0.05)
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.3)  # land inside the next job (diffusion, meshing or writing)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    recs = read_manifest(out)
    assert 1 <= len(recs) < 6 and all(r["status"] == "ok" for r in recs.values())
    recorded = {o["path"] for r in recs.values() for o in r["outputs"]}
    on_disk = {p.name for p in out.iterdir() if p.is_file()} - {MANIFEST, "index.html"}
    assert on_disk == recorded  # no half-written file, no file of an unfinished job, no temp file
    for r in recs.values():
        for o in r["outputs"]:
            assert sha(out / o["path"]) == o["sha256"]
    res = gen3d("batch", prompts, "--out", out, "--model", tiny_model, "--format", "glb,obj", *FAST,
                "--no-thumbnails", "--resume", "--json")
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    assert summary["skipped"] == len(recs) and summary["ok"] == 6 - len(recs)
    assert len(read_manifest(out)) == 6
