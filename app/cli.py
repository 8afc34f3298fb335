"""Command line: `flask users`, `flask demo`, `flask setup`, `flask worker`, `flask clock`."""
from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup

users_cli = AppGroup("users", help="Manage user accounts.")
demo_cli = AppGroup("demo", help="Demo data for development.")
setup_cli = AppGroup("setup", help="Check that this environment can run the app.")

@users_cli.command("create-admin")
@click.argument("email")
@click.option("--password", help="Password for a new account (prompted when omitted).")
def create_admin(email: str, password: str | None) -> None:
    """Create an admin account, or grant the admin role to an existing one."""
    from app.auth.services import create_admin as make_admin
    from app.auth.services import find_user_by_email
    from app.errors import InvalidInput

    if find_user_by_email(email) is None and not password:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = make_admin(email, password or "")
    except InvalidInput as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"{user.email} is an admin.")


@users_cli.command("list")
def list_users() -> None:
    from sqlalchemy import select

    from app.extensions import db
    from app.models import User

    for user in db.session.scalars(select(User).order_by(User.id)):
        click.echo(f"{user.id:>5}  {user.email:<40} {user.role:<6} {'active' if user.active else 'disabled'}")


@demo_cli.command("load")
@click.option("--strategies/--no-strategies", default=True,
              help="Also create the demo strategies (a minute or two; `make run` runs them in the background).")
def demo_load(strategies: bool) -> None:
    """Create the demo accounts (and demo data) when they do not exist. Idempotent."""
    from app.demo import load_demo

    if current_app.config["ENV_NAME"] == "production":
        raise click.ClickException("Refusing to load demo data in production.")
    created = load_demo(strategies=strategies)
    for email, password in created.items():
        click.echo(f"  demo login: {email} / {password}")
    if not created:
        click.echo("Demo accounts already exist (passwords were printed when they were created).")


@demo_cli.command("strategies")
def demo_strategies() -> None:
    """Create ~60 demo strategies: backtested by the engine and forward-tracked through the
    paper ledger over the last 100 simulated sessions, then ranked. Idempotent."""
    from app.strategies.demo import load_demo_strategies

    if current_app.config["ENV_NAME"] == "production":
        raise click.ClickException("Refusing to load demo data in production.")
    stats = load_demo_strategies()
    click.echo(f"Demo strategies: {stats}")


@setup_cli.command("check")
def setup_check() -> None:
    """Verify settings, database, Redis, migrations, storage and mail; say how to fix problems."""
    from app.setup_check import run_checks

    ok = True
    for name, passed, detail in run_checks():
        mark = click.style("ok  ", fg="green") if passed else click.style("FAIL", fg="red")
        click.echo(f"[{mark}] {name}: {detail}")
        ok &= passed
    sys.exit(0 if ok else 1)


@click.command("worker")
@click.option("--queues", default="scans,default,exports,reviews", show_default=True)
@click.option("--burst", is_flag=True, help="Exit when the queues are empty.")
def worker(queues: str, burst: bool) -> None:
    """Run an RQ worker with the app context."""
    from app.jobs import run_worker

    run_worker(tuple(q.strip() for q in queues.split(",") if q.strip()), burst=burst)


@click.command("clock")
def clock() -> None:
    """Run RQ's cron scheduler with the jobs declared in app/schedule.py."""
    from rq.cron import CronScheduler

    from app.redis_store import get_redis

    scheduler = CronScheduler(connection=get_redis(), logging_level="INFO")
    scheduler.load_config_from_file("app.schedule")
    scheduler.start()


def register_cli(app: Flask) -> None:
    for command in (users_cli, demo_cli, setup_cli, worker, clock):
        app.cli.add_command(command)
