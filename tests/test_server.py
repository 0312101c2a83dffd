"""``gen3d serve`` against a real server process on a loopback port (no mocks): jobs, progress, cancel,
release, validation errors, token checks."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "blender"))
from serve_helpers import CHEAP, GEN3D, Server, make_tiny_model  # noqa: E402

httpx = pytest.importorskip("httpx", reason="the server extra is needed: pip install 'gen3d[server]'")
pytest.importorskip("fastapi", reason="the server extra is needed: pip install 'gen3d[server]'")



@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("tinymodel"))


@pytest.fixture(scope="module")
def server(tiny_model, tmp_path_factory):
    s = Server(tiny_model, tmp_path_factory.mktemp("serve") / "serve.log")
    try:
        s.wait_ready()
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def api(server):
    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


def wait_state(api, job_id: str, states=("done", "failed", "cancelled"), timeout: float = 120.0) -> tuple[dict, list]:
    seen = []
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        st = api.get(f"/v1/jobs/{job_id}").json()
        seen.append(st)
        if st["state"] in states:
            return st, seen
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still {seen[-1]['state']} after {timeout} s")


def glb_json(data: bytes) -> dict:
    magic, version, length = struct.unpack("<4sII", data[:12])
    assert magic == b"glTF" and version == 2 and length == len(data)
    chunk_len, chunk_type = struct.unpack("<I4s", data[12:20])
    assert chunk_type == b"JSON"
    return json.loads(data[20:20 + chunk_len])


def test_health_before_any_job(api, tiny_model):
    h = api.get("/v1/health").json()
    assert h["status"] == "ok" and h["version"] and h["device"] == "cpu"
    assert h["model"] == str(tiny_model)
    assert set(h["presets"]) == {"fast", "standard", "high"}


def test_job_runs_with_progress_and_serves_a_glb(api, tiny_model):
    r = api.post("/v1/jobs", json={"prompt": "  a red   chair ", "seed": 11, "size": 1.5, **CHEAP})
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["seed"] == 11 and job["state"] == "queued"
    final, seen = wait_state(api, job["id"])
    assert final["state"] == "done", final["error"]
    assert final["prompt"] == "a red chair"  # cleaned like the CLI
    stages = [s["stage"] for s in seen]
    assert "mesh" in stages or "diffuse" in stages or "load" in stages, stages
    fracs = [s["progress"] for s in seen]
    assert fracs == sorted(fracs) and fracs[-1] == 1.0
    assert final["options"]["texture_size"] == 256 and final["options"]["steps"] == 8
    assert final["options"]["mesh_resolution"] == 64  # from the fast preset
    assert final["metadata"]["seed"] == 11 and final["metadata"]["model"] == str(tiny_model)
    # the job record says how the prompt was understood (the tiny model has no vocabulary: the colour only)
    assert final["understood"] == "nothing this model knows, red" == final["metadata"]["understood"]["summary"]
    res = api.get(f"/v1/jobs/{job['id']}/result")
    assert res.status_code == 200 and res.headers["content-type"] == "model/gltf-binary"
    assert res.headers["x-gen3d-seed"] == "11"
    doc = glb_json(res.content)
    assert len(doc["meshes"]) == 1 and doc["images"] and doc["materials"]
    pos = doc["accessors"][doc["meshes"][0]["primitives"][0]["attributes"]["POSITION"]]
    extent = [hi - lo for hi, lo in zip(pos["max"], pos["min"], strict=True)]
    assert max(extent) == pytest.approx(1.5, rel=1e-3)
    assert final["thumbnail"] == f"/v1/jobs/{job['id']}/thumbnail"
    th = api.get(final["thumbnail"])
    assert th.status_code == 200 and th.headers["content-type"] == "image/png"
    assert th.content[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", th.content[16:24]) == (128, 128)
    assert api.get("/v1/health").json()["models_loaded"] == [str(tiny_model)]
    listed = api.get("/v1/jobs").json()["jobs"]
    assert any(j["id"] == job["id"] for j in listed)


def test_same_seed_same_points(api):
    ids = [api.post("/v1/jobs", json={"prompt": "a blue mug", "seed": 4, "thumbnail": False, **CHEAP}).json()["id"]
           for _ in range(2)]
    blobs = []
    for i in ids:
        final = wait_state(api, i)[0]
        assert final["state"] == "done" and final["thumbnail"] is None
        blobs.append(glb_json(api.get(f"/v1/jobs/{i}/result").content))
    r = api.get(f"/v1/jobs/{ids[0]}/thumbnail")
    assert r.status_code == 404 and "thumbnail false" in r.json()["error"]
    acc = [b["accessors"][b["meshes"][0]["primitives"][0]["attributes"]["POSITION"]] for b in blobs]
    assert acc[0]["min"] == acc[1]["min"] and acc[0]["max"] == acc[1]["max"] and acc[0]["count"] == acc[1]["count"]


def test_cancel_running_between_diffusion_steps_and_queued(api):
    long = {"prompt": "a lamp", "seed": 1, "mesher": "poisson", "texture_size": 256, "steps": 1000}
    a = api.post("/v1/jobs", json=long).json()["id"]
    b = api.post("/v1/jobs", json={**long, "seed": 2}).json()["id"]
    # b waits behind a: cancelling it is immediate
    st_b = api.delete(f"/v1/jobs/{b}").json()
    assert st_b["state"] == "cancelled" and "before it started" in st_b["error"]
    # a is cancelled mid-diffusion
    st, _ = wait_state(api, a, states=("running",))
    t0 = time.monotonic()
    while st["stage"] != "diffuse" or st["progress"] <= 0.08:
        assert time.monotonic() - t0 < 60, st
        time.sleep(0.05)
        st = api.get(f"/v1/jobs/{a}").json()
    assert st["eta_s"] is not None and st["eta_s"] > 0
    r = api.delete(f"/v1/jobs/{a}")
    assert r.status_code == 200 and r.json()["cancel_requested"] is True
    t_cancel = time.monotonic()
    final, _ = wait_state(api, a, timeout=30)
    assert final["state"] == "cancelled", final
    assert time.monotonic() - t_cancel < 5.0  # honoured at the next step, not after 1000 steps + meshing
    assert final["progress"] < 0.6  # stopped inside diffusion
    assert api.get(f"/v1/jobs/{a}/result").status_code == 409
    # the worker is free again
    c = api.post("/v1/jobs", json={"prompt": "a barrel", "seed": 3, **CHEAP}).json()["id"]
    assert wait_state(api, c)[0]["state"] == "done"


def test_failure_carries_the_real_cause(api):
    r = api.post("/v1/jobs", json={"prompt": "a chair", "mesher": "sdf", "steps": 8, "texture_size": 256})
    final, _ = wait_state(api, r.json()["id"])
    assert final["state"] == "failed"
    assert "no SDF decoder" in final["error"] and "poisson" in final["error"]
    res = api.get(f"/v1/jobs/{r.json()['id']}/result")
    assert res.status_code == 409 and "no SDF decoder" in res.json()["error"]


@pytest.mark.parametrize(("body", "status", "needle"), [
    (b"{not json", 422, "not valid JSON"),
    (b'{"prompt": 3}', 422, "prompt"),
    (b'{"prompt": "a chair", "seed": -1}', 422, "seed"),
    (b'{"prompt": "a chair", "steps": "many"}', 422, "steps"),
    (b'{"prompt": "a chair", "steps": 100000}', 422, "steps"),
    (b'{"prompt": "a chair", "texture_size": 8}', 422, "texture_size"),
    (b'{"prompt": "a chair", "size": 0}', 422, "size"),
    (b'{"prompt": "a chair", "quality": "ultra"}', 422, "quality"),
    (b'{"prompt": "a chair", "mesher": "magic"}', 422, "mesher"),
    (b'{"prompt": "a chair", "thumbnail": "yes"}', 422, "thumbnail"),
    (b'{"prompt": "a chair", "colour": "red"}', 422, "unknown field 'colour'"),
    (b'{"prompt": "a chair", "color": "blurple"}', 422, "unknown colour 'blurple'"),
    (b'{"seed": 1}', 422, "prompt"),
    (b'{"prompt": ""}', 422, "prompt"),
    (b'{"prompt": "    "}', 422, "the prompt is empty"),
    (b"[1, 2]", 422, "invalid request"),
])
def test_bad_bodies_are_rejected_with_the_cause(api, body, status, needle):
    r = api.post("/v1/jobs", content=body, headers={"content-type": "application/json"})
    assert r.status_code == status, r.text
    assert needle in r.json()["error"]


def test_body_size_type_and_unknown_ids(api):
    big = json.dumps({"prompt": "a" * 20000}).encode()
    r = api.post("/v1/jobs", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "limit" in r.json()["error"]
    r = api.post("/v1/jobs", content=b"prompt=a chair", headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415 and "JSON" in r.json()["error"]
    for method, path in (("GET", "/v1/jobs/nope"), ("DELETE", "/v1/jobs/nope"), ("GET", "/v1/jobs/nope/result")):
        r = api.request(method, path)
        assert r.status_code == 404 and "no job 'nope'" in r.json()["error"]
    r = api.get("/v1/nothing")
    assert r.status_code == 404 and "no such endpoint" in r.json()["error"]


def test_release_model(api, tiny_model):
    long = {"prompt": "a tree", "seed": 9, "mesher": "poisson", "texture_size": 256, "steps": 1000}
    j = api.post("/v1/jobs", json=long).json()["id"]
    wait_state(api, j, states=("running",))
    r = api.post("/v1/release")
    assert r.status_code == 409 and "is running" in r.json()["error"]
    api.delete(f"/v1/jobs/{j}")
    assert wait_state(api, j)[0]["state"] == "cancelled"
    r = api.post("/v1/release")
    assert r.status_code == 200 and r.json() == {"released": True, "models_loaded": []}
    assert api.get("/v1/health").json()["models_loaded"] == []
    assert api.post("/v1/release").json()["released"] is False


@pytest.fixture(scope="module")
def token_server(tiny_model, tmp_path_factory):
    s = Server(tiny_model, tmp_path_factory.mktemp("serve_tok") / "serve.log", token="s3cret-token-42")
    try:
        s.wait_ready()
        yield s
    finally:
        s.stop()


def test_token_checked_on_every_request(token_server):
    with httpx.Client(base_url=token_server.url, timeout=10) as c:
        for method, path in (("GET", "/v1/health"), ("POST", "/v1/jobs"), ("GET", "/v1/jobs/x"),
                             ("DELETE", "/v1/jobs/x"), ("GET", "/v1/jobs/x/result"), ("POST", "/v1/release")):
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret-token-42"}):
                r = c.request(method, path, headers=headers, json={"prompt": "a chair"})
                assert r.status_code == 401, (method, path, headers)
                assert "token" in r.json()["error"]
        ok = {"Authorization": "Bearer s3cret-token-42"}
        assert c.get("/v1/health", headers=ok).status_code == 200
        r = c.post("/v1/jobs", headers=ok, json={"prompt": "a chair", "seed": 2, **CHEAP})
        assert r.status_code == 202
        c.delete(f"/v1/jobs/{r.json()['id']}", headers=ok)


def test_cli_refuses_network_bind_without_token():
    r = subprocess.run([str(GEN3D), "serve", "--host", "0.0.0.0", "--port", "1"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2
    assert "--token" in r.stderr and r.stderr.count("\n") == 1


def test_cli_preload_failure_is_one_line(tmp_path):
    r = subprocess.run([str(GEN3D), "serve", "--model", str(tmp_path / "missing"), "--preload", "--port", "1"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert r.stderr.startswith("error: unknown model") and r.stderr.count("\n") == 1


def test_cli_busy_port_is_one_line():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = subprocess.run([str(GEN3D), "serve", "--port", str(port)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert r.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}") and r.stderr.count("\n") == 1
