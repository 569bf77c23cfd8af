"""A real SMTP server for tests: ``services.common.mail_catcher`` (aiosmtpd) in its own
process (outside eventlet's patched world) on a free port, writing .eml files."""
import email
import email.policy
import os
import subprocess
import sys
import time
from pathlib import Path

from services.common.config import ROOT
from services.common.mail import check_socket


class SmtpCatcher:
    def __init__(self, folder, port, reject_domain="bounce.test"):
        self.folder = Path(folder)
        self.port = port
        self.reject_domain = reject_domain
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "services.common.mail_catcher", "--host", "127.0.0.1",
             "--port", str(self.port), "--dir", str(self.folder),
             "--reject-domain", self.reject_domain],
            cwd=str(ROOT), env=dict(os.environ, PYTHONWARNINGS="ignore"),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 15
        while not check_socket("127.0.0.1", self.port):
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError("the SMTP catcher did not start")
            time.sleep(0.05)
        return self

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        deadline = time.time() + 5
        while check_socket("127.0.0.1", self.port) and time.time() < deadline:
            time.sleep(0.05)

    def messages(self, to=None):
        """Every received message (email.message.EmailMessage), oldest first;
        with ``to``: only those addressed to it."""
        out = []
        for path in sorted(self.folder.glob("*.eml")):
            msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if to is None or msg["To"] == to:
                out.append(msg)
        return out
