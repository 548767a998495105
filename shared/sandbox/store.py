"""Durable sandbox state in one SQLite file.

SQLite keeps a restart cheap and lets the benchmark hold ~100k events: every lookup the Graph
emulation needs (a mailbox's live events, an extended-property tag, a transactionId, the copies
of an organizer's meeting, a sender's recent messages) has its own index, and every change is a
row-level write rather than a rewrite of the whole state. One connection guarded by one lock
keeps the threaded server's writes serial, which is also what makes a multi-step meeting change
(organizer event, attendee copies, messages) atomic.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS apps (client_id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (address TEXT PRIMARY KEY, id TEXT NOT NULL UNIQUE, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    mailbox TEXT NOT NULL,
    organizer TEXT NOT NULL,
    organizer_event_id TEXT,
    transaction_id TEXT,
    ical_uid TEXT NOT NULL,
    start_utc TEXT NOT NULL,
    end_utc TEXT NOT NULL,
    cancelled INTEGER NOT NULL DEFAULT 0,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_mailbox ON events (mailbox, cancelled, start_utc);
CREATE INDEX IF NOT EXISTS events_by_transaction ON events (organizer, transaction_id)
    WHERE transaction_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_by_organizer_event ON events (organizer_event_id)
    WHERE organizer_event_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS event_props (
    event_id TEXT NOT NULL,
    prop_id TEXT NOT NULL,
    value TEXT,
    PRIMARY KEY (event_id, prop_id)
);
CREATE INDEX IF NOT EXISTS event_props_by_value ON event_props (prop_id, value);
CREATE INDEX IF NOT EXISTS event_props_by_value_nocase ON event_props (prop_id, value COLLATE NOCASE);
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    mailbox TEXT NOT NULL,
    sender TEXT NOT NULL,
    send_id TEXT NOT NULL,
    received_utc TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_mailbox ON messages (mailbox, seq);
CREATE INDEX IF NOT EXISTS messages_by_sender ON messages (sender, received_utc);
CREATE TABLE IF NOT EXISTS event_changes (
    event_id TEXT PRIMARY KEY,
    mailbox TEXT NOT NULL,
    seq INTEGER NOT NULL,
    removed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS event_changes_by_mailbox ON event_changes (mailbox, seq);
CREATE TABLE IF NOT EXISTS delta_tokens (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    token TEXT NOT NULL UNIQUE,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS subscriptions (id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS secrets (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    data TEXT NOT NULL,
    UNIQUE (name, version)
);
"""

DB_FILE = "sandbox.sqlite3"


@dataclass
class EventRow:
    """One calendar item in one mailbox: an organizer's meeting or an attendee's copy of it."""

    id: str
    mailbox: str
    organizer: str
    ical_uid: str
    start_utc: str  # "YYYY-MM-DDTHH:MM:SSZ", sortable
    end_utc: str
    data: dict[str, Any]
    organizer_event_id: str | None = None  # set on attendee copies
    transaction_id: str | None = None
    cancelled: bool = False

    @property
    def is_copy(self) -> bool:
        return self.organizer_event_id is not None


@dataclass(frozen=True)
class EventChange:
    """One committed change to an item in a mailbox's calendar, as change tracking sees it.

    `kind` is "created", "updated" or "deleted" (removed from the calendar: deleted, or a
    cancelled organizer's meeting moved to Deleted Items); `change_key` is the item's after it.
    """

    kind: str
    mailbox: str
    event_id: str
    change_key: str | None


_EVENT_COLUMNS = ("id, mailbox, organizer, organizer_event_id, transaction_id, ical_uid, start_utc, end_utc, "
                  "cancelled, data")
_JOINED_COLUMNS = ", ".join("e." + column for column in _EVENT_COLUMNS.split(", "))


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _event(row: sqlite3.Row) -> EventRow:
    return EventRow(
        id=row["id"], mailbox=row["mailbox"], organizer=row["organizer"], ical_uid=row["ical_uid"],
        start_utc=row["start_utc"], end_utc=row["end_utc"], data=json.loads(row["data"]),
        organizer_event_id=row["organizer_event_id"], transaction_id=row["transaction_id"],
        cancelled=bool(row["cancelled"]),
    )


class Store:
    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(data_dir / DB_FILE, isolation_level=None, check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(SCHEMA)
        self._depth = 0
        row = self._conn.execute("SELECT COALESCE(MAX(seq), 0) AS seq FROM event_changes").fetchone()
        self._change_seq = int(row["seq"])
        self._pending: list[EventChange] = []
        self._listeners: list[Callable[[list[EventChange]], None]] = []

    def on_event_changes(self, listener: Callable[[list[EventChange]], None]) -> None:
        """Call `listener` with each transaction's committed event changes (after the commit, outside the lock).

        Change notifications hang off this, so they fire only for what was really committed.
        """
        self._listeners.append(listener)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside commit together or not at all; nested uses join the outer one."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            self._pending = []
            try:
                yield
            except BaseException:
                self._conn.execute("ROLLBACK")
                self._change_seq = int(self._conn.execute(
                    "SELECT COALESCE(MAX(seq), 0) FROM event_changes").fetchone()[0])
                self._pending = []
                raise
            else:
                self._conn.execute("COMMIT")
            finally:
                self._depth = 0
            committed, self._pending = self._pending, []
        if committed:
            for listener in self._listeners:
                listener(committed)

    def _all(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def _one(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Row | None:
        with self._lock:
            row: sqlite3.Row | None = self._conn.execute(sql, params).fetchone()
            return row

    def _run(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        with self._lock:
            cursor = self._conn.execute(sql, params)
            return int(cursor.lastrowid or 0)

    # --- meta: identity of the data directory and the realism configuration
    def get_meta(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else str(row["value"])

    def set_meta(self, key: str, value: str) -> None:
        self._run("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                  (key, value))

    # --- directory: app registrations and users
    def apps(self) -> list[dict[str, Any]]:
        return [json.loads(r["data"]) for r in self._all("SELECT data FROM apps ORDER BY client_id")]

    def app(self, client_id: str) -> dict[str, Any] | None:
        row = self._one("SELECT data FROM apps WHERE client_id = ?", (client_id.lower(),))
        return None if row is None else dict(json.loads(row["data"]))

    def put_app(self, client_id: str, data: dict[str, Any]) -> None:
        self._run("INSERT INTO apps (client_id, data) VALUES (?, ?) "
                  "ON CONFLICT(client_id) DO UPDATE SET data = excluded.data", (client_id.lower(), _dumps(data)))

    def users(self) -> list[dict[str, Any]]:
        return [json.loads(r["data"]) for r in self._all("SELECT data FROM users ORDER BY address")]

    def user(self, id_or_address: str) -> dict[str, Any] | None:
        key = id_or_address.lower()
        row = self._one("SELECT data FROM users WHERE address = ? OR id = ?", (key, key))
        return None if row is None else dict(json.loads(row["data"]))

    def put_user(self, address: str, user_id: str, data: dict[str, Any]) -> None:
        self._run("INSERT INTO users (address, id, data) VALUES (?, ?, ?) "
                  "ON CONFLICT(address) DO UPDATE SET data = excluded.data",
                  (address.lower(), user_id.lower(), _dumps(data)))

    def delete_user(self, address: str) -> bool:
        with self._lock:
            return self._conn.execute("DELETE FROM users WHERE address = ?", (address.lower(),)).rowcount > 0

    # --- events
    def event(self, event_id: str) -> EventRow | None:
        row = self._one(f"SELECT {_EVENT_COLUMNS} FROM events WHERE id = ?", (event_id,))
        return None if row is None else _event(row)

    def save_event(self, event: EventRow, props: dict[str, str | None] | None = None) -> None:
        """Insert or replace an event; `props` (normalized id -> value) replaces its tag index when given."""
        with self.transaction():
            self._run(
                f"INSERT INTO events ({_EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET mailbox = excluded.mailbox, organizer = excluded.organizer, "
                "organizer_event_id = excluded.organizer_event_id, transaction_id = excluded.transaction_id, "
                "ical_uid = excluded.ical_uid, start_utc = excluded.start_utc, end_utc = excluded.end_utc, "
                "cancelled = excluded.cancelled, data = excluded.data",
                (event.id, event.mailbox, event.organizer, event.organizer_event_id, event.transaction_id,
                 event.ical_uid, event.start_utc, event.end_utc, int(event.cancelled), _dumps(event.data)),
            )
            self._track(event.id, event.mailbox, removed=event.cancelled, change_key=event.data.get("changeKey"))
            if props is None:
                return
            self._run("DELETE FROM event_props WHERE event_id = ?", (event.id,))
            for prop_id, value in props.items():
                self._run("INSERT INTO event_props (event_id, prop_id, value) VALUES (?, ?, ?)",
                          (event.id, prop_id, value))

    def delete_event(self, event_id: str) -> None:
        with self.transaction():
            row = self._one("SELECT mailbox FROM events WHERE id = ?", (event_id,))
            self._run("DELETE FROM events WHERE id = ?", (event_id,))
            self._run("DELETE FROM event_props WHERE event_id = ?", (event_id,))
            if row is not None:
                self._track(event_id, row["mailbox"], removed=True, change_key=None)

    def _track(self, event_id: str, mailbox: str, *, removed: bool, change_key: str | None) -> None:
        """Record that an item changed (inside a transaction): the delta query's and notifications' source.

        One row per item, holding the sequence number of its latest change, so a delta round costs
        what changed, not what exists; a removed item keeps its row as the tombstone `@removed` needs.
        """
        prior = self._one("SELECT removed FROM event_changes WHERE event_id = ?", (event_id,))
        if removed and prior is not None and prior["removed"]:
            return  # already gone from the calendar (a cancelled meeting deleted afterwards)
        self._change_seq += 1
        self._run("INSERT INTO event_changes (event_id, mailbox, seq, removed) VALUES (?, ?, ?, ?) "
                  "ON CONFLICT(event_id) DO UPDATE SET mailbox = excluded.mailbox, seq = excluded.seq, "
                  "removed = excluded.removed", (event_id, mailbox, self._change_seq, int(removed)))
        kind = "deleted" if removed else ("created" if prior is None or prior["removed"] else "updated")
        self._pending.append(EventChange(kind, mailbox, event_id, change_key))

    def change_seq(self) -> int:
        """The sequence number of the latest change to any item (a delta round's upper bound)."""
        with self._lock:
            return self._change_seq

    def changes(self, mailbox: str, *, after: int, upto: int, limit: int) -> list[tuple[int, str, bool]]:
        """(seq, event id, removed) of a mailbox's items whose latest change lies in (after, upto], by seq."""
        rows = self._all("SELECT seq, event_id, removed FROM event_changes WHERE mailbox = ? AND seq > ? "
                         "AND seq <= ? ORDER BY seq LIMIT ?", (mailbox, after, upto, limit))
        return [(int(r["seq"]), str(r["event_id"]), bool(r["removed"])) for r in rows]

    def events_by_id(self, ids: list[str]) -> dict[str, EventRow]:
        if not ids:
            return {}
        marks = ", ".join("?" for _ in ids)
        return {r["id"]: _event(r) for r in self._all(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE id IN ({marks})", tuple(ids))}

    # --- delta tokens: a bounded cache, as Exchange keeps them
    def put_delta_token(self, token: str, data: dict[str, Any], keep: int) -> None:
        with self.transaction():
            self._run("INSERT INTO delta_tokens (token, data) VALUES (?, ?)", (token, _dumps(data)))
            self._run("DELETE FROM delta_tokens WHERE seq <= (SELECT MAX(seq) FROM delta_tokens) - ?", (keep,))

    def delta_token(self, token: str) -> dict[str, Any] | None:
        row = self._one("SELECT data FROM delta_tokens WHERE token = ?", (token,))
        return None if row is None else dict(json.loads(row["data"]))

    # --- change-notification subscriptions
    def subscriptions(self) -> list[dict[str, Any]]:
        return [json.loads(r["data"]) for r in self._all("SELECT data FROM subscriptions ORDER BY id")]

    def put_subscription(self, data: dict[str, Any]) -> None:
        self._run("INSERT INTO subscriptions (id, data) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET data = "
                  "excluded.data", (data["id"], _dumps(data)))

    def delete_subscription(self, subscription_id: str) -> bool:
        with self._lock:
            return self._conn.execute("DELETE FROM subscriptions WHERE id = ?", (subscription_id,)).rowcount > 0

    def live_events(self, mailbox: str, *, prop_id: str | None = None, prop_value: str | None = None,
                    any_value: bool = False, order: str = "seq", limit: int = 1000,
                    offset: int = 0, ignore_case: bool = False) -> list[EventRow]:
        """Events in a mailbox's calendar (not cancelled), optionally those carrying a property value.

        `ignore_case` compares the value without regard to (ASCII) case, with its own index.
        """
        order_sql = {"seq": "e.seq", "seq desc": "e.seq DESC", "start": "e.start_utc, e.seq",
                     "start desc": "e.start_utc DESC, e.seq DESC", "end": "e.end_utc, e.seq",
                     "end desc": "e.end_utc DESC, e.seq DESC"}[order]
        if prop_id is None:
            rows = self._all(
                f"SELECT {_EVENT_COLUMNS} FROM events e WHERE e.mailbox = ? AND e.cancelled = 0 "
                f"ORDER BY {order_sql} LIMIT ? OFFSET ?", (mailbox, limit, offset))
        elif any_value:
            rows = self._all(
                f"SELECT {_JOINED_COLUMNS} FROM event_props p JOIN events e ON e.id = p.event_id "
                f"WHERE p.prop_id = ? AND e.mailbox = ? AND e.cancelled = 0 ORDER BY {order_sql} LIMIT ? OFFSET ?",
                (prop_id, mailbox, limit, offset))
        else:
            rows = self._all(
                f"SELECT {_JOINED_COLUMNS} FROM event_props p JOIN events e ON e.id = p.event_id "
                f"WHERE p.prop_id = ? AND p.value = ?{' COLLATE NOCASE' if ignore_case else ''} "
                "AND e.mailbox = ? AND e.cancelled = 0 "
                f"ORDER BY {order_sql} LIMIT ? OFFSET ?", (prop_id, prop_value, mailbox, limit, offset))
        return [_event(r) for r in rows]

    def calendar(self, mailbox: str) -> list[tuple[EventRow, str | None]]:
        """A mailbox's live events by start, each with the first tag of the organizer's event."""
        rows = self._all(
            f"SELECT {_EVENT_COLUMNS}, (SELECT p.value FROM event_props p "
            "WHERE p.event_id = COALESCE(events.organizer_event_id, events.id) ORDER BY p.prop_id LIMIT 1) AS tag "
            "FROM events WHERE mailbox = ? AND cancelled = 0 ORDER BY start_utc, seq", (mailbox,))
        return [(_event(r), r["tag"]) for r in rows]

    def by_transaction(self, organizer: str, transaction_id: str, *, live_only: bool = False) -> EventRow | None:
        """The organizer's first event with this transactionId (cancelled ones too unless `live_only`)."""
        live = " AND cancelled = 0" if live_only else ""
        row = self._one(f"SELECT {_EVENT_COLUMNS} FROM events WHERE organizer = ? AND transaction_id = ? "
                        f"AND organizer_event_id IS NULL{live} ORDER BY seq LIMIT 1", (organizer, transaction_id))
        return None if row is None else _event(row)

    def copies_of(self, organizer_event_id: str) -> list[EventRow]:
        return [_event(r) for r in self._all(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE organizer_event_id = ? ORDER BY seq", (organizer_event_id,))]

    def mailbox_summary(self) -> list[dict[str, Any]]:
        rows = self._all(
            "SELECT mailbox, SUM(calendar) AS calendar, SUM(messages) AS messages FROM ("
            " SELECT mailbox, COUNT(*) AS calendar, 0 AS messages FROM events WHERE cancelled = 0 GROUP BY mailbox"
            " UNION ALL SELECT mailbox, 0, COUNT(*) FROM messages GROUP BY mailbox"
            ") GROUP BY mailbox ORDER BY mailbox")
        return [{"address": r["mailbox"], "calendar": r["calendar"], "messages": r["messages"]} for r in rows]

    # --- messages
    def add_message(self, mailbox: str, sender: str, send_id: str, received_utc: str, data: dict[str, Any]) -> int:
        return self._run("INSERT INTO messages (mailbox, sender, send_id, received_utc, data) VALUES (?, ?, ?, ?, ?)",
                         (mailbox, sender, send_id, received_utc, _dumps(data)))

    def messages(self, mailbox: str) -> list[tuple[int, dict[str, Any]]]:
        return [(r["seq"], json.loads(r["data"])) for r in self._all(
            "SELECT seq, data FROM messages WHERE mailbox = ? ORDER BY seq", (mailbox,))]

    def sends_since(self, sender: str, since: float) -> list[tuple[float, int]]:
        """A sender's sends after an instant (epoch seconds), oldest first, as (instant, recipients)."""
        since_utc = datetime.fromtimestamp(since, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        rows = self._all("SELECT MIN(received_utc) AS received, COUNT(*) AS recipients FROM messages "
                         "WHERE sender = ? AND received_utc > ? GROUP BY send_id ORDER BY received",
                         (sender, since_utc))
        return [(datetime.strptime(r["received"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp(),
                 int(r["recipients"])) for r in rows]

    # --- Key Vault secrets
    def put_secret(self, name: str, version: str, data: dict[str, Any]) -> None:
        self._run("INSERT INTO secrets (name, version, data) VALUES (?, ?, ?)", (name.lower(), version, _dumps(data)))

    def secret(self, name: str, version: str | None = None) -> dict[str, Any] | None:
        if version:
            row = self._one("SELECT data FROM secrets WHERE name = ? AND version = ?", (name.lower(), version))
        else:
            row = self._one("SELECT data FROM secrets WHERE name = ? ORDER BY seq DESC LIMIT 1", (name.lower(),))
        return None if row is None else dict(json.loads(row["data"]))

    def secret_versions(self, name: str) -> list[dict[str, Any]]:
        return [json.loads(r["data"]) for r in self._all(
            "SELECT data FROM secrets WHERE name = ? ORDER BY seq", (name.lower(),))]

    def secret_names(self) -> list[dict[str, Any]]:
        return [json.loads(r["data"]) for r in self._all(
            "SELECT data FROM secrets WHERE seq IN (SELECT MAX(seq) FROM secrets GROUP BY name) ORDER BY name")]

    def wipe(self) -> None:
        """Forget every mailbox, directory object and secret; the data directory's identity stays."""
        with self.transaction():
            for table in ("events", "event_props", "messages", "secrets", "users", "apps", "event_changes",
                          "delta_tokens", "subscriptions"):
                self._run(f"DELETE FROM {table}")
