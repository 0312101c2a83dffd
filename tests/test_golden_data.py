"""The vendored Point-E parity vectors are intact (a bare clone carries them; see tests/data/pointe-golden)."""

import hashlib

from tests.conftest import GOLDEN_DIR


def test_vendored_golden_vectors_match_their_checksums():
    lines = (GOLDEN_DIR / "SHA256SUMS").read_text().splitlines()
    assert len(lines) == 10
    for line in lines:
        digest, name = line.split()
        assert hashlib.sha256((GOLDEN_DIR / name).read_bytes()).hexdigest() == digest, name
