"""The reference server's state in SQLite: projects, credentials and task groups.

Why SQLite: a stop must be atomic under any concurrency - one conditional ``UPDATE ... WHERE status IN
(1, 2)`` gives exactly one winner among concurrent stops - and state must survive a restart with the same
``--db``. Each statement runs in autocommit mode, except the stops :meth:`Store.stop_many` batches. A file
db uses WAL and exclusive locking: one server process owns the file while it runs (a second one fails to
start with "database is locked"), which spares every stop the file-lock system calls - about a fifth of its
cost (see the benchmark).

Durability (:class:`Durability`, ``serve --durability``) is a choice of what a returned commit survives:

- ``process`` (the default): ``synchronous=OFF``. A commit has returned once SQLite has handed its frames
  to the operating system, so it survives a crash or a ``kill -9`` of the server (tested), not a crash of
  the machine - which may then also leave the file unreadable. Nothing is ever fsynced, so no request waits
  for the disk: checkpoints with ``synchronous=NORMAL`` fsync the WAL and the db on the event loop, and
  stalled every connection for 50-250 ms every few thousand stops (the p99 of bench_server.py).
- ``machine``: ``synchronous=FULL``. Every commit - one per event-loop turn with group commit - is fsynced
  before its stops are answered: it survives power loss too, at the disk's pace.

The pausing -> paused transition: with ``settle_delay`` 0 a stop writes 3 (paused) at once; otherwise it
writes 7 (pausing) and a due time, and a group reads as 3 once that time has passed (settled lazily when
read: no timer thread). Fixture groups listed as ``pausing`` have no due time and stay 7.

A stop remembers the status it paused (1 or 2, column ``resumes_to``) and a start (huawei profile) of a
paused group restores it - 2 (monitoring) for a group that was paused in the fixtures - so a group can
cycle stop -> settle -> start -> stop without being used up.

:meth:`Store.stop_many` writes the stops of many concurrent requests in one transaction (group commit, see
:mod:`conformance.server.commits`): each is still its own conditional UPDATE, run one after the other, so
exactly one of N stops of a group wins, and the caller acknowledges none before the COMMIT has returned.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from conformance.errors import ConfigError
from conformance.server.fixtures import PERMISSION_UPDATE, Fixtures
from conformance.spec.statuses import MONITORING, PAUSABLE_CODES, PAUSED, PAUSING, STATUS_NAMES
from conformance.target import AkSk, Project

SCHEMA_VERSION = 2
# The statuses the SQL names, from the contract (conformance/spec/statuses.py), spelled as before: "1, 2".
_PAUSABLE_LIST = ", ".join(map(str, sorted(PAUSABLE_CODES)))
_EVERY_CODE = f"{min(STATUS_NAMES)} AND {max(STATUS_NAMES)}"  # for BETWEEN
_SCHEMA = f"""
CREATE TABLE projects (project_id TEXT PRIMARY KEY, position INTEGER NOT NULL UNIQUE);
CREATE TABLE tokens (token TEXT PRIMARY KEY, project_id TEXT NOT NULL REFERENCES projects,
                     permissions TEXT NOT NULL, position INTEGER NOT NULL);
CREATE TABLE access_keys (ak TEXT PRIMARY KEY, sk TEXT NOT NULL, security_token TEXT,
                          project_id TEXT NOT NULL REFERENCES projects, permissions TEXT NOT NULL,
                          position INTEGER NOT NULL);
CREATE TABLE task_groups (project INTEGER NOT NULL REFERENCES projects (position), group_id TEXT NOT NULL,
                          status INTEGER NOT NULL CHECK (status BETWEEN {_EVERY_CODE}), settle_at REAL,
                          resumes_to INTEGER CHECK (resumes_to IN ({_PAUSABLE_LIST})),
                          PRIMARY KEY (project, group_id)) WITHOUT ROWID;
"""
# Version 1 lacked resumes_to; its dbs are upgraded in place (NULL: a start resumes them to 2).
_UPGRADE_FROM_1 = (
    f"ALTER TABLE task_groups ADD COLUMN resumes_to INTEGER CHECK (resumes_to IN ({_PAUSABLE_LIST}))"
)
_INSERT_GROUP = "INSERT INTO task_groups (project, group_id, status) VALUES (?, ?, ?)"
# The statements of the hot path, as constants so sqlite3's statement cache reuses their prepared form.
# Groups are keyed by the project's position (an integer): cheaper to compare than a 32-character id.
_PAUSABLE = f"WHERE project = ? AND group_id = ? AND status IN ({_PAUSABLE_LIST})"
# In an UPDATE, ``status`` on the right-hand side is the old value: the status being paused.
_STOP_SETTLED = f"UPDATE task_groups SET status = {PAUSED}, resumes_to = status {_PAUSABLE}"
_STOP_PAUSING = f"UPDATE task_groups SET status = {PAUSING}, settle_at = ?, resumes_to = status {_PAUSABLE}"
_START = (
    f"UPDATE task_groups SET status = coalesce(resumes_to, {MONITORING}), resumes_to = NULL "
    f"WHERE project = ? AND group_id = ? AND status = {PAUSED}"
)
_STATUS = "SELECT status FROM task_groups WHERE project = ? AND group_id = ?"
_SETTLE_ONE = (
    f"UPDATE task_groups SET status = {PAUSED}, settle_at = NULL "
    f"WHERE project = ? AND group_id = ? AND status = {PAUSING} AND settle_at <= ?"
)
_SETTLE_ALL = (
    f"UPDATE task_groups SET status = {PAUSED}, settle_at = NULL WHERE status = {PAUSING} AND settle_at <= ?"
)


class Durability(Enum):
    """What a returned commit of a file db survives (the module docstring says what each costs)."""

    PROCESS = "process"
    MACHINE = "machine"


class StopResult(Enum):
    STOPPED = "stopped"
    UNKNOWN = "unknown"  # no such group in the project
    NOT_PAUSABLE = "not_pausable"  # the group's status is not 1 or 2


class StartResult(Enum):
    STARTED = "started"
    UNKNOWN = "unknown"  # no such group in the project
    NOT_PAUSED = "not_paused"  # the group's status is not 3 (a pausing group has not settled yet)


@dataclass(frozen=True)
class Principal:
    """Who a valid credential speaks for."""

    project_id: str
    permissions: frozenset[str]


@dataclass(frozen=True)
class AccessKey:
    ak: str
    sk: str = field(repr=False)
    security_token: str | None = field(repr=False)
    principal: Principal


class Store:
    """One SQLite connection; ``path=None`` is a private in-memory db (a fresh state per instance)."""

    def __init__(
        self,
        path: str | Path | None = None,
        settle_delay: float = 0.0,
        clock: Callable[[], float] = time.time,
        durability: Durability = Durability.PROCESS,
    ) -> None:
        if settle_delay < 0:
            raise ConfigError(f"settle delay: must be >= 0 seconds, got {settle_delay!r}")
        self.settle_delay = settle_delay
        self._clock = clock  # wall-clock seconds: due times must survive a restart
        self.path = None if path is None else Path(path)
        self.durability = durability
        # One lock serialises the connection: the server's event loop and a caller reading the target
        # from another thread must not interleave statements (uncontended, it costs well under 1 us).
        self._lock = threading.Lock()
        self._positions: dict[str, int] = {}  # project id -> position (projects never change while serving)
        # The fixtures this store was filled from, for reset(); None for a reused db (nothing to go back to).
        self._fixtures: Fixtures | None = None
        try:
            self._db = sqlite3.connect(
                ":memory:" if path is None else str(path), isolation_level=None, check_same_thread=False
            )
            self._setup()
            self._cursor = self._db.cursor()  # reused on the hot path: no cursor object per request
        except sqlite3.Error as exc:
            why = f"{exc} - is another server using it?" if "locked" in str(exc) else str(exc)
            where = f"db {str(path)!r}"
            raise ConfigError(f"{where}: cannot use it as the server's SQLite database ({why})") from exc

    def _setup(self) -> None:
        if self.path is not None:
            self._db.execute("PRAGMA busy_timeout = 500")  # only matters at start: the lock is held after
            # Before WAL is switched on, so that the WAL index lives in process memory, not a -shm file.
            self._db.execute("PRAGMA locking_mode = EXCLUSIVE")
            self._db.execute("PRAGMA journal_mode = WAL")
            # Without fsyncs a checkpoint (WAL -> db file, every 1,000 pages by default) is a few page
            # writes into the OS cache: well under a millisecond, so it may stay on the request path.
            synchronous = "OFF" if self.durability is Durability.PROCESS else "FULL"
            self._db.execute(f"PRAGMA synchronous = {synchronous}")
        self._db.execute("PRAGMA foreign_keys = ON")
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version == 0:
            self._db.executescript(f"BEGIN; {_SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;")
        elif version == 1:
            self._db.executescript(
                f"BEGIN; {_UPGRADE_FROM_1}; PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
            )
        elif version != SCHEMA_VERSION:
            raise sqlite3.DatabaseError(f"schema version {version}, this server uses {SCHEMA_VERSION}")
        self._positions = dict(self._db.execute("SELECT project_id, position FROM projects"))

    def is_empty(self) -> bool:
        with self._lock:
            row = self._db.execute("SELECT NOT EXISTS (SELECT 1 FROM projects)").fetchone()
        return bool(row[0])

    def load(self, fixtures: Fixtures) -> None:
        """Insert ``fixtures`` in one transaction (all or nothing)."""
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                for pos, project in enumerate(fixtures.projects):
                    pid = project.project_id
                    db.execute("INSERT INTO projects VALUES (?, ?)", (pid, pos))
                    db.executemany(
                        "INSERT INTO tokens VALUES (?, ?, ?, ?)",
                        [(t.token, pid, " ".join(t.permissions), i) for i, t in enumerate(project.tokens)],
                    )
                    db.executemany(
                        "INSERT INTO access_keys VALUES (?, ?, ?, ?, ?, ?)",
                        [
                            (k.ak, k.sk, k.security_token, pid, " ".join(k.permissions), i)
                            for i, k in enumerate(project.aksk)
                        ],
                    )
                    db.executemany(_INSERT_GROUP, ((pos, gid, code) for gid, code in project.group_rows(pos)))
                db.execute("COMMIT")
                self._fixtures = fixtures
                self._positions = dict(db.execute("SELECT project_id, position FROM projects"))
                if self.path is not None:
                    # The whole load sits in the WAL now; fold it into the db file here rather than in the
                    # first automatic checkpoint, which would stall whichever request triggers it.
                    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.IntegrityError as exc:
                db.execute("ROLLBACK")
                raise ConfigError(f"fixtures: a token, AK or group id is used twice ({exc})") from exc
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def reset(self) -> None:
        """Every task group back to its fixture status, in one transaction, while serving if need be.

        Only the groups change: projects and credentials never change while serving. Under the store's lock,
        so no request's statement interleaves; a stop still queued for group commit lands after the reset.
        The rows are made again from the fixtures (a few counts and ids), not kept: a load-test store of
        500,000 groups would otherwise hold them twice.
        """
        fixtures = self._fixtures
        if fixtures is None:
            raise ConfigError(f"db {str(self.path)!r}: reused, not loaded from fixtures: nothing to reset to")
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute("DELETE FROM task_groups")
                for pos, project in enumerate(fixtures.projects):
                    db.executemany(_INSERT_GROUP, ((pos, gid, code) for gid, code in project.group_rows(pos)))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def credentials(self) -> tuple[dict[str, Principal], dict[str, AccessKey]]:
        """Tokens and access keys. Read once at start-up: credentials never change while serving."""
        with self._lock:
            tokens = {
                token: Principal(pid, frozenset(perms.split()))
                for token, pid, perms in self._db.execute("SELECT token, project_id, permissions FROM tokens")
            }
            keys = {
                ak: AccessKey(ak, sk, sec, Principal(pid, frozenset(perms.split())))
                for ak, sk, sec, pid, perms in self._db.execute(
                    "SELECT ak, sk, security_token, project_id, permissions FROM access_keys"
                )
            }
        return tokens, keys

    def stop(self, project_id: str, group_id: str) -> StopResult:
        """Pause a group if it is creating or monitoring: one atomic conditional UPDATE, committed at once."""
        with self._lock:
            return self._stop(project_id, group_id)

    def stop_many(self, stops: Sequence[tuple[str, str]]) -> list[StopResult]:
        """Several stops, each its own conditional UPDATE, in one transaction: durable once this returns."""
        with self._lock:
            cursor = self._cursor
            cursor.execute("BEGIN IMMEDIATE")
            try:
                results = [self._stop(project_id, group_id) for project_id, group_id in stops]
                cursor.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    cursor.execute("ROLLBACK")
                raise
        return results

    def _stop(self, project_id: str, group_id: str) -> StopResult:
        # The caller holds the lock.
        project = self._positions.get(project_id)
        if project is None:
            return StopResult.UNKNOWN
        if self.settle_delay > 0:
            args: tuple[object, ...] = (self._clock() + self.settle_delay, project, group_id)
            changed = self._cursor.execute(_STOP_PAUSING, args).rowcount
        else:
            changed = self._cursor.execute(_STOP_SETTLED, (project, group_id)).rowcount
        if changed == 1:
            return StopResult.STOPPED
        # Under the same lock: a group that exists now was not pausable at the UPDATE.
        found = self._cursor.execute(_STATUS, (project, group_id)).fetchone()
        return StopResult.UNKNOWN if found is None else StopResult.NOT_PAUSABLE

    def start(self, project_id: str, group_id: str) -> StartResult:
        """Resume a paused group to the status it was paused from (2 if unknown): one conditional UPDATE."""
        project = self._positions.get(project_id)
        if project is None:
            return StartResult.UNKNOWN
        with self._lock:
            self._db.execute(_SETTLE_ONE, (project, group_id, self._clock()))
            if self._cursor.execute(_START, (project, group_id)).rowcount == 1:
                return StartResult.STARTED
            found = self._cursor.execute(_STATUS, (project, group_id)).fetchone()
        return StartResult.UNKNOWN if found is None else StartResult.NOT_PAUSED

    def status(self, project_id: str, group_id: str) -> int | None:
        """The group's status (0..9), or None if the project has no such group."""
        project = self._positions.get(project_id)
        if project is None:
            return None
        with self._lock:
            self._db.execute(_SETTLE_ONE, (project, group_id, self._clock()))
            row = self._db.execute(_STATUS, (project, group_id)).fetchone()
        return None if row is None else int(row[0])

    def projects(self, limit: int = 2) -> list[Project]:
        """The first ``limit`` projects as target projects: a credential that may stop, groups by status."""
        with self._lock:
            self._db.execute(_SETTLE_ALL, (self._clock(),))
            first = "SELECT project_id, position FROM projects ORDER BY position LIMIT ?"
            return [self._project(pid, pos) for pid, pos in self._db.execute(first, (limit,)).fetchall()]

    def _project(self, project_id: str, position: int) -> Project:
        db = self._db
        by_position = "WHERE project_id = ? ORDER BY position"
        tokens = db.execute(f"SELECT token, permissions FROM tokens {by_position}", (project_id,)).fetchall()
        token = next((t for t, perms in tokens if PERMISSION_UPDATE in perms.split()), None)
        readonly = next((t for t, perms in tokens if PERMISSION_UPDATE not in perms.split()), None)
        keys = f"SELECT ak, sk, security_token FROM access_keys {by_position}"
        key = db.execute(keys, (project_id,)).fetchone()
        groups: dict[str, list[str]] = {name: [] for name in STATUS_NAMES.values()}
        rows = db.execute("SELECT group_id, status FROM task_groups WHERE project = ?", (position,))
        for gid, status in rows:
            groups[STATUS_NAMES[status]].append(gid)
        listed = {name: tuple(ids) for name, ids in groups.items() if ids}
        return Project(
            project_id=project_id,
            token=token,
            aksk=AkSk(*key) if key else None,
            groups=listed,
            readonly_token=readonly,
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()
