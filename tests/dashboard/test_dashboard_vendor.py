"""scripts/vendor.py: pinned integrity is enforced and only the listed files are written."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import sys
import tarfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
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


def registry(monkeypatch, tmp_path, package_integrity: str, served: bytes) -> list[str]:
    """scripts/vendor.py against a recorded registry: the version's metadata, then its tarball."""
    monkeypatch.setattr(vendor, "VENDOR", tmp_path)
    requested: list[str] = []

    def get(url: str) -> bytes:
        requested.append(url)
        if url.endswith(".tgz"):
            return served
        return json.dumps({"dist": {"integrity": package_integrity, "tarball": "https://registry.test/demo-1.0.0.tgz"}}).encode()

    monkeypatch.setattr(vendor, "_get", get)
    return requested


def test_a_tarball_matching_its_pin_is_installed(monkeypatch, tmp_path):
    data = tarball({"dist/a.js": b"export default 1;"})
    package = vendor.Package("demo", "1.0.0", integrity(data), ("dist/a.js",))
    requested = registry(monkeypatch, tmp_path, package.integrity, data)
    folder = vendor.fetch(package)
    assert (folder / "a.js").read_bytes() == b"export default 1;"
    assert (folder / ".version").read_text() == "1.0.0\n"
    assert len(requested) == 2  # metadata, then the tarball


def test_a_tarball_that_differs_from_its_pin_writes_nothing(monkeypatch, tmp_path):
    good = tarball({"dist/a.js": b"export default 1;"})
    package = vendor.Package("demo", "1.0.0", integrity(good), ("dist/a.js",))
    registry(monkeypatch, tmp_path, package.integrity, tarball({"dist/a.js": b"alert('tampered')"}))
    with pytest.raises(ValueError, match="integrity mismatch"):
        vendor.fetch(package)
    assert not any(tmp_path.rglob("a.js"))


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
