"""Where a call's CPU goes, machine-wide: every process group over one window.

On a 2-core box that the load generator, RabbitMQ, PostgreSQL and the services
share, a call's throughput at saturation is bounded by ``cores / CPU per call``
summed over *every* process it touches, not only the service's own. Measuring
that sum for the bare echo and for our call in the same run gives the highest
ratio our call could reach here if the box is saturated in both runs:

    bound = machine CPU per echo call / machine CPU per our call

Read from /proc (Linux): per-process utime+stime, machine busy time from /proc/stat.
"""
import os
import time

TICK = os.sysconf("SC_CLK_TCK")
GROUP_COMM = {"rabbitmq": ("beam.smp", "erl_child_setup", "inet_gethost", "epmd"),
              "postgres": ("postgres",)}


def proc_cpu(pid):
    """utime + stime of process ``pid`` in seconds (None if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            f = fh.read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / TICK
    except (OSError, IndexError, ValueError):
        return None


def _comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as fh:
            return fh.read().strip()
    except OSError:
        return ""


def machine_busy():
    """Seconds of CPU spent not idle (all cores) since boot."""
    with open("/proc/stat") as fh:
        f = [int(x) for x in fh.readline().split()[1:]]
    idle = f[3] + (f[4] if len(f) > 4 else 0)  # idle + iowait
    return (sum(f[:8]) - idle) / TICK


def snapshot(named_pids):
    """CPU seconds so far: each named process, each external group, the machine."""
    out = {name: proc_cpu(pid) for name, pid in named_pids.items()}
    groups = {g: 0.0 for g in GROUP_COMM}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        comm = _comm(entry)
        for g, comms in GROUP_COMM.items():
            if comm in comms:
                groups[g] += proc_cpu(entry) or 0.0
    out.update(groups)
    out["machine"] = machine_busy()
    out["at"] = time.monotonic()
    return out


def per_call(before, after, calls):
    """ms of CPU per call, per process/group, plus ``other`` (the load generator, the
    bench itself, the kernel's network work) = machine - everything named."""
    if not calls:
        return None
    out = {}
    for k, v in after.items():
        if k == "at" or v is None or before.get(k) is None:
            continue
        out[k] = round((v - before[k]) * 1000 / calls, 3)
    named = sum(v for k, v in out.items() if k != "machine")
    out["other"] = round(out["machine"] - named, 3)
    out["window_s"] = round(after["at"] - before["at"], 2)
    out["machine_busy_cores"] = round((after["machine"] - before["machine"])
                                      / max(after["at"] - before["at"], 1e-6), 2)
    return out
