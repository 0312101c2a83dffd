"""The one pipeline every shell calls: prompt -> text vector -> base diffusion (points) -> optional
upsampler -> mesh decoder -> cleanup/decimate -> UV + texture bake -> exporters.

Progress is reported as ``progress(stage, fraction)`` with stages :data:`STAGES`; ``cancel`` (an Event or a
callable) is honoured between diffusion steps and between stages.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from gen3d import __version__
from gen3d.device import resolve_device
from gen3d.diffusion.samplers import Cancelled, _is_cancelled
from gen3d.pointcloud import PointCloud
from gen3d.registry import ModelError, ModelSpec, recorded_hashes, resolve

STAGES = ("encode", "diffuse", "upsample", "mesh", "texture", "export")
MAX_PROMPT_CHARS = 300
StageProgress = Callable[[str, float], None]


class PromptError(ValueError):
    pass


@dataclass
class Asset:
    """One generated object: its point cloud, its textured mesh (None with ``points_only``) and metadata."""

    prompt: str
    seed: int
    point_cloud: PointCloud
    mesh: Any = None  # gen3d.texture.asset.TexturedMesh
    metadata: dict = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def save(self, path: str | Path, format: str | None = None, force: bool = False,
             lods: int | None = None) -> list[Path]:
        """Write the asset; the format comes from the suffix unless given (glb, obj, ply, usdz).
        With no mesh (points only) a .ply of the point cloud is written."""
        if self.mesh is None:
            from gen3d.export.cloud import save_cloud_ply

            if (format or Path(path).suffix.lstrip(".").lower()) != "ply":
                raise ValueError("a points-only asset can only be saved as .ply: use a .ply path")
            return [save_cloud_ply(self.point_cloud, path, force=force)]
        from gen3d.export import export

        return export(self.mesh, path, format=format, force=force, lods=lods, metadata=self.metadata)


def clean_prompt(prompt: str) -> tuple[str, list[str]]:
    """Strip, reject empty, truncate absurdly long prompts (with a warning)."""
    warnings = []
    if not isinstance(prompt, str) or not prompt.strip():
        raise PromptError("the prompt is empty: describe an object, e.g. gen3d make \"a red chair\"")
    p = " ".join(prompt.split())
    if len(p) > MAX_PROMPT_CHARS:
        warnings.append(f"prompt truncated from {len(p)} to {MAX_PROMPT_CHARS} characters")
        p = p[:MAX_PROMPT_CHARS]
    return p, warnings


class Pipeline:
    """Loaded models, reusable across prompts (models load once)."""

    def __init__(self, model: str = "gen3d-small", device: str = "auto"):
        from gen3d.models.checkpoints import load_model

        self.spec: ModelSpec = resolve(model)
        self.device = resolve_device(device)
        base_path = self.spec.path("base")
        if not base_path.is_file():
            hint = (f"run 'gen3d models download {self.spec.name}'" if not self.spec.bundled
                    else "reinstall gen3d or check the model folder")
            raise ModelError(f"model {self.spec.name} is not available ({base_path} missing): {hint}")
        hashes = recorded_hashes(self.spec)  # every load is checked against the recorded sha256 when known

        def load(role: str):
            path = self.spec.path(role)
            return load_model(path, self._config_for(role), device=self.device, expected_sha256=hashes.get(path.name),
                              expert_hashes=hashes or None)

        self.base, self.base_config = load("base")
        self.upsampler = None
        if self.spec.uses("upsample"):  # optional roles load only when their file is there
            self.upsampler, self.upsample_config = load("upsample")
        self.sdf = None
        if self.spec.has("sdf") and self.spec.path("sdf").is_file():
            self.sdf, self.sdf_config = load("sdf")
        self._text = None
        self.vocabulary = Vocabulary.load(self.spec.directory(), self)

    @property
    def text(self):
        """The text encoder, loaded on first use (CLIP for the official weights may need a download)."""
        if self._text is None:
            from gen3d.text import get_text_encoder

            self._text = get_text_encoder(self.spec.text_encoder, device=self.device)
        return self._text

    def _config_for(self, role: str) -> dict | str | None:
        for f in self.spec.files:
            if f.role == role:
                return f.config  # a named config for official .pt files, else None (JSON beside the file)
        return None

    @property
    def default_mesher(self) -> str:
        """The model's chosen mesher (``ModelSpec.mesher``), else the learned decoder when it has one."""
        if self.spec.mesher:
            return self.spec.mesher
        return "sdf" if self.sdf is not None else "shell"

    def _mesher(self, name: str):
        """A mesher name, or for ``sdf`` this model's learned decoder as an :class:`SdfMesher` (the mesh stage
        conditions it on the cloud it meshes, after dropping outliers)."""
        if name == "sdf":
            if self.sdf is None:
                raise ModelError(f"model {self.spec.name} has no SDF decoder: use --mesher shell, poisson or alpha")
            from gen3d.mesh.decoder import sdf_function
            from gen3d.mesh.reconstruct import SdfMesher

            return SdfMesher("sdf", lambda cloud: sdf_function(self.sdf, self.sdf_config, cloud))
        return name

    # ------------------------------------------------------------------------------------------------
    def sample_points(self, prompts: list[str], seeds: list[int], *, steps: int | None = None,
                      guidance: float | None = None, sampler: str | None = None, points: int | None = None,
                      progress: StageProgress | None = None, cancel: Any = None,
                      upsample_steps: int | None = None) -> list[PointCloud]:
        """``steps`` sets the base model's steps, ``upsample_steps`` the upsampler's (default: each config's)."""
        from gen3d.diffusion.clouds import sample_clouds

        def report(stage):
            return None if progress is None else (lambda i, n: progress(stage, i / n))

        if progress:
            progress("encode", 0.0)
        emb = self.text.encode(prompts).to(self.device)
        if progress:
            progress("encode", 1.0)
        clouds = sample_clouds(self.base, self.base_config, emb, points=points, seeds=seeds, sampler=sampler,
                               steps=steps, guidance=guidance, progress=report("diffuse"), cancel=cancel)
        if self.upsampler is not None:
            clouds = self._upsample(clouds, seeds, report("upsample"), cancel, steps=upsample_steps)
        return clouds

    def _upsample(self, clouds, seeds, progress, cancel, steps: int | None = None) -> list[PointCloud]:
        from gen3d.diffusion.clouds import upsample_clouds

        return upsample_clouds(self.upsampler, self.upsample_config, clouds, seeds=seeds, steps=steps,
                               progress=progress, cancel=cancel)

    def generate_many(self, prompts: list[str], *, seeds: list[int] | None = None, steps: int | None = None,
                      guidance: float | None = None, sampler: str | None = None, points: int | None = None,
                      mesher: str | None = None, texture_size: int = 1024, max_faces: int | None = None,
                      size: float | None = None, lods: int = 0, points_only: bool = False,
                      progress: StageProgress | None = None, cancel: Any = None,
                      mesh_resolution: int | None = None, upsample_steps: int | None = None) -> list[Asset]:
        """Generate several prompts, batched through the diffusion model together."""
        cleaned, warnings = [], []
        for p in prompts:
            c, w = clean_prompt(p)
            cleaned.append(c)
            warnings.extend(w)
        seeds = list(seeds) if seeds is not None else [secrets.randbelow(2**31) for _ in cleaned]
        if len(seeds) != len(cleaned):
            raise ValueError("give one seed per prompt")
        mesher = mesher or self.default_mesher
        t0 = time.perf_counter()
        clouds = self.sample_points(cleaned, seeds, steps=steps, guidance=guidance, sampler=sampler, points=points,
                                    progress=progress, cancel=cancel, upsample_steps=upsample_steps)
        t_points = time.perf_counter() - t0
        assets = []
        for prompt, seed, cloud in zip(cleaned, seeds, clouds, strict=True):
            meta = self.metadata(prompt, seed, steps=steps, upsample_steps=upsample_steps if self.upsampler else None,
                                 guidance=guidance, sampler=sampler, points=len(cloud),
                                 mesher=None if points_only else mesher, texture_size=texture_size,
                                 max_faces=max_faces, size=size)
            meta["warnings"] = warnings + self.vocabulary.warnings(prompt)
            asset = Asset(prompt, seed, cloud, None, meta, {"points": t_points / len(cleaned)})
            if not points_only:
                if _is_cancelled(cancel):
                    raise Cancelled("cancelled before meshing")
                asset.mesh = self.mesh(cloud, prompt=prompt, mesher=mesher, texture_size=texture_size,
                                       max_faces=max_faces, size=size, lods=lods, metadata=meta, progress=progress,
                                       resolution=mesh_resolution)
                asset.timings.update(asset.mesh.timings)
            assets.append(asset)
        return assets

    def generate(self, prompt: str, *, seed: int | None = None, **kw) -> Asset:
        return self.generate_many([prompt], seeds=None if seed is None else [seed], **kw)[0]

    def mesh(self, cloud: PointCloud, *, prompt: str = "", mesher: str | None = None, texture_size: int = 1024,
             max_faces: int | None = None, size: float | None = None, lods: int = 0, metadata: dict | None = None,
             progress: StageProgress | None = None, resolution: int | None = None):
        from gen3d.texture.asset import mesh_and_texture

        if progress:
            progress("mesh", 0.0)
        size = size if size is not None else self.vocabulary.real_size(prompt)
        extra = {} if resolution is None else {"resolution": int(resolution)}  # None: the mesher's default
        out = mesh_and_texture(cloud, mesher=self._mesher(mesher or self.default_mesher),
                               texture_size=texture_size,
                               max_faces=max_faces, size_m=size, lods=lods, metadata=metadata,
                               material_hint=self.vocabulary.material(prompt), **extra)
        if progress:
            progress("texture", 1.0)
        return out

    def metadata(self, prompt: str, seed: int, **params) -> dict:
        return {"prompt": prompt, "seed": int(seed), "model": self.spec.name, "generator": f"gen3d {__version__}",
                "parameters": {k: v for k, v in params.items() if v is not None}}


VOCAB_VECTORS = "vocab.safetensors"


def phrases_digest(phrases: list[str]) -> str:
    import hashlib

    return hashlib.sha256("\n".join(phrases).encode()).hexdigest()


class Vocabulary:
    """What a model knows: its category names, synonyms and real sizes, with text vectors to compare a
    prompt against (``vocab.json`` beside the weights). Models without one get no warnings."""

    def __init__(self, entries: list[dict], owner, threshold: float, directory: Path | None = None):
        self.entries, self.owner, self.threshold, self.directory = entries, owner, threshold, directory
        self._vectors: torch.Tensor | None = None
        self._prompt_vectors: dict[str, torch.Tensor] = {}

    @classmethod
    def load(cls, directory: Path, owner) -> Vocabulary:
        """``owner.text`` is the text encoder (looked up only when a prompt is first checked)."""
        import json

        p = Path(directory) / "vocab.json"
        if not p.is_file():
            return cls([], owner, 0.0)
        data = json.loads(p.read_text())
        return cls(data["entries"], owner, float(data.get("threshold", 0.5)), Path(directory))

    @property
    def text(self):
        return self.owner.text

    @property
    def vectors(self) -> torch.Tensor | None:
        """The phrases' text vectors: read from ``vocab.safetensors`` when it was written for these phrases
        and this encoder (``scripts/make_vocab.py``), else encoded now (slower start, same result)."""
        if self._vectors is None and self.entries:
            phrases = [e["phrase"] for e in self.entries]
            self._vectors = self._cached_vectors(phrases)
            if self._vectors is None:
                self._vectors = self.text.encode(phrases).cpu()
        return self._vectors

    def _cached_vectors(self, phrases: list[str]) -> torch.Tensor | None:
        if self.directory is None or not (self.directory / VOCAB_VECTORS).is_file():
            return None
        from safetensors import safe_open

        try:
            with safe_open(str(self.directory / VOCAB_VECTORS), "pt") as f:
                meta = f.metadata() or {}
                if meta.get("phrases_sha256") != phrases_digest(phrases) or meta.get("encoder") != self.text.name:
                    return None
                vectors = f.get_tensor("vectors").float()
        except Exception:  # unreadable cache: encode instead
            return None
        return vectors if vectors.shape == (len(phrases), self.text.dim) else None

    def prompt_vector(self, prompt: str) -> torch.Tensor:
        if prompt not in self._prompt_vectors:
            self._prompt_vectors = {prompt: self.text.encode([prompt])[0].cpu()}  # keep only the latest
        return self._prompt_vectors[prompt]

    def nearest(self, prompt: str, k: int = 3) -> list[tuple[float, dict]]:
        if self.vectors is None:
            return []
        sims = (self.vectors @ self.prompt_vector(prompt)).tolist()
        order = sorted(range(len(sims)), key=lambda i: -sims[i])
        out, seen = [], set()
        for i in order:
            cat = self.entries[i]["category"]
            if cat not in seen:
                seen.add(cat)
                out.append((sims[i], self.entries[i]))
            if len(out) == k:
                break
        return out

    def warnings(self, prompt: str) -> list[str]:
        near = self.nearest(prompt)
        if not near or near[0][0] >= self.threshold:
            return []
        names = ", ".join(e["category"] for _, e in near)
        return [f"'{prompt}' is outside what this model knows (closest: {names}); results will look like those. "
                "For open-vocabulary prompts try --model point-e-40m (GPU recommended)."]

    def _best(self, prompt: str) -> dict | None:
        near = self.nearest(prompt, k=1)
        return near[0][1] if near and near[0][0] >= self.threshold else None

    def real_size(self, prompt: str) -> float | None:
        e = self._best(prompt)
        return None if e is None else e.get("size_m")

    def material(self, prompt: str) -> str | None:
        words = set(prompt.lower().replace(",", " ").split())
        for m in ("wooden", "wood", "metal", "metallic", "steel", "iron", "plastic", "stone", "glass", "ceramic",
                  "leather", "fabric", "gold", "golden", "silver", "marble", "concrete"):
            if m in words:
                return m
        return None


_CACHE: dict[tuple[str, str], Pipeline] = {}


def load_pipeline(model: str = "gen3d-small", device: str = "auto") -> Pipeline:
    """A cached :class:`Pipeline` (models load once per process)."""
    key = (model, str(resolve_device(device)))
    if key not in _CACHE:
        _CACHE[key] = Pipeline(model, device)
    return _CACHE[key]


def generate(prompt: str, *, seed: int | None = None, model: str = "gen3d-small", steps: int | None = None,
             guidance: float | None = None, device: str = "auto", mesher: str | None = None,
             texture_size: int = 1024, max_faces: int | None = None, size: float | None = None,
             progress: StageProgress | None = None, **kw) -> Asset:
    """Prompt -> :class:`Asset` with the (cached) pipeline for ``model``."""
    return load_pipeline(model, device).generate(prompt, seed=seed, steps=steps, guidance=guidance, mesher=mesher,
                                                 texture_size=texture_size, max_faces=max_faces, size=size,
                                                 progress=progress, **kw)


def generate_many(prompts: list[str], *, model: str = "gen3d-small", device: str = "auto", **kw) -> list[Asset]:
    return load_pipeline(model, device).generate_many(prompts, **kw)
