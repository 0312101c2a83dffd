"""``index.html``: the batch's thumbnail gallery, rebuilt from the manifest."""

from __future__ import annotations

import html
from pathlib import Path

from gen3d.batch.jobs import Job
from gen3d.batch.manifest import MANIFEST, read_manifest

GALLERY = "index.html"
ASSET_SUFFIXES = (".glb", ".obj", ".ply", ".usdz", ".fbx")  # linked from a card (LOD files are not)


def write_gallery(out: Path, jobs: list[Job] | None = None) -> Path:
    """``index.html``: a thumbnail grid of every job in the manifest (failed ones with their error)."""
    from gen3d.atomic import atomic_write_bytes

    records = read_manifest(out)
    order = [j.id for j in jobs] if jobs is not None else []
    ids = [i for i in order if i in records] + sorted(i for i in records if i not in set(order))
    cards = []
    for jid in ids:
        r = records[jid]
        esc = html.escape
        if r.get("thumbnail") and (out / r["thumbnail"]).is_file():
            img = f'<img src="{esc(r["thumbnail"])}" alt="{esc(r["prompt"])}" loading="lazy">'
        else:
            img = '<div class="noimg">no preview</div>'
        links = " ".join(f'<a href="{esc(o["path"])}">{esc(Path(o["path"]).suffix.lstrip("."))}</a>'
                         for o in r.get("outputs", []) if Path(o["path"]).suffix in ASSET_SUFFIXES
                         and "_LOD" not in Path(o["path"]).stem)
        if r.get("status") == "ok":
            secs = r.get("timings", {}).get("total")
            status = f'{links} <span class="t">{secs:.1f} s</span>' if secs is not None else links
        else:
            status = f'<span class="err">failed: {esc(str(r.get("error")))}</span>'
        cards.append(f'<figure class="{esc(r.get("status", ""))}">{img}<figcaption><b>{esc(r["prompt"])}</b>'
                     f'<br>seed {r.get("seed")} &middot; {esc(jid)}<br>{status}</figcaption></figure>')
    n_ok = sum(1 for i in ids if records[i].get("status") == "ok")
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>gen3d batch: {n_ok} of {len(ids)} assets</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1em; background: #fafafa; }}
.grid {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 12px; }}
figure {{ margin: 0; background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 4px; }}
figure.error {{ border-color: #c33; }}
img, .noimg {{ width: 100%; aspect-ratio: 1; object-fit: contain; display: block; }}
.noimg {{ display: flex; align-items: center; justify-content: center; color: #999; background: #f0f0f0; }}
figcaption {{ font-size: 12px; padding: 4px; word-break: break-word; }}
.err {{ color: #c33; }} .t {{ color: #777; }}
</style></head><body>
<h1>gen3d batch</h1><p>{n_ok} of {len(ids)} assets ok &middot; <a href="{MANIFEST}">{MANIFEST}</a></p>
<div class="grid">
{chr(10).join(cards)}
</div></body></html>
"""
    return atomic_write_bytes(out / GALLERY, page.encode("utf-8"), force=True)
