"""Generation history: a JSON file in the extension's user directory. Standard library only, no bpy."""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

MAX_ENTRIES = 200


class History:
    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)
        self.path = self.directory / "history.json"

    def load(self) -> list[dict]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return []
        return [e for e in data.get("entries", []) if isinstance(e, dict) and "prompt" in e and "seed" in e]

    def save(self, entries: list[dict]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as f:
                json.dump({"version": 1, "entries": entries[:MAX_ENTRIES]}, f, indent=1)
            os.replace(tmp, self.path)
        finally:
            Path(tmp).unlink(missing_ok=True)

    def add(self, prompt: str, seed: int, quality: str, size: float | None, job_id: str | None, model: str,
            glb: str | None, thumbnail: str | None = None) -> dict:
        entry = {"prompt": prompt, "seed": int(seed), "quality": quality, "size": size, "job_id": job_id,
                 "model": model, "glb": glb, "thumbnail": thumbnail, "time": time.time()}
        entries = [entry] + self.load()
        dropped = entries[MAX_ENTRIES:]
        self.save(entries)
        for e in dropped:  # forget the files of entries that fell off the end
            for key in ("glb", "thumbnail"):
                if e.get(key) and Path(e[key]).parent == self.directory / "results":
                    Path(e[key]).unlink(missing_ok=True)
        return entry

    def clear(self) -> None:
        self.save([])
