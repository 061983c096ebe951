"""Create the project's virtualenv and install the locked requirements when they changed.

Shared by scripts/run.py and scripts/test.py; needs nothing but Python 3.11.

requirements.txt and requirements-dev.txt are the human-edited inputs (compatible
ranges); requirements.lock and requirements-dev.lock pin every package, dependencies
included, with the SHA-256 of each file pip may download, and are what gets installed
(`pip install --require-hashes`): a release replaced on the index, or a tampered mirror,
fails the install instead of running. docs/operations.md says how to refresh the locks.
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


def lock_for(requirements: str) -> Path:
    """requirements.txt -> requirements.lock; requirements-dev.txt -> requirements-dev.lock."""
    return (ROOT / requirements).with_suffix(".lock")


def _digest(files: list[Path]) -> str:
    h = hashlib.sha256()
    for f in files:
        h.update(f.read_bytes())
    return h.hexdigest()


def ensure_venv(requirements: str = "requirements.txt") -> Path:
    """The venv's python, with the lock of `requirements` installed (hashes checked)."""
    lock = lock_for(requirements)
    stamp = VENV / f".installed-{lock.stem}"
    if not PYTHON.exists():
        print(f"creating virtualenv in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = _digest([lock])
    if not stamp.exists() or stamp.read_text() != digest:
        print(f"installing {lock.name} (first run takes a minute or two)", flush=True)
        pip = [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
        subprocess.run(pip + ["--require-hashes", "-r", str(lock)], check=True)
        stamp.write_text(digest)
    return PYTHON


def in_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()
