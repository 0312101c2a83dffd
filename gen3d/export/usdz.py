"""USDZ through usd-core (optional extra): one Mesh prim, UsdPreviewSurface with the baked texture.

Y up, metersPerUnit 1. Vertex colours are written as the ``displayColor`` primvar.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np

from gen3d.atomic import atomic_write_bytes
from gen3d.export.glb import encode_png
from gen3d.export.metadata import merge_metadata
from gen3d.texture.asset import TexturedMesh


class MissingUsdError(ValueError):
    """usd-core is not installed."""


def require_usd():
    try:
        from pxr import Usd  # noqa: F401
    except ImportError as exc:
        raise MissingUsdError(
            "USDZ export needs usd-core; install it with: pip install 'gen3d[usd]' (or pip install usd-core)"
        ) from exc


def _prim_name(stem: str) -> str:
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in stem) or "asset"
    return name if not name[0].isdigit() else f"_{name}"


def usdz_bytes(asset: TexturedMesh, metadata: dict | None = None, name: str = "asset") -> bytes:
    require_usd()
    from pxr import Gf, Sdf, Usd, UsdGeom, UsdShade, UsdUtils, Vt

    prim = _prim_name(name)
    with tempfile.TemporaryDirectory(prefix="gen3d_usdz_") as tmp:
        tmpdir = Path(tmp)
        tex_name = f"{prim}_basecolor.png"
        (tmpdir / tex_name).write_bytes(encode_png(asset.texture))
        usd_path = tmpdir / f"{prim}.usdc"
        stage = Usd.Stage.CreateNew(str(usd_path))
        UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.y)
        UsdGeom.SetStageMetersPerUnit(stage, 1.0)
        root = UsdGeom.Xform.Define(stage, f"/{prim}")
        stage.SetDefaultPrim(root.GetPrim())
        meta = merge_metadata(asset.metadata, metadata)
        root.GetPrim().SetCustomDataByKey("gen3d", json.dumps(meta))

        mesh = UsdGeom.Mesh.Define(stage, f"/{prim}/mesh")
        v = np.asarray(asset.vertices, dtype=np.float32)
        mesh.CreatePointsAttr(Vt.Vec3fArray.FromNumpy(v))
        mesh.CreateFaceVertexCountsAttr(Vt.IntArray.FromNumpy(np.full(len(asset.faces), 3, dtype=np.int32)))
        mesh.CreateFaceVertexIndicesAttr(Vt.IntArray.FromNumpy(asset.faces.reshape(-1).astype(np.int32)))
        mesh.CreateNormalsAttr(Vt.Vec3fArray.FromNumpy(np.asarray(asset.normals, dtype=np.float32)))
        mesh.SetNormalsInterpolation(UsdGeom.Tokens.vertex)
        mesh.CreateSubdivisionSchemeAttr(UsdGeom.Tokens.none)
        mesh.CreateOrientationAttr(UsdGeom.Tokens.rightHanded)
        mesh.CreateExtentAttr([Gf.Vec3f(*map(float, v.min(axis=0))), Gf.Vec3f(*map(float, v.max(axis=0)))])
        pv = UsdGeom.PrimvarsAPI(mesh)
        st = pv.CreatePrimvar("st", Sdf.ValueTypeNames.TexCoord2fArray, UsdGeom.Tokens.vertex)
        st.Set(Vt.Vec2fArray.FromNumpy(np.asarray(asset.uvs, dtype=np.float32)))
        dc = pv.CreatePrimvar("displayColor", Sdf.ValueTypeNames.Color3fArray, UsdGeom.Tokens.vertex)
        dc.Set(Vt.Vec3fArray.FromNumpy(np.asarray(asset.vertex_colors, dtype=np.float32)))

        mat_path = f"/{prim}/materials/{_prim_name(asset.material.name)}"
        material = UsdShade.Material.Define(stage, mat_path)
        shader = UsdShade.Shader.Define(stage, f"{mat_path}/surface")
        shader.CreateIdAttr("UsdPreviewSurface")
        shader.CreateInput("metallic", Sdf.ValueTypeNames.Float).Set(float(asset.material.metallic))
        shader.CreateInput("roughness", Sdf.ValueTypeNames.Float).Set(float(asset.material.roughness))
        reader = UsdShade.Shader.Define(stage, f"{mat_path}/st_reader")
        reader.CreateIdAttr("UsdPrimvarReader_float2")
        reader.CreateInput("varname", Sdf.ValueTypeNames.String).Set("st")
        texture = UsdShade.Shader.Define(stage, f"{mat_path}/basecolor")
        texture.CreateIdAttr("UsdUVTexture")
        texture.CreateInput("file", Sdf.ValueTypeNames.Asset).Set(tex_name)
        texture.CreateInput("sourceColorSpace", Sdf.ValueTypeNames.Token).Set("sRGB")
        texture.CreateInput("wrapS", Sdf.ValueTypeNames.Token).Set("clamp")
        texture.CreateInput("wrapT", Sdf.ValueTypeNames.Token).Set("clamp")
        texture.CreateInput("st", Sdf.ValueTypeNames.Float2).ConnectToSource(
            reader.ConnectableAPI(), "result"
        )
        texture.CreateOutput("rgb", Sdf.ValueTypeNames.Float3)
        shader.CreateInput("diffuseColor", Sdf.ValueTypeNames.Color3f).ConnectToSource(
            texture.ConnectableAPI(), "rgb"
        )
        material.CreateSurfaceOutput().ConnectToSource(shader.ConnectableAPI(), "surface")
        UsdShade.MaterialBindingAPI.Apply(mesh.GetPrim()).Bind(material)
        stage.GetRootLayer().Save()
        usdz_path = tmpdir / f"{prim}.usdz"
        if not UsdUtils.CreateNewUsdzPackage(Sdf.AssetPath(str(usd_path)), str(usdz_path)):
            raise RuntimeError("usd-core failed to package the USDZ file")
        return usdz_path.read_bytes()


def write_usdz(asset: TexturedMesh, path: str | Path, force: bool = False, metadata: dict | None = None) -> Path:
    """Write ``asset`` as USDZ (atomic; refuses to overwrite unless ``force``)."""
    path = Path(path)
    return atomic_write_bytes(path, usdz_bytes(asset, metadata, name=path.stem), force=force)
