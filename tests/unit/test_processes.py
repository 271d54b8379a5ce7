"""The one process-tree module: every server, scheduler and worker is found and ended alike."""

import subprocess
import sys
import time

import pytest

from bakeoff.worker import processes


def test_proc_net_addresses():
    assert processes._address("0100007F") == "127.0.0.1"
    assert processes._address("00000000") == "0.0.0.0"
    assert processes._address("0000000000000000FFFF00000100007F") == "127.0.0.1"
    assert processes.is_loopback("127.0.0.1") and processes.is_loopback("::1") and not processes.is_loopback("0.0.0.0")


def test_a_server_tree_is_found_sampled_and_stopped(tmp_path):
    server = processes.ProcessTree(["sh", "-c", "sleep 30 & sleep 30 & wait"], env={}, cwd=tmp_path, log=tmp_path / "log")
    time.sleep(0.3)
    assert len(server.pids(fresh=True)) == 3
    mb, count, how = server.memory()
    assert count == 3 and mb > 0 and how in ("pss", "rss", "pss+rss")
    stopped = server.stop(limit=3)
    # sh forwards nothing: the sleeps outlive SIGTERM to the main process and are killed after it.
    assert processes.marked(processes.TREE_MARKER, server.token) == []
    assert stopped.clean is False and len(stopped.leftovers) == 2


def test_a_server_that_handles_sigterm_stops_clean(tmp_path):
    script = "import signal, sys, time; signal.signal(signal.SIGTERM, lambda *a: sys.exit(0)); time.sleep(30)"
    with processes.ProcessTree([sys.executable, "-c", script], env={}, cwd=tmp_path, log=tmp_path / "log") as server:
        time.sleep(0.5)
        stopped = server.stop(limit=3)
    assert stopped.clean and stopped.seconds < 3 and stopped.exit_code == 0
    assert processes.marked(processes.TREE_MARKER, server.token) == []


def test_the_context_manager_never_leaves_a_tree(tmp_path):
    with pytest.raises(RuntimeError):
        with processes.ProcessTree(["sleep", "30"], env={}, cwd=tmp_path, log=tmp_path / "log") as server:
            raise RuntimeError("trial broke")
    assert processes.marked(processes.TREE_MARKER, server.token) == []
    assert subprocess.run(["true"]).returncode == 0


def test_a_tree_started_inside_a_tree_is_found_by_both(tmp_path):
    inner = f"{sys.executable} -c \"import os, time; from bakeoff.worker.processes import ProcessTree; " \
            "t = ProcessTree(['sleep', '30']); time.sleep(30)\""
    with processes.ProcessTree(["sh", "-c", inner], log=tmp_path / "log",
                               env={"PYTHONPATH": str(__import__('bakeoff').__path__[0].rsplit('/', 1)[0])}) as outer:
        deadline = time.time() + 20
        while time.time() < deadline and len(outer.pids(fresh=True)) < 3:  # sh, python, sleep
            time.sleep(0.2)
        assert len(outer.pids(fresh=True)) >= 3
    assert processes.marked(processes.TREE_MARKER, outer.token) == []  # the inner sleep went with the outer tree
