"""The held-out paraphrase set is frozen: its bytes match the sha256 published in the README and docs."""

import hashlib

from tests.conftest import REPO

HELD_OUT_SHA256 = "96625f0088a9b73e56c2b1b5e1d387c47bebdb72cfaefdda4292dfb1f3cff9da"


def test_held_out_paraphrases_are_frozen_and_valid():
    from gen3d.data.procedural import category_names
    from gen3d.eval.report import read_prompts

    path = REPO / "assets" / "eval" / "paraphrases.jsonl"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == HELD_OUT_SHA256, "the held-out set must not change"
    assert HELD_OUT_SHA256 in (REPO / "docs" / "evaluation.md").read_text()
    rows = read_prompts(path)  # every category and colour name is valid
    assert len(rows) >= 300 and {r["category"] for r in rows} == set(category_names())


def test_dev_paraphrases_are_valid_and_disjoint_from_held_out():
    from gen3d.data.procedural import category_names
    from gen3d.eval.report import read_prompts

    held = read_prompts(REPO / "assets" / "eval" / "paraphrases.jsonl")
    dev = read_prompts(REPO / "assets" / "eval" / "paraphrases_dev.jsonl")
    assert len(dev) >= 200 and {r["category"] for r in dev} == set(category_names())
    norm = lambda s: " ".join(s.lower().split())  # noqa: E731
    assert not {norm(r["prompt"]) for r in dev} & {norm(r["prompt"]) for r in held}
