#!/usr/bin/env python
"""Container health check for every role of the Kehu CRM image.

- domain service (METRICS_PORT set and not 0): GET http://127.0.0.1:$METRICS_PORT/metrics
- gateway (WEB_SERVER_ADDRESS set): GET http://127.0.0.1:<port>/health (503 when the
  broker is unreachable, so the container turns unhealthy with the bus)
- anything else (one-shot jobs): healthy.
Standard library only; exits 0 (healthy) or 1 (unhealthy).
"""
import os
import sys
import urllib.request


def target():
    metrics_port = os.environ.get("METRICS_PORT", "0").strip()
    if metrics_port and metrics_port != "0":
        return f"http://127.0.0.1:{int(metrics_port)}/metrics"
    address = os.environ.get("WEB_SERVER_ADDRESS", "").strip()
    if address:
        port = address.rsplit(":", 1)[-1]
        return f"http://127.0.0.1:{int(port)}/health"
    return None


def main():
    url = target()
    if url is None:
        return 0
    try:
        with urllib.request.urlopen(url, timeout=4) as resp:  # noqa: S310 - loopback only
            return 0 if resp.status == 200 else 1
    except Exception as exc:  # noqa: BLE001
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
