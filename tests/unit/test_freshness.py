"""Provenance hashes follow file contents, and the freshness check names exactly what changed."""

import json
import shutil

from bakeoff.host import freshness
from bakeoff.host.envs import PROJECT_DIR


def test_tree_hash_follows_content_not_bytecode(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    before = freshness.tree_hash(tmp_path)
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\0")
    assert freshness.tree_hash(tmp_path) == before
    (tmp_path / "a.py").write_text("x = 2\n")
    assert freshness.tree_hash(tmp_path) != before
    assert freshness.tree_hash(tmp_path / "gone") == "missing"


def example_project(root):
    """A project copy holding what the example's provenance names, and a results.json of one
    monitoring run made on the current prepared data."""
    for part in ("locks", "src/bakeoff/stages/monitoring", "src/bakeoff/tools/ks_chi2", "src/bakeoff/tools/frouros",
                 "src/bakeoff/worker", "src/bakeoff/data"):
        shutil.copytree(PROJECT_DIR / part, root / part, ignore=shutil.ignore_patterns("__pycache__"))
    folder = root / freshness.EXAMPLE
    folder.mkdir(parents=True)
    data = freshness.data_fingerprint()
    results = {"run_id": "r1", "data": data,
               "stages": {"monitoring": {"tools": {"ks_chi2": {"tool": "ks_chi2"}, "frouros": {"tool": "frouros"}}}}}
    (folder / "results.json").write_text(json.dumps(results))
    return folder


def test_example_fresh_then_stale_naming_the_lock_and_the_code(tmp_path):
    folder = example_project(tmp_path)
    freshness.stamp_example(folder, "a test", project=tmp_path)
    assert freshness.check_example(tmp_path).line() == "examples/student-quick fresh"
    with open(tmp_path / "locks" / "frouros.txt", "a") as fh:
        fh.write("# edited\n")
    (tmp_path / "src/bakeoff/stages/monitoring/spec.py").write_text("# edited\n")
    found = freshness.check_example(tmp_path)
    assert found.changes == ["locks/frouros.txt changed", "code of stages/monitoring changed"], found.line()


def test_example_without_provenance_is_stale_not_a_crash(tmp_path):
    found = freshness.check_example(tmp_path)
    assert not found.fresh and "provenance.json" in found.line()
