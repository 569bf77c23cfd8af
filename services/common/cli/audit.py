"""``crm audit``: verify the services' audit trails (services/common/audit.py)."""
import json

import typer
from rich.console import Console

audit_app = typer.Typer(help="Audit trails: verify the keyed hash chains", no_args_is_help=True)
console = Console()


def verify_services(config, services, record=None, timeout=120):
    """{service: verify_audit result (+ the checkpoint used)}; the newest checkpoint each
    service published is asked from reporting (None if reporting is not reachable)."""
    from services.common.cli.rpc_client import cluster
    from services.common.errors import ServiceUnavailable
    from services.contract import AUDIT_SOURCES
    out = {}
    with cluster(config, timeout=timeout) as rpc:
        for service in services or AUDIT_SOURCES:
            try:
                cp = rpc.reporting.latest_audit_checkpoint(service)
            except (ServiceUnavailable, Exception):  # noqa: BLE001 - verify without it
                cp = None
            proxy = getattr(rpc, service)
            if record:
                got = proxy.verify_audit(record[0], record[1], checkpoint=cp)
            else:
                got = proxy.verify_audit(checkpoint=cp)
            out[service] = dict(got, checkpoint_seq=cp["seq"] if cp else None)
    return out


@audit_app.command("verify")
def verify(service: list[str] = typer.Option(None, "--service", help="customers, sales, "
                                             "service_desk, marketing (default: all)"),
           record_type: str = typer.Option(None, help="one record's entries only"),
           record_id: str = typer.Option(None),
           as_json: bool = typer.Option(False, "--json")):
    """Walk each service's whole chain (or one record's entries): every entry's HMAC,
    gapless positions, the signed head and the newest checkpoint reporting keeps.
    Prints the first bad position; exit 1 if any chain does not verify."""
    from services.common.config import load_config
    if (record_type is None) != (record_id is None):
        raise typer.BadParameter("give --record-type and --record-id together")
    record = (record_type, record_id) if record_type else None
    results = verify_services(load_config(), service, record)
    if as_json:
        console.print_json(json.dumps(results))
    for name, r in results.items():
        if r["valid"]:
            console.print(f"  {name:14} [green]valid[/green]  {r['entries']} entries"
                          f" (checkpoint seq {r['checkpoint_seq']})")
        else:
            console.print(f"  {name:14} [red]NOT VALID[/red]  first bad position: seq "
                          f"{r.get('first_bad_seq')} index {r.get('first_bad_index')} "
                          f"({r['problem']})")
    if not all(r["valid"] for r in results.values()):
        raise typer.Exit(1)
