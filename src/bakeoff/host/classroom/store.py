"""The class results store: every team's published runs, in a SQLite file or on a PostgreSQL server.

One code path for both, through SQLAlchemy Core. The schema is versioned (table `meta`, key
`schema_version`) and brought up to date when the store is opened, one step per version inside a
single transaction; a store written by a newer bakeoff is refused before anything is read or
written. A publication is only ever inserted: the same team publishing the same run twice keeps
both rows (each has its own auto-increment id), and the instructor's exemplar marks live in their
own table, so no publication row is updated or deleted. Host side.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from bakeoff.host.registry import ConfigError

SCHEMA_VERSION = 2  # 1: publications and their POC.md files; 2: exemplars (the instructor's marks)
STORE_KIND = "bakeoff class store"  # meta key `store`: never write into a database of something else
DEFAULT_NAME = "class.sqlite"
# Any fixed 64-bit number: on PostgreSQL, processes opening the store at once migrate one at a time.
MIGRATION_LOCK = 0x6261_6B65_6F66_6601

metadata = sa.MetaData()
meta = sa.Table("meta", metadata,
                sa.Column("key", sa.String(64), primary_key=True),
                sa.Column("value", sa.Text, nullable=False))
publications = sa.Table(
    "publications", metadata,
    sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),  # one per publication, never reused
    sa.Column("team", sa.Text, nullable=False),
    sa.Column("run_id", sa.Text, nullable=False),  # not unique: publishing a run again keeps both
    sa.Column("run_created", sa.Text, nullable=False),
    sa.Column("published_at", sa.Text, nullable=False),
    sa.Column("bakeoff_version", sa.Text, nullable=False),
    sa.Column("results_schema", sa.Integer, nullable=False),
    sa.Column("results_json", sa.Text, nullable=False),  # the run's results.json exactly as published
    sa.Column("decision_json", sa.Text),  # decision.json, when the run had a team profile
    sa.Column("report_md", sa.Text, nullable=False),
    sa.Column("report_html", sa.Text, nullable=False),
    sqlite_autoincrement=True,  # as PostgreSQL's identity: an id is never handed out twice
)
poc_files = sa.Table(
    "poc_files", metadata,
    sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
    sa.Column("publication_id", sa.Integer, sa.ForeignKey("publications.id"), nullable=False, index=True),
    sa.Column("stage", sa.Text, nullable=False),
    sa.Column("tool", sa.Text, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
)
exemplars = sa.Table(
    "exemplars", metadata,
    sa.Column("publication_id", sa.Integer, sa.ForeignKey("publications.id"), primary_key=True),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("marked_at", sa.Text, nullable=False),
)


def _to_v1(conn: Connection) -> None:
    metadata.create_all(conn, tables=[publications, poc_files])


def _to_v2(conn: Connection) -> None:
    metadata.create_all(conn, tables=[exemplars])


# Step N brings a store of version N-1 to N. A later step that alters a table must leave the
# earlier steps creating the table as it was then.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {1: _to_v1, 2: _to_v2}


@dataclass(frozen=True)
class PocFile:
    stage: str
    tool: str
    text: str


@dataclass(frozen=True)
class Publication:
    """What a team sends: the run's files as they were written, nothing recomputed."""

    team: str
    run_id: str
    run_created: str
    bakeoff_version: str
    results_schema: int
    results_json: str
    decision_json: str | None
    report_md: str
    report_html: str
    poc_files: tuple[PocFile, ...] = ()


@dataclass(frozen=True)
class Stored:
    id: int
    published_at: str
    publication: Publication
    exemplar: str | None  # the instructor's note when marked as an exemplar, else None

    def results(self) -> dict:
        return json.loads(self.publication.results_json)


def default_url(home: Path) -> str:
    return f"sqlite:///{home / DEFAULT_NAME}"


def engine_url(url: str) -> sa.URL:
    """`sqlite:///path`, a plain path (a SQLite file), or `postgresql://...` (through psycopg 3)."""
    text = str(url).strip()
    if "://" not in text:
        return sa.URL.create("sqlite", database=str(Path(text).expanduser().absolute()))
    try:
        parsed = make_url(text)
    except ArgumentError:
        raise ConfigError(f"cannot read the store URL {text!r}; fix: use sqlite:///path/class.sqlite, "
                          "a file path, or postgresql://user@host:port/database") from None
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        if not parsed.database:
            raise ConfigError("a sqlite store URL needs a file (sqlite:///path/class.sqlite); fix: name the file")
        return parsed.set(drivername="sqlite", database=str(Path(parsed.database).expanduser().absolute()))
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg"):
        return parsed.set(drivername="postgresql+psycopg")
    raise ConfigError(f"unknown store kind {parsed.drivername!r} in {shown(parsed)}; fix: use sqlite:///path "
                      "or postgresql://user@host:port/database")


def shown(url: sa.URL | str) -> str:
    """The URL as it may be printed: never a password."""
    return url.render_as_string(hide_password=True) if isinstance(url, sa.URL) else str(url)


def _sqlite_engine(url: sa.URL) -> Engine:
    # Writers wait for each other (timeout) instead of failing, and every transaction takes the
    # write lock at BEGIN (SQLAlchemy's documented recipe for pysqlite), so the migration and
    # each publication are serialised, DDL included.
    engine = sa.create_engine(url, connect_args={"timeout": 60})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA foreign_keys = ON")

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class ClassStore:
    """An open, up-to-date class store. Use as a context manager, or call close()."""

    def __init__(self, url: str, *, must_exist: bool = False, upgrade_to: int = SCHEMA_VERSION) -> None:
        """`upgrade_to` below SCHEMA_VERSION leaves an older store (the tests make one to migrate)."""
        self.url = engine_url(url)
        self.name = shown(self.url)
        if self.url.drivername == "sqlite":
            path = Path(self.url.database)
            if must_exist and not path.is_file():
                raise ConfigError(f"no class store at {path}; fix: `bakeoff publish RUN --to {path}` first, "
                                  "or pass the --from a class publishes to")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(f"cannot create the folder of {path} ({exc.strerror}); fix: pass a --to "
                                  "in a writable folder") from None
            self.engine = _sqlite_engine(self.url)
        else:
            self.engine = sa.create_engine(self.url, connect_args={"connect_timeout": 10})
        try:
            self.schema_version = self._migrate(upgrade_to)
        except BaseException:
            self.engine.dispose()
            raise

    def __enter__(self) -> "ClassStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One transaction; a database error becomes a one-line ConfigError (and a rollback)."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except DBAPIError as exc:
            reason = " ".join(str(exc.orig).split())[:240] or type(exc.orig).__name__
            raise ConfigError(f"cannot use the class store {self.name}: {reason}; fix: check the URL, "
                              "that the server runs and accepts this user, or publish to a SQLite file") from None
        except SQLAlchemyError as exc:
            reason = " ".join(str(exc).split())[:240]
            raise ConfigError(f"cannot use the class store {self.name}: {reason}; fix: check the URL") from None

    def _migrate(self, target: int) -> int:
        """Bring the store to `target`, all steps in one transaction; returns the version reached."""
        with self.transaction() as conn:
            if conn.dialect.name == "postgresql":  # released at commit
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            tables = set(sa.inspect(conn).get_table_names())
            if "meta" in tables:
                found = dict(conn.execute(sa.select(meta.c.key, meta.c.value)).all())
                if found.get("store") != STORE_KIND:
                    raise ConfigError(f"{self.name} is not a bakeoff class store (its meta table is another "
                                      "program's); fix: publish to a new file or database")
                version = int(found["schema_version"])
            elif tables:
                raise ConfigError(f"{self.name} already holds other tables ({', '.join(sorted(tables)[:4])}) and "
                                  "is not a bakeoff class store; fix: publish to a new file or database")
            else:
                metadata.create_all(conn, tables=[meta])
                conn.execute(meta.insert(), [{"key": "store", "value": STORE_KIND},
                                             {"key": "schema_version", "value": "0"}])
                version = 0
            if version > SCHEMA_VERSION:
                raise ConfigError(f"the class store {self.name} has schema {version}, newer than this bakeoff "
                                  f"reads ({SCHEMA_VERSION}); fix: upgrade bakeoff (`./bootstrap setup` in an "
                                  "updated checkout) before publishing to it or building its gallery")
            if version < target:
                for step in range(version + 1, target + 1):
                    MIGRATIONS[step](conn)
                conn.execute(meta.update().where(meta.c.key == "schema_version").values(value=str(target)))
                version = target
            return version

    def publish(self, publication: Publication) -> int:
        """Insert the publication and its POC.md files in one transaction; returns its new id."""
        row = {k: v for k, v in vars(publication).items() if k != "poc_files"}
        row["published_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self.transaction() as conn:
            new_id = conn.execute(publications.insert().values(**row)).inserted_primary_key[0]
            if publication.poc_files:
                conn.execute(poc_files.insert(), [{"publication_id": new_id, "stage": p.stage, "tool": p.tool,
                                                   "text": p.text} for p in publication.poc_files])
        return int(new_id)

    def publications(self) -> list[Stored]:
        """Every publication, oldest first."""
        with self.transaction() as conn:
            pocs: dict[int, list[PocFile]] = {}
            for p in conn.execute(sa.select(poc_files).order_by(poc_files.c.id)):
                pocs.setdefault(p.publication_id, []).append(PocFile(p.stage, p.tool, p.text))
            notes = dict(conn.execute(sa.select(exemplars.c.publication_id, exemplars.c.note)).all())
            rows = conn.execute(sa.select(publications).order_by(publications.c.id)).mappings().all()
        fields = [c.name for c in publications.columns if c.name not in ("id", "published_at")]
        return [Stored(id=r["id"], published_at=r["published_at"], exemplar=notes.get(r["id"]),
                       publication=Publication(**{f: r[f] for f in fields}, poc_files=tuple(pocs.get(r["id"], []))))
                for r in rows]

    def count(self) -> int:
        with self.transaction() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(publications)).scalar_one())

    def mark_exemplars(self, ids: list[int], note: str, *, remove: bool = False) -> list[int]:
        """The instructor's marks; an id that names no publication is refused, with nothing changed."""
        with self.transaction() as conn:
            known = set(conn.execute(sa.select(publications.c.id).where(publications.c.id.in_(ids))).scalars())
            unknown = [i for i in ids if i not in known]
            if unknown:
                raise ConfigError(f"no publication {', '.join(map(str, unknown))} in {self.name}; fix: pick ids "
                                  "from the gallery (each publication's page shows its id)")
            conn.execute(exemplars.delete().where(exemplars.c.publication_id.in_(ids)))
            if not remove:
                marked_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
                conn.execute(exemplars.insert(), [{"publication_id": i, "note": note, "marked_at": marked_at}
                                                  for i in ids])
        return sorted(known)
