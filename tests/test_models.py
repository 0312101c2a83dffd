"""``gen3d models`` and the point-e-40m registry entry, downloaded from a loopback HTTP server that honours
Range: progress, resume of a truncated .part, sha256 recorded then verified, corruption is an error, fully
offline once cached, ``Pipeline("point-e-40m")`` loading the three official-layout checkpoints strictly, and one
prompt through that pipeline: CLIP text tower (tiny and random, from a local folder) -> base -> upsampler -> GLB.

The served files are real official-layout state_dicts (``torch.save`` of the named 40M configs, random
weights), so the whole download path runs on full-size files."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from gen3d.cli import app

runner = CliRunner()
FILES = {"base_40m_textvec.pt": "base40M-textvec", "upsample_40m.pt": "upsample", "sdf.pt": "sdf"}


class RangeHandler(SimpleHTTPRequestHandler):
    """Static files with single-range ``Range: bytes=N-`` support (http.server has none); logs requests."""

    log: list[tuple[str, str | None]] = []

    def log_message(self, *args) -> None:  # quiet
        pass

    def send_head(self):
        self.log.append((self.path, self.headers.get("Range")))
        rng = self.headers.get("Range")
        path = Path(self.translate_path(self.path))
        if not rng or not path.is_file():
            return super().send_head()
        m = re.fullmatch(r"bytes=(\d+)-", rng.strip())
        size = path.stat().st_size
        if not m:
            self.send_error(400, "unsupported range")
            return None
        start = int(m.group(1))
        if start >= size:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        f = open(path, "rb")  # noqa: SIM115 - copyfile() reads it, do_GET closes it
        f.seek(start)
        self.send_response(206)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
        self.send_header("Content-Length", str(size - start))
        self.end_headers()
        return f


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """Official-layout .pt files for the three named configs, served on 127.0.0.1."""
    from gen3d.models.configs import build_model, named_config

    root = tmp_path_factory.mktemp("pointe_server")
    torch.manual_seed(0)
    for fname, cfg in FILES.items():
        torch.save(build_model(named_config(cfg)).state_dict(), root / fname)
    handler = type("H", (RangeHandler,), {"log": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}", handler.log, server
    finally:
        server.shutdown()
        server.server_close()


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_pointe_download_resume_verify_offline_and_load(served, tmp_path, monkeypatch) -> None:
    root, url, log, server = served
    home = tmp_path / "home"
    monkeypatch.setenv("GEN3D_HOME", str(home))
    monkeypatch.setenv("GEN3D_POINTE_URL", url)
    cache = home / "models" / "point-e-40m"

    res = runner.invoke(app, ["models", "path"])
    assert res.exit_code == 0 and res.output.strip() == str(home)
    res = runner.invoke(app, ["models", "list", "--json"])
    rows = {r["name"]: r for r in json.loads(res.output)}
    assert rows["point-e-40m"]["status"] == "not downloaded" and rows["point-e-40m"]["kind"] == "download"

    # a previous download stopped after 5 MB: the next one resumes with a Range request
    cache.mkdir(parents=True)
    base_src = root / "base_40m_textvec.pt"
    (cache / "base_40m_textvec.pt.part").write_bytes(base_src.read_bytes()[: 5 << 20])
    res = runner.invoke(app, ["models", "download", "point-e-40m"])
    assert res.exit_code == 0, res.output
    assert "meant for GPUs" in res.output and "205 s per sample" in res.output  # said before starting
    assert ("/base_40m_textvec.pt", f"bytes={5 << 20}-") in log
    assert ("/upsample_40m.pt", None) in log and ("/sdf.pt", None) in log
    for fname in FILES:
        assert sha(cache / fname) == sha(root / fname), fname
        assert f"ok {cache / fname}" in res.output
    assert not list(cache.glob("*.part"))
    recorded = json.loads((cache / "sha256.json").read_text())
    assert recorded == {f: sha(root / f) for f in FILES}

    # fully offline from here: the server is gone (connections are refused)
    server.shutdown()
    server.server_close()
    n_requests = len(log)
    res = runner.invoke(app, ["models", "verify", "point-e-40m"])
    assert res.exit_code == 0, res.output
    assert res.output.count("ok ") == 3
    res = runner.invoke(app, ["models", "download", "point-e-40m", "-q"])  # cached: no network needed
    assert res.exit_code == 0, res.output
    assert len(log) == n_requests
    res = runner.invoke(app, ["models", "info", "point-e-40m", "--json"])
    info = json.loads(res.output)
    assert info["status"] == "available" and info["cpu_seconds_per_sample"] == 205.0
    assert {f["file"]: f["sha256"] for f in info["files"]} == recorded

    # the same pipeline loads the three official checkpoints (strict: every key, every shape)
    from gen3d.pipeline import Pipeline

    pipe = Pipeline("point-e-40m", "cpu")
    assert pipe.upsampler is not None and pipe.sdf is not None
    assert pipe.base_config["model"]["width"] == 512 and pipe.upsample_config["points"] == 3072
    src = torch.load(root / "sdf.pt", weights_only=True)
    for k, v in pipe.sdf.state_dict().items():
        assert torch.equal(v, src[k]), k

    # the CLIP ViT-L/14 text tower (transformers backend) with its weights neither cached nor downloadable
    from gen3d.text import TextEncoderError

    monkeypatch.setenv("GEN3D_CLIP_BACKEND", "transformers")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("GEN3D_CLIP_PATH", raising=False)
    fix = "GEN3D_CLIP_PATH" if importlib.util.find_spec("transformers") else "gen3d[clip]"
    with pytest.raises(TextEncoderError, match=re.escape(fix)):
        _ = pipe.text
    # batch on the official stack: the CPU estimate is printed before starting, the failure is one line
    prompts = tmp_path / "p.txt"
    prompts.write_text("a red chair\n")
    res = runner.invoke(app, ["batch", str(prompts), "--out", str(tmp_path / "o"), "--model", "point-e-40m",
                              "--device", "cpu"])
    assert res.exit_code == 1, res.output
    assert "meant for GPUs" in res.output and "min for 1 asset" in res.output
    assert fix in res.output and "Traceback" not in res.output
    del pipe

    # corruption (same size, one byte changed) is an error for verify and for download
    data = bytearray((cache / "sdf.pt").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (cache / "sdf.pt").write_bytes(bytes(data))
    res = runner.invoke(app, ["models", "verify", "point-e-40m"])
    assert res.exit_code == 1 and "CORRUPTED" in res.output and "1 file(s) of point-e-40m corrupted" in res.output
    res = runner.invoke(app, ["models", "download", "point-e-40m", "-q"])
    assert res.exit_code == 2 and "does not match its recorded sha256" in res.output
    assert "Traceback" not in res.output and len(res.output.strip().splitlines()) == 1  # -q: no note
    # a missing file: verify says so; download needs the (stopped) server: a one-line network error
    (cache / "upsample_40m.pt").unlink()
    res = runner.invoke(app, ["models", "verify", "point-e-40m"])
    assert res.exit_code == 1 and "missing" in res.output
    (cache / "sdf.pt").unlink()
    res = runner.invoke(app, ["models", "download", "point-e-40m", "-q"])
    assert res.exit_code == 2 and "cannot reach" in res.output and "Traceback" not in res.output


def test_pointe_prompt_to_glb_with_clip(served, tmp_path, monkeypatch) -> None:
    """One prompt through the official stack, with a tiny random CLIP text tower as the local copy of the CLIP
    weights: prompt -> CLIP (768-d) -> base40M-textvec (1 Heun step, 256 points) -> upsampler (1 step, +3072
    points) -> SDF decoder -> a validator-clean GLB. Few steps and points keep it to seconds on a CPU."""
    pytest.importorskip("transformers", reason="the CLIP text encoder's transformers backend is not installed")
    import trimesh

    from gen3d.pipeline import Pipeline
    from tests.helpers_clip import write_tiny_clip
    from tests.helpers_gltf import assert_gltf_valid

    root = served[0]
    cache = tmp_path / "home" / "models" / "point-e-40m"
    cache.mkdir(parents=True)
    for fname in FILES:  # the served official-layout files, as a finished download leaves them
        (cache / fname).symlink_to(root / fname)
    monkeypatch.setenv("GEN3D_HOME", str(tmp_path / "home"))
    clip_dir = write_tiny_clip(tmp_path / "clip")
    monkeypatch.setenv("GEN3D_CLIP_PATH", str(clip_dir))
    monkeypatch.delenv("GEN3D_CLIP_BACKEND", raising=False)

    pipe = Pipeline("point-e-40m", "cpu")  # not load_pipeline's per-process cache: this test's GEN3D_HOME
    stages = []
    asset = pipe.generate("a red chair", seed=3, steps=1, upsample_steps=1, points=256, texture_size=256,
                          mesh_resolution=32, progress=lambda stage, frac: stages.append(stage))
    assert pipe.text.name == "clip-vit-l-14" and pipe.text.backend == "transformers" and pipe.text.folder == clip_dir
    assert {"encode", "diffuse", "upsample", "mesh"} <= set(stages)
    assert len(asset.point_cloud) == 256 + 3072  # the base cloud followed by the upsampler's new points
    params = asset.metadata["parameters"]
    assert asset.metadata["model"] == "point-e-40m" and params["steps"] == 1 and params["upsample_steps"] == 1
    assert params["mesher"] == "sdf"
    (glb,) = asset.save(tmp_path / "chair.glb")
    assert len(trimesh.load(glb, force="mesh").faces) > 0
    assert_gltf_valid(glb)


def test_models_errors_and_bundled(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("GEN3D_HOME", str(tmp_path))
    for args in (["info", "nope"], ["download", "nope"], ["verify", "nope"], ["path", "nope"]):
        res = runner.invoke(app, ["models", *args])
        assert res.exit_code == 2 and "unknown model 'nope'" in res.output, (args, res.output)
        assert len(res.output.strip().splitlines()) == 1
    res = runner.invoke(app, ["models", "list"])
    assert res.exit_code == 0 and "gen3d-small" in res.output and "point-e-40m" in res.output
    res = runner.invoke(app, ["models", "info", "gen3d-small"])
    assert res.exit_code == 0 and "minilm" in res.output
    res = runner.invoke(app, ["models", "path", "point-e-40m"])
    assert res.output.strip() == str(tmp_path / "models" / "point-e-40m")
