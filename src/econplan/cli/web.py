"""``econplan serve``: the web application (docs/web.md), and ``econplan user password``."""

from __future__ import annotations

import sys

import click

from econplan.cli.common import console, fail, main
from econplan.cli.store import db_option, refusals, user_group, user_option, who
from econplan.execution.store import Store


@main.command("serve")
@db_option
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option(
    "--jobs",
    "job_threads",
    type=click.IntRange(0, 8),
    default=1,
    show_default=True,
    help="Jobs (solves, re-plans) run at once, their solver runs taking turns; 0 queues "
    "them without running.",
)
@click.option("--demo-only", is_flag=True, help="Seed an empty store with the demo and stop.")
def serve_command(db: str | None, host: str, port: int, job_threads: int, demo_only: bool) -> None:
    """Serve the plan store as a web application and an HTTP API (OpenAPI at /openapi.json).
    On an empty store, first seeds the demo: the built-in economy's plan in force, months of
    simulated reports and one user per role (their names and passwords are printed)."""
    import uvicorn

    from econplan.web import demo
    from econplan.web.app import create_app

    with refusals():
        store = Store(db)
        if demo.is_empty(store):
            console.print(f"Seeding the demo in {store.where} ...", soft_wrap=True)
            version = demo.seed(store, say=lambda m: console.print(f"  {m}", soft_wrap=True))
            console.print(f"Version {version} is in force. Demo users (name / password):")
            for user in demo.USERS:
                scope = f" for {user.scope}" if user.scope else ""
                console.print(f"  {user.name:<10} {user.password:<16} {user.role}{scope}")
        elif demo_only:
            fail(f"{store.where}: not empty; the demo seeds only an empty store")
        if demo_only:
            return
        if store.revision() != store.head():
            fail(f"{store.where}: not up to date; run `econplan store init --user NAME` first")
        app = create_app(store, job_threads)
    console.print(f"econplan at http://{host}:{port}/ (API: /docs, /openapi.json)", soft_wrap=True)
    sys.stdout.flush()
    uvicorn.run(app, host=host, port=port, log_level="warning")


@user_group.command("password")
@click.argument("name")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input (for scripts).",
)
@db_option
@user_option
def user_password_command(
    db: str | None, user: str | None, name: str, password_stdin: bool
) -> None:
    """Set NAME's password (NAME itself, or an admin); NAME's sessions and tokens end. Asked
    for without echo, or read with --password-stdin; never given on the command line."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    from econplan.execution.store.credentials import set_password

    with refusals(), Store(db) as store:
        set_password(store, who(user), name, password)
    console.print(f"{name}'s password is set.")
