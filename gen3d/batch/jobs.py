"""Prompt files -> jobs: reading ``.txt`` / ``.csv`` / ``.jsonl`` rows, checking their options, and planning
row x variation jobs with stable ids and seeds."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMATS = ("glb", "obj", "ply", "usdz", "fbx")

# option -> (type, check, message)
_INT, _FLOAT, _STR, _BOOL = int, float, str, bool
OPTIONS: dict[str, type] = {
    "seed": _INT, "variations": _INT, "steps": _INT, "guidance": _FLOAT, "sampler": _STR, "mesher": _STR,
    "texture_size": _INT, "max_faces": _INT, "size": _FLOAT, "format": _STR, "name": _STR,
    "preset": _STR, "collision": _STR, "lods": _INT, "normal_map": _BOOL,
}
# options that change the generated asset (recorded in the manifest and compared on resume)
GEN_OPTIONS = ("steps", "guidance", "sampler", "mesher", "texture_size", "max_faces", "size", "preset", "collision",
               "lods", "normal_map")


class BatchError(ValueError):
    """A problem with the prompt file or the output folder (one line, names the fix)."""


@dataclass
class Row:
    line: int  # 1-based line in the file (for messages)
    index: int  # 0-based row number among prompts
    prompt: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Job:
    id: str
    row: int
    variation: int
    prompt: str
    seed: int
    formats: list[str]
    options: dict[str, Any]  # the generation options (GEN_OPTIONS), None dropped

    def outputs(self) -> list[str]:
        """Output file names (relative to the batch folder) this job writes (LODs after the main file)."""
        names = []
        for fmt in self.formats:
            for level in range(int(self.options.get("lods", 0)) + 1):
                stem = self.id if level == 0 else f"{self.id}_LOD{level}"
                names.append(f"{stem}.{fmt}")
                if fmt == "obj":
                    names += [f"{stem}.mtl", f"{stem}_basecolor.png"]
        return names

    def to_dict(self) -> dict:
        return {"id": self.id, "row": self.row, "variation": self.variation, "prompt": self.prompt,
                "seed": self.seed, "formats": self.formats, "options": self.options}

    @classmethod
    def from_dict(cls, d: dict) -> Job:
        return cls(d["id"], d["row"], d["variation"], d["prompt"], d["seed"], list(d["formats"]), dict(d["options"]))


# ----------------------------------------------------------------------------------------------------------
# reading prompt files


def _convert(key: str, value: Any, where: str) -> Any:
    if key not in OPTIONS:
        raise BatchError(f"{where}: unknown option {key!r}; use prompt, {', '.join(OPTIONS)}")
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    kind = OPTIONS[key]
    try:
        if kind is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            out: Any = int(value) if not isinstance(value, str) else int(value.strip())
        elif kind is float:
            if isinstance(value, bool):
                raise ValueError
            out = float(value)
        elif kind is bool:
            text = str(value).strip().lower()
            if not isinstance(value, (bool, str)) or text not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError
            out = text in ("true", "1", "yes")
        else:
            if not isinstance(value, str):
                raise ValueError
            out = value.strip()
    except (TypeError, ValueError):
        raise BatchError(f"{where}: option {key} must be {kind.__name__}, got {value!r}") from None
    if key == "variations" and not 1 <= out <= 64:
        raise BatchError(f"{where}: variations must be between 1 and 64")
    if key in ("steps", "texture_size", "max_faces") and out < 1:
        raise BatchError(f"{where}: {key} must be positive")
    if key == "size" and out <= 0:
        raise BatchError(f"{where}: size must be positive (metres)")
    if key == "format":
        out = ",".join(parse_formats(out, where))
    if key == "lods" and not 0 <= out <= 8:
        raise BatchError(f"{where}: lods must be between 0 and 8")
    if key == "collision" and out not in ("none", "convex", "decomposed"):
        raise BatchError(f"{where}: collision must be none, convex or decomposed")
    if key == "preset":
        from gen3d.export.engines import PRESETS

        if out.lower() not in PRESETS:
            raise BatchError(f"{where}: unknown preset {out!r}; use one of {', '.join(PRESETS)}")
        out = out.lower()
    return out


def parse_formats(text: str, where: str = "--format") -> list[str]:
    fmts = [f.strip().lower().lstrip(".") for f in str(text).split(",") if f.strip()]
    if not fmts:
        raise BatchError(f"{where}: give at least one format ({', '.join(FORMATS)})")
    for f in fmts:
        if f not in FORMATS:
            raise BatchError(f"{where}: unknown format {f!r}; use one of {', '.join(FORMATS)}")
    return list(dict.fromkeys(fmts))


def read_prompts(path: str | os.PathLike) -> list[Row]:
    """Parse a .txt / .csv / .jsonl prompt file; any malformed line is an error naming the line."""
    path = Path(path)
    if not path.is_file():
        raise BatchError(f"prompt file {path} does not exist")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise BatchError(f"{path} is not UTF-8 text") from None
    suffix = path.suffix.lower()
    rows: list[Row] = []

    def add(line: int, prompt: Any, options: dict) -> None:
        where = f"{path.name} line {line}"
        if not isinstance(prompt, str) or not prompt.strip():
            raise BatchError(f"{where}: the prompt is empty")
        opts = {k: _convert(k, v, where) for k, v in options.items()}
        rows.append(Row(line, len(rows), " ".join(prompt.split()), {k: v for k, v in opts.items() if v is not None}))

    if suffix in (".jsonl", ".ndjson"):
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise BatchError(f"{path.name} line {n}: not valid JSON ({e.msg})") from None
            if isinstance(obj, str):
                add(n, obj, {})
            elif isinstance(obj, dict):
                obj = dict(obj)
                add(n, obj.pop("prompt", None), obj)
            else:
                raise BatchError(f"{path.name} line {n}: expected an object with a \"prompt\" or a string")
    elif suffix == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames or "prompt" not in [f.strip() for f in reader.fieldnames]:
            raise BatchError(f"{path.name}: the first row must be a header with a 'prompt' column")
        for rec in reader:
            n = reader.line_num
            if None in rec:  # DictReader files cells beyond the header under None
                raise BatchError(f"{path.name} line {n}: more cells than header columns (quote cells with commas)")
            rec = {k.strip(): v for k, v in rec.items()}
            if all(not (v or "").strip() for v in rec.values() if isinstance(v, str)):
                continue
            add(n, rec.pop("prompt", None), rec)
    elif suffix in (".txt", ""):
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip() and not line.lstrip().startswith("#"):
                add(n, line, {})
    else:
        raise BatchError(f"cannot read {path.name}: use a .txt (one prompt a line), .csv or .jsonl file")
    if not rows:
        raise BatchError(f"{path} holds no prompts")
    return rows


# ----------------------------------------------------------------------------------------------------------
# planning


def derived_seed(batch_seed: int, row: int) -> int:
    """A row's seed when the file gives none: stable across runs, machines and Python versions."""
    digest = hashlib.sha256(f"gen3d-batch:{int(batch_seed)}:{int(row)}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def _slug(prompt: str, limit: int = 40) -> str:
    import re

    s = re.sub(r"[^a-z0-9]+", "_", prompt.lower()).strip("_")
    return s[:limit].rstrip("_") or "asset"


def plan(rows: list[Row], *, formats: list[str] | None, batch_seed: int = 0, defaults: dict | None = None) -> list[Job]:
    """Rows -> jobs (row x variation), with seeds, output formats and generation options resolved. A row's
    ``preset`` (or the batch's) fills the options and format neither the row nor the batch gives;
    ``formats=None`` means the preset's format, else glb."""
    from gen3d.export.engines import get_preset

    defaults = {k: v for k, v in (defaults or {}).items() if v is not None}
    jobs: list[Job] = []
    seen: set[str] = set()
    for r in rows:
        o = {**defaults, **r.options}
        engine = get_preset(o.get("preset"))
        if engine is not None:
            for key in ("max_faces", "texture_size", "lods", "collision", "normal_map"):
                o.setdefault(key, getattr(engine, key))
        variations = int(o.get("variations", 1))
        seed = int(o["seed"]) if "seed" in o else derived_seed(batch_seed, r.index)
        default_fmts = list(formats) if formats else [engine.format if engine is not None else "glb"]
        fmts = parse_formats(o["format"]) if "format" in o else default_fmts
        base = f"{r.index:04d}_{_slug(o['name'] if 'name' in o else r.prompt)}"
        gen = {k: o[k] for k in GEN_OPTIONS if k in o}
        for v in range(variations):
            jid = base if variations == 1 else f"{base}_v{v}"
            if jid in seen:
                raise BatchError(f"two jobs would be named {jid}: give the rows different names")
            seen.add(jid)
            jobs.append(Job(jid, r.index, v, r.prompt, seed + v, fmts, gen))
    return jobs
