"""Locked per-tool environments (asv style): one venv per tool, built by uv from
`locks/<tool>.txt`, named by a hash of its inputs, identified by an info file, reused until its
inputs change, and usable with no network once built.

bakeoff itself goes into each env as a .pth line pointing at its source folder: the worker code
is importable there, with none of the host's dependencies and no build step that would need the
network.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path

from bakeoff.worker.measure import folder_mb
from bakeoff.worker.protocol import PROTOCOL_VERSION
from bakeoff.host.registry import ConfigError, Tool

INFO_FILE = "bakeoff-env.json"
SOURCE_DIR = Path(__file__).resolve().parents[2]  # the folder holding the bakeoff package
PROJECT_DIR = SOURCE_DIR.parent
LOCKS_DIR = PROJECT_DIR / "locks"
BASE_REQUIREMENTS = LOCKS_DIR / "base.in"
PYTHON_VERSION = "3.11"
# How an env is built, beyond its lock: bump when the build recipe changes, so every env is
# rebuilt rather than trusted. 2: bytecode compiled at install (pip's default; uv's is not to).
RECIPE_VERSION = 2


@dataclass
class EnvOutcome:
    """What building (or finding) one tool's env came to. A failure is data, not an exception."""

    tool: str
    status: str  # ok | failed
    path: Path | None = None
    built: bool = False  # False when an existing env was reused
    seconds: float = 0.0
    info: dict = field(default_factory=dict)
    error: str = ""

    @property
    def python(self) -> Path:
        assert self.path is not None
        return self.path / "bin" / "python"


def uv() -> str:
    found = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if not found:
        raise ConfigError("uv not found; install the host with `pip install -e .` (it brings uv)")
    return found


def lock_file(tool: Tool) -> Path:
    """Built-in tools keep their lock in locks/; an outside tool keeps lock.txt in its folder."""
    return LOCKS_DIR / f"{tool.name}.txt" if tool.builtin else tool.folder / "lock.txt"


def compile_lock(tool: Tool) -> Path:
    """Regenerate locks/<tool>.txt from the base set plus the tool's requirements (the documented
    way to update a lock: `bakeoff envs lock TOOL`)."""
    requirements = LOCKS_DIR / f".{tool.name}.in"
    requirements.write_text("".join(f"{r}\n" for r in tool.tool.requirements))
    base = BASE_REQUIREMENTS
    if not tool.tool.base_set:  # the base set's packages, unpinned: the newest the tool allows
        base = LOCKS_DIR / f".{tool.name}.base.in"
        base.write_text("".join(f"{name}\n" for name in base_packages()))
    try:
        subprocess.run(
            [uv(), "pip", "compile", "--quiet", "--python-version", PYTHON_VERSION,
             "--python-platform", "x86_64-unknown-linux-gnu", "--no-header", "--no-annotate",
             str(base), str(requirements), "-o", str(lock_file(tool))],
            check=True, capture_output=True, text=True,
        )
    except subprocess.CalledProcessError as exc:
        raise ConfigError(f"cannot lock {tool.name}: {exc.stderr.strip().splitlines()[-1]}") from exc
    finally:
        requirements.unlink(missing_ok=True)
        if base != BASE_REQUIREMENTS:
            base.unlink(missing_ok=True)
    return lock_file(tool)


def locked_versions(tool: Tool, names: list[str]) -> dict[str, str]:
    """The versions the tool's lock pins for these packages."""
    pins = dict(line.strip().split("==", 1) for line in lock_file(tool).read_text().splitlines() if "==" in line)
    return {name: pins[name] for name in names if name in pins}


def base_packages() -> list[str]:
    """The names of the base set's packages (numpy, pandas, pyarrow, scikit-learn)."""
    return [line.split("==")[0].strip() for line in BASE_REQUIREMENTS.read_text().splitlines()
            if line.strip() and not line.startswith("#")]


def env_hash(tool: Tool) -> str:
    """Hash of everything that shapes the env: the lock, the Python, the protocol, the recipe."""
    lock = lock_file(tool)
    if not lock.is_file():
        raise ConfigError(f"no lock for {tool.name}; create it with `bakeoff envs lock {tool.name}`")
    digest = hashlib.sha256()
    for part in (lock.read_bytes(), sysconfig.get_python_version().encode(), str(PROTOCOL_VERSION).encode(),
                 str(RECIPE_VERSION).encode(), " ".join(sorted(tool.tool.npm)).encode()):
        digest.update(part)
    return digest.hexdigest()[:12]


def env_path(tool: Tool, envs_root: Path) -> Path:
    return envs_root / f"{tool.name}-{env_hash(tool)}"


def read_info(path: Path) -> dict | None:
    try:
        return json.loads((path / INFO_FILE).read_text())
    except (OSError, json.JSONDecodeError):
        return None


def site_packages(path: Path) -> Path:
    return next((path / "lib").glob("python3*/site-packages"))


def _footprint(path: Path) -> tuple[float, int]:
    packages = len(list(site_packages(path).glob("*.dist-info")))
    return round(folder_mb(path), 1), packages


def _run(argv: list[str], log: Path) -> None:
    with log.open("a") as out:
        out.write(f"$ {' '.join(argv)}\n")
        out.flush()
        done = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT)
    if done.returncode:
        # uv explains a resolution failure over several lines; keep the ones that say why.
        lines = [line.strip() for line in log.read_text().splitlines() if line.strip() and not line.startswith("$ ")]
        start = next((i for i, line in enumerate(lines) if line.lower().startswith("error")), max(0, len(lines) - 3))
        reason = " ".join(lines[start:])[:800] or "(no output)"
        raise RuntimeError(f"`{Path(argv[0]).name} {' '.join(argv[1:3])}` failed: {reason}")


def ensure(tool: Tool, envs_root: Path, *, offline: bool = False) -> EnvOutcome:
    """Return the tool's env, building it first unless a complete one with the same hash exists."""
    start = time.perf_counter()
    try:
        path = env_path(tool, envs_root)
    except ConfigError as exc:
        return EnvOutcome(tool.name, "failed", error=str(exc))
    info = read_info(path)
    # The info file is written last; an env without it, or whose interpreter has gone (a build
    # killed while its folder was being removed), is rebuilt from scratch.
    if info is not None and (path / "bin" / "python").exists():
        return EnvOutcome(tool.name, "ok", path, built=False, info=info)
    shutil.rmtree(path, ignore_errors=True)
    envs_root.mkdir(parents=True, exist_ok=True)
    log = envs_root / f"{path.name}.build.log"
    log.unlink(missing_ok=True)
    network = ["--offline"] if offline else []
    try:
        # venvs are not relocatable (scripts carry absolute paths), so build in place.
        _run([uv(), "venv", "--quiet", "--python", sys.executable, str(path)], log)
        # Compile bytecode now, as pip does by default: trials run with PYTHONDONTWRITEBYTECODE
        # (the env stays read-only), so without it every trial process would recompile every
        # module it imports, about 2 s of numpy, pandas and scikit-learn alone.
        _run([uv(), "pip", "install", "--quiet", "--compile-bytecode", *network,
              "--python", str(path / "bin" / "python"), "-r", str(lock_file(tool))], log)
        (site_packages(path) / "bakeoff.pth").write_text(f"{SOURCE_DIR}\n")
        if tool.tool.npm:  # a tool that is an npm package: installed into the env, never at run time
            npm = shutil.which("npm")
            if npm is None:
                raise RuntimeError("npm not found; install it (Debian package npm) and build again")
            _run([npm, "install", "--no-audit", "--no-fund", "--no-save", "--loglevel", "error",
                  *(["--offline"] if offline else []), "--prefix", str(path / "npm"), *tool.tool.npm], log)
        size_mb, packages = _footprint(path)
    except (RuntimeError, OSError, StopIteration) as exc:
        shutil.rmtree(path, ignore_errors=True)
        return EnvOutcome(tool.name, "failed", error=str(exc), seconds=time.perf_counter() - start)
    info = {
        "tool": tool.name, "hash": path.name.rsplit("-", 1)[1], "lock": str(lock_file(tool)),
        "python": sysconfig.get_python_version(), "protocol": PROTOCOL_VERSION,
        "size_mb": size_mb, "packages": packages, "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "build_seconds": round(time.perf_counter() - start, 1),
        "base_set": tool.tool.base_set, "base_versions": locked_versions(tool, base_packages()),
    }
    (path / INFO_FILE).write_text(json.dumps(info, indent=1))
    return EnvOutcome(tool.name, "ok", path, built=True, info=info, seconds=time.perf_counter() - start)


def pinned_version(tool: Tool) -> str:
    """The tool's version as pinned in its lock (what the report states)."""
    if not tool.tool.version_of:
        return ""
    wanted = tool.tool.version_of.lower().replace("_", "-")
    for spec in tool.tool.npm:  # a tool that is an npm package: its version is the spec's
        name, _, version = spec.rpartition("@")
        if name.lower() == wanted:
            return version
    if not lock_file(tool).is_file():
        return "no lock"
    for line in lock_file(tool).read_text().splitlines():
        name, _, version = line.partition("==")
        if name.strip().lower().replace("_", "-") == wanted:
            return version.split(";")[0].strip()
    return "unpinned"


def stale_envs(envs_root: Path, current: set[str]) -> list[Path]:
    """Env folders that no current lock points to."""
    if not envs_root.is_dir():
        return []
    return [p for p in envs_root.iterdir() if p.is_dir() and p.name not in current]


def build_environment() -> dict[str, str]:
    """Environment for processes inside a tool env: no user site, no bytecode litter elsewhere."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env["PYTHONNOUSERSITE"] = "1"
    return env
