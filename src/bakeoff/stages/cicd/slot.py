"""The deploy slot: what a service manager does on the deploy host, for the stage's deploy step.

`python -m bakeoff.stages.cicd.slot SLOT_DIR PORT HEALTH_TIMEOUT` watches SLOT_DIR/inbox for a
release (a folder holding serve/, model/ and model.pkl), restarts the prediction server on
127.0.0.1:PORT with it and answers in SLOT_DIR/answers: "deployed" when the new server passed its
health check, "rolled_back" when it did not and the previous release serves again. The stage
starts it as a ProcessTree, so the server it starts ends with it. Worker side: standard library.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from bakeoff.worker.processes import ProcessTree

NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


FAILURE_THRESHOLD = 3  # unhealthy answers in a row that fail a release (a server still starting answers nothing)


def health(port: int) -> dict | None:
    """The /health answer; {} when the server answered but not healthy; None when it did not answer."""
    try:
        with NO_PROXY.open(f"http://127.0.0.1:{port}/health", timeout=5) as response:
            return json.loads(response.read()) if response.status == 200 else {}
    except urllib.error.HTTPError:
        return {}
    except (OSError, ValueError):
        return None


class Slot:
    def __init__(self, folder: Path, port: int, health_timeout: float) -> None:
        self.folder, self.port, self.health_timeout = folder, port, health_timeout
        self.server: ProcessTree | None = None
        self.current: dict | None = None  # the release serving now

    def start(self, release: dict) -> bool:
        folder = Path(release["release"])
        self.server = ProcessTree([sys.executable, str(folder / "serve" / "server.py"), str(folder / "model.pkl"),
                                   str(self.port), release["sha256"]], cwd=folder, log=self.folder / "server.log")
        deadline, unhealthy = time.monotonic() + self.health_timeout, 0
        while time.monotonic() < deadline and self.server.running() and unhealthy < FAILURE_THRESHOLD:
            answer = health(self.port)
            if answer and answer.get("sha256") == release["sha256"]:
                return True
            unhealthy = unhealthy + 1 if answer is not None else 0
            time.sleep(0.2 if answer is not None else 0.05)
        self.server.stop(limit=5)
        self.server = None
        return False

    def deploy(self, release: dict) -> dict:
        started = time.time()
        if self.server is not None:
            self.server.stop(limit=5)
            self.server = None
        if self.start(release):
            self.current = release
            status = "deployed"
        else:
            status = "rolled_back"
            if self.current is not None and not self.start(self.current):
                self.current = None
        serving = self.current["sha256"] if self.current else ""
        return {"status": status, "serving": serving, "revision": release["revision"], "started": started,
                "at": time.time()}

    def serve_forever(self) -> None:
        inbox, answers = self.folder / "inbox", self.folder / "answers"
        while True:
            for request in sorted(p for p in inbox.glob("*.json") if not p.name.startswith(".")):
                try:
                    answer = self.deploy(json.loads(request.read_text()))
                except Exception as exc:  # a broken request must not take the slot down
                    answer = {"status": "error", "serving": (self.current or {}).get("sha256", ""),
                              "revision": "", "error": f"{type(exc).__name__}: {exc}", "at": time.time()}
                (answers / f".{request.name}").write_text(json.dumps(answer))
                os.replace(answers / f".{request.name}", answers / request.name)
                with open(self.folder / "events.jsonl", "a") as fh:
                    fh.write(json.dumps(answer) + "\n")
                request.unlink()
            time.sleep(0.05)


def prepare(folder: Path) -> None:
    for name in ("inbox", "answers", "releases"):
        (folder / name).mkdir(parents=True, exist_ok=True)


def main(slot_dir: Path, port: int, health_timeout: float) -> None:
    prepare(slot_dir)
    slot = Slot(slot_dir, port, health_timeout)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stopped like a service: the server goes too
    try:
        slot.serve_forever()
    finally:
        if slot.server is not None:
            slot.server.stop(limit=5)


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]))
