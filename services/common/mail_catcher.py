"""The development mail catcher: a real SMTP server (aiosmtpd) on 127.0.0.1 that keeps
every mail it receives as an ``.eml`` file instead of delivering it.

``crm run`` on the embedded default starts it on 127.0.0.1:8025 writing to
``var/mail/`` and points the services' ``SMTP_HOST``/``SMTP_PORT`` at it. Production
sets ``SMTP_*`` to a real relay and runs no catcher (docs/mail.md).

    python -m services.common.mail_catcher --port 8025 --dir var/mail
    python -m services.common.mail_catcher --port 2525 --dir /tmp/m --reject-domain bounce.test

``--reject-domain``: recipients in that domain are answered ``550 mailbox unavailable``
(see what a permanent failure does without a real bouncing address).
"""
import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

DEV_HOST = "127.0.0.1"
DEV_PORT = 8025


class EmlHandler:
    """aiosmtpd handler: each accepted message → ``<dir>/<time>-<n>.eml``."""

    def __init__(self, folder, reject_domains=()):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.reject = {d.lower() for d in reject_domains}
        self.count = 0
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.rpartition("@")[2].lower() in self.reject:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            name = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{self.count:05d}.eml"
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8")
        tmp = self.folder / (name + ".part")
        tmp.write_bytes(data)
        tmp.rename(self.folder / name)  # readers never see half a file
        return "250 Message accepted for delivery"


def serve(host, port, folder, reject_domains=()):
    from aiosmtpd.controller import Controller

    controller = Controller(EmlHandler(folder, reject_domains), hostname=host, port=port)
    controller.start()
    return controller


def start_dev_catcher(folder, echo=print, host=DEV_HOST, port=DEV_PORT):
    """``crm run``: start the catcher as a child process → (Popen or None, env for the
    services). Reuses a catcher already listening there."""
    from services.common.mail import check_socket

    env = {"SMTP_HOST": host, "SMTP_PORT": str(port), "SMTP_STARTTLS": "false",
           "SMTP_USER": "", "SMTP_PASSWORD": ""}
    if check_socket(host, port):
        echo(f"  mail catcher            smtp://{host}:{port} already running: "
             f"mails go to whatever listens there")
        return None, env
    try:
        import aiosmtpd  # noqa: F401
    except ImportError:
        echo("  mail catcher            not started: `pip install -e .[test]` brings "
             "aiosmtpd; mails stay pending in each service's mail_outbox")
        return None, {}
    proc = subprocess.Popen([sys.executable, "-m", "services.common.mail_catcher",
                             "--host", host, "--port", str(port), "--dir", str(folder)])
    for _ in range(50):
        if check_socket(host, port):
            break
        time.sleep(0.1)
    echo(f"  mail catcher            smtp://{host}:{port} → {folder}/*.eml "
         "(dev only: nothing leaves this machine)")
    return proc, env


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default=DEV_HOST)
    ap.add_argument("--port", type=int, default=DEV_PORT)
    ap.add_argument("--dir", default="var/mail")
    ap.add_argument("--reject-domain", action="append", default=[])
    args = ap.parse_args(argv)
    controller = serve(args.host, args.port, args.dir, args.reject_domain)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"mail catcher on {args.host}:{args.port} writing {args.dir}", flush=True)
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
