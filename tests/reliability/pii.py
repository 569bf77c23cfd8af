"""PII scan of everything the chaos suite produces (issue 8).

Every database file (every text value of every table), every log, the outbox
and reporting's event log, every dead-letter queue (dumped to ``dlq.jsonl``
before a scenario's vhost is dropped), the metrics of every service (scraped
to ``metrics/<service>.prom`` before it is stopped) and every backup (SQLite
copies read as databases, ``pg_dump -Fc`` archives read through
``pg_restore -f -``): resident ID and bank card numbers must never appear, and
the mobiles the workload seeded must not appear in events, logs, metrics or
dead letters (they belong in the sources' contact columns only). IDs and cards
are found by tests/support/standards.py (written from GB 11643 / ISO 7812 /
GB 32100, not the scanner under test), plus the digits of every number a test
tried to store, in whatever form it appears.
"""
import collections
import json
import re
import sqlite3
import subprocess
from pathlib import Path

from kombu import Connection

from services.contract import consumer_queues, dlq_name
from tests.reliability.stack import scrape
from tests.support.standards import digits_of, find_ids_and_cards

SEEDED_MOBILES = set()  # every mobile the workload generators of this session used
ATTEMPTED = set()  # the digits of every ID / card number a test tried to store
_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
# where contact data belongs: the sources' own records of customers, leads, tickets
_MOBILE_ALLOWED = {"customers": {"contacts"}, "sales": {"leads"},
                   "service_desk": {"tickets"}}
_EVENT_TABLES = {"outbox", "inbox", "event_log"}


_FRACTION = re.compile(r"(?<=\d\.)\d+")


def _no_fractions(text):
    """Blank out the fraction digits of decimals (a float's 16 digits after the
    point are no card). Valid USCCs, the one 18-character identifier we do store,
    are left out by the finder itself."""
    return _FRACTION.sub("", text)


# --- artifacts that live on the broker or in a process ---------------------------------
def dump_dead_letters(amqp_uri, out):
    """Write every dead-lettered message body to ``out`` (left in place)."""
    n = 0
    with Connection(amqp_uri, connect_timeout=5) as conn, open(out, "a", encoding="utf-8") as fh:
        channel = conn.channel()
        for q in consumer_queues():
            held = []
            while True:
                msg = channel.basic_get(dlq_name(q["name"]), no_ack=False)
                if msg is None:
                    break
                held.append(msg)
                body = msg.body.decode("utf-8", "replace") if isinstance(msg.body, bytes) \
                    else str(msg.body)
                fh.write(json.dumps({"queue": dlq_name(q["name"]), "body": body},
                                    ensure_ascii=False) + "\n")
                n += 1
            for msg in held:
                channel.basic_reject(msg.delivery_tag, requeue=True)
    return n


def dump_metrics(stack):
    folder = stack.dir / "metrics"
    folder.mkdir(exist_ok=True)
    for name, port in stack.ports.items():
        if name.endswith("_gateway") or not stack.alive(name):
            continue
        try:
            sample = scrape(port)
        except OSError:
            continue
        with open(folder / f"{name}.prom", "a", encoding="utf-8") as fh:
            fh.write("".join(f"{k} {v}\n" for k, v in sample.items()))


def dump_stack_artifacts(stack):
    """Before a stack is stopped and its vhost dropped."""
    try:
        dump_metrics(stack)
    except Exception:  # noqa: BLE001 - best effort at teardown
        pass
    try:
        dump_dead_letters(stack.amqp_uri, stack.dir / "dlq.jsonl")
    except Exception:  # noqa: BLE001 - broker gone (scenario 5's private node)
        pass


# --- the scan ---------------------------------------------------------------------------
class Report:
    def __init__(self):
        self.files = collections.Counter()
        self.values = 0
        self.sensitive = []  # (file, where, kind)
        self.mobiles = []  # (file, where)

    def line(self):
        files = " ".join(f"{k}={v}" for k, v in sorted(self.files.items()))
        return (f"PII scan: {sum(self.files.values())} files ({files}), {self.values} values, "
                f"{len(SEEDED_MOBILES)} seeded mobiles: {len(self.sensitive)} ID/card hits, "
                f"{len(self.mobiles)} mobile hits")


def _check(report, text, where, mobiles_forbidden):
    report.values += 1
    for kind, _token in find_ids_and_cards(_no_fractions(text)):
        report.sensitive.append((*where, kind, text[:200]))
    if ATTEMPTED and any(d in digits_of(text) for d in ATTEMPTED):
        report.sensitive.append((*where, "attempted", text[:200]))
    if mobiles_forbidden and any(m in SEEDED_MOBILES for m in _MOBILE.findall(text)):
        report.mobiles.append((*where, text[:200]))


def _scan_sqlite(report, path):
    service = path.stem
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            forbidden = (table in _EVENT_TABLES or "history" in table
                         or table not in _MOBILE_ALLOWED.get(service, set()))
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    if isinstance(value, bytes):
                        value = value.decode("utf-8", "replace")
                    if isinstance(value, str):
                        _check(report, value, (str(path), table), forbidden)
    finally:
        conn.close()


def _scan_text_file(report, path, mobiles_forbidden=True):
    with open(path, encoding="utf-8", errors="replace") as fh:
        for i, line in enumerate(fh, 1):
            _check(report, line, (str(path), f"line {i}"), mobiles_forbidden)


def _scan_pg_dump(report, path):
    sql = subprocess.run(["pg_restore", "-f", "-", str(path)], capture_output=True, text=True,
                         check=True, timeout=600).stdout
    table = None
    for line in sql.splitlines():
        if line.startswith("COPY "):
            table = line.split()[1].split(".")[-1].strip('"')
        forbidden = table in _EVENT_TABLES or table not in _MOBILE_ALLOWED.get(path.stem, set())
        _check(report, line, (str(path), table or "ddl"), forbidden)


def scan_tree(root):
    report = Report()
    for path in sorted(Path(root).rglob("*")):
        if not path.is_file():
            continue
        name = path.name
        if name.endswith((".db-wal", ".db-shm", ".restoring")):
            continue  # read through their database
        if name.endswith(".db"):
            _scan_sqlite(report, path)
            report.files["db"] += 1
        elif name.endswith(".dump"):
            _scan_pg_dump(report, path)
            report.files["pg_dump"] += 1
        elif name.endswith(".log"):
            _scan_text_file(report, path)
            report.files["log"] += 1
        elif name == "dlq.jsonl":
            _scan_text_file(report, path)
            report.files["dlq"] += 1
        elif name.endswith(".prom"):
            _scan_text_file(report, path)
            report.files["metrics"] += 1
        elif name.endswith((".json", ".jsonl", ".yml", ".csv", ".txt")):
            _scan_text_file(report, path)
            report.files["other"] += 1
    return report
