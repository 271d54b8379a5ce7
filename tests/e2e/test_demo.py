"""`bakeoff demo tracking` on a real terminal (tmux): after a rehearsal, a fault injected into one
step shows that step's diagnosis and its recorded output under the RECORDED banner, that step
only, and the demo ends with the live/recorded count. The envs and data are the shared ones,
linked into a temporary BAKEOFF_HOME (read only); recordings and checks go to the temporary one."""

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bakeoff.host import demo

ROOT = Path(__file__).resolve().parents[2]
SHARED_HOME = ROOT / ".bakeoff"

pytestmark = pytest.mark.slow


@pytest.fixture
def home(tmp_path):
    if not shutil.which("tmux"):
        pytest.skip("tmux missing: ./bootstrap setup installs it (system-packages.txt)")
    home = tmp_path / "home"
    home.mkdir()
    for part in ("envs", "data"):
        (SHARED_HOME / part).mkdir(parents=True, exist_ok=True)  # a fresh clone has neither yet
        (home / part).symlink_to(SHARED_HOME / part)
    return home


def screen_of(session: str) -> str:
    return subprocess.run(["tmux", "capture-pane", "-p", "-J", "-S", "-", "-t", session], capture_output=True,
                          text=True).stdout


def test_a_failed_step_shows_its_recording_and_the_demo_goes_on(home, tmp_path):
    env = {**os.environ, "BAKEOFF_HOME": str(home)}
    rehearsal = subprocess.run([sys.executable, "-m", "bakeoff", "rehearse", "tracking", "--steps", "1-3"],
                               capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert rehearsal.returncode == 0, rehearsal.stdout[-2000:] + rehearsal.stderr[-2000:]
    assert "recorded 3 of 3 steps" in rehearsal.stdout

    session = f"bakeoff-demo-{os.getpid()}"
    command = (f"cd {tmp_path} && BAKEOFF_HOME={home} {demo.FAIL_STEP_VARIABLE}=2 {sys.executable} -m bakeoff demo "
               "tracking --steps 1-3; echo DEMO-EXIT=$?; sleep 600")
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "50", command], check=True)
    try:
        subprocess.run(["tmux", "set-option", "-t", session, "history-limit", "20000"], check=True)
        deadline = time.monotonic() + 300
        while "DEMO-EXIT=" not in (screen := screen_of(session)) and time.monotonic() < deadline:
            time.sleep(1)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    assert "DEMO-EXIT=0" in screen, screen[-3000:]
    steps = re.split(r"^step (\d)/6 ", screen, flags=re.M)
    shown = {int(steps[i]): steps[i + 1] for i in range(1, len(steps), 2)}
    assert sorted(shown) == [1, 2, 3]
    assert "this step failed live: did not finish within its 0.05 s budget" in shown[2]
    assert re.search(r"==== RECORDED \d{4}-\d\d-\d\d \d\d:\d\d UTC, rehearsal \d{8}-\d{6}-\w+ \(not live\) ====",
                     shown[2])
    assert "| tracking · jsonl: ok" in shown[2] and "end of RECORDED output (step 2)" in shown[2]
    for number in (1, 3):
        assert "RECORDED" not in shown[number] and "live, " in shown[number]
    assert "live 2 of 3 steps, recorded 1" in shown[3]


def test_steps_are_picked_by_number():
    steps = demo.script("tracking")
    assert [n for n, _ in demo.pick(steps, "1-2,4")] == [1, 2, 4]
    with pytest.raises(demo.ConfigError):
        demo.pick(steps, "9")
