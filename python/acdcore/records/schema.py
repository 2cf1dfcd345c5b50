"""The records schema as numbered migrations, written once for SQLite and PostgreSQL.

Each migration runs in the transaction that also bumps `acd_schema.version`, so a database is
always at exactly one version. Types are spelled as tokens the dialect fills in.
"""

from __future__ import annotations

from dataclasses import dataclass

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: the tables.
    (
        """CREATE TABLE calls (
            call_id TEXT PRIMARY KEY,
            caller TEXT, called TEXT, queue TEXT NOT NULL, agent TEXT,
            arrival {real} NOT NULL, answer {real}, end_time {real},
            wait {real}, talk {real}, hold {real}, wrapup {real},
            disposition TEXT, outcome TEXT NOT NULL,
            recording_path TEXT, voicemail_path TEXT, survey_score INTEGER,
            attributes TEXT NOT NULL DEFAULT '{{}}')""",
        """CREATE TABLE queue_log (
            id {serial},
            time {real} NOT NULL, event TEXT NOT NULL, call_id TEXT NOT NULL,
            queue TEXT, agent TEXT, data TEXT NOT NULL DEFAULT '{{}}')""",
        """CREATE TABLE checkpoint (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            engine {blob} NOT NULL, state TEXT NOT NULL)""",
    ),
    # 2: indexes for every search column; (caller, arrival) also finds repeat calls for FCR.
    (
        "CREATE INDEX calls_arrival ON calls (arrival)",
        "CREATE INDEX calls_caller ON calls (caller, arrival)",
        "CREATE INDEX calls_called ON calls (called, arrival)",
        "CREATE INDEX calls_queue ON calls (queue, arrival)",
        "CREATE INDEX calls_agent ON calls (agent, arrival)",
        "CREATE INDEX calls_disposition ON calls (disposition, arrival)",
        "CREATE INDEX queue_log_call ON queue_log (call_id)",
        "CREATE INDEX queue_log_time ON queue_log (time)",
    ),
    # 3: named blobs of the host's, each its own row (a campaign's state is far too big to
    # rewrite inside the JSON checkpoint every commit), written in the checkpoint's commits.
    (
        """CREATE TABLE host_blobs (
            name TEXT PRIMARY KEY,
            data {blob} NOT NULL)""",
    ),
)
VERSION = len(MIGRATIONS)


@dataclass(frozen=True)
class Dialect:
    """What differs between the SQL engines we write to."""

    name: str
    real: str
    serial: str
    blob: str
    placeholder: str
    # Interval number of a UNIX time: `{col}` and one parameter, the interval length.
    bucket: str

    def ddl(self, statement: str) -> str:
        return statement.format(real=self.real, serial=self.serial, blob=self.blob)

    def sql(self, statement: str) -> str:
        """Our queries are written with `?`; PostgreSQL wants `%s`."""
        return statement if self.placeholder == "?" else statement.replace("?", self.placeholder)


SQLITE = Dialect(
    name="sqlite",
    real="REAL",
    serial="INTEGER PRIMARY KEY AUTOINCREMENT",
    blob="BLOB",
    placeholder="?",
    bucket="CAST({col} / ? AS INTEGER)",  # times are >= 0, so truncation is floor
)
POSTGRES = Dialect(
    name="postgres",
    real="DOUBLE PRECISION",
    serial="BIGSERIAL PRIMARY KEY",
    blob="BYTEA",
    placeholder="%s",
    bucket="CAST(FLOOR({col} / ?) AS BIGINT)",
)
