"""``gen3d batch --backend ray`` against a real local Ray cluster on loopback: same manifest, same resume,
same bytes as the local backend; actors load the model once each."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gen3d.batch.manifest import MANIFEST, read_manifest
from gen3d.cli import app

pytest.importorskip("open3d", reason="the test mesher (poisson) needs open3d")
if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
    import ray  # noqa: F401 - CI installs the ray extra: its absence is a failure there
else:
    pytest.importorskip("ray", reason="pip install 'gen3d[ray]'")

runner = CliRunner()
try:
    import pyrender  # noqa: F401

    HAVE_RENDERER = True
except Exception:  # noqa: BLE001 - no pyrender or no EGL
    HAVE_RENDERER = False
FAST = ["--mesher", "poisson", "--texture-size", "256"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ray_cluster():
    """``ray start --head`` on 127.0.0.1 with 2 CPUs in a short temp dir; stopped (our process group only)."""
    tmp = tempfile.mkdtemp(prefix="r", dir="/tmp")  # AF_UNIX socket paths must stay short
    port = _free_port()
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_TMPDIR": tmp, "OMP_NUM_THREADS": "1",
           "PYOPENGL_PLATFORM": "egl", "RAY_USAGE_STATS_ENABLED": "0"}
    ray_bin = str(Path(sys.executable).with_name("ray"))
    proc = subprocess.Popen(
        [ray_bin, "start", "--head", "--block", "--node-ip-address", "127.0.0.1", "--port", str(port),
         "--num-cpus", "2", "--num-gpus", "0", "--include-dashboard", "false", "--temp-dir", tmp,
         "--disable-usage-stats"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stdout.read()
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("the Ray head did not start within 90 s")
        yield address, env
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # `ray start --block` shuts down the node it started
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_ray_backend_same_manifest_resume_and_bytes(tmp_path, tiny_model, ray_cluster, monkeypatch) -> None:
    address, env = ray_cluster
    for k in ("RAY_AUTH_MODE", "RAY_TMPDIR", "RAY_USAGE_STATS_ENABLED"):
        monkeypatch.setenv(k, env[k])
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"prompt": "a red chair", "seed": 3}\n{"prompt": "a blue mug", "format": "glb,obj"}\n')
    out = tmp_path / "out"
    # two assets with the local backend ...
    res = runner.invoke(app, ["batch", str(prompts), "--out", str(out), "--model", str(tiny_model), *FAST,
                              "--no-thumbnails"])
    assert res.exit_code == 0, res.output
    local = read_manifest(out)
    # ... then the file grows (one more asset, one failing row) and the batch resumes on Ray
    with prompts.open("a") as f:
        f.write('{"prompt": "a lamp"}\n{"prompt": "a barrel", "variations": 2}\n'
                '{"prompt": "a torus", "mesher": "sdf"}\n')
    (out / "0000_a_red_chair.glb").unlink()  # made again on Ray: must be the same bytes
    res = runner.invoke(app, ["batch", str(prompts), "--out", str(out), "--model", str(tiny_model), *FAST,
                              "--backend", "ray", "--address", address, "--resume"])
    assert res.exit_code == 1, res.output  # the sdf row fails (the tiny model has none); the rest goes on
    assert "ray: 2 worker(s)" in res.output and "1 of 6 asset(s) failed" in res.output
    recs = read_manifest(out)
    assert sorted(recs) == ["0000_a_red_chair", "0001_a_blue_mug", "0002_a_lamp", "0003_a_barrel_v0",
                            "0003_a_barrel_v1", "0004_a_torus"]
    assert recs["0001_a_blue_mug"] == local["0001_a_blue_mug"]  # skipped: its record is the local one
    assert recs["0000_a_red_chair"]["outputs"] == local["0000_a_red_chair"]["outputs"]  # identical bytes
    assert recs["0004_a_torus"]["status"] == "error" and "no SDF decoder" in recs["0004_a_torus"]["error"]
    for jid in ("0002_a_lamp", "0003_a_barrel_v0", "0003_a_barrel_v1"):
        r = recs[jid]
        assert r["status"] == "ok" and r["model"] == str(tiny_model.resolve())
        for o in r["outputs"]:
            assert sha(out / o["path"]) == o["sha256"]
        if HAVE_RENDERER:  # the actors render thumbnails too (headless EGL)
            assert (out / r["thumbnail"]).is_file()
    assert recs["0003_a_barrel_v1"]["seed"] == recs["0003_a_barrel_v0"]["seed"] + 1
    # everything done: a Ray resume skips all but the failing row
    lines = (out / MANIFEST).read_text().count("\n")
    res = runner.invoke(app, ["batch", str(prompts), "--out", str(out), "--model", str(tiny_model), *FAST,
                              "--backend", "ray", "--address", address, "--resume", "--json"])
    summary = json.loads(res.output)
    assert (summary["skipped"], summary["ok"], summary["failed"]) == (5, 0, 1)
    assert (out / MANIFEST).read_text().count("\n") == lines + 1


def test_ray_unreachable_address_is_one_line(tmp_path, tiny_model, monkeypatch) -> None:
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    prompts = tmp_path / "p.txt"
    prompts.write_text("a red chair\n")
    port = _free_port()  # nothing listens there
    res = runner.invoke(app, ["batch", str(prompts), "--out", str(tmp_path / "o"), "--model", str(tiny_model),
                              "--backend", "ray", "--address", f"127.0.0.1:{port}"])
    assert res.exit_code == 2, res.output
    assert "cannot connect to the Ray cluster" in res.output and "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) == 1 and not (tmp_path / "o").exists()
