"""Create the project's virtualenv and install requirements when they changed.

Shared by scripts/run.py and scripts/test.py; needs nothing but Python 3.11.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("STOCKGATE_VENV", ROOT / ".venv"))
PYTHON = VENV / "bin" / "python"


def _digest(files: list[Path]) -> str:
    h = hashlib.sha256()
    for f in files:
        h.update(f.read_bytes())
    return h.hexdigest()


def ensure_venv(requirements: str = "requirements.txt") -> Path:
    """The venv's python, with `requirements` (and what it includes) installed."""
    req = ROOT / requirements
    files = [ROOT / "requirements.txt"] + ([req] if req.name != "requirements.txt" else [])
    stamp = VENV / f".installed-{req.stem}"
    if not PYTHON.exists():
        print(f"creating virtualenv in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = _digest(files)
    if not stamp.exists() or stamp.read_text() != digest:
        print(f"installing {requirements} (first run takes a minute or two)", flush=True)
        pip = [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
        subprocess.run(pip + ["--upgrade", "pip"], check=True)
        subprocess.run(pip + ["-r", str(req)], check=True)
        stamp.write_text(digest)
    return PYTHON


def in_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()
