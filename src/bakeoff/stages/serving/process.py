"""A server under test as a process tree: start it pinned to its core, find every process it
spawned (however far they daemonise), sample their memory, stop it with SIGTERM and time it.

Every process of a server carries SERVER_MARKER=<token> in its environment, inherited from the
process the workload starts; that finds Ray's raylet as surely as a uvicorn worker. The server
stays in the trial's process group (no new session), so the runner's clean-up covers it too.
Worker side: standard library only.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

SERVER_MARKER = "BAKEOFF_SERVER"


def marked(token: str) -> list[int]:
    """Pids of live processes whose environment holds SERVER_MARKER=token."""
    needle = f"{SERVER_MARKER}={token}".encode()
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/environ", "rb") as fh:
                if needle in fh.read().split(b"\0"):
                    found.append(int(entry.name))
        except OSError:
            continue
    return found


def process_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


def memory_mb(pid: int) -> tuple[float, str]:
    """Proportional set size (shared pages split between the processes sharing them, so a
    forked tree is not counted twice), or resident size where PSS cannot be read."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024, "pss"
    except (OSError, ValueError, IndexError):
        pass
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024, "rss"
    except (OSError, ValueError, IndexError):
        pass
    return 0.0, "gone"


def pinning(core: int | None) -> list[str]:
    """`taskset -c CORE` when the machine has that core and taskset exists, else nothing."""
    if core is None or core not in os.sched_getaffinity(0) or len(os.sched_getaffinity(0)) < 2:
        return []
    taskset = shutil.which("taskset")
    return [taskset, "-c", str(core)] if taskset else []


@dataclass
class StopOutcome:
    seconds: float  # SIGTERM to the last process of the tree gone (or the limit)
    clean: bool  # every process gone within the limit after one SIGTERM to the main process
    leftovers: list[str] = field(default_factory=list)  # "name(pid)" killed after the limit
    exit_code: int | None = None


class Server:
    """One running server process tree. Use as a context manager: the tree never outlives it."""

    def __init__(self, argv: list[str], *, env: dict[str, str], cwd: Path, log: Path) -> None:
        self.token = uuid.uuid4().hex
        self.log_path = log
        self.argv = argv
        environment = {**os.environ, **env, SERVER_MARKER: self.token}
        self._log = log.open("ab")
        self.started = time.perf_counter()
        self.process = subprocess.Popen(self.argv, cwd=cwd, env=environment, stdin=subprocess.DEVNULL,
                                        stdout=self._log, stderr=subprocess.STDOUT)
        self.stopped: StopOutcome | None = None
        self._pids: list[int] = [self.process.pid]
        self._pids_at = 0.0

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        if self.stopped is None:
            self.stop(limit=5.0)

    def running(self) -> bool:
        return self.process.poll() is None

    def pids(self, *, fresh: bool = False) -> list[int]:
        """The tree's pids; rescanned at most once a second unless `fresh`."""
        now = time.perf_counter()
        if fresh or now - self._pids_at > 1.0:
            self._pids = marked(self.token)
            self._pids_at = now
        return self._pids

    def memory(self) -> tuple[float, int, str]:
        """(MB, process count, how) of the whole tree right now."""
        total, kinds, count = 0.0, set(), 0
        for pid in self.pids():
            mb, kind = memory_mb(pid)
            if kind != "gone":
                total += mb
                kinds.add(kind)
                count += 1
        return total, count, "+".join(sorted(kinds)) or "gone"

    def pin(self, core: int | None) -> int:
        """Move every thread of every process of the tree onto `core` (what `taskset -a -p`
        does); threads and processes started later inherit it. Returns the threads moved."""
        if core is None or not pinning(core):
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
        """(address, port, process name) of every TCP socket the tree listens on."""
        inodes: dict[str, str] = {}
        for pid in self.pids(fresh=True):
            try:
                for fd in os.listdir(f"/proc/{pid}/fd"):
                    try:
                        target = os.readlink(f"/proc/{pid}/fd/{fd}")
                    except OSError:
                        continue
                    if target.startswith("socket:["):
                        inodes[target[8:-1]] = process_name(pid)
            except OSError:
                continue
        found = []
        for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
            try:
                lines = Path(table).read_text().splitlines()[1:]
            except OSError:
                continue
            for line in lines:
                fields = line.split()
                if len(fields) < 10 or fields[3] != "0A" or fields[9] not in inodes:
                    continue
                address, port = fields[1].split(":")
                found.append((_address(address, width), int(port, 16), inodes[fields[9]]))
        return sorted(set(found))

    def log_tail(self, chars: int = 1500) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self, *, limit: float) -> StopOutcome:
        """SIGTERM to the main process (what a process manager or `docker stop` does), then wait
        up to `limit` seconds for the whole tree to go; SIGKILL whatever is left."""
        start = time.perf_counter()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        while time.perf_counter() - start < limit:
            self.process.poll()
            if self.process.returncode is not None and not marked(self.token):
                break
            time.sleep(0.05)
        seconds = time.perf_counter() - start
        leftovers = [pid for pid in marked(self.token)]
        if self.process.poll() is None:
            leftovers.append(self.process.pid)
        names = sorted({f"{process_name(pid)}({pid})" for pid in leftovers})
        for pid in set(leftovers):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        deadline = time.perf_counter() + 5
        while marked(self.token) and time.perf_counter() < deadline:
            time.sleep(0.05)
        self._log.close()
        self.stopped = StopOutcome(seconds=seconds, clean=not names, leftovers=names,
                                   exit_code=self.process.returncode)
        return self.stopped


def _address(hex_address: str, width: int) -> str:
    """A /proc/net/tcp address (little-endian 32-bit words) as text."""
    import ipaddress

    raw = bytes.fromhex(hex_address)
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    address = ipaddress.ip_address(words)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return str(address)


def is_loopback(address: str) -> bool:
    import ipaddress

    return ipaddress.ip_address(address).is_loopback


class MemorySampler:
    """Samples a server tree's memory in a thread; `peak(since)` is the highest total seen."""

    def __init__(self, server: Server, interval: float = 0.25) -> None:
        self.server, self.interval = server, interval
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
            mb, count, kind = self.server.memory()
            if count:
                self.samples.append((time.perf_counter(), mb, count))
                self.kind = kind
            self._stop.wait(self.interval)

    def now(self) -> float:
        mb, _, _ = self.server.memory()
        return mb

    def peak(self, since: float = 0.0) -> float:
        return max((mb for t, mb, _ in self.samples if t >= since), default=0.0)

    def processes(self) -> int:
        return max((n for _, _, n in self.samples), default=0)
