"""Monthly report as a static HTML file (the dashboard without the picker):

    python -m services.reporting.report 2026-11 --out report.html [--lang en]
    python -m services.reporting.report 2026-11 --csv kpis.csv

Calls reporting over RPC as a trusted system caller (config from CRM_CONFIG).
"""
import argparse
import sys
from pathlib import Path


def main(argv=None):
    import eventlet
    eventlet.monkey_patch()
    from services.common.cli.rpc_client import cluster
    from services.common.config import load_config
    from services.reporting import dashboard

    parser = argparse.ArgumentParser(prog="python -m services.reporting.report")
    parser.add_argument("period", help="2026-11, 2026-Q4 or 2026")
    parser.add_argument("--out", type=Path, help="HTML file to write")
    parser.add_argument("--csv", type=Path, help="CSV file of the KPI table")
    parser.add_argument("--lang", default="zh", choices=dashboard.LANGS)
    args = parser.parse_args(argv)
    if not args.out and not args.csv:
        args.out = Path(f"report-{args.period}.html")
    with cluster(load_config(), None, timeout=60) as proxy:
        if args.out:
            data = proxy.reporting.dashboard(args.period)
            args.out.write_text(dashboard.render_report(data, args.lang),
                                encoding="utf-8")
            print(f"wrote {args.out}")
        if args.csv:
            args.csv.write_text(proxy.reporting.export_csv(args.period), encoding="utf-8")
            print(f"wrote {args.csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
