"""``gen3d mesh``: mesh, texture and export any coloured point cloud (PLY, NPZ, XYZ/TXT/CSV)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from gen3d.cli.errors import debug_enabled, fail


def register(app: typer.Typer) -> None:
    @app.command()
    def mesh(
        cloud: Path = typer.Argument(..., help="Coloured point cloud: .ply, .npz, .xyz, .txt, .csv (RGB optional)."),
        output: list[Path] = typer.Option(
            ..., "-o", "--output", help="Output file(s): .glb, .obj (+.mtl, .png), .ply, .usdz, .fbx (with Blender); "
            "repeat for several."
        ),
        mesher: str = typer.Option(
            "auto", "--mesher", help="auto (default: chosen from the cloud's density, noise and normals; --json "
            "says which and why) | shell (keeps thin parts) | poisson | ball | alpha (open3d) | sdf (gen3d-small's "
            "learned decoder, for its own generated clouds)."
        ),
        texture_size: int = typer.Option(1024, "--texture-size", help="Base-colour texture size in texels."),
        size: float = typer.Option(None, "--size", help="Largest dimension in metres (default 1 m)."),
        max_faces: int = typer.Option(None, "--max-faces", help="Face budget before unwrapping (default 10000)."),
        lods: int = typer.Option(0, "--lods", help="Also write K coarser levels: NAME_LOD1.glb, ..."),
        resolution: int = typer.Option(None, "--mesh-resolution", help="SDF grid resolution (shell and SDF "
                                        "meshers; default 128, or 64 for clouds of at most 512 points)."),
        smooth: int = typer.Option(0, "--smooth", help="Taubin smoothing iterations (0 = off)."),
        material: str = typer.Option(None, "--material", help="Material hint, e.g. wood, metal, plastic."),
        cloud_out: Path = typer.Option(None, "--cloud-out", help="Also write the input cloud as a PLY here."),
        force: bool = typer.Option(False, "--force", help="Overwrite existing files."),
        as_json: bool = typer.Option(False, "--json", help="Print a JSON summary (files, faces, timings)."),
    ) -> None:
        """Mesh a coloured point cloud into a UV-textured asset and export it.

        Example: gen3d mesh chair.ply -o out/chair.glb -o out/chair.obj --size 0.9 --lods 2
        """
        try:
            from gen3d.atomic import check_outputs
            from gen3d.export import export, output_paths
            from gen3d.export.cloud import save_cloud_ply
            from gen3d.export.metadata import build_metadata
            from gen3d.mesh.reconstruct import available_meshers
            from gen3d.pointcloud.io import load_cloud
            from gen3d.texture.asset import mesh_and_texture

            if mesher == "sdf":
                from gen3d.mesh.decoder import learned_sdf_mesher
                from gen3d.mesh.reconstruct import register_sdf_mesher

                register_sdf_mesher("sdf", learned_sdf_mesher("gen3d-small"))
            if mesher != "auto" and mesher not in available_meshers():
                names = ", ".join(["auto", *available_meshers(), "sdf"])
                fail(f"unknown --mesher {mesher!r}; choose one of {names}")
            planned = [p for out in output for p in output_paths(out, lods=lods)]
            if cloud_out is not None:
                planned.append(cloud_out)
            if len(set(planned)) != len(planned):
                fail("two outputs would write the same file; give each -o a different name")
            check_outputs(planned, force=force)  # fail before the slow part
            pc = load_cloud(cloud)
            asset = mesh_and_texture(
                pc,
                mesher=mesher,
                texture_size=texture_size,
                max_faces=max_faces,
                size_m=size,
                material_hint=material,
                lods=lods,
                resolution=resolution,
                smooth_iterations=smooth,
                metadata=build_metadata(source=str(cloud)),
            )
            written: list[Path] = []
            for out in output:
                written.extend(export(asset, out, force=force, lods=lods))
            if cloud_out is not None:
                written.append(save_cloud_ply(pc, cloud_out, force=force))
        except (ValueError, OSError) as exc:
            if debug_enabled():
                raise
            message = str(exc) if isinstance(exc, ValueError) else f"{exc}; check the paths and permissions"
            fail(message)
            return
        params = asset.metadata.get("parameters", {})
        summary = {
            "files": [str(p) for p in written],
            "mesher": params.get("mesher"),
            "mesher_reason": params.get("mesher_reason"),
            "points": len(pc),
            "normals_from_file": pc.normals is not None,
            "faces": int(len(asset.faces)),
            "vertices": int(len(asset.vertices)),
            "extent_m": [round(float(x), 4) for x in asset.extent],
            "lod_faces": [int(len(lod.faces)) for lod in asset.lods],
            "timings_s": {k: round(v, 3) for k, v in asset.timings.items()},
        }
        if as_json:
            typer.echo(json.dumps(summary, indent=2))
            return
        for p in written:
            typer.echo(f"wrote {p}")
        typer.echo(
            f"{summary['faces']} faces, {summary['vertices']} vertices, size "
            f"{' x '.join(f'{x:.3f}' for x in summary['extent_m'])} m, {asset.timings.get('total', 0):.2f} s"
        )
