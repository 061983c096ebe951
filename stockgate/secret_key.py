"""Is a SECRET_KEY fit for production? Pure: settings (the start-up refusal) and the
deployment check share it.

A key is refused when it is one that ships in this repository or a template (anyone can
read it), says it is a placeholder, is short, or has little entropy (few distinct
characters, a repeated pattern). A key from `secrets.token_urlsafe(48)` passes; so does
`openssl rand -base64 48`.
"""

from __future__ import annotations

import math
from collections import Counter

# The settings' development fallback and the placeholder docker/.env.example once shipped.
KNOWN_KEYS = frozenset({
    "insecure-development-key-change-me",
    "change-me-to-at-least-32-random-characters-0000",
})
# Words of placeholders and of keys copied from templates and tutorials.
PLACEHOLDER_WORDS = ("change-me", "changeme", "change_me", "django-insecure", "example", "insecure",
                     "placeholder", "replace-me", "your-secret", "password")
MIN_LENGTH = 32
MIN_DISTINCT = 12
# Bits estimated from the key's own character frequencies (Shannon): 32 random hex
# characters (128 real bits) estimate about 118; `token_urlsafe(48)` about 330.
MIN_ESTIMATED_BITS = 100.0


def estimated_bits(key: str) -> float:
    """len(key) x the Shannon entropy of its character frequencies: an upper bound on what a
    pattern-blind guesser faces, low for repeated or few characters."""
    if not key:
        return 0.0
    counts = Counter(key)
    per_char = -sum(n / len(key) * math.log2(n / len(key)) for n in counts.values())
    return per_char * len(key)


def weakness(key: str) -> str | None:
    """Why `key` must not sign production sessions, or None when it may."""
    if not key:
        return "SECRET_KEY is empty"
    if key in KNOWN_KEYS:
        return "SECRET_KEY is a published example key"
    lowered = key.lower()
    word = next((w for w in PLACEHOLDER_WORDS if w in lowered), None)
    if word is not None:
        return f"SECRET_KEY looks like a placeholder (contains {word!r})"
    if len(key) < MIN_LENGTH:
        return f"SECRET_KEY has {len(key)} characters; at least {MIN_LENGTH} random ones are needed"
    distinct = len(set(key))
    if distinct < MIN_DISTINCT:
        return f"SECRET_KEY uses only {distinct} distinct characters"
    bits = estimated_bits(key)
    if bits < MIN_ESTIMATED_BITS:
        return f"SECRET_KEY has about {bits:.0f} bits of entropy; at least {MIN_ESTIMATED_BITS:.0f} are needed"
    if _repeats(key):
        return "SECRET_KEY is a repeated pattern"
    return None


def _repeats(key: str) -> bool:
    """A key made of one chunk repeated ("abcdefgh" x 6), whatever its character counts say."""
    return any(len(key) % size == 0 and key == key[:size] * (len(key) // size) for size in range(1, len(key) // 2 + 1))
