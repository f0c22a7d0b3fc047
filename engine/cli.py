"""The ``biflow`` command. Every command but ``db`` brings the schema up to date first."""

from __future__ import annotations

import json
import signal
import sys
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from engine import queries
from engine.core import Engine, database_url, model_files
from engine.db import Database
from engine.demo import start_examples
from engine.errors import BiflowError, Conflict, DeploymentFailed
from engine.identity import SYSTEM, Actor

PROCESSES_DIR = Path(__file__).resolve().parents[1] / "processes"


def _engine(dev_clock: bool = False) -> Engine:
    return Engine.from_url(database_url(), dev_clock=dev_clock)


def _actor(user: str | None, groups: tuple[str, ...]) -> Actor:
    return Actor(user, frozenset(groups)) if user else SYSTEM


def _json_option(value: str | None, name: str) -> dict[str, Any] | None:
    if value is None:
        return None
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not valid JSON: {exc.msg}", param_hint=name) from None
    if not isinstance(parsed, dict):
        raise click.BadParameter("must be a JSON object", param_hint=name)
    return parsed


def _fail(error: BiflowError) -> None:
    click.echo(f"error: {error.message}", err=True)
    if isinstance(error.details, dict):
        for field, messages in error.details.items():
            text = "; ".join(map(str, messages)) if isinstance(messages, list) else messages
            click.echo(f"  {field}: {text}", err=True)
    sys.exit(1)


user_options = [
    click.option("--user", "user", help="act as this user (default: the system)"),
    click.option("--group", "groups", multiple=True, help="a group of that user (repeatable)"),
]


def with_user(function):
    for option in reversed(user_options):
        function = option(function)
    return function


@click.group()
def main() -> None:
    """biflow: the BPMN engine of Brussels International."""


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    Database(database_url()).upgrade()
    click.echo("database is up to date")


@db.command("revision")
@click.option("-m", "message", required=True)
def db_revision(message: str) -> None:
    """(developers) Generate a migration from the models."""
    from alembic import command

    database = Database(database_url())
    with database.engine.connect() as connection:
        command.revision(database.alembic_config(connection), message=message,
                         autogenerate=True)


def _deploy_or_exit(engine: Engine, paths, actor: Actor) -> None:
    """Print ``KEY vN [unchanged]`` per process, or one line per problem and exit 1."""
    try:
        deployed = engine.deploy_paths(paths, actor)
    except DeploymentFailed as failure:
        for problem in failure.problems:
            click.echo(str(problem), err=True)
        sys.exit(1)
    except BiflowError as error:
        _fail(error)
    for item in deployed:
        suffix = " unchanged" if item.unchanged else ""
        click.echo(f"{item.key} v{item.version}{suffix}")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@with_user
def deploy(paths: tuple[str, ...], user: str | None, groups: tuple[str, ...]) -> None:
    """Deploy BPMN/DMN files (directories are searched)."""
    _deploy_or_exit(_engine(), paths, _actor(user, groups))


#: the candidate groups of the five procedures (../shared/domain/PROCEDURES.md)
DEMO_GROUPS = ("external-relations", "europe-directorate", "protocol", "erdf-directorate",
               "licensing-unit", "director-general", "minister-cabinet", "finance",
               "admin", "process-owners")


DEMO_TOKENS = Path("var/demo-tokens.env")


def _demo_users(engine: Engine) -> None:
    """One user per group (``demo-GROUP``) with a fresh token each: printed, and written as
    shell variables (``TOKEN_LICENSING_UNIT=...``) to var/demo-tokens.env (mode 600)."""
    lines = []
    click.echo("demo users (new tokens at every start):")
    for group in sorted(set(DEMO_GROUPS) | engine.groups_in_use()):
        name = f"demo-{group}"
        try:
            token = engine.add_user(name, [group], display_name=f"Demo {group}")
        except Conflict:
            token = engine.issue_token(name)
        click.echo(f"  {name:32} {token}")
        lines.append(f"TOKEN_{group.upper().replace('-', '_')}={token}")
    DEMO_TOKENS.parent.mkdir(parents=True, exist_ok=True)
    DEMO_TOKENS.touch(mode=0o600)
    DEMO_TOKENS.write_text("\n".join(lines) + "\n")
    click.echo(f"tokens written to {DEMO_TOKENS} (source it in your shell)")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="server processes (more than one: gunicorn); about one per core")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256),
              help="request threads per process")
@click.option("--demo", is_flag=True,
              help="demo users per group (tokens printed) and one example instance per procedure")
@click.option("--no-worker", is_flag=True,
              help="do not fire timers or run jobs here (run `biflow worker` instead)")
@click.option("--dev-clock", is_flag=True,
              help="a clock admins may move forward (GET/POST /api/dev/clock); demos only")
def serve(host: str, port: int, workers: int, threads: int, demo: bool,
          no_worker: bool, dev_clock: bool) -> None:
    """Upgrade, deploy processes/, run a worker (timers, jobs, e-mail) and serve the API."""
    engine = _engine(dev_clock)
    click.echo(f"database: {engine.db.url.render_as_string(hide_password=True)}")
    if model_files([PROCESSES_DIR]):
        _deploy_or_exit(engine, [PROCESSES_DIR], SYSTEM)
    if demo:
        _demo_users(engine)
        for example, outcome in start_examples(engine, PROCESSES_DIR / "examples"):
            click.echo(f"  example {example.process_key} {example.business_key}: {outcome}")
    click.echo(f"serving on http://{host}:{port}/api (docs: http://{host}:{port}/api/docs)")
    from api.server import serve_in_process, serve_with_workers  # the CLI alone imports api

    if workers == 1:
        serve_in_process(engine, host, port, threads, run_executor=not no_worker,
                         dev_clock=dev_clock)
    else:
        engine.close()  # each worker process opens its own connections
        serve_with_workers(host, port, workers, threads, run_executor=not no_worker,
                           dev_clock=dev_clock)


@main.command()
@click.option("--poll", default=1.0, show_default=True, type=click.FloatRange(0.05, 60),
              help="seconds between looks for work made due by other processes")
@click.option("--lease", default=300, show_default=True, type=click.IntRange(1, 86400),
              help="seconds a claimed item stays this worker's before others may take it")
@click.option("--batch", default=50, show_default=True, type=click.IntRange(1, 1000),
              help="items claimed at a time")
@click.option("--dev-clock", is_flag=True, help="follow the dev clock (see serve --dev-clock)")
def worker(poll: float, lease: int, batch: int, dev_clock: bool) -> None:
    """Fire timers, run jobs and send e-mail, without HTTP, until SIGTERM or Ctrl-C.

    Run as many as needed on PostgreSQL (each item is done once); on SQLite run one.
    """
    engine = _engine(dev_clock)
    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopped.set())
    halt = engine.run_in_background(poll, batch=batch, lease=timedelta(seconds=lease))
    click.echo(f"worker running on {engine.db.url.render_as_string(hide_password=True)}")
    stopped.wait()
    halt()
    engine.close()


@main.group()
def user() -> None:
    """Users, groups and API tokens."""


@user.command("add")
@click.argument("name")
@click.option("--group", "groups", multiple=True, help="repeatable")
@click.option("--display-name")
@click.option("--email")
def user_add(name: str, groups: tuple[str, ...], display_name: str | None,
             email: str | None) -> None:
    """Create a user and print a first token (shown once)."""
    try:
        click.echo(_engine().add_user(name, groups, display_name=display_name, email=email))
    except BiflowError as error:
        _fail(error)


@user.command("token")
@click.argument("name")
def user_token(name: str) -> None:
    """Issue another token for a user (shown once)."""
    try:
        click.echo(_engine().issue_token(name))
    except BiflowError as error:
        _fail(error)


@user.command("revoke-tokens")
@click.argument("name")
def user_revoke(name: str) -> None:
    """Revoke every token of a user."""
    try:
        click.echo(f"revoked {_engine().revoke_tokens(name)} token(s)")
    except BiflowError as error:
        _fail(error)


@main.command()
@click.argument("process_key")
@click.option("--business-key")
@click.option("--data", help="start data as a JSON object")
@with_user
def start(process_key: str, business_key: str | None, data: str | None, user: str | None,
          groups: tuple[str, ...]) -> None:
    """Start an instance of the latest version of PROCESS_KEY."""
    engine = _engine()
    try:
        instance = engine.start(process_key, actor=_actor(user, groups),
                                business_key=business_key, data=_json_option(data, "--data"))
    except BiflowError as error:
        _fail(error)
    click.echo(f"{instance.id} {instance.state}")
    engine.run_jobs()


@main.command()
@with_user
@click.option("--all", "show_all", is_flag=True, help="every ready task (as the system)")
def tasks(user: str | None, groups: tuple[str, ...], show_all: bool) -> None:
    """List the ready tasks the user may work on, by due date."""
    engine = _engine()
    actor = SYSTEM if show_all else _actor(user, groups)
    page = engine.read(queries.tasks, actor, queries.TaskQuery(limit=200), engine.clock.now())
    for task in page.items:
        due = task.due_at.isoformat() if task.due_at else "-"
        click.echo(f"{task.id}  {task.process_key}  {task.element_id}  "
                   f"{task.business_key or '-'}  due {due}  {task.assignee or 'unassigned'}")
    click.echo(f"{page.total} task(s)")


@main.command()
@click.argument("task_id")
@click.option("--data", help="form data as a JSON object")
@with_user
def complete(task_id: str, data: str | None, user: str | None, groups: tuple[str, ...]) -> None:
    """Complete a ready user task."""
    engine = _engine()
    try:
        task = engine.complete_task(task_id, _json_option(data, "--data"),
                                    actor=_actor(user, groups))
    except BiflowError as error:
        _fail(error)
    engine.run_jobs()
    click.echo(f"completed; instance {engine.instance(task.instance_id).state}")


@main.command()
@click.argument("name")
@click.option("--instance-id")
@click.option("--business-key")
@click.option("--data", help="message payload as a JSON object")
@with_user
def message(name: str, instance_id: str | None, business_key: str | None, data: str | None,
            user: str | None, groups: tuple[str, ...]) -> None:
    """Deliver message NAME to an instance (by id or business key)."""
    engine = _engine()
    try:
        reached = engine.correlate(name, actor=_actor(user, groups), instance_id=instance_id,
                                   business_key=business_key, data=_json_option(data, "--data"))
    except BiflowError as error:
        _fail(error)
    engine.run_jobs()
    for instance in reached:
        click.echo(f"{instance.id} reached")


@main.command()
@click.argument("instance_id")
@click.option("--reason", required=True)
@with_user
def cancel(instance_id: str, reason: str, user: str | None, groups: tuple[str, ...]) -> None:
    """Cancel a running instance."""
    engine = _engine()
    try:
        engine.cancel(instance_id, reason, actor=_actor(user, groups))
    except BiflowError as error:
        _fail(error)
    click.echo("cancelled")


@main.group()
def jobs() -> None:
    """Service-task jobs and incidents."""


@jobs.command("run")
def jobs_run() -> None:
    """Run the due jobs once."""
    click.echo(f"jobs run: {_engine().run_jobs()}")


@jobs.command("incidents")
def jobs_incidents() -> None:
    """List open incidents."""
    for incident in _engine().read(queries.incidents):
        click.echo(f"{incident.id}  {incident.instance_id}  {incident.element_id}  "
                   f"{incident.message}")


@jobs.command("retry")
@click.argument("incident_id", type=int)
def jobs_retry(incident_id: int) -> None:
    """Retry the job of an incident."""
    engine = _engine()
    try:
        engine.retry_incident(incident_id, actor=SYSTEM)
    except BiflowError as error:
        _fail(error)
    click.echo(f"jobs run: {engine.run_jobs()}")


@main.group()
def audit() -> None:
    """The tamper-evident audit trail."""


@audit.command("verify")
def audit_verify() -> None:
    """Check every hash chain; name each changed, deleted or inserted event and exit 1."""
    findings, events, chains = _engine().verify_audit()
    if not findings:
        click.echo(f"audit trail intact: {events} events in {chains} chains")
        return
    for finding in findings:
        click.echo(str(finding))
    click.echo(f"audit trail broken: {len(findings)} finding(s) in {events} events "
               f"in {chains} chains", err=True)
    sys.exit(1)
