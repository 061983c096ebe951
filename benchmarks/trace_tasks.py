"""What the long tasks of a page are made of, read from a Chromium trace.

Takes a trace written by Chromium's tracing (Playwright's `browser.start_tracing`, or the
performance panel's "save profile"; tests/dashboard/test_dashboard_perf.py writes one with
DASHBOARD_PERF_TRACE=path) and prints, for the renderer's main thread, each top-level task
longer than the threshold with its time split by kind of work: scripting, garbage
collection, style, layout, paint, layerization (the painted page turned into compositor
layers), parsing, and the rest. A kind's time is the thread (CPU) self time of the trace
events of that kind (nested events are subtracted), so the columns add up to the time the
task ran; its wall time is printed beside it, and on a busy machine the difference is the
time the thread waited for a core.

    python benchmarks/trace_tasks.py trace.json [--over 50] [--top 15]
"""

from __future__ import annotations

import argparse
import gzip
import json
from collections import Counter
from pathlib import Path
from typing import Any

TASK_NAMES = {"RunTask", "ThreadControllerImpl::RunTask", "ThreadPool_RunTask"}

KINDS: dict[str, tuple[str, ...]] = {
    "gc": ("MinorGC", "MajorGC", "V8.GC", "BlinkGC", "GCEvent", "CppGC", "ThreadState::", "V8.Scavenge",
           "V8.MarkCompact", "V8.ConcurrentMarking", "V8.GCScavenger", "V8.GCIncrementalMarking"),
    "style": ("UpdateLayoutTree", "RecalculateStyles", "ScheduleStyleRecalculation", "StyleRecalc",
              "Document::updateStyle", "Document::recalcStyle", "StyleEngine", "Blink.Style"),
    "layout": ("Layout", "UpdateLayout", "LocalFrameView::layout", "LocalFrameView::performLayout",
               "Blink.Layout", "IntersectionObserver", "ComputeIntersections", "InvalidateLayout"),
    # Turning the painted page into compositor layers and handing them over.
    "layers": ("PaintArtifactCompositor", "Blink.CompositingInputs", "LocalFrameView::RunCompositingInputs",
               "ProxyMain::BeginMainFrame::commit", "Commit", "Layerize", "UpdateLayer", "CompositeLayers",
               "Animation", "cc::", "LocalFrameView::ScheduleAnimation", "Blink.Compositing"),
    # Painting into display lists; the hit tests are the browser's own, run at each commit.
    "paint": ("Paint", "PrePaint", "Blink.PrePaint", "Blink.Paint", "CullRectUpdate", "PaintImage", "Decode",
              "HitTest", "Blink.HitTest"),
    "parse": ("ParseHTML", "v8.parseOnBackground", "V8.ParseFunction", "v8.compile", "V8.Compile", "ParseAuthorStyleSheet"),
    "script": ("FunctionCall", "EvaluateScript", "v8.run", "v8.callFunction", "V8.Execute", "TimerFire",
               "FireAnimationFrame", "EventDispatch", "v8.evaluateModule", "RunMicrotasks", "V8.RunMicrotasks",
               "XHRReadyStateChange", "v8.callModuleMethod", "JSON", "WebSocket"),
}


def kind_of(name: str) -> str:
    """The first kind with a matching prefix ("layers" before "paint": PaintArtifactCompositor)."""
    for kind, prefixes in KINDS.items():
        if any(name.startswith(p) for p in prefixes):
            return kind
    return "other"


def load_events(path: Path) -> list[dict[str, Any]]:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    data = json.loads(raw)
    return data["traceEvents"] if isinstance(data, dict) else data


def main_thread(events: list[dict[str, Any]]) -> tuple[int, int]:
    """(pid, tid) of the busiest CrRendererMain: the page under test."""
    mains = {(e["pid"], e["tid"]) for e in events
             if e.get("ph") == "M" and e.get("name") == "thread_name" and e["args"].get("name") == "CrRendererMain"}
    busy: Counter[tuple[int, int]] = Counter()
    for e in events:
        if e.get("ph") == "X" and (e.get("pid"), e.get("tid")) in mains:
            busy[(e["pid"], e["tid"])] += e.get("dur", 0)
    return busy.most_common(1)[0][0]


Span = tuple[float, float, str, float]  # start, end (µs, wall clock), name, thread (CPU) time in µs


def complete_events(events: list[dict[str, Any]], pid: int, tid: int) -> list[Span]:
    """The thread's complete events, sorted by start, the enclosing one first. Thread time
    (tdur) is what the thread ran; the rest of the wall time it waited for a core."""
    out = [(e["ts"], e["ts"] + e.get("dur", 0), e["name"], e.get("tdur", e.get("dur", 0))) for e in events
           if e.get("ph") == "X" and e.get("pid") == pid and e.get("tid") == tid]
    out.sort(key=lambda x: (x[0], -(x[1] - x[0])))
    return out


def self_times(spans: list[Span]) -> tuple[Counter[str], Counter[str]]:
    """Wall and thread self time per event name of nested spans: an event's own time less
    its children's, so the names' times add up to the enclosing task's."""
    wall: Counter[str] = Counter()
    cpu: Counter[str] = Counter()
    stack: list[list[Any]] = []  # [start, end, name, cpu, children's wall, children's cpu]

    def pop() -> None:
        begin, finish, name, used, child_wall, child_cpu = stack.pop()
        wall[name] += max(0.0, finish - begin - child_wall)
        cpu[name] += max(0.0, used - child_cpu)
        if stack:
            stack[-1][4] += finish - begin
            stack[-1][5] += used

    for start, end, name, used in spans:
        while stack and stack[-1][1] <= start:
            pop()
        stack.append([start, end, name, used, 0.0, 0.0])
    while stack:
        pop()
    return wall, cpu


COLUMNS = ["script", "gc", "style", "layout", "paint", "layers", "parse", "other"]


def report(path: Path, over_ms: float, top: int) -> None:
    events = load_events(path)
    pid, tid = main_thread(events)
    spans = complete_events(events, pid, tid)
    tasks = [s for s in spans if s[2] in TASK_NAMES]
    # Top-level tasks only: a RunTask inside another is part of it.
    top_level: list[Span] = []
    for t in tasks:
        if top_level and t[0] < top_level[-1][1]:
            continue
        top_level.append(t)
    if not top_level:
        raise SystemExit("no RunTask events on the main thread: was devtools.timeline traced?")
    window = (top_level[-1][1] - top_level[0][0]) / 1000
    long_tasks = [t for t in top_level if (t[1] - t[0]) / 1000 > over_ms]
    busy = sum(t[1] - t[0] for t in top_level) / 1000
    ran = sum(t[3] for t in top_level) / 1000
    print(f"{path}: main thread pid {pid} tid {tid}, {len(top_level)} tasks in {window:.0f} ms: "
          f"{busy:.0f} ms in tasks ({busy / window:.0%}), {ran:.0f} ms of them running ({ran / window:.0%}); "
          f"{len(long_tasks)} tasks over {over_ms:g} ms")
    print("Per long task: wall and thread (CPU) time, the thread time split by kind of work (ms).")
    print(f"{'at ms':>7} {'wall':>6} {'cpu':>6} " + " ".join(f"{c:>6}" for c in COLUMNS) + "  biggest (cpu ms)")
    kinds_all: Counter[str] = Counter()
    names_all: Counter[str] = Counter()
    t0 = top_level[0][0]
    for rank, (start, end, _, used) in enumerate(sorted(long_tasks, key=lambda t: t[0] - t[1])):
        _, cpu = self_times([s for s in spans if s[0] >= start and s[1] <= end])
        kinds: Counter[str] = Counter()
        for name, us in cpu.items():
            kinds[kind_of(name)] += us
        kinds_all.update(kinds)
        names_all.update(cpu)
        if rank < top:
            biggest = ", ".join(f"{n} {us / 1000:.0f}" for n, us in cpu.most_common(3))
            print(f"{(start - t0) / 1000:7.0f} {(end - start) / 1000:6.1f} {used / 1000:6.1f} "
                  + " ".join(f"{kinds[c] / 1000:6.1f}" for c in COLUMNS) + f"  {biggest}")
    if not long_tasks:
        return
    wall_sum = sum(t[1] - t[0] for t in long_tasks) / 1000
    cpu_sum = sum(t[3] for t in long_tasks) / 1000
    total = sum(kinds_all.values()) or 1
    print(f"all {len(long_tasks)} long tasks: {wall_sum:.0f} ms wall, {cpu_sum:.0f} ms running ({cpu_sum / wall_sum:.0%}): "
          + ", ".join(f"{c} {kinds_all[c] / 1000:.0f} ({kinds_all[c] / total:.0%})" for c in COLUMNS))
    print("by event (cpu self ms): " + ", ".join(f"{n} {us / 1000:.0f}" for n, us in names_all.most_common(15)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trace", type=Path)
    parser.add_argument("--over", type=float, default=50.0, help="a long task is longer than this (ms)")
    parser.add_argument("--top", type=int, default=15, help="long tasks listed one by one")
    args = parser.parse_args()
    report(args.trace, args.over, args.top)


if __name__ == "__main__":
    main()
