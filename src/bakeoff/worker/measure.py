"""Clocks and footprints, measured the same way for every tool. Worker side: stdlib only."""

from __future__ import annotations

import ast
import resource
import socket
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


class Stopwatch:
    """Accumulates time spent inside tool calls, so a workload can tell tool time from its own."""

    def __init__(self) -> None:
        self.seconds = 0.0

    @contextmanager
    def timing(self) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds += time.perf_counter() - start


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100): a value that was actually observed."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def folder_mb(path: Path) -> float:
    if not path.exists():
        return 0.0
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink()) / 1e6


def peak_rss_mb() -> float:
    """Peak resident memory of this process and its waited-for children, in MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def free_port() -> int:
    """A free TCP port on 127.0.0.1: servers started by a trial bind loopback only."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def code_lines(source: str) -> int:
    """Integration effort: non-blank lines that are neither comments nor docstrings."""
    docstrings: set[int] = set()
    try:
        tree = ast.parse(source)
    except SyntaxError:
        tree = None
    for node in ast.walk(tree) if tree else ():
        body = getattr(node, "body", None)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and body:
            first = body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                docstrings.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    return sum(
        1 for number, line in enumerate(source.splitlines(), start=1)
        if line.strip() and not line.strip().startswith("#") and number not in docstrings
    )


@contextmanager
def timed_step(step: str) -> Iterator[None]:
    """One line per step in the trial's log ("[bakeoff] close: 0.42 s"): where a trial of
    probes spends its time, readable in the log without a profiler."""
    watch = Stopwatch()
    try:
        with watch.timing():
            yield
    finally:
        print(f"[bakeoff] {step}: {watch.seconds:.2f} s", file=sys.stderr, flush=True)
