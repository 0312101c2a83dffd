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

from gen3d import __version__
from gen3d.device import resolve_device
from gen3d.diffusion.samplers import Cancelled, _is_cancelled
from gen3d.pointcloud import PointCloud
from gen3d.registry import ModelError, ModelSpec, recorded_hashes, resolve
from gen3d.text.vocab import Vocabulary

STAGES = ("encode", "diffuse", "upsample", "mesh", "texture", "export")
# what a model with a vocabulary is conditioned on by default: "caption" (the understood object in the
# training captions' words), "prompt" (the prompt as typed) or "blend" (both vectors averaged); see
# docs/evaluation.md for the measurement that chose it
CONDITIONING = "caption"
CONDITIONING_MODES = ("caption", "prompt", "blend")
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
             lods: int | None = None, preset: str | None = None, images: str | None = None) -> list[Path]:
        """Write the asset; the format comes from the suffix unless given (glb, obj, ply, usdz, fbx).
        With no mesh (points only) a .ply of the point cloud is written. ``preset`` (unity, unreal, godot, web)
        names collision nodes the engine's way and sets FBX axes and units; ``images``: png, png9 or jpeg."""
        if self.mesh is None:
            from gen3d.export.cloud import save_cloud_ply

            if (format or Path(path).suffix.lstrip(".").lower()) != "ply":
                raise ValueError("a points-only asset can only be saved as .ply: use a .ply path")
            return [save_cloud_ply(self.point_cloud, path, force=force)]
        from gen3d.export import export

        return export(self.mesh, path, format=format, force=force, lods=lods, metadata=self.metadata,
                      preset=preset, images=images)


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
        self._understood: dict[str, Any] = {}

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
    def understand(self, prompt: str):
        """What this model makes of ``prompt`` (:func:`gen3d.text.understand.understand`), cached per prompt."""
        from gen3d.text.understand import understand

        if prompt not in self._understood:
            if len(self._understood) > 4096:
                self._understood.clear()
            self._understood[prompt] = understand(prompt, self.vocabulary)
        return self._understood[prompt]

    def conditioning_texts(self, prompts: list[str], conditioning: str | None = None) -> list[str]:
        """What the model is conditioned on: each prompt's canonical caption (``caption``, the default for a
        model with a vocabulary, see :data:`CONDITIONING`), the prompt itself (``prompt``)."""
        mode = self._conditioning(conditioning)
        if mode == "prompt":
            return list(prompts)
        return [self.understand(p).caption or p for p in prompts]

    def _conditioning(self, conditioning: str | None) -> str:
        mode = conditioning or (CONDITIONING if self.vocabulary.entries else "prompt")
        if mode not in CONDITIONING_MODES:
            raise ValueError(f"unknown conditioning {mode!r}: use one of {', '.join(CONDITIONING_MODES)}")
        return mode

    def _embed(self, prompts: list[str], conditioning: str | None):
        import torch

        mode = self._conditioning(conditioning)
        if mode == "blend":  # the prompt's and the caption's vectors averaged (unit length again)
            a = self.text.encode(prompts)
            b = self.text.encode(self.conditioning_texts(prompts, "caption"))
            return torch.nn.functional.normalize(a + b, dim=-1)
        return self.text.encode(self.conditioning_texts(prompts, mode))

    def exact_colors(self, clouds: list[PointCloud], prompts: list[str], color: str | None = None) -> list[PointCloud]:
        """Give each cloud the exact colour its prompt names when that is a shade or hex code the training
        palette does not have ("crimson", "#aa2222"), or ``color`` for all: the colour region the model
        painted in the nearest palette colour moves to it in CIELAB, shading kept (gen3d.pointcloud.color)."""
        from gen3d.pointcloud.color import recolor
        from gen3d.text.colors import nearest_palette_name, resolve_color

        forced = resolve_color(color) if color else None
        out = []
        for cloud, prompt in zip(clouds, prompts, strict=True):
            target = forced or self.understand(prompt).color
            if target is None or (forced is None and target.source == "palette"):
                out.append(cloud)
                continue
            near = resolve_color(nearest_palette_name(target.rgb)).rgb
            out.append(PointCloud(cloud.xyz, recolor(cloud.rgb, target.rgb, near=near)))
        return out

    def sample_points(self, prompts: list[str], seeds: list[int], *, steps: int | None = None,
                      guidance: float | None = None, sampler: str | None = None, points: int | None = None,
                      progress: StageProgress | None = None, cancel: Any = None,
                      upsample_steps: int | None = None, conditioning: str | None = None,
                      color: str | None = None, exact_color: bool = True) -> list[PointCloud]:
        """``steps`` sets the base model's steps, ``upsample_steps`` the upsampler's (default: each config's);
        ``conditioning`` what the model reads (:meth:`conditioning_texts`); ``color`` / ``exact_color``:
        :meth:`exact_colors`."""
        from gen3d.diffusion.clouds import sample_clouds

        def report(stage):
            return None if progress is None else (lambda i, n: progress(stage, i / n))

        if progress:
            progress("encode", 0.0)
        emb = self._embed(prompts, conditioning).to(self.device)
        if progress:
            progress("encode", 1.0)
        clouds = sample_clouds(self.base, self.base_config, emb, points=points, seeds=seeds, sampler=sampler,
                               steps=steps, guidance=guidance, progress=report("diffuse"), cancel=cancel)
        if self.upsampler is not None:
            clouds = self._upsample(clouds, seeds, report("upsample"), cancel, steps=upsample_steps)
        return self.exact_colors(clouds, prompts, color) if exact_color or color else clouds

    def _upsample(self, clouds, seeds, progress, cancel, steps: int | None = None) -> list[PointCloud]:
        from gen3d.diffusion.clouds import upsample_clouds

        return upsample_clouds(self.upsampler, self.upsample_config, clouds, seeds=seeds, steps=steps,
                               progress=progress, cancel=cancel)

    def generate_many(self, prompts: list[str], *, seeds: list[int] | None = None, steps: int | None = None,
                      guidance: float | None = None, sampler: str | None = None, points: int | None = None,
                      mesher: str | None = None, texture_size: int = 1024, max_faces: int | None = None,
                      size: float | None = None, lods: int = 0, points_only: bool = False,
                      progress: StageProgress | None = None, cancel: Any = None,
                      mesh_resolution: int | None = None, upsample_steps: int | None = None,
                      conditioning: str | None = None, color: str | None = None, normal_map: bool = False,
                      collision: str = "none") -> list[Asset]:
        """Generate several prompts, batched through the diffusion model together. ``conditioning``: what the
        model reads (:meth:`conditioning_texts`); ``color``: an exact colour for every asset (any name or hex
        code :func:`gen3d.text.colors.resolve_color` takes); ``normal_map``: bake the full-resolution surface into
        a normal map for the mesh and its LODs; ``collision``: none, convex or decomposed hulls."""
        from gen3d.text.understand import warnings_for

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
        if color:
            from gen3d.text.colors import resolve_color

            resolve_color(color)  # a one-line error before any work
        if collision != "none" and not points_only:
            from gen3d.mesh.collision import check_collision_mode, require_coacd

            if check_collision_mode(collision) == "decomposed":
                require_coacd()  # before any work
        mode = self._conditioning(conditioning)
        clouds = self.sample_points(cleaned, seeds, steps=steps, guidance=guidance, sampler=sampler, points=points,
                                    progress=progress, cancel=cancel, upsample_steps=upsample_steps,
                                    conditioning=mode, color=color)
        t_points = time.perf_counter() - t0
        assets = []
        for prompt, seed, cloud in zip(cleaned, seeds, clouds, strict=True):
            meta = self.metadata(prompt, seed, steps=steps, upsample_steps=upsample_steps if self.upsampler else None,
                                 guidance=guidance, sampler=sampler, points=len(cloud),
                                 mesher=None if points_only else mesher, texture_size=texture_size,
                                 max_faces=max_faces, size=size)
            u = self.understand(prompt)
            meta["understood"] = u.to_dict()
            meta["conditioning"] = {"mode": mode, "text": self.conditioning_texts([prompt], mode)[0]}
            if color:
                meta["parameters"]["color"] = color
            meta["warnings"] = warnings + warnings_for(u, self.vocabulary)
            asset = Asset(prompt, seed, cloud, None, meta, {"points": t_points / len(cleaned)})
            if not points_only:
                if _is_cancelled(cancel):
                    raise Cancelled("cancelled before meshing")
                asset.mesh = self.mesh(cloud, prompt=prompt, mesher=mesher, texture_size=texture_size,
                                       max_faces=max_faces, size=size, lods=lods, metadata=meta, progress=progress,
                                       resolution=mesh_resolution, normal_map=normal_map, collision=collision)
                asset.timings.update(asset.mesh.timings)
            assets.append(asset)
        return assets

    def generate(self, prompt: str, *, seed: int | None = None, **kw) -> Asset:
        return self.generate_many([prompt], seeds=None if seed is None else [seed], **kw)[0]

    def mesh(self, cloud: PointCloud, *, prompt: str = "", mesher: str | None = None, texture_size: int = 1024,
             max_faces: int | None = None, size: float | None = None, lods: int = 0, metadata: dict | None = None,
             progress: StageProgress | None = None, resolution: int | None = None, normal_map: bool = False,
             collision: str = "none"):
        from gen3d.texture.asset import mesh_and_texture

        if progress:
            progress("mesh", 0.0)
        size = size if size is not None else self.vocabulary.real_size(prompt, self.understand(prompt).category)
        extra = {} if resolution is None else {"resolution": int(resolution)}  # None: the mesher's default
        out = mesh_and_texture(cloud, mesher=self._mesher(mesher or self.default_mesher),
                               texture_size=texture_size,
                               max_faces=max_faces, size_m=size, lods=lods, metadata=metadata,
                               material_hint=self.vocabulary.material(prompt), normal_map=normal_map,
                               collision=collision, **extra)
        if progress:
            progress("texture", 1.0)
        return out

    def metadata(self, prompt: str, seed: int, **params) -> dict:
        return {"prompt": prompt, "seed": int(seed), "model": self.spec.name, "generator": f"gen3d {__version__}",
                "parameters": {k: v for k, v in params.items() if v is not None}}


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
