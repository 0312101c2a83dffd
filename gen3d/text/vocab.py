"""What a closed-vocabulary model knows: its category names, synonyms, real sizes and sample captions
(``vocab.json`` beside the weights), with their text vectors to compare a prompt against."""

from __future__ import annotations

from pathlib import Path

import torch

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

    def is_word(self, word: str) -> bool:
        """Whether ``word`` is one token of the text encoder's vocabulary (a real word, not a typo)."""
        tok = getattr(self.text, "tokenizer", None)
        return tok is None or tok.token_to_id(word) is not None

    def category_scores(self, text: str) -> dict[str, float]:
        """Each category's best cosine similarity between ``text`` and its phrases."""
        if self.vectors is None:
            return {}
        sims = (self.vectors @ self.prompt_vector(text)).tolist()
        out: dict[str, float] = {}
        for e, s in zip(self.entries, sims, strict=True):
            out[e["category"]] = max(out.get(e["category"], -1.0), s)
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

    def real_size(self, prompt: str, category: str | None = None) -> float | None:
        """The real size of ``category`` when given (the understood one), else of the prompt's nearest phrase."""
        if category is not None:
            return next((e.get("size_m") for e in self.entries if e["category"] == category), None)
        e = self._best(prompt)
        return None if e is None else e.get("size_m")

    def material(self, prompt: str) -> str | None:
        words = set(prompt.lower().replace(",", " ").split())
        for m in ("wooden", "wood", "metal", "metallic", "steel", "iron", "plastic", "stone", "glass", "ceramic",
                  "leather", "fabric", "gold", "golden", "silver", "marble", "concrete"):
            if m in words:
                return m
        return None
