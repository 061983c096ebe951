"""Fetch the dashboard's charting library and Korean web font from the npm registry, without Node.

`python3 scripts/vendor.py` downloads the pinned uPlot tarball over HTTPS, checks it
against the pinned sha512 integrity, and extracts only the files the page loads into
var/vendor/uplot/ (served as static files under /static/vendor/). Nothing happens when
the files are already there. The page works without them: its charts then say
"chart unavailable", and text falls back to the system's fonts.

The font is Noto Sans KR (SIL Open Font License) as @fontsource packages it: 125 woff2
slices per weight, each with its `unicode-range`, so a browser downloads only the slices
a page's text needs (a few hundred KB of the 4.9 MB for two weights). Only the woff2
files and the stylesheets of weights 400 and 700 are kept; the stylesheets' woff
fallbacks (for browsers without woff2) are dropped and their URLs flattened.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import io
import json
import os
import re
import sys
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR = Path(os.environ.get("STOCKGATE_VAR_DIR", ROOT / "var")) / "vendor"
REGISTRY = "https://registry.npmjs.org"


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    integrity: str  # the registry's dist.integrity, pinned here so a changed tarball is refused
    files: tuple[str, ...]  # paths inside the tarball's package/ folder
    globs: tuple[str, ...] = ()  # more files, by pattern (the font's slices)
    folder: str = ""  # under var/vendor/; the package name by default

    @property
    def directory(self) -> str:
        return self.folder or self.name


UPLOT = Package(
    name="uplot",
    version="1.6.32",
    integrity="sha512-KIMVnG68zvu5XXUbC4LQEPnhwOxBuLyW1AHtpm6IKTXImkbLgkMy+jabjLgSLMasNuGGzQm/ep3tOkyTxpiQIw==",
    files=("dist/uPlot.esm.js", "dist/uPlot.min.css", "LICENSE"),
)
NOTO_SANS_KR = Package(
    name="@fontsource/noto-sans-kr",
    version="5.3.0",
    integrity="sha512-/JnpTjaCOXW7xUoqOyCVYSr05VOkDy5Yla9O+WAEiS7u+yYLsmHoqj6v1W0bf91G8G3XA2+NnRS3CX2Tf/FVZg==",
    files=("400.css", "700.css", "LICENSE"),
    globs=("files/noto-sans-kr-*-400-normal.woff2", "files/noto-sans-kr-*-700-normal.woff2"),
    folder="noto-sans-kr",
)
PACKAGES = (UPLOT, NOTO_SANS_KR)
WOFF_FALLBACK = re.compile(r",\s*url\([^)]*\.woff\)\s*format\('woff'\)")


def target_dir(package: Package) -> Path:
    return VENDOR / package.directory


def is_present(package: Package) -> bool:
    folder = target_dir(package)
    stamp = folder / ".version"
    return stamp.is_file() and stamp.read_text().strip() == package.version and all(
        (folder / Path(f).name).is_file() for f in package.files
    )


def _get(url: str, timeout: float = 30.0) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "stockgate-vendor"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read()


def check_integrity(data: bytes, integrity: str) -> None:
    algorithm, _, expected = integrity.partition("-")
    if algorithm != "sha512":
        raise ValueError(f"unsupported integrity algorithm {algorithm!r}")
    actual = base64.b64encode(hashlib.sha512(data).digest()).decode()
    if actual != expected:
        raise ValueError(f"integrity mismatch: expected {integrity}, got sha512-{actual}")


def extract(data: bytes, package: Package, folder: Path) -> None:
    """Write only the listed files, flattened, so nothing else from the tarball lands on disk."""
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        names = [m.name.removeprefix("package/") for m in tar.getmembers()]
        matched = [n for n in names if any(fnmatch.fnmatch(n, g) for g in package.globs)]
        if package.globs and not matched:
            raise ValueError(f"no file in the tarball matches {package.globs}")
        for wanted in (*package.files, *matched):
            member = tar.getmember(f"package/{wanted}")
            source = tar.extractfile(member)
            if source is None:
                raise ValueError(f"{wanted} is not a regular file in the tarball")
            data = source.read()
            if wanted.endswith(".css"):
                text = WOFF_FALLBACK.sub("", data.decode()).replace("url(./files/", "url(./")
                data = text.encode()
            (folder / Path(wanted).name).write_bytes(data)
    (folder / ".version").write_text(package.version + "\n")


def fetch(package: Package) -> Path:
    folder = target_dir(package)
    if is_present(package):
        return folder
    meta = json.loads(_get(f"{REGISTRY}/{package.name}/{package.version}"))
    dist = meta["dist"]
    if dist["integrity"] != package.integrity:
        raise ValueError(f"{package.name}@{package.version}: registry integrity {dist['integrity']} "
                         f"differs from the pinned {package.integrity}")
    data = _get(dist["tarball"])
    check_integrity(data, package.integrity)
    extract(data, package, folder)
    return folder


def main() -> int:
    status = 0
    for package in PACKAGES:
        try:
            already = is_present(package)
            folder = fetch(package)
            print(f"{package.name}@{package.version}: {'present' if already else 'installed'} in {folder}", flush=True)
        except Exception as exc:  # the page still runs without charts
            print(f"warning: could not vendor {package.name}@{package.version}: {exc}; "
                  "the dashboard will show 'chart unavailable'", file=sys.stderr, flush=True)
            status = 1
    return status


if __name__ == "__main__":
    raise SystemExit(main())
