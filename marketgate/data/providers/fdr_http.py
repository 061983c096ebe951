"""HTTP for FinanceDataReader's readers, per call: a session and a timeout bound to the
call in progress, not to the process.

FinanceDataReader calls `requests.get` / `requests.post` without a timeout and takes
no session argument, so a hung connection would hold a fetch thread for ever. Its
reader modules look `requests` up in their own module globals at call time; `install`
puts a stand-in there once. The stand-in sends a call made inside `bound(session,
timeout)` (a context variable: this thread or task only) through that session with
that timeout, and any other call straight to `requests`, arguments unchanged. The
`requests` module itself is never modified, so another thread's `requests.get`
(ours or a library's) runs exactly as its caller wrote it.

Not covered: FinanceDataReader's CSV reads by URL (the index cache, the listing
cache) go through pandas and urllib, which this cannot reach.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import requests

PACKAGE = "FinanceDataReader"


@dataclass(frozen=True)
class HttpBinding:
    session: requests.Session
    timeout: float


_current: ContextVar[HttpBinding | None] = ContextVar("fdr_http_binding", default=None)


class RequestsOfTheCurrentCall:
    """Stands in for `requests` inside FinanceDataReader's reader modules."""

    def __getattr__(self, name: str) -> Any:
        return getattr(requests, name)  # exceptions, Session, codes ... as they are

    def get(self, url: str, params: Any = None, **kwargs: Any) -> requests.Response:
        return self._send("get", url, params=params, **kwargs)

    def post(self, url: str, data: Any = None, json: Any = None, **kwargs: Any) -> requests.Response:
        return self._send("post", url, data=data, json=json, **kwargs)

    @staticmethod
    def _send(method: str, url: str, **kwargs: Any) -> requests.Response:
        binding = _current.get()
        if binding is None:
            return getattr(requests, method)(url, **kwargs)  # looked up now: exactly requests' own
        kwargs.setdefault("timeout", binding.timeout)  # a reader that sets its own keeps it
        return binding.session.request(method.upper(), url, **kwargs)


STAND_IN = RequestsOfTheCurrentCall()


def install() -> list[str]:
    """Put the stand-in into every loaded FinanceDataReader module that uses `requests`
    (idempotent); returns the module names, for logs and tests."""
    done = []
    for name, module in list(sys.modules.items()):
        if not (name == PACKAGE or name.startswith(PACKAGE + ".")) or not isinstance(module, ModuleType):
            continue
        current = getattr(module, "requests", None)
        if current is requests or current is STAND_IN:
            module.requests = STAND_IN  # type: ignore[attr-defined]
            done.append(name)
    return sorted(done)


@contextmanager
def bound(session: requests.Session, timeout: float) -> Iterator[HttpBinding]:
    """FinanceDataReader calls made inside this block (in this thread or task) go
    through `session` with `timeout` seconds unless the reader set its own."""
    binding = HttpBinding(session, timeout)
    token = _current.set(binding)
    try:
        yield binding
    finally:
        _current.reset(token)
