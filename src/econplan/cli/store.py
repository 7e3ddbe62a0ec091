"""``econplan store ...`` and ``econplan user add``: the plan store from the command line.

Every command takes ``--db`` (or ECONPLAN_DB; default econplan.db here) and ``--user`` (or
ECONPLAN_USER); commands that change the store need the user, reading needs none (whoever can
open the database can read it; the web server enforces who sees what).

A refusal (no such version, a state that does not allow it, a role the user lacks) is one line
and exit 2; the store is left as it was.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from econplan.cli.common import console, fail, json_option, main, print_json, validated
from econplan.execution.access import ROLES, AccessError
from econplan.execution.store import Store, StoreError, Version

db_option = click.option(
    "--db",
    "db",
    envvar="ECONPLAN_DB",
    default=None,
    metavar="URL",
    help="The store: a SQLite file or a SQLAlchemy URL "
    "(postgresql+psycopg://...); default ECONPLAN_DB, else econplan.db here.",
)
user_option = click.option(
    "--user",
    "user",
    envvar="ECONPLAN_USER",
    default=None,
    metavar="NAME",
    help="Who does this (default ECONPLAN_USER); every change is logged under this name.",
)


def store_command(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options every store command takes, and its store opened as ``store``."""

    @db_option
    @user_option
    @functools.wraps(command)
    def wrapper(db: str | None, user: str | None, **kwargs: Any) -> Any:
        with refusals(), Store(db) as store:
            return command(store=store, user=user, **kwargs)

    return wrapper


@contextmanager
def refusals() -> Iterator[None]:
    """A refused store action as one line and exit 2."""
    try:
        yield
    except (StoreError, AccessError) as error:
        fail(str(error))


def who(user: str | None) -> str:
    if not user:
        fail("name who you are with --user NAME (or set ECONPLAN_USER)")
    return user


def version_dict(version: Version) -> dict[str, Any]:
    return {**version.record(), "label": version.label}


def print_version(version: Version) -> None:
    console.print(f"version {version.id}: {version.label}, {version.state}", soft_wrap=True)
    rows = [
        ("plan", version.plan[:16]),
        ("economy", version.economy[:16]),
        ("created", f"{version.created_at} by {version.created_by}"),
        ("submitted", f"{version.submitted_at} by {version.submitted_by}"),
        ("decided", f"{version.decided_at} by {version.decided_by}"),
        ("revises", str(version.revises) if version.revises else ""),
        ("note", version.note),
    ]
    for name, value in rows:
        if value and "None by None" not in value:
            console.print(f"  {name:<10} {value}", soft_wrap=True)


@main.group("store")
def store_group() -> None:
    """The plan store: versions of plans, their approval, and the audit log."""


@store_group.command("init")
@store_command
@json_option
def init_command(store: Store, user: str | None, as_json: bool) -> None:
    """Create the store (or bring an older one up to date); in a new store, --user becomes
    its first admin."""
    new = store.init(who(user))
    if as_json:
        print_json({"store": store.where, "created": new, "revision": store.revision()})
    elif new:
        console.print(f"Created the store at {store.where}; {user} is its admin.", soft_wrap=True)
    else:
        console.print(f"The store at {store.where} is up to date.", soft_wrap=True)


@store_group.command("add")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option(
    "--name", "line", required=True, help="The plan line, e.g. 'five-year plan 2021-2025'."
)
@click.option(
    "--economy",
    "path",
    type=click.Path(path_type=Path),
    default=None,
    help="The economy the plan was made from (default: the built-in economy).",
)
@click.option("--note", default="", help="What this version is.")
@store_command
@json_option
def add_command(
    store: Store,
    user: str | None,
    directory: Path,
    line: str,
    path: Path | None,
    note: str,
    as_json: bool,
) -> None:
    """Store the plan written in DIRECTORY as the next draft version of the plan line --name;
    prints the new version's id."""
    from econplan.cli.common import read_plan

    actor = who(user)
    economy = validated(path, as_json).economy
    assert economy is not None
    plan = read_plan(economy, directory, economy_option="--economy")
    version = store.add_version(actor, line, plan, directory, economy, note)
    if as_json:
        print_json(version_dict(version) | {"version": version.id})
    else:
        console.print(str(version.id))


@store_group.command("list")
@click.option("--name", "line", default=None, help="Only this plan line.")
@store_command
@json_option
def list_command(store: Store, user: str | None, line: str | None, as_json: bool) -> None:
    """Every version, with its state."""
    versions = store.versions(line)
    if as_json:
        print_json({"versions": [version_dict(v) for v in versions]})
        return
    table = Table(title=f"Plan versions in {store.where}")
    for column in ("id", "plan line", "v", "state", "created by", "submitted by", "decided by"):
        table.add_column(column)
    for v in versions:
        table.add_row(
            str(v.id),
            v.line,
            str(v.number),
            v.state,
            v.created_by,
            v.submitted_by or "",
            v.decided_by or "",
        )
    console.print(table)


@store_group.command("show")
@click.argument("version", type=int)
@store_command
@json_option
def show_command(store: Store, user: str | None, version: int, as_json: bool) -> None:
    """One version: its state, who did what when, and its plan's targets."""
    found = store.version(version)
    plan = store.plan(version)
    targets = plan.info.get("targets", [])
    if as_json:
        print_json(
            version_dict(found) | {"objectives": plan.info.get("objectives"), "targets": targets}
        )
        return
    print_version(found)
    met = sum(bool(t.get("met")) for t in targets)
    console.print(f"  targets    {met} of {len(targets)} met", soft_wrap=True)


def _move(action: str) -> Callable[..., Any]:
    past = {"submit": "submitted", "approve": "approved", "reject": "rejected"}[action]

    @click.argument("version", type=int)
    @click.option("--note", default="", help="Why (kept with the version and in the audit log).")
    @store_command
    @json_option
    def command(store: Store, user: str | None, version: int, note: str, as_json: bool) -> None:
        moved = getattr(store, action)(who(user), version, note)
        if as_json:
            print_json(version_dict(moved))
        else:
            console.print(f"version {moved.id} ({moved.label}) {past} by {user}", soft_wrap=True)

    command.__doc__ = {
        "submit": "Submit a draft version for approval.",
        "approve": "Approve a submitted version (an approver other than its submitter); the "
        "version approved before it in its line is superseded.",
        "reject": "Reject a submitted version (an approver other than its submitter).",
    }[action]
    return command


for _action in ("submit", "approve", "reject"):
    store_group.command(_action)(_move(_action))


@store_group.command("audit")
@click.option("--verify", "check", is_flag=True, help="Walk the hash chain; exit 2 if broken.")
@click.option(
    "--head",
    default=None,
    metavar="HASH",
    help="With --verify: the head hash recorded earlier, so a deleted tail is found too.",
)
@click.option(
    "--limit", type=click.IntRange(min=1), default=50, show_default=True, help="Entries shown."
)
@store_command
@json_option
def audit_command(
    store: Store, user: str | None, check: bool, head: str | None, limit: int, as_json: bool
) -> None:
    """The audit log: who changed what, when; with --verify, whether it is intact."""
    actor = user
    if check:
        result = store.verify_audit(actor, head)
        if as_json:
            print_json(
                {"ok": result.ok, "entries": result.entries, "head": result.head}
                | {"problems": result.problems}
            )
        elif result.ok:
            console.print(
                f"The audit chain is intact: {result.entries} entries, head {result.head}.",
                soft_wrap=True,
            )
        else:
            for problem in result.problems:
                click.echo(f"{store.where}: {problem}", err=True)
        if not result.ok:
            raise click.exceptions.Exit(2)
        return
    entries = store.audit(actor)
    if as_json:
        print_json({"entries": entries})
        return
    table = Table(title=f"Audit log of {store.where} ({len(entries)} entries)")
    for column in ("id", "at", "user", "action", "object"):
        table.add_column(column)
    for entry in entries[-limit:]:
        table.add_row(
            str(entry["id"]), entry["at"][:19], entry["user"], entry["action"], entry["object"]
        )
    console.print(table)
    if entries:
        console.print(f"head {entries[-1]['hash']}", soft_wrap=True)


@main.group("user")
def user_group() -> None:
    """Users of the store and their roles."""


@user_group.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(sorted(ROLES)), required=True)
@click.option("--region", default="", help="A regional planner's region.")
@click.option("--facility", default="", help="An enterprise's facility.")
@store_command
@json_option
def user_add_command(
    store: Store,
    user: str | None,
    name: str,
    role: str,
    region: str,
    facility: str,
    as_json: bool,
) -> None:
    """Give NAME a role (an admin does this, for someone else). Roles:"""
    if region and facility:
        fail("give --region or --facility, not both")
    added = store.add_user(who(user), name, role, region or facility)
    record = {
        "name": added.name,
        "roles": sorted(added.roles),
        "regions": sorted(added.regions),
        "facilities": sorted(added.facilities),
    }
    if as_json:
        print_json(record)
    else:
        console.print(f"{added.name}: {', '.join(sorted(added.roles))}", soft_wrap=True)


user_add_command.help = (
    (user_add_command.help or "")
    + " "
    + "; ".join(f"{role} ({what})" for role, what in ROLES.items())
)
