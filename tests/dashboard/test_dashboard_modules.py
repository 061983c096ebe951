"""The dashboard's ES modules: their node unit tests pass, every import resolves, the
static pipeline (finders and collectstatic) serves them, and they stay small.

The realtime client's sequencing, reconnect and backoff are tested in tests/js/ with
`node --test` (Debian's nodejs; scripts/test.py installs it like Chromium).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command

REPO = Path(__file__).resolve().parents[2]
STATIC = REPO / "static" / "stockgate"
MODULES = sorted([STATIC / "dashboard.js", *(STATIC / "dashboard").glob("*.js")])
JS_TESTS = sorted((REPO / "tests" / "js").glob("*.test.js"))
IMPORT = re.compile(r"""^\s*(?:import|export)\b[^'"]*?\bfrom\s+["']([^"']+)["']""", re.M)
# Modules node imports in tests/js: no document, window or localStorage at import or in use.
BROWSERLESS = ("realtime.js", "format.js")
MAX_LINES = 300


def test_node_unit_tests_pass() -> None:
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.fail("node is not installed; `python3 scripts/test.py` installs Debian's nodejs")
    assert JS_TESTS, "no tests in tests/js"
    result = subprocess.run([node, "--test", *map(str, JS_TESTS)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert re.search(r"^# fail 0$", result.stdout, re.M), result.stdout[-2000:]


def test_every_import_resolves_to_a_module_in_the_tree() -> None:
    for module in MODULES:
        for spec in IMPORT.findall(module.read_text()):
            assert spec.startswith("./") or spec.startswith("../"), f"{module.name}: bare import {spec!r} (no build step)"
            target = (module.parent / spec).resolve()
            assert target.is_file(), f"{module.name} imports {spec}, which does not exist"
            assert target.is_relative_to(STATIC), f"{module.name} imports {spec} from outside static/stockgate"


def test_modules_stay_small() -> None:
    sizes = {m.relative_to(STATIC).as_posix(): len(m.read_text().splitlines()) for m in MODULES}
    assert len(sizes) >= 8, sizes
    assert all(n <= MAX_LINES for n in sizes.values()), sizes


def test_realtime_and_format_modules_do_not_touch_the_dom() -> None:
    for name in BROWSERLESS:
        text = (STATIC / "dashboard" / name).read_text()
        for word in ("document", "window.", "localStorage", "location", "requestAnimationFrame"):
            assert word not in text, f"{name} uses {word}"


def test_static_finders_serve_every_module() -> None:
    for module in MODULES:
        path = module.relative_to(REPO / "static").as_posix()
        assert finders.find(path) == str(module), path


def test_collectstatic_copies_every_module(tmp_path, settings) -> None:
    settings.STATIC_ROOT = tmp_path
    call_command("collectstatic", interactive=False, verbosity=0)
    for module in MODULES:
        copied = tmp_path / module.relative_to(REPO / "static")
        assert copied.read_bytes() == module.read_bytes(), copied
