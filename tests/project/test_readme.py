"""Every environment variable the settings read is documented in the README."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SETTINGS = REPO / "stockgate" / "settings.py"
# Where every tuning value is defined, with its default and why.
TUNING = REPO / "stockgate" / "tuning.py"


def test_every_setting_variable_is_in_the_readme_configuration_table():
    settings_source = SETTINGS.read_text() + TUNING.read_text()
    names = set(re.findall(r'env(?:bool|int|float|list)?\(\s*"([A-Z0-9_]+)"', settings_source))
    readme = (REPO / "README.md").read_text()
    missing = sorted(name for name in names if f"`{name}`" not in readme)
    assert names and not missing, f"not in README: {missing}"


def test_the_readme_starts_with_the_two_commands():
    readme = (REPO / "README.md").read_text()
    assert "python3 scripts/run.py" in readme and "python3 scripts/test.py" in readme
    ci = (REPO / ".ci" / "run").read_text()
    assert "scripts/test.py" in ci


def test_the_configuration_table_lists_deploy_facts_not_tuning_values():
    tuned = set(re.findall(r'tuned\(\s*"([A-Z0-9_]+)"', TUNING.read_text()))
    assert not re.search(r'tuned\(\s*"', SETTINGS.read_text()), "tuning values are defined in tuning.py"
    table = [line for line in (REPO / "README.md").read_text().splitlines() if line.startswith("| `")]
    listed = {name for line in table for name in re.findall(r"`([A-Z0-9_]+)`", line.split("|")[1])}
    assert tuned and not (tuned & listed), f"tuning values in the README table: {sorted(tuned & listed)}"
    assert len(listed) <= 40, f"{len(listed)} environment variables: deploy facts only"


def test_every_tuning_value_is_documented_where_it_is_defined():
    lines = TUNING.read_text().splitlines()
    undocumented = []
    for i, line in enumerate(lines):
        match = re.search(r'tuned\(\s*"([A-Z0-9_]+)"', line)
        if not match:
            continue
        # a comment on the line, or in the block of comments/definitions right above it
        above = lines[max(0, i - 4):i]
        if "#" not in line and not any(prev.lstrip().startswith("#") for prev in above):
            undocumented.append(match[1])
    assert not undocumented, f"tuning values without a comment: {undocumented}"
