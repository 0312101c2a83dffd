"""A small PointNet++-style (single-scale grouping) point-cloud classifier over the procedural categories.

Used as Point-E used PointNet++: category accuracy of generated clouds, and its 512-d global features for
P-FID / P-IS. Input: xyz plus rgb (some categories are the same shape once normalised, a candle and a round
tower, and differ in colour and material). Trained with ``gen3d eval train-classifier``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn


def farthest_point_indices(xyz: torch.Tensor, n: int) -> torch.Tensor:
    """Batched farthest point sampling: xyz [B, N, 3] -> indices [B, n] (deterministic, starts at 0)."""
    b, m, _ = xyz.shape
    idx = torch.zeros(b, n, dtype=torch.long, device=xyz.device)
    dist = torch.full((b, m), float("inf"), device=xyz.device)
    last = torch.zeros(b, dtype=torch.long, device=xyz.device)
    rows = torch.arange(b, device=xyz.device)
    for i in range(1, n):
        d = ((xyz - xyz[rows, last][:, None]) ** 2).sum(-1)
        dist = torch.minimum(dist, d)
        last = dist.argmax(-1)
        idx[:, i] = last
    return idx


class SetAbstraction(nn.Module):
    """FPS centroids, k nearest neighbours, a shared MLP on [relative xyz, features], max-pool."""

    def __init__(self, centroids: int, k: int, in_ch: int, widths: list[int], scale: float):
        super().__init__()
        self.centroids, self.k, self.scale = centroids, k, scale
        layers, c = [], in_ch + 3
        for w in widths:
            layers += [nn.Linear(c, w), nn.ReLU()]
            c = w
        self.mlp = nn.Sequential(*layers)

    def forward(self, xyz: torch.Tensor, feats: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        b = xyz.shape[0]
        rows = torch.arange(b, device=xyz.device)[:, None]
        centers = xyz[rows, farthest_point_indices(xyz, min(self.centroids, xyz.shape[1]))]  # [B, C, 3]
        k = min(self.k, xyz.shape[1])
        nn_idx = torch.cdist(centers, xyz).topk(k, largest=False).indices  # [B, C, k]
        rel = (xyz[rows[..., None], nn_idx] - centers[:, :, None]) * self.scale  # [B, C, k, 3], O(1) offsets
        grouped = rel if feats is None else torch.cat([rel, feats[rows[..., None], nn_idx]], dim=-1)
        return centers, self.mlp(grouped).amax(dim=2)


class PointNet2(nn.Module):
    def __init__(self, n_classes: int, feature_dim: int = 512):
        super().__init__()
        self.sa1 = SetAbstraction(64, 16, 3, [64, 64, 128], scale=10.0)
        self.sa2 = SetAbstraction(16, 16, 128, [128, 128, 256], scale=4.0)
        self.glob = nn.Sequential(nn.Linear(256 + 3, 256), nn.ReLU(), nn.Linear(256, feature_dim), nn.ReLU())
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(feature_dim, 256), nn.ReLU(), nn.Dropout(0.3),
                                  nn.Linear(256, n_classes))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, N, 6]: xyz in the gen3d convention and rgb in 0..1 -> global features [B, feature_dim]."""
        c1, f1 = self.sa1(x[..., :3], x[..., 3:6] * 2.0 - 1.0)
        c2, f2 = self.sa2(c1, f1)
        return self.glob(torch.cat([c2 * 2.0, f2], dim=-1)).amax(dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class Classifier:
    """A trained classifier with its label names."""

    def __init__(self, model: PointNet2, labels: list[str]):
        self.model, self.labels = model.eval(), labels

    @classmethod
    def load(cls, path: str | Path) -> Classifier:
        from safetensors.torch import load_file

        path = Path(path)
        meta = json.loads(path.with_suffix(".json").read_text())
        model = PointNet2(len(meta["labels"]), meta.get("feature_dim", 512))
        model.load_state_dict(load_file(str(path)), strict=True)
        return cls(model, meta["labels"])

    @torch.no_grad()
    def run(self, clouds: list[np.ndarray], points: int = 256, batch: int = 64) -> tuple[np.ndarray, np.ndarray]:
        """Clouds [N, 6] (xyz, rgb 0..1) -> (class probabilities [M, C], features [M, D]); each cloud is
        FPS-subsampled to ``points`` so the result does not depend on the cloud's density."""
        from gen3d.pointcloud.fps import farthest_points

        xs = [c[farthest_points(c[:, :3], points)] if len(c) > points else c for c in clouds]
        probs, feats = [], []
        for i in range(0, len(xs), batch):
            chunk = xs[i : i + batch]
            n = min(len(c) for c in chunk)
            x = torch.from_numpy(np.stack([c[:n] for c in chunk]).astype(np.float32))
            f = self.model.features(x)
            probs.append(torch.softmax(self.model.head(f), -1).numpy())
            feats.append(f.numpy())
        return np.concatenate(probs), np.concatenate(feats)


def train_classifier(cache: str | Path, out: str | Path, *, steps: int = 3000, batch: int = 32, points: int = 256,
                     lr: float = 2e-3, holdout: float = 0.1, seed: int = 0, log=print) -> dict:
    """Train on a shape cache (gen3d data build), hold out the last ``holdout`` share of shapes for the
    accuracy check, save ``out`` (.safetensors + .json with labels and the held-out accuracy)."""
    from safetensors.torch import save_file

    from gen3d.atomic import atomic_write
    from gen3d.data.cache import ShapeCache
    from gen3d.data.procedural import category_names

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    shapes = ShapeCache(cache)
    labels = category_names()
    y_all = np.array([labels.index(r["category"]) for r in shapes.records])
    n = len(shapes)
    n_test = max(len(labels), int(n * holdout))
    train_idx, test_idx = np.arange(n - n_test), np.arange(n - n_test, n)
    xyz_cache: dict[int, np.ndarray] = {}

    def cloud(i: int) -> np.ndarray:
        if i not in xyz_cache:
            xyz_cache[i] = np.concatenate(shapes.points(int(i)), axis=1).astype(np.float32)  # [N, 6]
        return xyz_cache[i]

    model = PointNet2(len(labels))
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    t0 = time.time()
    for step in range(1, steps + 1):
        idx = rng.choice(train_idx, batch)
        x = np.stack([cloud(i)[rng.permutation(len(cloud(i)))[:points]] for i in idx])
        x[..., :3] = x[..., :3] * rng.uniform(0.85, 1.1, (batch, 1, 3)) + rng.normal(0, 0.006, (batch, points, 3))
        x[..., 3:] = np.clip(x[..., 3:] + rng.normal(0, 0.03, (batch, 1, 3)), 0, 1)  # noisier, like generated ones
        loss = nn.functional.cross_entropy(model(torch.from_numpy(x.astype(np.float32))),
                                           torch.from_numpy(y_all[idx]), label_smoothing=0.05)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0:
            log(f"classifier step {step}/{steps} loss {loss.item():.3f} ({time.time() - t0:.0f} s)")
    clf = Classifier(model, labels)
    probs, _ = clf.run([cloud(i) for i in test_idx], points=points)
    acc = float((probs.argmax(1) == y_all[test_idx]).mean())
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    atomic_write(out.with_suffix(".safetensors"), lambda tmp: save_file(state, tmp))
    meta = {"labels": labels, "feature_dim": 512, "points": points, "inputs": "xyz+rgb", "heldout_accuracy": acc,
            "heldout_shapes": int(len(test_idx)), "train_shapes": int(len(train_idx)), "steps": steps,
            "batch": batch, "cache": str(cache), "seconds": round(time.time() - t0, 1)}
    atomic_write(out.with_suffix(".json"), lambda tmp: Path(tmp).write_text(json.dumps(meta, indent=2) + "\n"))
    return meta
