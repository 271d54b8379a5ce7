"""`bakeoff doctor`: the check before class. One line per item, each failure with the command
that fixes it; `--certify` after a rehearsal stores a fingerprint of everything a demo depends
on, and a later `doctor` names what changed since. Host side; reads, never builds or deletes.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from bakeoff.host import envs, registry
from bakeoff.host.registry import ConfigError

CERTIFIED_FILE = "certified.json"
CHROMIUM = Path("/usr/bin/chromium")
SYSTEM_PACKAGES = envs.PROJECT_DIR / "system-packages.txt"
MIN_FREE_DISK_GB = 2.0  # a quick run's scratch, stores and reports, with room to spare
MIN_AVAILABLE_MEMORY_GB = 1.5  # the heaviest quick trials (Ray Serve, Airflow) with the host beside them
# The network namespace every offline probe uses: only loopback, brought up.
OFFLINE = ["unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$0" "$@"']
SMOKE_SECONDS = 300
# A port some machines hold for something else: macOS's AirPlay receiver takes 5000, where
# `mlflow ui` would start by default. bakeoff's trials take free ports, so it is only named.
KNOWN_CONFLICTS = {5000: "macOS AirPlay receiver; `mlflow ui` defaults to it"}


@dataclass(frozen=True)
class Item:
    name: str  # what was checked: "env mlflow", "data", "offline smoke tracking"
    ok: bool
    detail: str  # what was found
    fix: str = ""  # the command (or action) that fixes a failure

    def line(self) -> str:
        mark = "ok  " if self.ok else "FAIL"
        return f"{mark} {self.name}: {self.detail}" + (f"; fix: {self.fix}" if not self.ok and self.fix else "")


def chosen_tools(stages: list[str]) -> list[registry.Tool]:
    """Every tool, or those serving the stages named (an instructor checks tonight's stage)."""
    known = registry.stages()
    for stage in stages:
        if stage not in known:
            raise ConfigError(f"unknown stage {stage!r}; choose from: {', '.join(known)}")
    return [t for t in registry.tools().values()
            if not t.tool.unavailable and (not stages or set(t.stages) & set(stages))]


def run_checks(home: Path, *, stages: list[str], smoke: bool = True,
               on_start: Callable[[str], None] = lambda name: None) -> Iterator[Item]:
    """Every item, cheapest first, yielded as it is known (the screen shows progress)."""
    tools = chosen_tools(stages)
    yield from host_items()
    for tool in tools:
        yield env_item(tool, home / "envs")
    yield data_item(home)
    yield from system_items()
    yield chromium_item()
    yield from port_items()
    yield from machine_items(home)
    on_start("offline rebuild from uv's cache")
    yield from (rebuild_item(tool) for tool in tools)
    yield from changes_since_certified(home, tools)
    if smoke:
        for stage, tool in baselines(stages):
            on_start(f"offline smoke of {stage} ({tool})")
            yield smoke_item(stage, tool, home)


def host_items() -> Iterator[Item]:
    version = ".".join(map(str, sys.version_info[:3]))
    yield Item("python", sys.version_info[:2] == (3, 11), f"{version} at {sys.executable}",
               "install Python 3.11 and run `./bootstrap setup` with PYTHON=/path/to/python3.11")
    try:
        found = subprocess.run([envs.uv(), "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
        yield Item("uv", True, found)
    except (ConfigError, OSError, subprocess.TimeoutExpired) as exc:
        yield Item("uv", False, str(exc), "./bootstrap setup")


def env_item(tool: registry.Tool, envs_root: Path) -> Item:
    """Present, its interpreter alive, and the packages installed exactly those its lock pins."""
    name = f"env {tool.name}"
    build = f"bakeoff envs build --tools {tool.name}"
    try:
        path = envs.env_path(tool, envs_root)
    except ConfigError:
        return Item(name, False, f"no lock {relative(envs.lock_file(tool))}", f"bakeoff envs lock {tool.name}")
    if envs.read_info(path) is None:
        return Item(name, False, f"not built ({relative(path)} missing or incomplete)", build)
    python = path / "bin" / "python"
    if not python.exists():  # a dangling link: the Python the env was made from has gone
        return Item(name, False, f"its interpreter {python} points nowhere ({os.path.realpath(python)})", build)
    try:
        frozen = subprocess.run([envs.uv(), "pip", "freeze", "--python", str(python)], capture_output=True,
                                text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Item(name, False, f"cannot list its packages ({exc})", build)
    differ = sorted(pins(envs.lock_file(tool).read_text()) ^ pins(frozen))
    if differ:
        return Item(name, False, f"installed packages differ from {relative(envs.lock_file(tool))}: "
                    f"{', '.join(differ[:4])}{' ...' if len(differ) > 4 else ''}", f"rm -r {path} && {build}")
    return Item(name, True, f"{path.name}, matches {relative(envs.lock_file(tool))}")


def pins(text: str) -> set[str]:
    """`name==version` pins, names normalised as pip does (case, `_` and `.` as `-`)."""
    found = set()
    for line in text.splitlines():
        line = line.split(";")[0].split("#")[0].strip()
        if "==" in line:
            package, version = line.split("==", 1)
            found.add(f"{package.strip().lower().replace('_', '-').replace('.', '-')}=={version.strip()}")
    return found


def data_item(home: Path) -> Item:
    from bakeoff.host.prepare import _complete_manifest, cache_key

    key = cache_key()
    if _complete_manifest(home / "data" / key, key) is None:
        return Item("data", False, f"no complete cache {relative(home / 'data' / key)}",
                    "bakeoff check jsonl (prepares the data on the way)")
    return Item("data", True, f"cache {key} complete")


def system_items() -> Iterator[Item]:
    for command, package in system_packages():
        found = shutil.which(command)
        yield Item(f"command {command}", found is not None, found or f"missing (Debian package {package})",
                   f"sudo apt-get install {package} (or ./bootstrap setup as root)")


def system_packages() -> list[tuple[str, str]]:
    rows = []
    for line in SYSTEM_PACKAGES.read_text().splitlines() if SYSTEM_PACKAGES.is_file() else []:
        if line.strip() and not line.startswith("#"):
            command, package = line.split()[:2]
            rows.append((command, package))
    return rows


def chromium_item() -> Item:
    fix = "sudo apt-get install chromium (the HTML report and UI probes use it)"
    if not CHROMIUM.exists():
        return Item("chromium", False, f"{CHROMIUM} missing", fix)
    try:
        done = subprocess.run([str(CHROMIUM), "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Item("chromium", False, f"{CHROMIUM} does not start ({exc})", fix)
    return Item("chromium", done.returncode == 0, done.stdout.strip() or done.stderr.strip()[:200], fix)


def port_items() -> Iterator[Item]:
    """Servers in trials and demos bind 127.0.0.1 on a free port the OS picks: loopback must work.
    Ports known to be taken on some machines are named, as a warning, not a failure."""
    try:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        yield Item("loopback", True, f"binds free ports (got {port}); trials and demos use no fixed port")
    except OSError as exc:
        yield Item("loopback", False, f"cannot bind 127.0.0.1 ({exc.strerror})", "sudo ip link set lo up")
    for port, why in KNOWN_CONFLICTS.items():
        with socket.socket() as probe:
            taken = probe.connect_ex(("127.0.0.1", port)) == 0
        yield Item(f"port {port}", True, ("taken" if taken else "free") + f" ({why}; bakeoff does not use it)")


def machine_items(home: Path) -> Iterator[Item]:
    folder = next((p for p in (home, *home.parents) if p.exists()), Path("/"))
    free_gb = shutil.disk_usage(folder).free / 1e9
    yield Item("disk", free_gb >= MIN_FREE_DISK_GB, f"{free_gb:.1f} GB free under {folder} (needs {MIN_FREE_DISK_GB:g})",
               "bakeoff envs clean (removes envs no lock points to) or free space")
    available = memory_available_gb()
    if available is not None:
        yield Item("memory", available >= MIN_AVAILABLE_MEMORY_GB,
                   f"{available:.1f} GB available (needs {MIN_AVAILABLE_MEMORY_GB:g})", "close other programs")


def memory_available_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1e6
    except OSError:
        pass
    return None


def rebuild_item(tool: registry.Tool) -> Item:
    """Could the env be rebuilt with no network? uv resolves the lock from its cache alone."""
    name = f"offline rebuild {tool.name}"
    lock = envs.lock_file(tool)
    if not lock.is_file():
        return Item(name, False, f"no lock {relative(lock)}", f"bakeoff envs lock {tool.name}")
    with tempfile.TemporaryDirectory(prefix="bakeoff-doctor-") as target:
        done = subprocess.run([envs.uv(), "pip", "install", "--offline", "--dry-run", "--target", target,
                               "--python", sys.executable, "-r", str(lock)], capture_output=True, text=True, timeout=120)
    if done.returncode:
        why = next((line.strip() for line in done.stderr.splitlines() if "because" in line.lower()),
                   done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "uv failed")
        return Item(name, False, f"uv's cache cannot rebuild it: {why[:300]}",
                    f"with the network on: bakeoff envs build --tools {tool.name} (fills the cache)")
    extra = " (its npm packages are not checked)" if tool.tool.npm else ""
    return Item(name, True, f"every package of {relative(lock)} is in uv's cache{extra}")


def baselines(stages: list[str]) -> list[tuple[str, str]]:
    from bakeoff.stages.spec import all_specs

    chosen = stages or list(all_specs())
    return [(e.stage, e.tool.name) for e in registry.entries() if e.spec.baseline and e.stage in chosen]


def smoke_item(stage: str, tool: str, home: Path) -> Item:
    """`bakeoff check <baseline>` with the network switched off: the stage's cheapest real call."""
    name = f"offline smoke {stage}"
    argv = [*OFFLINE, sys.executable, "-m", "bakeoff", "check", tool]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=SMOKE_SECONDS,
                              env={**os.environ, "BAKEOFF_HOME": str(home)})
    except FileNotFoundError:
        return Item(name, False, "`unshare` missing", "sudo apt-get install util-linux iproute2")
    except subprocess.TimeoutExpired:
        return Item(name, False, f"`bakeoff check {tool}` took over {SMOKE_SECONDS} s offline", f"bakeoff check {tool}")
    said = " ".join((done.stdout.strip().splitlines() or [""])[-1:] + done.stderr.strip().splitlines()[-1:])
    if done.returncode:
        if "unshare" in done.stderr and "ermission" in done.stderr:
            return Item(name, False, "cannot make a network namespace here (needs root or user namespaces)",
                        "run doctor as root, or `sudo sysctl kernel.unprivileged_userns_clone=1`")
        return Item(name, False, f"`bakeoff check {tool}` failed offline: {said[:300]}", f"bakeoff check {tool}")
    return Item(name, True, f"`bakeoff check {tool}` passed with only loopback")


# --- the certified fingerprint ---------------------------------------------------------------


def fingerprint(home: Path, tools: list[registry.Tool]) -> dict:
    """Everything a rehearsed demo depends on: locks, envs, data, tool and OS package versions."""
    from bakeoff.host.prepare import _complete_manifest, cache_key

    key = cache_key()
    manifest = _complete_manifest(home / "data" / key, key) or {}
    files = manifest.get("files", {})
    locks, env_names, versions = {}, {}, {}
    for tool in tools:
        lock = envs.lock_file(tool)
        locks[tool.name] = {"path": relative(lock), "sha256": sha256(lock) if lock.is_file() else ""}
        try:
            env_names[tool.name] = envs.env_path(tool, home / "envs").name
        except ConfigError:
            env_names[tool.name] = ""
        versions[tool.name] = envs.pinned_version(tool)
    return {
        "certified_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": platform.python_version(),
        "locks": locks, "envs": env_names, "tool_versions": versions,
        "data": {"key": key, "sha256": hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:16]
                 if files else ""},
        "os_packages": {package: dpkg_version(package) for _, package in system_packages()},
    }


def certify(home: Path, tools: list[registry.Tool]) -> Path:
    path = home / CERTIFIED_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(fingerprint(home, tools), indent=1, sort_keys=True) + "\n")
    os.replace(partial, path)
    return path


def changes_since_certified(home: Path, tools: list[registry.Tool]) -> Iterator[Item]:
    path = home / CERTIFIED_FILE
    if not path.is_file():
        yield Item("certified", True, "no certified rehearsal yet; after one: bakeoff doctor --certify")
        return
    try:
        old = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        yield Item("certified", False, f"{relative(path)} unreadable ({exc})", "bakeoff doctor --certify")
        return
    changes = list(differences(old, fingerprint(home, tools), {t.name for t in tools}))
    again = "rehearse again (`bakeoff rehearse STAGE`), then `bakeoff doctor --certify`"
    for change in changes:
        yield Item("changed since rehearsal", False, change, again)
    if not changes:
        yield Item("certified", True, f"nothing changed since the rehearsal certified {old.get('certified_at', '?')}")


def differences(old: dict, new: dict, tools: set[str]) -> Iterator[str]:
    """What changed, in the words an instructor needs: which env, because of which file."""
    for tool in sorted(tools):
        before, after = old.get("locks", {}).get(tool), new["locks"][tool]
        if before is None:
            yield f"tool {tool} is new since the rehearsal"
            continue
        versions = (old.get("tool_versions", {}).get(tool), new["tool_versions"][tool])
        moved = f" ({tool} {versions[0]} -> {versions[1]})" if versions[0] != versions[1] else ""
        if before.get("sha256") != after["sha256"]:
            yield f"env {tool} changed: {after['path']}{moved}"
        elif old.get("envs", {}).get(tool) != new["envs"][tool]:
            yield f"env {tool} changed: its build inputs (Python, worker protocol or build recipe)"
    for tool in sorted(set(old.get("locks", {})) - set(new["locks"])):
        if not tools or tool not in registry.tools():
            yield f"tool {tool} is gone since the rehearsal"
    if old.get("data") != new["data"]:
        yield f"data changed: cache {old.get('data', {}).get('key')} -> {new['data']['key']}"
    if old.get("python") != new["python"]:
        yield f"python changed: {old.get('python')} -> {new['python']}"
    for package, version in sorted(new["os_packages"].items()):
        was = old.get("os_packages", {}).get(package)
        if was is not None and was != version:
            yield f"OS package {package} changed: {was or 'absent'} -> {version or 'absent'}"


def dpkg_version(package: str) -> str:
    try:
        done = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", package], capture_output=True, text=True,
                              timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def relative(path: Path) -> str:
    try:
        return str(Path(path).relative_to(envs.PROJECT_DIR))
    except ValueError:
        return str(path)


# --- the bug report ----------------------------------------------------------------------------


def bug_report(home: Path) -> str:
    """A Markdown block a student pastes into a bug report: versions, OS, envs, the last run."""
    os_name = platform.platform()
    try:
        release = dict(line.split("=", 1) for line in Path("/etc/os-release").read_text().splitlines() if "=" in line)
        os_name = f"{release.get('PRETTY_NAME', '').strip(chr(34))} ({platform.platform()})"
    except OSError:
        pass
    commit = subprocess.run(["git", "-C", str(envs.PROJECT_DIR), "describe", "--always", "--dirty"],
                            capture_output=True, text=True).stdout.strip() if shutil.which("git") else ""
    lines = ["<details><summary>bakeoff doctor --report</summary>", "", "```text",
             f"bakeoff     {commit or 'not a git checkout'} ({envs.PROJECT_DIR})",
             f"python      {platform.python_version()} ({sys.executable})",
             f"os          {os_name}", f"cpus        {os.cpu_count()}",
             f"memory      {memory_available_gb() or 0:.1f} GB available",
             f"home        {home}"]
    for _, package in system_packages():
        lines.append(f"package     {package} {dpkg_version(package) or 'absent'}")
    for tool in registry.tools().values():
        if tool.tool.unavailable:
            continue
        try:
            path = envs.env_path(tool, home / "envs")
            state = "built" if envs.read_info(path) else "not built"
        except ConfigError:
            state = "no lock"
        lines.append(f"env         {tool.name} {envs.pinned_version(tool) or '-'} {state}")
    lines += last_run_lines(home)
    error = home / "last-error.txt"
    if error.is_file():
        tail = [line for line in error.read_text().splitlines() if line.strip()]
        lines += ["last error  " + (tail[0] if tail else ""), "            " + (tail[-1] if tail else "")]
    lines += ["```", "", "</details>"]
    return "\n".join(lines)


def last_run_lines(home: Path) -> list[str]:
    latest = home / "runs" / "latest"
    try:
        results = json.loads((latest / "results.json").read_text())
    except (OSError, json.JSONDecodeError):
        return ["last run    none"]
    return [f"last run    {results.get('run_id', '?')} {results.get('status', '?')}: {results.get('command', '?')}"]
