"""The Blender add-on's bpy-free half (client, job runner, history) against a real ``gen3d serve`` that the
add-on's own LocalServer starts from the gen3d executable (no mocks)."""

from __future__ import annotations

import json
import struct
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "blender"))
from serve_helpers import CHEAP, GEN3D, free_port, make_tiny_model  # noqa: E402

from blender_addon.client import Client, ClientError, LocalServer, check_url, is_loopback_url  # noqa: E402
from blender_addon.history import History  # noqa: E402
from blender_addon.jobs import Runner, plan  # noqa: E402

pytest.importorskip("fastapi", reason="the server extra is needed: pip install 'gen3d[server]'")
TOKEN = "addon-token-123"
OPTS = {k: v for k, v in CHEAP.items() if k != "quality"}


def test_addon_package_does_not_import_bpy():
    import subprocess

    code = ("import sys, blender_addon, blender_addon.client, blender_addon.jobs, blender_addon.history; "
            "assert 'bpy' not in sys.modules and 'torch' not in sys.modules, 'heavy import'; "
            "assert blender_addon.bl_info['blender'] >= (4, 2, 0)")
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    model = make_tiny_model(tmp_path_factory.mktemp("tinymodel_addon"))
    srv = LocalServer(str(GEN3D), model=str(model), device="cpu", token=TOKEN,
                      log_path=tmp_path_factory.mktemp("addon_serve") / "serve.log")
    try:
        health = srv.wait_ready(timeout=90)
        assert health["status"] == "ok"
        yield srv
    finally:
        srv.stop()
        assert not srv.running()


@pytest.fixture
def client(local) -> Client:
    return local.client()


def glb_ok(path: Path) -> dict:
    data = path.read_bytes()
    magic, version, length = struct.unpack("<4sII", data[:12])
    assert magic == b"glTF" and version == 2 and length == len(data)
    n = struct.unpack("<I", data[12:16])[0]
    return json.loads(data[20:20 + n])


def test_token_is_sent_and_required(local):
    assert local.client().health()["device"] == "cpu"
    with pytest.raises(ClientError) as e:
        Client(local.url, None).health()
    assert e.value.status == 401 and "token" in str(e.value)
    with pytest.raises(ClientError) as e:
        Client(local.url, "wrong-token").submit("a chair")
    assert e.value.status == 401


def test_submit_wait_download(client, tmp_path):
    job = client.submit("a red chair", seed=21, size=0.8, **OPTS)
    seen = []
    final = client.wait(job["id"], on_progress=seen.append, poll=0.05, timeout=120)
    assert final["state"] == "done" and final["seed"] == 21
    assert seen[-1]["progress"] == 1.0
    out = client.download(job["id"], tmp_path / "sub" / "chair.glb")
    doc = glb_ok(out)
    assert len(doc["meshes"]) == 1 and doc["images"]
    assert not list((tmp_path / "sub").glob("*.part"))


def test_runner_variations_in_a_thread(client, tmp_path):
    tasks = plan("a blue mug", seed=100, variations=2, quality="fast", size=0.3, **OPTS)
    assert [t.seed for t in tasks] == [100, 101]
    runner = Runner(client, tmp_path, poll=0.05)
    runner.add(tasks)
    runner.start()
    assert runner.busy
    runner.join(timeout=120)
    ready = runner.take_ready()
    assert [t.state for t in ready] == ["ready", "ready"], [t.error for t in tasks]
    assert [t.seed for t in ready] == [100, 101]
    for t in ready:
        assert t.path.is_file() and t.path.parent == tmp_path and t.job_id and t.model
        assert t.thumbnail == tmp_path / f"{t.job_id}.png" and t.thumbnail.read_bytes()[:4] == b"\x89PNG"
        glb_ok(t.path)
    assert not runner.busy
    text, frac = runner.summary()
    assert text == "2/2 done" and frac == 1.0


def test_runner_cancel_stops_running_and_pending(client, tmp_path):
    tasks = plan("a lamp", seed=5, variations=2, quality="fast", size=None, mesher="poisson", steps=1000,
                 texture_size=256)
    runner = Runner(client, tmp_path, poll=0.05)
    runner.add(tasks)
    runner.start()
    t0 = time.monotonic()
    while not (tasks[0].state == "running" and tasks[0].stage == "diffuse" and tasks[0].progress > 0.06):
        assert time.monotonic() - t0 < 60, (tasks[0].state, tasks[0].stage, tasks[0].error)
        time.sleep(0.05)
    text, frac = runner.summary()
    assert text.startswith("diffuse") and "+1 queued" in text and 0 < frac < 1
    runner.cancel()
    runner.join(timeout=30)
    assert [t.state for t in tasks] == ["cancelled", "cancelled"]
    assert client.status(tasks[0].job_id)["state"] == "cancelled"
    assert tasks[1].job_id is None  # never sent
    assert runner.take_ready() == []


def test_server_failure_reaches_the_task(client, tmp_path):
    (task,) = plan("a chair", seed=1, mesher="sdf", steps=8, texture_size=256)
    Runner(client, tmp_path).process(task, timeout=60)
    assert task.state == "failed" and "no SDF decoder" in task.error


def test_bad_options_are_reported(client, tmp_path):
    (task,) = plan("a chair", seed=1, texture_size=3)
    Runner(client, tmp_path).process(task)
    assert task.state == "failed" and "422" in task.error and "texture_size" in task.error


def test_connection_errors_name_the_fix(tmp_path):
    c = Client(f"http://127.0.0.1:{free_port()}", timeout=2)
    with pytest.raises(ClientError) as e:
        c.health()
    assert "cannot reach" in str(e.value) and e.value.status is None
    with pytest.raises(ClientError, match="not an http"):
        check_url("ftp://example.org")
    with pytest.raises(ClientError, match="Allow Online Access"):
        check_url("http://gpu-box.studio.lan:8717", online_access=False)
    assert check_url("http://127.0.0.1:8717/", online_access=False) == "http://127.0.0.1:8717"
    assert is_loopback_url("http://localhost:1") and is_loopback_url("http://[::1]:1")
    assert not is_loopback_url("http://10.0.0.2:1")
    with pytest.raises(ClientError, match="not found"):
        LocalServer(str(tmp_path / "no-such-gen3d"))


def test_plan_rejects_bad_input():
    with pytest.raises(ClientError, match="prompt is empty"):
        plan("   ", seed=1)
    with pytest.raises(ClientError, match="variations"):
        plan("a chair", seed=1, variations=0)
    with pytest.raises(ClientError, match="quality"):
        plan("a chair", seed=1, quality="ultra")
    seeds = {plan("a chair", seed=None)[0].seed for _ in range(5)}
    assert len(seeds) > 1 and all(0 <= s < 2**31 for s in seeds)


def test_history_roundtrip(tmp_path):
    h = History(tmp_path / "user")
    assert h.load() == []
    h.add("a chair", 3, "fast", 1.0, "j1", "gen3d-small", "/x/j1.glb")
    h.add("a mug", 4, "high", 0.3, "j2", "gen3d-small", None)
    entries = h.load()
    assert [(e["prompt"], e["seed"]) for e in entries] == [("a mug", 4), ("a chair", 3)]
    h.path.write_text("{broken")
    assert h.load() == []
    h.clear()
    assert h.load() == []
