"""How `gpaudit audit` over many per-machine snapshots grows (README, "Many
machines"). Run by hand, not in CI:

    python3 scripts/fleet_scale.py [GPAUDIT] [GENSITE]

Generates one site of 50 machines with gensite (small envs, so the run is
about merging machines, not parsing records), scans it once, splits the
snapshot into one snapshot per machine (each with the site's services, as
the Ansible audit play's per-machine site files give), then audits the
first 10, 25, 50 and 100 of them (the last 50 are the first 50 renamed) in interleaved rounds and prints the median CPU
time (user+sys of the child) and peak RSS per size.
"""

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile

GPAUDIT = sys.argv[1] if len(sys.argv) > 1 else "target/release/gpaudit"
GENSITE = sys.argv[2] if len(sys.argv) > 2 else "target/release/examples/gensite"
SIZES = [10, 25, 50, 100]
ROUNDS = 5


def run_cpu(args):
    """CPU seconds and peak RSS (MB) of one child run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        sys.exit(f"{args[:2]} exited {proc.returncode}: {proc.stderr[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    rss_kb = int(proc.stderr.strip().splitlines()[-1])
    return cpu, rss_kb / 1024


def main():
    work = tempfile.mkdtemp(prefix="gpaudit-fleet-scale-")
    site = os.path.join(work, "site")
    subprocess.run([GENSITE, site, "--machines", "50", "--envs", "3", "--packages", "120",
                    "--services", "60"], check=True, stdout=subprocess.DEVNULL)
    whole = os.path.join(work, "whole.json")
    subprocess.run([GPAUDIT, "scan", site, "-o", whole], check=True, stderr=subprocess.DEVNULL)
    with open(whole) as f:
        snapshot = json.load(f)
    # 100 machines: the 50 again under other names (gensite's largest
    # useful fleet here; the audit cannot tell copies from machines).
    machines = snapshot["machines"] + [dict(m, name=m["name"] + "-B") for m in snapshot["machines"]]
    paths = []
    for m in machines:
        part = dict(snapshot, machines=[m])
        path = os.path.join(work, f"{m['name']}.json")
        with open(path, "w") as f:
            json.dump(part, f)
        paths.append(path)
    print(f"{len(paths)} machine snapshots in {work}, "
          f"{sum(os.path.getsize(p) for p in paths) / 1e6:.1f} MB")
    results = {n: [] for n in SIZES}
    for _ in range(ROUNDS + 1):  # the first round warms the page cache
        for n in SIZES:
            results[n].append(run_cpu([GPAUDIT, "audit", *paths[:n], "--format", "json",
                                       "--fail-on", "never"]))
    base = None
    for n in SIZES:
        cpu = statistics.median(c for c, _ in results[n][1:])
        rss = statistics.median(r for _, r in results[n][1:])
        base = base or (cpu / n, n)
        print(f"{n:3} machines: CPU {cpu:.3f} s ({cpu / n * 1000:.1f} ms per machine, "
              f"{cpu / (base[0] * n):.2f}x linear from {base[1]}), peak RSS {rss:.0f} MB")


if __name__ == "__main__":
    main()
