"""Every process bakeoff starts, as a tree it can find, measure and end.

One module owns this so the runner (a trial's worker), a stage's servers, schedulers, workers
and agents are all ended the same way: SIGTERM, a deadline, then SIGKILL for what is left.

A tree is found by a marker in the environment (`NAME=token`), inherited by everything the
first process starts, however far it daemonises or leaves its process group: that finds Ray's
raylet as surely as a uvicorn worker or an Airflow task runner. Worker side: standard library.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

TREE_MARKER = "BAKEOFF_TREE"  # set on every ProcessTree this module starts


def marked(name: str, token: str, *, exclude_self: bool = True) -> list[int]:
    """Pids of live processes whose environment holds name=token, or name=a:b:token... (a tree
    started inside another tree keeps the enclosing trees' tokens, so ending the outer tree
    ends the inner one too)."""
    prefix, wanted = f"{name}=".encode(), token.encode()
    me = os.getpid()
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or (exclude_self and int(entry.name) == me):
            continue
        try:
            with open(f"/proc/{entry.name}/environ", "rb") as fh:
                for variable in fh.read().split(b"\0"):
                    if variable.startswith(prefix) and wanted in variable[len(prefix):].split(b":"):
                        found.append(int(entry.name))
                        break
        except OSError:
            continue  # gone already, or not ours to read
    return found


def process_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


def signal_all(pids: list[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def end_marked(process: subprocess.Popen | None, name: str, token: str, *, grace: float = 5.0,
               group: bool = True) -> list[str]:
    """End `process` (its whole group when `group`) and every process marked name=token:
    SIGTERM, up to `grace` seconds, then SIGKILL. Returns "comm(pid)" of what needed SIGKILL."""

    def alive() -> list[int]:
        pids = marked(name, token)
        if process is not None and process.poll() is None and process.pid not in pids:
            pids.append(process.pid)
        return pids

    killed: list[str] = []
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if process is not None and group:
            try:
                os.killpg(process.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
        left = alive()
        if sig == signal.SIGKILL:
            killed = sorted({f"{process_name(p)}({p})" for p in left})
        signal_all(left, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and alive():
            time.sleep(0.05)
        if not alive():
            break
    if process is not None:
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    return killed


def memory_mb(pid: int) -> tuple[float, str]:
    """Proportional set size (shared pages split between the processes sharing them, so a
    forked tree is not counted twice), or resident size where PSS cannot be read."""
    for path, key, kind in ((f"/proc/{pid}/smaps_rollup", "Pss:", "pss"), (f"/proc/{pid}/status", "VmRSS:", "rss")):
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(key):
                    return int(line.split()[1]) / 1024, kind
        except (OSError, ValueError, IndexError):
            continue
    return 0.0, "gone"


def listening_sockets(pids: list[int]) -> list[tuple[str, int, str]]:
    """(address, port, process name) of every TCP socket these processes listen on."""
    inodes: dict[str, str] = {}
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes[target[8:-1]] = process_name(pid)
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10 or fields[3] != "0A" or fields[9] not in inodes:  # 0A: LISTEN
                continue
            address, port = fields[1].split(":")
            found.append((_address(address), int(port, 16), inodes[fields[9]]))
    return sorted(set(found))


def _address(hex_address: str) -> str:
    """A /proc/net/tcp address (little-endian 32-bit words) as text."""
    raw = bytes.fromhex(hex_address)
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    address = ipaddress.ip_address(words)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return str(address)


def is_loopback(address: str) -> bool:
    return ipaddress.ip_address(address).is_loopback


@dataclass
class StopOutcome:
    seconds: float  # SIGTERM to the last process of the tree gone (or the limit)
    clean: bool  # every process gone within the limit after one SIGTERM to the main process
    leftovers: list[str] = field(default_factory=list)  # "name(pid)" killed after the limit
    exit_code: int | None = None


class ProcessTree:
    """One started process and everything it starts. Use as a context manager: the tree never
    outlives the block. `new_session=False` keeps it in the caller's process group, so the
    runner's clean-up of the trial covers it even if this process is killed outright."""

    def __init__(self, argv: list[str], *, env: dict[str, str] | None = None, cwd: Path | str | None = None,
                 log: Path | None = None, new_session: bool = False) -> None:
        self.token = uuid.uuid4().hex
        self.argv = argv
        self.log_path = log
        self._log = log.open("ab") if log is not None else subprocess.DEVNULL
        outer = os.environ.get(TREE_MARKER)  # started inside another tree: keep its token too
        environment = {**os.environ, **(env or {}), TREE_MARKER: f"{outer}:{self.token}" if outer else self.token}
        self.started = time.perf_counter()
        self.process = subprocess.Popen(argv, cwd=cwd, env=environment, stdin=subprocess.DEVNULL, stdout=self._log,
                                        stderr=subprocess.STDOUT, start_new_session=new_session)
        self.new_session = new_session
        self.stopped: StopOutcome | None = None
        self._pids: list[int] = [self.process.pid]
        self._pids_at = 0.0

    def __enter__(self) -> ProcessTree:
        return self

    def __exit__(self, *exc) -> None:
        if self.stopped is None:
            self.stop(limit=5.0)

    def running(self) -> bool:
        return self.process.poll() is None

    def pids(self, *, fresh: bool = False) -> list[int]:
        """The tree's live pids; rescanned at most once a second unless `fresh`."""
        now = time.perf_counter()
        if fresh or now - self._pids_at > 1.0:
            self._pids = marked(TREE_MARKER, self.token)
            self._pids_at = now
        return self._pids

    def memory(self) -> tuple[float, int, str]:
        """(MB, process count, how) of the whole tree right now."""
        total, kinds, count = 0.0, set(), 0
        for pid in self.pids():
            mb, kind = memory_mb(pid)
            if kind != "gone":
                total, count = total + mb, count + 1
                kinds.add(kind)
        return total, count, "+".join(sorted(kinds)) or "gone"

    def pin(self, core: int | None) -> int:
        """Move every thread of every process of the tree onto `core` (what `taskset -a -p`
        does); threads and processes started later inherit it. Returns the threads moved."""
        if core is None or core not in os.sched_getaffinity(0) or len(os.sched_getaffinity(0)) < 2:
            return 0
        moved = 0
        for _ in range(2):  # a second pass catches threads started during the first
            for pid in self.pids(fresh=True):
                try:
                    tids = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
                except OSError:
                    continue
                for tid in tids:
                    try:
                        os.sched_setaffinity(tid, {core})
                        moved += 1
                    except OSError:
                        pass
        return moved

    def listening(self) -> list[tuple[str, int, str]]:
        return listening_sockets(self.pids(fresh=True))

    def log_tail(self, chars: int = 1500) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:] if self.log_path else ""
        except OSError:
            return ""

    def stop(self, *, limit: float = 5.0) -> StopOutcome:
        """SIGTERM to the main process (what a process manager or `docker stop` does), then wait
        up to `limit` seconds for the whole tree to go; SIGKILL whatever is left."""
        start = time.perf_counter()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        while time.perf_counter() - start < limit:
            if self.process.poll() is not None and not marked(TREE_MARKER, self.token):
                break
            time.sleep(0.05)
        seconds = time.perf_counter() - start
        # What is still alive after the limit is what one SIGTERM to the main process left behind.
        left = marked(TREE_MARKER, self.token)
        if self.process.poll() is None and self.process.pid not in left:
            left.append(self.process.pid)
        leftovers = sorted({f"{process_name(pid)}({pid})" for pid in left})
        end_marked(self.process, TREE_MARKER, self.token, grace=1.0, group=self.new_session)
        if self._log is not subprocess.DEVNULL:
            self._log.close()
        self.stopped = StopOutcome(seconds=seconds, clean=not leftovers, leftovers=leftovers,
                                   exit_code=self.process.returncode)
        return self.stopped


class MemorySampler:
    """Samples a tree's memory in a thread; `peak(since)` is the highest total seen."""

    def __init__(self, tree: ProcessTree, interval: float = 0.25) -> None:
        self.tree, self.interval = tree, interval
        self.samples: list[tuple[float, float, int]] = []  # (time, MB, processes)
        self.kind = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            mb, count, kind = self.tree.memory()
            if count:
                self.samples.append((time.perf_counter(), mb, count))
                self.kind = kind
            self._stop.wait(self.interval)

    def now(self) -> float:
        return self.tree.memory()[0]

    def peak(self, since: float = 0.0) -> float:
        return max((mb for t, mb, _ in self.samples if t >= since), default=0.0)

    def processes(self) -> int:
        return max((n for _, _, n in self.samples), default=0)
