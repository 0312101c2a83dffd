"""Named models: where their files live, how they are downloaded and verified.

- ``gen3d-small``: bundled in ``assets/models/gen3d-small`` (fp16 safetensors + JSON configs).
- ``point-e-40m``: OpenAI's released base40M-textvec + upsample + sdf ``.pt`` files, downloaded into the
  cache (``GEN3D_HOME``, default the platform's user cache dir). No hashes are published, so the sha256 of
  each file is recorded on first download and verified on every later use; a mismatch is an error.
"""

from __future__ import annotations

import hashlib
import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

POINTE_BASE_URL = "https://openaipublic.azureedge.net/main/point-e"


class ModelError(ValueError):
    """A model is unknown, missing, or failed verification."""


def assets_dir() -> Path:
    env = os.environ.get("GEN3D_ASSETS")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "assets"


def cache_dir() -> Path:
    env = os.environ.get("GEN3D_HOME")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("gen3d"))


@dataclass
class ModelFile:
    role: str  # base | upsample | sdf
    filename: str
    config: str | None = None  # named config for official .pt files; None = JSON beside the file
    url: str | None = None  # relative to the model's base URL when downloadable
    optional: bool = False  # used when present (e.g. an upsampler not shipped yet); its absence is no error


@dataclass
class ModelSpec:
    name: str
    description: str
    files: list[ModelFile]
    text_encoder: str
    bundled: bool
    base_url_env: str | None = None
    default_base_url: str | None = None
    cpu_seconds_per_sample: float | None = None
    extras: dict = field(default_factory=dict)
    mesher: str | None = None  # the default --mesher; None: 'sdf' when the model has a decoder, else 'shell'

    @property
    def base_url(self) -> str | None:
        if self.base_url_env and os.environ.get(self.base_url_env):
            return os.environ[self.base_url_env].rstrip("/")
        return self.default_base_url

    def directory(self) -> Path:
        return assets_dir() / "models" / self.name if self.bundled else cache_dir() / "models" / self.name

    def path(self, role: str) -> Path:
        for f in self.files:
            if f.role == role:
                return self.directory() / f.filename
        raise ModelError(f"model {self.name} has no {role} file")

    def has(self, role: str) -> bool:
        return any(f.role == role for f in self.files)

    def uses(self, role: str) -> bool:
        """Whether the pipeline loads ``role``: listed, and either required or (when optional) present."""
        return any(f.role == role and (not f.optional or (self.directory() / f.filename).is_file())
                   for f in self.files)


MODELS: dict[str, ModelSpec] = {
    "gen3d-small": ModelSpec(
        name="gen3d-small",
        description="bundled CPU model: MiniLM text vectors -> 256-point coloured clouds of 42 procedural categories",
        # an upsampler is used once one is trained and exported here ('gen3d train upsample'); none is shipped yet
        # base.json lists base_high_noise.safetensors as the expert for the noisier timesteps (gen3d.models.experts)
        files=[ModelFile("base", "base.safetensors"), ModelFile("base_expert", "base_high_noise.safetensors"),
               ModelFile("upsample", "upsample.safetensors", optional=True), ModelFile("sdf", "sdf.safetensors")],
        text_encoder="minilm",
        bundled=True,
        # the default mesher is the learned decoder (sdf.json: bridged with balls on these sparse clouds, and
        # cleanup drops pieces under 5% of the largest); on the model's own clouds it scores a higher F@1% than
        # shell and keeps thin parts shell merges or loses (docs/meshing.md)
    ),
    "point-e-40m": ModelSpec(
        name="point-e-40m",
        description="OpenAI Point-E base40M-textvec + upsampler + SDF (CLIP ViT-L/14 text); meant for GPUs",
        files=[
            ModelFile("base", "base_40m_textvec.pt", config="base40M-textvec", url="base_40m_textvec.pt"),
            ModelFile("upsample", "upsample_40m.pt", config="upsample", url="upsample_40m.pt"),
            ModelFile("sdf", "sdf.pt", config="sdf", url="sdf.pt"),
        ],
        text_encoder="clip-vit-l-14",
        bundled=False,
        base_url_env="GEN3D_POINTE_URL",
        default_base_url=POINTE_BASE_URL,
        cpu_seconds_per_sample=205.0,  # measured: reference code, base stage alone, 2-core CPU
    ),
}


def get_spec(name: str) -> ModelSpec:
    if name not in MODELS:
        raise ModelError(f"unknown model {name!r}: choose one of {', '.join(MODELS)} or give a folder path")
    return MODELS[name]


def _hashes_path(spec: ModelSpec) -> Path:
    return spec.directory() / "sha256.json"


def recorded_hashes(spec: ModelSpec) -> dict[str, str]:
    p = _hashes_path(spec)
    return json.loads(p.read_text()) if p.is_file() else {}


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks (the one implementation gen3d uses)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def verify(name: str) -> dict[str, str]:
    """Check every file of a model exists and matches its recorded sha256. Returns {file: status}."""
    spec = get_spec(name)
    known = recorded_hashes(spec)
    out = {}
    for f in spec.files:
        p = spec.directory() / f.filename
        if not p.is_file():
            out[f.filename] = "absent (optional)" if f.optional else "missing"
        elif f.filename in known:
            out[f.filename] = "ok" if sha256_file(p) == known[f.filename] else "CORRUPTED"
        else:
            out[f.filename] = "present (no recorded hash)"
    return out


def download_file(url: str, dest: Path, progress: Callable[[int, int | None], None] | None = None,
                  timeout: float = 60.0) -> Path:
    """HTTP(S) download into ``dest``, resuming a previous partial ``dest.part`` with a Range request."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    req = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:  # already complete
            os.replace(part, dest)
            return dest
        raise ModelError(f"download of {url} failed: HTTP {e.code} {e.reason}") from e
    except (urllib.error.URLError, OSError) as e:
        raise ModelError(f"cannot reach {url} ({e}): check the network, or copy the file into "
                         f"{dest.parent} by hand") from e
    with resp:
        resumed = resp.status == 206
        if not resumed:
            have = 0
        length = resp.headers.get("Content-Length")
        total = have + int(length) if length is not None else None
        done = have
        with open(part, "ab" if resumed else "wb") as f:
            while chunk := resp.read(1 << 20):
                f.write(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
    if total is not None and done != total:
        raise ModelError(f"download of {url} stopped at {done} of {total} bytes: run the command again to resume")
    os.replace(part, dest)
    return dest


def download(name: str, progress: Callable[[str, int, int | None], None] | None = None) -> list[Path]:
    """Fetch a downloadable model's missing files, record their sha256 on first fetch, verify all."""
    spec = get_spec(name)
    if spec.bundled:
        missing = [f.filename for f in spec.files if f.role == "base" and not (spec.directory() / f.filename).is_file()]
        if missing:
            raise ModelError(f"bundled model {name} is missing {missing} in {spec.directory()}: reinstall gen3d")
        return [spec.directory() / f.filename for f in spec.files if (spec.directory() / f.filename).is_file()]
    known = recorded_hashes(spec)
    paths = []
    for f in spec.files:
        dest = spec.directory() / f.filename
        if not dest.is_file():
            url = f"{spec.base_url}/{f.url}"
            download_file(url, dest, None if progress is None else (lambda d, t, fn=f.filename: progress(fn, d, t)))
        digest = sha256_file(dest)
        if f.filename in known and known[f.filename] != digest:
            raise ModelError(f"{dest} does not match its recorded sha256 (corrupted or replaced): delete it and run "
                             f"'gen3d models download {name}' again")
        known[f.filename] = digest
        paths.append(dest)
    _hashes_path(spec).write_text(json.dumps(known, indent=2) + "\n")
    return paths


def resolve(name_or_path: str) -> ModelSpec:
    """A registered name, or a folder holding base.safetensors (+ .json) and optionally upsample.safetensors
    and sdf.safetensors (each with its .json)."""
    if name_or_path in MODELS:
        return MODELS[name_or_path]
    p = Path(name_or_path)
    if p.is_dir():
        if not (p / "base.safetensors").is_file():
            raise ModelError(f"folder {p} has no base.safetensors: export a trained run with 'gen3d train export'")
        cfg = json.loads((p / "base.json").read_text()) if (p / "base.json").is_file() else {}
        files = [ModelFile("base", "base.safetensors")]
        for role in ("upsample", "sdf"):
            if (p / f"{role}.safetensors").is_file():
                files.append(ModelFile(role, f"{role}.safetensors"))
        spec = ModelSpec(name=str(p), description=f"local model in {p}", files=files,
                         text_encoder=cfg.get("text_encoder", "minilm"), bundled=True)
        spec.directory = lambda p=p: p  # type: ignore[method-assign]
        return spec
    raise ModelError(f"unknown model {name_or_path!r}: choose one of {', '.join(MODELS)} or give a model folder")
