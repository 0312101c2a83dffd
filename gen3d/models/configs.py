"""Model configs as plain dicts (JSON next to the weights), and the named Point-E configs as released.

A config: ``{"kind": "textvec" | "upsample" | "sdf", "model": {constructor kwargs}, "points": N,
"diffusion": {"schedule", "timesteps"}, "sampler": {...}}`` (diffusion/sampler absent for ``sdf``).
"""

from __future__ import annotations

import copy

from torch import nn

POINTE_SAMPLER_BASE = {
    "name": "heun",
    "steps": 64,
    "sigma_min": 1e-3,
    "sigma_max": 120.0,
    "rho": 7.0,
    "s_churn": 3.0,
    "guidance_scale": 3.0,
    "clip_denoised": True,
}

NAMED_CONFIGS: dict[str, dict] = {
    "base40M-textvec": {
        "kind": "textvec",
        "model": {
            "input_channels": 6,
            "output_channels": 12,
            "width": 512,
            "layers": 12,
            "heads": 8,
            "init_scale": 0.25,
            "text_dim": 768,
            "cond_drop_prob": 0.1,
            "time_token_cond": True,
            "token_cond": True,
        },
        "points": 1024,
        "text_encoder": "clip-vit-l-14",
        "diffusion": {"schedule": "cosine", "timesteps": 1024},
        "sampler": POINTE_SAMPLER_BASE,
    },
    "upsample": {
        "kind": "upsample",
        "model": {
            "input_channels": 6,
            "output_channels": 12,
            "width": 512,
            "layers": 12,
            "heads": 8,
            "init_scale": 0.25,
            "cond_drop_prob": 0.1,
            "time_token_cond": True,
            "grid_tokens": 256,
            "grid_feature_dim": 1024,
            "channel_scales": [2.0, 2.0, 2.0, 0.007843137255, 0.007843137255, 0.007843137255],
            "channel_biases": [0.0, 0.0, 0.0, -1.0, -1.0, -1.0],
        },
        "points": 3072,
        "cond_points": 1024,
        "diffusion": {"schedule": "linear", "timesteps": 1024},
        "sampler": {**POINTE_SAMPLER_BASE, "sigma_max": 160.0, "s_churn": 0.0, "guidance_scale": 1.0},
    },
    "sdf": {
        "kind": "sdf",
        "model": {
            "width": 256,
            "encoder_layers": 8,
            "encoder_heads": 4,
            "decoder_layers": 4,
            "decoder_heads": 4,
            "init_scale": 0.25,
            "n_ctx": 4096,
        },
        "points": 4096,
    },
}


def named_config(name: str) -> dict:
    if name not in NAMED_CONFIGS:
        raise KeyError(f"unknown model config {name!r}: choose from {', '.join(NAMED_CONFIGS)}")
    return copy.deepcopy(NAMED_CONFIGS[name])


def build_model(config: dict) -> nn.Module:
    """Instantiate the network a config describes (randomly initialised)."""
    from gen3d.models.point_diffusion import TextVecPointDiffusion, UpsamplePointDiffusion
    from gen3d.models.sdf import SDFModel

    kinds = {"textvec": TextVecPointDiffusion, "upsample": UpsamplePointDiffusion, "sdf": SDFModel}
    kind = config.get("kind")
    if kind not in kinds:
        raise ValueError(f"config kind {kind!r} is not one of {', '.join(kinds)}")
    return kinds[kind](**config["model"])
