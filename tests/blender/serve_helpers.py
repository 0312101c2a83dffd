"""Shared by the server, add-on client and bpy tests: a tiny random model and a real ``gen3d serve``
subprocess on a free loopback port (always terminated)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GEN3D = Path(sys.executable).parent / "gen3d"
# cheap generation for tests: few steps, classical mesher (the tiny model has no SDF decoder), small texture
CHEAP = {"quality": "fast", "steps": 8, "mesher": "poisson", "texture_size": 256}


def make_tiny_model(directory: Path) -> Path:
    """A randomly initialised, shrunken gen3d-small base model (base.safetensors + base.json)."""
    import torch

    from gen3d.models.checkpoints import save_checkpoint
    from gen3d.models.configs import build_model

    cfg = json.loads((REPO / "assets" / "configs" / "gen3d-small-base.json").read_text())["model"]
    cfg["model"].update(width=64, layers=2, heads=4)
    cfg["points"] = 256
    cfg["sampler"]["steps"] = 8
    torch.manual_seed(0)
    model = build_model(cfg)
    with torch.no_grad():  # a zero output projection collapses every point onto one
        model.output_proj.weight.normal_(0.0, 0.02)
        model.output_proj.bias.normal_(0.0, 0.02)
    directory.mkdir(parents=True, exist_ok=True)
    save_checkpoint(model, cfg, directory / "base.safetensors")
    return directory


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, model_dir: Path, log: Path, token: str | None = None, extra: list[str] | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = token
        self.log = log
        env = dict(os.environ, OMP_NUM_THREADS="1", PYOPENGL_PLATFORM="egl", HF_HUB_OFFLINE="1")
        cmd = [str(GEN3D), "serve", "--host", "127.0.0.1", "--port", str(self.port), "--model", str(model_dir),
               "--device", "cpu", *(extra or [])]
        if token:
            cmd += ["--token", token]
        self._fh = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd, stdout=self._fh, stderr=subprocess.STDOUT, env=env)

    def wait_ready(self, timeout: float = 90.0) -> dict:
        t0 = time.monotonic()
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gen3d serve exited ({self.proc.returncode}): {self.log.read_text()[-2000:]}")
            try:
                req = urllib.request.Request(self.url + "/v1/health", headers=headers)
                with urllib.request.urlopen(req, timeout=2) as r:
                    return json.loads(r.read())
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        raise RuntimeError(f"gen3d serve did not answer in {timeout} s: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        self._fh.close()
