"""Run pytest in N worker processes sharing one selection (see tests/support/shard.py).

    python -m tests.support.parallel -n 3 tests -q -m "not serial"

Every argument after the options goes to each worker's pytest. Each worker's output
is printed whole when it ends; the exit status is the worst worker's (a worker that
got no module to run counts as passed,
unless none had any). ``--record`` merges the measured module
durations into tests/support/module_durations.json (the claim order: longest first).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support.shard import DURATIONS

NO_TESTS = 5  # pytest.ExitCode.NO_TESTS_COLLECTED


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--workers", type=int,
                        default=int(os.environ.get("CRM_TEST_WORKERS", "3")))
    parser.add_argument("--record", action="store_true",
                        help="merge module durations into " + str(DURATIONS))
    opts, pytest_args = parser.parse_known_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="crm-shards-"))
    started = time.monotonic()
    procs = {}
    for i in range(opts.workers):
        env = dict(os.environ, CRM_SHARD_DIR=str(folder / "claims"), CRM_SHARD_ID=str(i),
                   CRM_SHARD_TIMES=str(folder / f"times-{i}.json"))
        (folder / "claims").mkdir(exist_ok=True)
        log = open(folder / f"worker-{i}.log", "w+", encoding="utf-8")
        cmd = [sys.executable, "-m", "pytest", "-p", "tests.support.shard", *pytest_args]
        procs[i] = (subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT), log)
    print(f"{opts.workers} pytest workers (logs in {folder}): {' '.join(pytest_args)}",
          flush=True)
    worst, ran, pending = 0, False, dict(procs)
    try:
        while pending:
            for i, (proc, log) in list(pending.items()):
                rc = proc.poll()
                if rc is None:
                    continue
                del pending[i]
                log.seek(0)
                print(f"\n===== worker {i} (exit {rc}, {time.monotonic() - started:.0f} s) =====",
                      flush=True)
                sys.stdout.write(log.read())
                sys.stdout.flush()
                if rc != NO_TESTS:
                    worst, ran = max(worst, rc), True
            time.sleep(1)
    except KeyboardInterrupt:
        for proc, _log in pending.values():
            proc.terminate()
        raise
    if not ran:
        worst = NO_TESTS  # the selection was empty: as plain pytest says
    print(f"\n{opts.workers} workers done in {time.monotonic() - started:.0f} s, "
          f"exit {worst}", flush=True)
    if opts.record:
        record(folder, opts.workers)
    return worst


def record(folder, workers):
    try:
        merged = json.loads(DURATIONS.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        merged = {}
    for i in range(workers):
        try:
            merged.update(json.loads((folder / f"times-{i}.json").read_text(encoding="utf-8")))
        except (OSError, ValueError):
            pass
    DURATIONS.write_text(json.dumps({k: round(v, 1) for k, v in sorted(merged.items())},
                                    indent=0) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
