"""Binary glTF 2.0 writer: one scene, one node, one mesh, one PBR material with an embedded PNG.

Written by hand (no trimesh exporter) so every field is under control and the Khronos validator
reports zero errors and zero warnings. Y up, metres; texture coordinates flipped to glTF's
top-left origin; vertex colours converted from sRGB to linear.
"""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path

import numpy as np

from gen3d.atomic import atomic_write_bytes
from gen3d.export.metadata import json_safe, merge_metadata
from gen3d.texture.asset import TexturedMesh

ARRAY_BUFFER = 34962
ELEMENT_ARRAY_BUFFER = 34963
FLOAT = 5126
UNSIGNED_BYTE = 5121
UNSIGNED_SHORT = 5123
UNSIGNED_INT = 5125

# where vertex colours go: "COLOR_0" (the standard attribute: viewers MULTIPLY it with the base colour
# texture, so the texture would be tinted twice), "_COLOR_0" (an application attribute that importers
# keep but do not multiply: the default) or None (omitted)
DEFAULT_VERTEX_COLOR_ATTRIBUTE = "_COLOR_0"


def srgb_to_linear(c: np.ndarray) -> np.ndarray:
    c = np.asarray(c, dtype=np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def encode_png(image: np.ndarray, compress_level: int = 1) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8), mode="RGB").save(
        buf, format="PNG", compress_level=compress_level
    )
    return buf.getvalue()


def _unit_normals(normals: np.ndarray) -> np.ndarray:
    n = np.asarray(normals, dtype=np.float64)
    length = np.linalg.norm(n, axis=1, keepdims=True)
    n = np.where(length > 1e-12, n / np.maximum(length, 1e-30), np.array([0.0, 1.0, 0.0]))
    return n.astype(np.float32)


class _Builder:
    def __init__(self) -> None:
        self.bin = bytearray()
        self.views: list[dict] = []
        self.accessors: list[dict] = []

    def view(self, data: bytes, target: int | None = None) -> int:
        while len(self.bin) % 4:
            self.bin.append(0)
        entry = {"buffer": 0, "byteOffset": len(self.bin), "byteLength": len(data)}
        if target is not None:
            entry["target"] = target
        self.bin.extend(data)
        self.views.append(entry)
        return len(self.views) - 1

    def accessor(
        self, array: np.ndarray, component: int, kind: str, target: int, normalized: bool = False,
        minmax: bool = False,
    ) -> int:
        acc = {
            "bufferView": self.view(np.ascontiguousarray(array).tobytes(), target),
            "componentType": component,
            "count": int(array.shape[0]),
            "type": kind,
        }
        if normalized:
            acc["normalized"] = True
        if minmax:
            flat = array.reshape(array.shape[0], -1)
            if component == FLOAT:
                acc["min"] = [float(x) for x in flat.min(axis=0)]
                acc["max"] = [float(x) for x in flat.max(axis=0)]
            else:
                acc["min"] = [int(x) for x in flat.min(axis=0)]
                acc["max"] = [int(x) for x in flat.max(axis=0)]
        self.accessors.append(acc)
        return len(self.accessors) - 1


def glb_bytes(
    asset: TexturedMesh,
    metadata: dict | None = None,
    name: str = "gen3d_asset",
    vertex_color_attribute: str | None = DEFAULT_VERTEX_COLOR_ATTRIBUTE,
) -> bytes:
    """Serialise ``asset`` to GLB bytes."""
    if vertex_color_attribute not in ("COLOR_0", "_COLOR_0", None):
        raise ValueError(f"vertex_color_attribute must be 'COLOR_0', '_COLOR_0' or None, got {vertex_color_attribute}")
    b = _Builder()
    pos = np.ascontiguousarray(asset.vertices, dtype=np.float32)
    attributes = {
        "POSITION": b.accessor(pos, FLOAT, "VEC3", ARRAY_BUFFER, minmax=True),
        "NORMAL": b.accessor(_unit_normals(asset.normals), FLOAT, "VEC3", ARRAY_BUFFER),
    }
    tex = np.asarray(asset.uvs, dtype=np.float32).copy()
    tex[:, 1] = 1.0 - tex[:, 1]  # glTF: (0, 0) is the top-left of the image
    attributes["TEXCOORD_0"] = b.accessor(tex, FLOAT, "VEC2", ARRAY_BUFFER)
    if vertex_color_attribute is not None:
        lin = srgb_to_linear(np.clip(asset.vertex_colors, 0.0, 1.0))
        rgba = np.concatenate([np.round(lin * 255.0), np.full((len(lin), 1), 255.0)], axis=1).astype(np.uint8)
        attributes[vertex_color_attribute] = b.accessor(rgba, UNSIGNED_BYTE, "VEC4", ARRAY_BUFFER, normalized=True)
    faces = np.asarray(asset.faces)
    idx_type, idx_dtype = (UNSIGNED_SHORT, np.uint16) if len(pos) < 65535 else (UNSIGNED_INT, np.uint32)
    indices = b.accessor(faces.reshape(-1).astype(idx_dtype), idx_type, "SCALAR", ELEMENT_ARRAY_BUFFER)
    image_view = b.view(encode_png(asset.texture))
    mat = asset.material
    gltf = {
        "asset": {
            "version": "2.0",
            "generator": f"gen3d {merge_metadata(None, None)['gen3d_version']}",
            "extras": merge_metadata(asset.metadata, metadata),
        },
        "scene": 0,
        "scenes": [{"name": name, "nodes": [0]}],
        "nodes": [{"name": name, "mesh": 0}],
        "meshes": [
            {
                "name": name,
                "primitives": [{"attributes": attributes, "indices": indices, "material": 0, "mode": 4}],
            }
        ],
        "materials": [
            {
                "name": mat.name,
                "pbrMetallicRoughness": {
                    "baseColorFactor": [float(c) for c in mat.base_color_factor],
                    "baseColorTexture": {"index": 0, "texCoord": 0},
                    "metallicFactor": float(mat.metallic),
                    "roughnessFactor": float(mat.roughness),
                },
                "doubleSided": bool(mat.double_sided),
            }
        ],
        "textures": [{"sampler": 0, "source": 0}],
        "samplers": [{"magFilter": 9729, "minFilter": 9987, "wrapS": 33071, "wrapT": 33071}],
        "images": [{"bufferView": image_view, "mimeType": "image/png", "name": f"{name}_basecolor"}],
        "accessors": b.accessors,
        "bufferViews": b.views,
        "buffers": [{"byteLength": 0}],
    }
    while len(b.bin) % 4:
        b.bin.append(0)
    gltf["buffers"][0]["byteLength"] = len(b.bin)
    js = json.dumps(json_safe(gltf), separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    js += b" " * ((4 - len(js) % 4) % 4)
    total = 12 + 8 + len(js) + 8 + len(b.bin)
    out = bytearray(struct.pack("<4sII", b"glTF", 2, total))
    out += struct.pack("<I4s", len(js), b"JSON") + js
    out += struct.pack("<I4s", len(b.bin), b"BIN\x00") + bytes(b.bin)
    return bytes(out)


def write_glb(
    asset: TexturedMesh,
    path: str | Path,
    force: bool = False,
    metadata: dict | None = None,
    vertex_color_attribute: str | None = DEFAULT_VERTEX_COLOR_ATTRIBUTE,
) -> Path:
    """Write ``asset`` as a GLB file (atomic; refuses to overwrite unless ``force``)."""
    path = Path(path)
    data = glb_bytes(asset, metadata=metadata, name=path.stem, vertex_color_attribute=vertex_color_attribute)
    return atomic_write_bytes(path, data, force=force)
