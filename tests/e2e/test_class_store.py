"""The class results store, as a class uses it: teams publish runs at the same time to a real
PostgreSQL server (or the SQLite default, no server), nothing is lost or overwritten, bad input is
one line and exit 2 with every stored row intact, and the gallery built from the store lists every
publication, offline, anonymised on request.

The runs are real: examples/student-quick (three stages, with its memo and decision) and the
tracking fixture rendered into a memo by `bakeoff decide`. No tool runs here."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bakeoff.host.classroom.store import SCHEMA_VERSION, ClassStore
from tests.e2e.postgres import free_port, missing_programs, new_database, running_postgres

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "student-quick"
FIXTURE = ROOT / "tests" / "fixtures" / "results_tracking_quick.json"
PROFILE = ROOT / "profiles" / "student.toml"
TEAMS = ["falcons", "otters", "badgers"]
POC_SENTENCE = "The badgers found <script>alert(1)</script> no autologging for scikit-learn."


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bakeoff", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "COLUMNS": "200", **(env or {})}, timeout=300)


def here(*args: str) -> subprocess.CompletedProcess:
    """The same command in this process (typer's runner): each `python -m bakeoff` spends seconds
    importing scipy before it starts, so only the concurrent publishing and one check of each
    refusal go through a real child process."""
    from typer.testing import CliRunner

    from bakeoff.host.cli import app

    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


def spawn(*args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bakeoff", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=ROOT, env={**os.environ, "COLUMNS": "200", **(env or {})})


def one_error_line(done: subprocess.CompletedProcess) -> str:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2, done.stdout + done.stderr
    assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in done.stderr, done.stderr
    return lines[0]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """Three run folders, one per team: the worked example, the tracking fixture with its memo,
    and the tracking fixture with an outside tool of the team's own (and its POC.md)."""
    base = tmp_path_factory.mktemp("runs")
    example = base / "example"
    shutil.copytree(EXAMPLE, example, ignore=shutil.ignore_patterns("logs"))

    tracking = base / "tracking"
    tracking.mkdir()
    shutil.copy(FIXTURE, tracking / "results.json")
    done = cli("decide", str(tracking), "--profile", str(PROFILE))
    assert done.returncode == 0, done.stderr

    tools = base / "tools"
    done = cli("new", "tracking", "mytool", "--out", str(tools))
    assert done.returncode == 0, done.stderr
    poc = tools / "mytool" / "POC.md"
    poc.write_text(poc.read_text() + f"\n{POC_SENTENCE}\n")
    outside = base / "outside"
    outside.mkdir()
    results = json.loads(FIXTURE.read_text())
    stage = results["stages"]["tracking"]
    # What the scaffold's first run records (docs/students.md): the tool failed its check, so it
    # has no figure and no probe outcome; nothing is made up for it.
    stage["tools"]["mytool"] = {**stage["tools"]["jsonl"], "tool": "mytool", "title": "mytool", "baseline": False,
                                "status": "failed", "reason": "check failed before any trial: smoke failed: "
                                "Unsupported: `open` not implemented yet", "adapter": "tracking:MytoolTracking",
                                "metrics": {}, "probes": {}, "facts": {}}
    (outside / "results.json").write_text(json.dumps(results))
    done = cli("decide", str(outside), "--profile", str(PROFILE), env={"BAKEOFF_TOOLS_PATH": str(tools)})
    assert done.returncode == 0, done.stderr
    return {"falcons": example, "otters": tracking, "badgers": outside, "tools": tools}


@pytest.fixture(scope="module")
def postgres():
    if missing_programs():
        pytest.skip(f"PostgreSQL programs {missing_programs()} not found (./bootstrap installs the Debian package)")
    with running_postgres() as url:
        yield url


def publish_at_once(runs: dict, to: list[str], env: dict | None = None) -> list[int]:
    """The three teams publish at the same moment, each from its own process."""
    env = {"BAKEOFF_TOOLS_PATH": str(runs["tools"]), **(env or {})}
    started = [spawn("publish", str(runs[team]), *to, "--team", team, env=env) for team in TEAMS]
    ids = []
    for process in started:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        ids.append(int(out.strip()))
    return ids


def gallery_lists_all(source: list[str], out: Path, ids: list[int], env: dict | None = None) -> str:
    done = cli("gallery", *source, "--out", str(out), env=env) if env else here("gallery", *source, "--out", str(out))
    assert done.returncode == 0, done.stderr
    index = (out / "index.html").read_text()
    for team in TEAMS:
        assert f">{team}</a>" in index, team  # a column of the matrix per team
    for i in ids:
        assert (out / "publications" / str(i) / "index.html").is_file()
        assert (out / "publications" / str(i) / "report.html").is_file()
        assert f'href="publications/{i}/index.html"' in index
    return index


def test_three_teams_publish_to_postgres_at_once_and_the_gallery_lists_all(runs, postgres, tmp_path):
    url = new_database(postgres, "concurrent")
    ids = publish_at_once(runs, ["--to", url])
    assert sorted(ids) == [1, 2, 3]
    with ClassStore(url) as store:
        stored = store.publications()
        assert store.schema_version == SCHEMA_VERSION
    assert sorted(s.publication.team for s in stored) == sorted(TEAMS)
    example_run = json.loads((EXAMPLE / "results.json").read_text())["run_id"]
    assert {s.publication.run_id for s in stored} == {example_run, "20261127-123148-d632"}
    example = next(s for s in stored if s.publication.team == "falcons")
    assert example.publication.results_json == (EXAMPLE / "results.json").read_text()  # as published, byte for byte
    assert example.publication.decision_json is not None
    badgers = next(s for s in stored if s.publication.team == "badgers")
    assert [(p.stage, p.tool) for p in badgers.publication.poc_files] == [("tracking", "mytool")]

    index = gallery_lists_all(["--from", url], tmp_path / "site", ids)
    page = (tmp_path / "site" / "publications" / str(badgers.id) / "index.html").read_text()
    assert "no autologging for scikit-learn" in page and "<script>" not in page  # POC.md as escaped text
    assert "&lt;script&gt;" in page
    assert "tracking · mytool" in index and "failed" in index


def test_sqlite_default_store_needs_no_server(runs, tmp_path):
    home = {"BAKEOFF_HOME": str(tmp_path / "home")}
    ids = publish_at_once(runs, [], env=home)
    assert sorted(ids) == [1, 2, 3]
    assert (tmp_path / "home" / "class.sqlite").is_file()
    index = gallery_lists_all([], tmp_path / "site", ids, env=home)  # --from defaults to the same file
    assert "3 publications by 3 teams" in index


def test_publishing_the_same_run_twice_keeps_both(runs, tmp_path):
    url = f"sqlite:///{tmp_path / 'class.sqlite'}"
    first = here("publish", str(runs["otters"]), "--to", url, "--team", "otters")
    second = here("publish", str(runs["otters"]), "--to", url, "--team", "otters")
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert (int(first.stdout), int(second.stdout)) == (1, 2)
    with ClassStore(url) as store:
        stored = store.publications()
    assert [(s.id, s.publication.team, s.publication.run_id) for s in stored] == \
        [(1, "otters", "20261127-123148-d632"), (2, "otters", "20261127-123148-d632")]
    done = here("gallery", "--from", url, "--out", str(tmp_path / "site"))
    assert done.returncode == 0, done.stderr
    assert "newest of 2" in (tmp_path / "site" / "index.html").read_text()


def rows(path: Path) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT id, team, run_id, results_json FROM publications ORDER BY id").fetchall()


def test_a_store_from_a_newer_schema_is_refused_with_every_row_intact(runs, tmp_path):
    path = tmp_path / "class.sqlite"
    assert here("publish", str(runs["otters"]), "--to", str(path), "--team", "otters").returncode == 0
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    before = rows(path)

    line = one_error_line(cli("publish", str(runs["falcons"]), "--to", str(path), "--team", "falcons"))
    assert f"schema {SCHEMA_VERSION + 1}, newer than this bakeoff reads ({SCHEMA_VERSION})" in line and "fix:" in line
    one_error_line(here("gallery", "--from", str(path), "--out", str(tmp_path / "site")))
    assert rows(path) == before and len(before) == 1


def test_a_newer_schema_store_on_postgres_is_refused_too(runs, postgres):
    import sqlalchemy as sa

    url = new_database(postgres, "newer")
    assert here("publish", str(runs["otters"]), "--to", url, "--team", "otters").returncode == 0
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE meta SET value = :v WHERE key = 'schema_version'"), {"v": str(SCHEMA_VERSION + 1)})
        line = one_error_line(here("publish", str(runs["falcons"]), "--to", url, "--team", "falcons"))
        assert "newer than this bakeoff reads" in line
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT team FROM publications")).scalars().all() == ["otters"]
    finally:
        engine.dispose()


def test_bad_runs_are_refused_and_nothing_stored_is_lost(runs, tmp_path):
    path = tmp_path / "class.sqlite"
    assert here("publish", str(runs["otters"]), "--to", str(path), "--team", "otters").returncode == 0
    before = rows(path)

    line = one_error_line(here("publish", str(tmp_path / "no-such-run"), "--to", str(path)))
    assert "no results.json" in line
    newer = tmp_path / "newer-run"
    newer.mkdir()
    results = json.loads(FIXTURE.read_text())
    results["schema"] = 99
    (newer / "results.json").write_text(json.dumps(results))
    line = one_error_line(here("publish", str(newer), "--to", str(path)))
    assert "schema 99 is newer" in line
    no_memo = tmp_path / "no-memo"
    no_memo.mkdir()
    shutil.copy(FIXTURE, no_memo / "results.json")
    assert "has no report.md" in one_error_line(here("publish", str(no_memo), "--to", str(path)))
    assert "unknown store kind" in one_error_line(here("publish", str(runs["otters"]), "--to", "mysql://x/y"))
    assert "no publication 7" in one_error_line(here("exemplar", "7", "--to", str(path)))
    assert rows(path) == before


def test_an_unreachable_store_is_one_line_and_exit_2(runs, tmp_path):
    closed = f"postgresql://bakeoff:secret-word@127.0.0.1:{free_port()}/postgres"  # nothing listens there
    line = one_error_line(cli("publish", str(runs["otters"]), "--to", closed, "--team", "otters"))
    assert "cannot use the class store" in line and "fix:" in line
    assert "secret-word" not in line  # the password is never printed
    one_error_line(here("gallery", "--from", closed, "--out", str(tmp_path / "site")))
    assert "no class store at" in one_error_line(here("gallery", "--from", str(tmp_path / "none.sqlite"),
                                                     "--out", str(tmp_path / "site")))


def test_an_older_store_is_migrated_on_open_keeping_its_rows(runs, tmp_path):
    url = f"sqlite:///{tmp_path / 'class.sqlite'}"
    with ClassStore(url, upgrade_to=1) as old:  # a store as the first schema made it: no exemplars table
        assert old.schema_version == 1
    assert here("publish", str(runs["otters"]), "--to", url, "--team", "otters").returncode == 0  # migrates
    with sqlite3.connect(tmp_path / "class.sqlite") as db:
        version = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert version == str(SCHEMA_VERSION) and "exemplars" in tables
    done = here("exemplar", "1", "--to", url, "--note", "the clearest evidence section")
    assert done.returncode == 0, done.stderr
    assert here("gallery", "--from", url, "--out", str(tmp_path / "site")).returncode == 0
    index = (tmp_path / "site" / "index.html").read_text()
    assert "the clearest evidence section" in index and "#1 · otters" in index
    assert "Exemplar, marked by the instructor" in (tmp_path / "site" / "publications" / "1" / "index.html").read_text()


@pytest.fixture(scope="module")
def class_store(runs, tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("store") / "class.sqlite"
    publish_at_once(runs, ["--to", str(path)])
    return str(path)


def test_anonymised_gallery_hides_team_names_in_every_file(class_store, tmp_path):
    out = tmp_path / "site"
    done = here("gallery", "--from", class_store, "--out", str(out), "--anonymise")
    assert done.returncode == 0, done.stderr
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) > 10
    for path in files:
        text = path.read_text(encoding="utf-8").lower()
        for team in TEAMS:
            assert team not in text, f"{team} in {path.relative_to(out)}"
    index = (out / "index.html").read_text()
    assert all(f">Team {x}</a>" in index for x in "ABC")
    page = next(p for p in out.glob("publications/*/POC-*.md"))
    assert re.search(r"The Team [ABC] found", page.read_text())  # the team's own text, its name replaced


def test_gallery_loads_nothing_from_the_network(class_store, tmp_path):
    out = tmp_path / "site"
    assert here("gallery", "--from", class_store, "--out", str(out)).returncode == 0
    loads = re.compile(r"""(?:src|srcset|data)\s*=\s*["']?\s*(?:https?:)?//|<link[^>]*href\s*=\s*["']?\s*(?:https?:)?//"""
                       r"""|url\(\s*["']?\s*(?:https?:)?//|@import""", re.IGNORECASE)
    pages = list(out.rglob("*.html")) + list(out.rglob("*.css"))
    assert len(pages) >= 8
    for path in pages:
        assert not loads.search(path.read_text()), path
    for path in [out / "index.html", *out.glob("publications/*/index.html"), out / "gallery.css"]:
        text = path.read_text()
        assert "http://" not in text and "https://" not in text, path  # bakeoff's own pages link nowhere outside


def test_gallery_refuses_a_folder_it_did_not_write(class_store, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    assert "not empty" in one_error_line(here("gallery", "--from", class_store, "--out", str(tmp_path)))
    assert (tmp_path / "notes.txt").read_text() == "mine"
