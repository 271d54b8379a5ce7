"""How a push reaches a tool here: the bare repository's post-receive hook starts the tool's own
run script in the background, one run at a time (flock), and leaves the run's log and exit code
in the state folder; the workload waits for that code file. Every cicd adapter installs the same
hook with its own run script (`sh run.sh OLD NEW`), so the trigger is the same for every tool.
Worker side: standard library only."""

from __future__ import annotations

import shlex
import time
from pathlib import Path

HOOK = """#!/bin/sh
# post-receive: run each push to main through the tool's run.sh, in the background, one at a time.
export {marker}={token}
export GIT_DIR="$(cd "${{GIT_DIR:-.}}" && pwd)"  # absolute: run.sh may leave the repository folder
state={state}
mkdir -p "$state/runs"
while read old new ref; do
  [ "$ref" = refs/heads/main ] || continue
  (flock "$state/lock" sh "$state/run.sh" "$old" "$new" > "$state/runs/$new.log" 2>&1
   echo $? > "$state/runs/$new.code.tmp" && mv "$state/runs/$new.code.tmp" "$state/runs/$new.code") \\
   < /dev/null > /dev/null 2>&1 &
done
"""


def install(bare_repo: Path, state: Path, *, marker: str, token: str, run_script: str) -> None:
    """Write the tool's run script and the hook that starts it on every push."""
    state.mkdir(parents=True, exist_ok=True)
    (state / "run.sh").write_text(run_script)
    hook = bare_repo / "hooks" / "post-receive"
    hook.write_text(HOOK.format(marker=marker, token=token, state=shlex.quote(str(state))))
    hook.chmod(0o755)


def wait_for_run(state: Path, revision: str, timeout: float) -> tuple[str, str]:
    """(exit code, log) of the run the push of `revision` started; TimeoutError past `timeout`."""
    code_file = state / "runs" / f"{revision}.code"
    deadline = time.monotonic() + timeout
    while not code_file.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no verdict for {revision[:12]} within {timeout:.0f} s")
        time.sleep(0.05)
    log = (state / "runs" / f"{revision}.log").read_text(errors="replace")
    return code_file.read_text().strip(), log
