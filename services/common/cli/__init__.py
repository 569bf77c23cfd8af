"""``crm``: tokens, bus, dead letters, migrations, import, demo, run."""
import csv
import json
import os
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from services.common.config import load_config

app = typer.Typer(help="Kehu CRM command line", no_args_is_help=True)
bus_app = typer.Typer(help="RabbitMQ topology from the contract", no_args_is_help=True)
dlq_app = typer.Typer(help="Dead-letter queues", no_args_is_help=True)
import_app = typer.Typer(help="Bulk imports through the public RPC", no_args_is_help=True)
app.add_typer(bus_app, name="bus")
app.add_typer(dlq_app, name="dlq")
app.add_typer(import_app, name="import")
from services.common.cli.audit import audit_app  # noqa: E402

app.add_typer(audit_app, name="audit")
console = Console()


def _cfg():
    return load_config()


@app.command()
def token(user: str = typer.Option(None, help="employee id (sub)"),
          service: str = typer.Option(None, help="a service principal (another system) "
                                                 "instead of a user; needs --role system"),
          role: str = typer.Option(None, help="staff | manager | admin (demo users: theirs); "
                                              "system with --service"),
          department: str = typer.Option(None, help="sales|marketing|service|management "
                                                    "(demo users: theirs)"),
          name: str = typer.Option(None), ttl: int = typer.Option(720, help="minutes")):
    """Mint a JWT with the configured key (JWT.private_key, else JWT.key; JWT.kid in
    its header). Demo users (u1-u3 sales, s1-s3 service, mk1-mk2 marketing, m1
    manager) get their role, department and name. Sign in to a workspace: open
    http://127.0.0.1:8001/login and paste the token. ``--service NAME --role system``
    mints a service principal's token for another system calling the bus (context
    data ``authorization: Bearer <token>``)."""
    from services.common.auth import mint_service_token, mint_token
    from services.common.web.directory import dev_user
    if service:
        if user or (role or "system") != "system":
            typer.echo("--service takes --role system and no --user", err=True)
            raise typer.Exit(2)
        try:
            typer.echo(mint_service_token(_cfg(), service, ttl_minutes=ttl))
        except ValueError as exc:
            typer.echo(f"--service: {exc}", err=True)
            raise typer.Exit(2) from None
        return
    if not user:
        typer.echo("give --user ID (a person) or --service NAME --role system", err=True)
        raise typer.Exit(2)
    entry = dev_user(user) or {}
    role = role or entry.get("role", "staff")
    department = department or entry.get("department", "sales")
    typer.echo(mint_token(_cfg(), user, role, department, name=name or entry.get("name"),
                          ttl_minutes=ttl))
    if sys.stderr.isatty():  # scripts read the token alone from stdout
        typer.echo(f"# {user}: {role}, {department}. Sign in: open a workspace (e.g. "
                   "http://127.0.0.1:8001/login) and paste the line above; the JSON API "
                   "takes it as 'Authorization: Bearer <token>'.", err=True)


@bus_app.command("setup")
def bus_setup():
    """Declare exchanges, every consumer queue and its dead-letter queue."""
    from services.common.bus import setup_bus
    from services.contract import bus_settings
    cfg = _cfg()
    queues = setup_bus(cfg["AMQP_URI"], *bus_settings(cfg))
    console.print(f"bus ready: {len(queues)} consumer queues (+ dead-letter queues)")
    _bus_users(cfg)


def _bus_users(cfg):
    """Create the per-service, per-gateway and CLI bus users (least privilege) where
    this host has the rights; else print what an administrator runs. → the user
    prefix if they are ready, else None."""
    from services.common.bus_provision import default_prefix, given_credentials, provision
    from services.common.config import var_dir
    if str(cfg.get("BUS_USERS", "auto")).lower() in ("off", "false", "0", "no"):
        console.print("bus users: off (BUS_USERS=off): every process uses AMQP_URI's user")
        return None
    prefix = default_prefix(cfg["AMQP_URI"], cfg.get("BUS_USER_PREFIX"))
    done = provision(cfg["AMQP_URI"], var_dir(cfg), prefix,
                     given_credentials(cfg.get("BUS_CREDENTIALS")))
    if done["ok"]:
        console.print(f"bus users ready on vhost {done['vhost']!r} ({done['how']}): one per "
                      f"service, gateway and the CLI, passwords in "
                      f"{var_dir(cfg)}/bus-credentials.json")
        return prefix
    console.print(f"bus users NOT created ({done['why']}); every process keeps AMQP_URI's "
                  "user. An administrator creates them with:", soft_wrap=True)
    for line in done["commands"]:
        console.print(f"  {line}", soft_wrap=True, markup=False, highlight=False)
    return None


@bus_app.command("definitions")
def bus_definitions(out: Path = typer.Option(Path("deploy/rabbitmq/definitions.json"))):
    """Write RabbitMQ definitions.json generated from the contract."""
    from services.common.bus import definitions
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(definitions(int(_cfg().get("EVENT_DELIVERY_LIMIT", 5))),
                              indent=2) + "\n")
    console.print(f"wrote {out}")


@dlq_app.command("list")
def dlq_list(queue: str = typer.Argument(None, help="show messages of this consumer queue")):
    """Depth of every dead-letter queue (or the messages of one)."""
    from services.common.bus import dlq_depths, peek_dlq
    uri = _cfg()["AMQP_URI"]
    if queue:
        for m in peek_dlq(uri, queue):
            console.print(m)
        return
    table = Table("dead-letter queue", "messages")
    from services.contract import bus_settings
    for name, depth in dlq_depths(uri, bus_settings(_cfg())[1]):
        if depth:
            table.add_row(name, str(depth))
    console.print(table if table.row_count else "all dead-letter queues are empty")


@dlq_app.command("replay")
def dlq_replay(queue: str, limit: int = typer.Option(None)):
    """Re-drive dead-lettered messages into their queue (after the fix)."""
    from services.common.bus import replay_dlq
    moved = replay_dlq(_cfg()["AMQP_URI"], queue, limit)
    console.print(f"replayed {moved} message(s) into {queue}")


@app.command()
def migrate(services: list[str] = typer.Argument(None)):
    """Upgrade every service database (or the named ones) to head."""
    from services.common.cli.stack import built_services
    from services.common.migrate import has_migrations, upgrade
    for service in services or built_services():
        if has_migrations(service):
            upgrade(service)
            console.print(f"migrated {service}")


IMPORT_IN_FLIGHT = 2  # chunks sent before the first answer: the service works while we wait


def _pipelined(method, rows, chunk, depth=IMPORT_IN_FLIGHT):
    """Send chunks with up to ``depth`` in flight; yield (start, size, reply) in
    file order. A chunk that shares a USCC with one still in flight waits for it,
    so a company repeated across chunks is created once, then updated (as a
    serial import would)."""
    in_flight = []  # (start, size, usccs, reply)
    for start in range(0, len(rows), chunk):
        part = rows[start:start + chunk]
        usccs = {(r.get("uscc") or "").strip().upper() for r in part} - {""}
        while in_flight and (len(in_flight) >= depth
                             or any(usccs & f[2] for f in in_flight)):
            first = in_flight.pop(0)
            yield first[0], first[1], first[3]
        in_flight.append((start, len(part), usccs, method.call_async(part)))
    for start, size, _usccs, reply in in_flight:
        yield start, size, reply


@import_app.command("customers")
def import_customers(file: Path, report: Path = typer.Option(None, help="per-row errors CSV"),
                     chunk: int = typer.Option(500), as_user: str = typer.Option(None)):
    """Import customers from a CSV file (header = ImportRowSchema fields)."""
    from services.common.cli.rpc_client import cluster
    with file.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    actor = {"id": as_user, "roles": ["staff"], "department": "sales"} if as_user else None
    totals = {"created": 0, "updated": 0, "errors": []}
    columns = (TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with cluster(_cfg(), actor, timeout=300) as rpc, Progress(*columns, console=console) as bar:
        task = bar.add_task("rows", total=len(rows))

        def settle(start, size, reply):
            result = reply.result()
            totals["created"] += result["created"]
            totals["updated"] += result["updated"]
            totals["errors"] += [{"row": e["row"] + start, "fields": e["fields"]}
                                 for e in result["errors"]]
            bar.advance(task, size)

        for start, size, reply in _pipelined(rpc.customers.import_customers, rows, chunk):
            settle(start, size, reply)
    report = report or file.with_suffix(".errors.csv")
    with report.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["row", "field", "message"])
        for e in totals["errors"]:
            for field, msgs in e["fields"].items():
                writer.writerow([e["row"], field, "; ".join(map(str, msgs))])
    console.print(f"created {totals['created']}, updated {totals['updated']}, "
                  f"rejected {len(totals['errors'])} (details: {report})")
    if totals["errors"]:
        raise typer.Exit(2)


@app.command()
def demo(count: int = typer.Option(60), owners: str = typer.Option("u1,u2,u3")):
    """Load realistic demo customers through the public RPC."""
    import importlib

    from services.common.cli.demo import demo_customers
    from services.common.cli.rpc_client import cluster
    from services.common.errors import Conflict
    made = skipped = 0
    ids = []
    team = owners.split(",")
    with cluster(_cfg(), timeout=60) as rpc, Progress(console=console) as bar:
        task = bar.add_task("demo customers", total=count)
        for data in demo_customers(count, team):
            try:
                ids.append(rpc.customers.create_customer(data)["id"])
                made += 1
            except Conflict:
                skipped += 1
            bar.advance(task)
        console.print(f"demo: {made} customers created, {skipped} already there")
        if not ids:
            return
        # each department ships a demo module that adds its data through its public RPC
        steps = (("sales", "demo_pipeline", (rpc, ids, team)),
                 ("service_desk", "demo_desk", (rpc, ids)),
                 ("marketing", "demo_campaigns", (rpc, ids)))
        for service, fn_name, args in steps:
            try:
                fn = getattr(importlib.import_module(f"services.{service}.demo"), fn_name)
            except (ModuleNotFoundError, AttributeError):
                continue
            console.print(f"demo {service}: {fn(*args)}")


@app.command()
def run():
    """Bus setup, migrations, then every service and gateway until Ctrl-C."""
    from services.common.auth import mint_token
    from services.common.bus import setup_bus
    from services.common.cli.stack import (
        components,
        ensure_broker,
        http_port,
        metrics_port,
        supervise,
    )
    from services.contract import bus_settings
    cfg = _cfg()
    _warn_dev_key(cfg)
    if not ensure_broker(cfg["AMQP_URI"], echo=console.print):
        raise typer.Exit(1)
    setup_bus(cfg["AMQP_URI"], *bus_settings(cfg))
    prefix = _bus_users(cfg)
    migrate(None)
    console.rule("Kehu CRM")
    for name, _target, _env in components():
        base = name.removesuffix("_gateway")
        if name.endswith("_gateway"):
            console.print(f"  {name:24} http://127.0.0.1:{http_port(base)}/  "
                          f"(workspace; API docs: /docs, /openapi.json; metrics: /metrics)")
        else:
            console.print(f"  {name:24} metrics http://127.0.0.1:{metrics_port(base)}/metrics")
    console.print("\nDev tokens (12 h):")
    console.print(f"  STAFF_TOKEN={mint_token(cfg, 'u1', 'staff', 'sales')}", soft_wrap=True)
    console.print(f"  MANAGER_TOKEN={mint_token(cfg, 'm1', 'manager', 'management')}",
                  soft_wrap=True)
    console.print("\nSign in to a workspace: open http://127.0.0.1:"
                  f"{http_port('customers')}/login and paste a token from "
                  "`crm token --user u1` (demo users: u1-u3 sales, s1-s3 service, "
                  "mk1-mk2 marketing, m1 manager; `make demo` loads their data).")
    catcher = _dev_mail(cfg)
    console.print("\nCtrl-C stops everything.\n")
    try:
        code = supervise(echo=console.print, bus_user_prefix=prefix)
    finally:
        if catcher is not None:
            catcher.terminate()
    sys.exit(code)


def _warn_dev_key(cfg):
    """One warning line when tokens verify with config.yml's public dev key (the
    stack still starts: `make run` works out of the box)."""
    from services.common.auth import DEV_KEY_WARNING, dev_key_in_use
    if dev_key_in_use(cfg):
        console.print(f"WARNING: {DEV_KEY_WARNING}", style="bold yellow", soft_wrap=True,
                      markup=False, highlight=False)


def _dev_mail(cfg):
    """The embedded default (SQLite, no SMTP_HOST): a local mail catcher on
    127.0.0.1:8025 keeping each mail as var/mail/*.eml; the services' SMTP_* point at
    it. With SMTP_HOST set, mail goes there (docs/mail.md) → the catcher's process."""
    from services.common.config import var_dir
    from services.common.mail_catcher import start_dev_catcher
    embedded = all(str(u).startswith("sqlite") for u in (cfg.get("DB_URIS") or {}).values())
    console.print("\nE-mail (follow-up notices, survey links):")
    if cfg.get("SMTP_HOST") or not embedded:
        console.print(f"  SMTP server {cfg['SMTP_HOST']}:{cfg.get('SMTP_PORT')} (SMTP_HOST)"
                      if cfg.get("SMTP_HOST") else "  SMTP_HOST is not set: mails stay "
                      "pending in each service's mail_outbox (docs/mail.md)")
        return None
    proc, env = start_dev_catcher(var_dir(cfg) / "mail", echo=console.print)
    os.environ.update(env)  # the supervised services read SMTP_* from config.yml's ${...}
    return proc


def main():
    app()


@app.command("backup")
def backup_cmd(out: Path = typer.Option(..., help="directory for the dumps"),
               services: list[str] = typer.Argument(None)):
    """Consistent per-service dumps (VACUUM INTO / pg_dump -Fc) + RabbitMQ definitions."""
    from services.common.backup import backup
    manifest = backup(_cfg(), out, services)
    for service, entry in manifest["services"].items():
        console.print(f"  {service:14} {entry['file']:20} {sum(entry['rows'].values())} rows")
    console.print(f"backup written to {out} (manifest.json, definitions.json)")


@app.command("restore")
def restore_cmd(source: Path = typer.Argument(..., help="a `crm backup` directory"),
                services: list[str] = typer.Option(None, "--service"),
                force: bool = typer.Option(False, help="overwrite databases holding data")):
    """Restore `crm backup` dumps into the configured databases and check row counts."""
    from services.common.backup import RestoreError, restore
    try:
        restored = restore(_cfg(), source, services, force)
    except RestoreError as exc:
        console.print(f"[red]restore refused:[/red] {exc}")
        raise typer.Exit(2) from None
    for service, counts in restored.items():
        console.print(f"  {service:14} {sum(counts.values())} rows restored")
    console.print("restore done: run `crm bus setup` (definitions.json) and start the services")
