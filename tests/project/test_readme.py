"""Every environment variable the settings read is documented in the README."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_every_setting_variable_is_in_the_readme_configuration_table():
    settings_source = (REPO / "stockgate" / "settings.py").read_text()
    names = set(re.findall(r'env(?:bool|int|float|list)?\(\s*"([A-Z0-9_]+)"', settings_source))
    readme = (REPO / "README.md").read_text()
    missing = sorted(name for name in names if f"`{name}`" not in readme)
    assert names and not missing, f"not in README: {missing}"


def test_the_readme_starts_with_the_two_commands():
    readme = (REPO / "README.md").read_text()
    assert "python3 scripts/run.py" in readme and "python3 scripts/test.py" in readme
    ci = (REPO / ".ci" / "run").read_text()
    assert "scripts/test.py" in ci
