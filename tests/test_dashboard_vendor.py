"""scripts/vendor.py: pinned integrity is enforced and only the listed files are written."""

from __future__ import annotations

import base64
import hashlib
import io
import sys
import tarfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import vendor


def tarball(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def test_matching_integrity_passes():
    data = b"tarball bytes"
    vendor.check_integrity(data, integrity(data))


def test_changed_tarball_is_refused():
    with pytest.raises(ValueError, match="integrity mismatch"):
        vendor.check_integrity(b"tampered", integrity(b"original"))


def test_extract_writes_only_the_listed_files(tmp_path):
    package = vendor.Package("demo", "1.0.0", "sha512-x", ("dist/a.js", "LICENSE"))
    data = tarball({"dist/a.js": b"export default 1;", "LICENSE": b"MIT", "src/big.js": b"unused"})
    vendor.extract(data, package, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".version", "LICENSE", "a.js"]


def test_present_files_are_not_fetched_again(tmp_path, monkeypatch):
    monkeypatch.setattr(vendor, "VENDOR", tmp_path)
    package = vendor.Package("demo", "1.0.0", "sha512-x", ("dist/a.js",))
    vendor.extract(tarball({"dist/a.js": b"1"}), package, tmp_path / "demo")
    monkeypatch.setattr(vendor, "_get", lambda url: pytest.fail("fetched although present"))
    assert vendor.fetch(package) == tmp_path / "demo"
