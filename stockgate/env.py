"""Tiny helpers that read settings from the environment with safe defaults."""

from __future__ import annotations

import json
import os
from typing import Any, TypeVar

T = TypeVar("T")


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def envbool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def envint(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from exc


def envfloat(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number, got {raw!r}") from exc


def envlist(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


TUNING_VARIABLE = "STOCKGATE_TUNING"


class Tuning:
    """Tuning values: named constants with documented defaults, not environment variables.

    The environment carries deploy facts (where the database is, which hosts, which
    feed). Tuning values (limits, periods, thresholds) are defined once in tuning.py
    with their default and a comment; a deployment that needs another value sets them
    together in one JSON object, e.g. STOCKGATE_TUNING='{"WS_HISTORY_FRAMES": 1000}'.
    A name that is not a tuning value is refused at start-up, so a typo never silently
    keeps the default.
    """

    def __init__(self, raw: str) -> None:
        try:
            overrides = json.loads(raw) if raw.strip() else {}
        except json.JSONDecodeError as exc:
            raise ValueError(f"{TUNING_VARIABLE} must be a JSON object: {exc}") from exc
        if not isinstance(overrides, dict):
            raise ValueError(f"{TUNING_VARIABLE} must be a JSON object, got {type(overrides).__name__}")
        self.overrides: dict[str, Any] = overrides
        self.defaults: dict[str, Any] = {}

    def __call__(self, name: str, default: T) -> T:
        self.defaults[name] = default
        if name not in self.overrides:
            return default
        return _coerce(name, self.overrides[name], default)

    def check_names(self) -> None:
        unknown = sorted(set(self.overrides) - set(self.defaults))
        if unknown:
            raise ValueError(
                f"{TUNING_VARIABLE}: unknown name(s) {', '.join(unknown)}; "
                f"tuning values are: {', '.join(sorted(self.defaults))}"
            )


def _coerce(name: str, value: Any, default: Any) -> Any:
    """The override in the default's type; a string is accepted where a number is meant."""
    try:
        if isinstance(default, bool):
            if isinstance(value, str):
                return value.strip().lower() in {"1", "true", "yes", "on"}
            return bool(value)
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
        if isinstance(default, list):
            return [item.strip() for item in value.split(",") if item.strip()] if isinstance(value, str) else list(value)
        if isinstance(default, dict):
            if not isinstance(value, dict):
                raise TypeError("an object")
            return dict(value)
        return str(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{TUNING_VARIABLE}: {name} must be like {default!r}, got {value!r}") from exc
