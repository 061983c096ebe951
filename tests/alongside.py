"""Tests marked `alongside` run in a pytest process of their own, next to the rest of the suite.

They spend real minutes waiting on a server's timers (a 70 s heartbeat watched for five
minutes, a beat schedule of 60 s then 600 s) and use little CPU meanwhile: run one after
the other with the rest they would add those minutes to the run. When a run selects them
together with other tests, the moment collection ends a second pytest starts on them
alone and they run there unchanged: same fixtures, same real processes, same assertions.
That process is another test run in every way that matters: its own test database, Redis
key prefix, Celery queue and bar-cache folder (tests/settings.py derives them all from
STOCKGATE_TEST_RUN), so nothing this run flushes or deletes is theirs.

Here, each such test is replaced by its result, placed at the end of the run: it waits for
the other process to finish the test and passes, fails (with that process's report) or
skips as the test did there. A run that selects only such tests runs them here, as usual.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

MARKER = "alongside"
# Set in the second process: where it writes its results (and that it must not start another).
RESULTS_ENV = "STOCKGATE_ALONGSIDE_RESULTS"
# The names tests/settings.py derives from STOCKGATE_TEST_RUN when they are not set.
RUN_DERIVED = {"REALTIME_PREFIX": "sgtest{}", "CHANNEL_PREFIX": "sgtest{}-layer", "CELERY_QUEUE": "stockgate-test-{}"}
STARTUP_SECONDS = 300  # its own collection, test database and migrations, on a loaded machine
NICENESS = 10  # the second process and everything it starts
FINISH_SECONDS = 120  # from its last result to its exit: fixtures' teardowns, the test database dropped
DEFAULT_TIMEOUT_SECONDS = 300.0


def _prepare_child() -> None:
    # Its tests wait with margins of seconds; the rest of the run has tests that measure
    # how busy a page or a process is. On a machine of two cores they go first.
    os.nice(NICENESS)
    # A run started in the background ignores SIGINT, and so would this process: then
    # stop() could not end it the way that lets its fixtures stop what they started.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class AlongsideRun:
    """The second pytest process and the results it writes (one JSON line per report)."""

    def __init__(self, config: pytest.Config, nodeids: list[str]) -> None:
        logs = Path(config.rootpath) / "var" / "test-logs"
        logs.mkdir(parents=True, exist_ok=True)
        stamp = f"{os.getpid()}-{int(time.time() * 1000)}"
        self.results_path = logs / f"alongside-{stamp}.jsonl"
        self.log_path = logs / f"alongside-{stamp}.log"
        self.results_path.write_text("")
        self.waiting = set(nodeids)  # results not yet reported here
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", *nodeids],
                cwd=config.rootpath, env=self._env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=_prepare_child,
            )

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        run = env.get("STOCKGATE_TEST_RUN", str(os.getpid()))
        # A run id of its own, which neither starts with this run's nor is started by it:
        # clean_redis deletes `prefix*`, so `sgtest123` must not be a prefix of the other's keys.
        other = f"a{run}"
        env["STOCKGATE_TEST_RUN"] = other
        for name, pattern in RUN_DERIVED.items():
            if env.get(name) == pattern.format(run):
                env[name] = pattern.format(other)
            elif name in env:
                env[name] = f"alongside-{env[name]}"
        env[RESULTS_ENV] = str(self.results_path)
        return env

    def reports(self, nodeid: str) -> list[dict[str, Any]]:
        found = []
        for line in self.results_path.read_text().splitlines():
            report = json.loads(line)
            if report["nodeid"] == nodeid:
                found.append(report)
        return found

    def log_tail(self, chars: int = 6000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        """Lets the process end by itself once every result is in (it still drops its test
        database); otherwise (this run ended early) ends it the way Ctrl-C would, so its
        tests' fixtures still stop what they started."""
        if not self.waiting:
            try:
                self.proc.wait(timeout=FINISH_SECONDS)
            except subprocess.TimeoutExpired:
                pass
        if self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGINT)
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        except ProcessLookupError:
            pass


class AlongsideFailure(Exception):
    pass


class AlongsideResult(pytest.Item):
    """A test run by the other process, as its result: waits for it, then reports it here."""

    def __init__(self, *, run: AlongsideRun, original: pytest.Item, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.run = run
        self.original = original

    def runtest(self) -> None:
        nodeid = self.original.nodeid
        while True:
            reports = self.run.reports(nodeid)
            if any(r["when"] == "teardown" for r in reports):
                break
            if self.run.proc.poll() is not None:
                reports = self.run.reports(nodeid)
                if not any(r["when"] == "teardown" for r in reports):
                    raise AlongsideFailure(
                        f"the process running it exited ({self.run.proc.returncode}) without its result;"
                        f" its log ({self.run.log_path}) ends with:\n{self.run.log_tail()}"
                    )
                break
            time.sleep(1)
        self.run.waiting.discard(nodeid)
        seconds = sum(r["duration"] for r in reports)
        self.add_report_section("call", MARKER, f"ran in its own process ({self.run.log_path}) in {seconds:.1f} s")
        failed = [r for r in reports if r["outcome"] == "failed"]
        if failed:
            raise AlongsideFailure("\n\n".join(f"[{r['when']}] {r['longrepr']}" for r in failed))
        skipped = [r for r in reports if r["outcome"] == "skipped" and r["when"] in ("setup", "call")]
        if skipped:
            pytest.skip(skipped[0]["longrepr"] or "skipped in its own process")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, AlongsideFailure):
            return f"{self.original.nodeid} (run in its own process):\n{excinfo.value}"
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.original.reportinfo()


def _timeout(item: pytest.Item) -> float:
    marker = item.get_closest_marker("timeout")
    if marker is not None and marker.args:
        return float(marker.args[0])
    return float(item.config.getini("timeout") or DEFAULT_TIMEOUT_SECONDS)


def _run_here(config: pytest.Config) -> bool:
    return bool(os.environ.get(RESULTS_ENV)) or config.getoption("collectonly")


@pytest.hookimpl(trylast=True)  # after -k/-m have deselected what this run leaves out
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    alongside = [item for item in items if item.get_closest_marker(MARKER)]
    if not alongside or len(alongside) == len(items) or _run_here(config):
        return
    run = AlongsideRun(config, [item.nodeid for item in alongside])
    config.stash[RUN_KEY] = run
    # The last result may wait for all of them: they run one after the other there.
    budget = STARTUP_SECONDS + sum(_timeout(item) for item in alongside)
    results = []
    for item in alongside:
        result = AlongsideResult.from_parent(item.parent, name=item.name, run=run, original=item)
        result.add_marker(pytest.mark.timeout(budget))
        results.append(result)
    items[:] = [item for item in items if not item.get_closest_marker(MARKER)] + results


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    path = os.environ.get(RESULTS_ENV)
    if not path:
        return
    longrepr = ""
    if report.outcome == "skipped" and isinstance(report.longrepr, tuple):
        longrepr = str(report.longrepr[2])
    elif report.longrepr is not None:
        longrepr = report.longreprtext
    line = {"nodeid": report.nodeid, "when": report.when, "outcome": report.outcome,
            "duration": report.duration, "longrepr": longrepr}
    with open(path, "a") as results:
        results.write(json.dumps(line) + "\n")


def pytest_unconfigure(config: pytest.Config) -> None:
    run = config.stash.get(RUN_KEY, None)
    if run is not None:
        run.stop()


RUN_KEY = pytest.StashKey[AlongsideRun]()
