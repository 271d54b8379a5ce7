"""A real PostgreSQL server for a test: its own data folder, on a free loopback port, stopped at the end.

PostgreSQL refuses to run as root, so as root the server runs as `nobody`, with its data and Unix
socket folder in a temp folder that user owns (under /tmp: pytest's own tmp_path is root's, mode
700, and nobody could not reach it). Debian keeps initdb, pg_ctl and postgres under
/usr/lib/postgresql/<version>/bin, off PATH; they are looked for there too.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

SERVER_USER = "nobody"


def postgres_program(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return candidates[-1] if candidates else None


def missing_programs() -> list[str]:
    return [n for n in ("initdb", "pg_ctl", "postgres") if postgres_program(n) is None]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(argv: list[str]) -> list[str]:
    return ["runuser", "-u", SERVER_USER, "--", *argv] if os.geteuid() == 0 else argv


@contextmanager
def running_postgres() -> Iterator[str]:
    """Start a server; yield its URL (superuser `bakeoff`, trust auth on loopback); stop it and
    remove its folder at the end, also when the test failed."""
    folder = Path(tempfile.mkdtemp(prefix="bakeoff-pg-"))
    data, sockets, log = folder / "data", folder / "sockets", folder / "server.log"
    sockets.mkdir()
    if os.geteuid() == 0:
        import pwd

        user = pwd.getpwnam(SERVER_USER)
        for path in (folder, sockets):
            os.chown(path, user.pw_uid, user.pw_gid)
    port = free_port()
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    pg_ctl = postgres_program("pg_ctl")
    started = False
    try:
        subprocess.run(_as_server_user([postgres_program("initdb"), "-D", str(data), "-U", "bakeoff", "--auth=trust",
                                        "-E", "UTF8", "--no-sync"]),
                       check=True, capture_output=True, text=True, cwd=folder, env=env, timeout=180)
        options = f"-h 127.0.0.1 -p {port} -k {sockets} -c fsync=off -c max_connections=40"
        done = subprocess.run(_as_server_user([pg_ctl, "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60",
                                               "start"]), capture_output=True, text=True, cwd=folder, env=env,
                              timeout=120)
        started = done.returncode == 0
        if not started:
            raise RuntimeError(f"postgres did not start: {done.stdout}{done.stderr}\n"
                               f"{log.read_text() if log.exists() else ''}")
        yield f"postgresql://bakeoff@127.0.0.1:{port}/postgres"
    finally:
        if started or (data / "postmaster.pid").exists():
            subprocess.run(_as_server_user([pg_ctl, "-D", str(data), "-m", "fast", "-w", "-t", "60", "stop"]),
                           capture_output=True, cwd=folder, env=env, timeout=120)
        shutil.rmtree(folder, ignore_errors=True)


def new_database(server_url: str, name: str) -> str:
    """A fresh, empty database on the server: one store per test."""
    import sqlalchemy as sa

    engine = sa.create_engine(server_url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        engine.dispose()
    return server_url.rsplit("/", 1)[0] + f"/{name}"
