"""Passwords, sessions and API tokens of the store's users, for the web application.

A password is kept only as its argon2id hash (argon2-cffi, with the library's current
parameters; a hash made with older parameters is replaced at the next login). A session (a
page's cookie) or an API token is a random secret handed to the client once; the store keeps
its SHA-256, so a copy of the database opens no session. Setting a password is audited (that
it was set, by whom; never the hash).

These functions work on a :class:`~econplan.execution.store.Store`'s connection and follow its
rules: one transaction each, users checked against :mod:`econplan.execution.access`.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from econplan.execution.access import AccessError, User
from econplan.execution.store import tables as t
from econplan.execution.store.store import Store, StoreError

KINDS = {"cookie": timedelta(hours=12), "bearer": timedelta(days=30)}
"""Session kind -> how long it lasts: a page's cookie a working day, an API token a month."""

MIN_PASSWORD = 8
_hasher = PasswordHasher()
# verifying against this when the user has no password costs what a real check costs, so the
# time taken does not tell an attacker which names exist
_DUMMY = _hasher.hash("econplan: no such user")


def use_cheapest_hashes_for_tests() -> None:
    """Hash and check passwords with argon2's cheapest parameters (``profiles.CHEAPEST``):
    a test suite's setting, so that its logins cost microseconds, called by
    tests/conftest.py and nothing else; econplan itself never calls it. A hash made so is
    replaced with a proper one at the next login to a server that did not call it."""
    from argon2 import profiles

    global _hasher, _DUMMY
    _hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
    _DUMMY = _hasher.hash("econplan: no such user")


@dataclass(frozen=True)
class Session:
    """A session found by its secret: whose, which kind, and its CSRF token (cookie only)."""

    user: User
    kind: str
    csrf: str
    expires_at: str


def _now() -> datetime:
    return datetime.now(UTC)


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def set_password(store: Store, actor: str, name: str, password: str) -> None:
    """Set ``name``'s password: ``actor`` is ``name`` itself or an admin. Every session and
    token of ``name`` ends (a changed password locks out whoever had the old one)."""
    if len(password) < MIN_PASSWORD:
        raise StoreError(f"a password needs at least {MIN_PASSWORD} characters")
    if not password.isprintable():
        raise StoreError("a password is printable characters only")
    digest = _hasher.hash(password)
    with store._ready() as connection:
        user = store._user(connection, actor)
        if actor != name:
            user.require("user.add")
        store._user(connection, name)
        now = _stamp(_now())
        connection.execute(sa.delete(t.passwords).where(t.passwords.c.user == name))
        connection.execute(
            sa.insert(t.passwords).values(user=name, hash=digest, set_at=now, set_by=actor)
        )
        connection.execute(sa.delete(t.sessions).where(t.sessions.c.user == name))
        store._audit(connection, actor, "user.password", f"password:{name}", None, {"set_at": now})


def check_password(store: Store, name: str, password: str) -> User | None:
    """The user when ``password`` is theirs, else None (no reason given: not whether the name
    exists)."""
    with store.engine.connect() as connection:
        stored = connection.execute(
            sa.select(t.passwords.c.hash).where(t.passwords.c.user == name)
        ).scalar()
    try:
        _hasher.verify(stored or _DUMMY, password)
    except (VerificationError, InvalidHashError):
        return None
    if stored is None:
        return None
    if _hasher.check_needs_rehash(stored):
        with store._ready() as connection:
            connection.execute(
                sa.update(t.passwords)
                .where(t.passwords.c.user == name)
                .values(hash=_hasher.hash(password))
            )
    return store.user(name)


def open_session(store: Store, name: str, kind: str) -> tuple[str, Session]:
    """A new session or API token for ``name`` (who proved their password): the secret to
    hand to the client, and the session."""
    if kind not in KINDS:
        raise ValueError(f"unknown session kind {kind!r}")
    secret = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32) if kind == "cookie" else ""
    now = _now()
    expires = _stamp(now + KINDS[kind])
    with store._ready() as connection:
        user = store._user(connection, name)
        # sessions that have run out are swept when anyone logs in
        connection.execute(sa.delete(t.sessions).where(t.sessions.c.expires_at < _stamp(now)))
        connection.execute(
            sa.insert(t.sessions).values(
                hash=secret_hash(secret),
                user=name,
                kind=kind,
                csrf=csrf,
                created_at=_stamp(now),
                expires_at=expires,
            )
        )
    return secret, Session(user, kind, csrf, expires)


def find_session(store: Store, secret: str, kind: str) -> Session | None:
    """The live session of ``kind`` whose secret this is, else None. Reads without the store's
    writer lock: every request asks this."""
    s = t.sessions
    with store.engine.connect() as connection:
        row = connection.execute(
            sa.select(s.c.user, s.c.kind, s.c.csrf, s.c.expires_at).where(
                (s.c.hash == secret_hash(secret)) & (s.c.kind == kind)
            )
        ).first()
        if row is None or row.expires_at < _stamp(_now()):
            return None
        try:
            user = store._user(connection, row.user)
        except AccessError:
            return None
    return Session(user, row.kind, row.csrf, row.expires_at)


def close_session(store: Store, secret: str) -> None:
    with store._ready() as connection:
        connection.execute(sa.delete(t.sessions).where(t.sessions.c.hash == secret_hash(secret)))


def has_password(store: Store, name: str) -> bool:
    with store.engine.connect() as connection:
        found = connection.execute(
            sa.select(t.passwords.c.user).where(t.passwords.c.user == name)
        ).first()
    return found is not None
