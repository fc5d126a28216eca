#!/usr/bin/env python3
"""Benchmark gpaudit against the alternatives, side by side in one run.

Run by hand (not in CI), from the repository root:

    python3 scripts/bench.py            # default site, 5 rounds
    python3 scripts/bench.py --quick    # 3 rounds, no 4x site

It builds gpaudit and the site generator (examples/gensite) in release mode
(and times the binary cargo built, wherever CARGO_TARGET_DIR puts it),
creates a Python venv with py-rattler under target/bench/, generates the
benchmark sites (4 machines x 12 envs x 450 packages x 300 services with
their Python scripts, the same without scripts, and at 2x and 4x the
machines), then runs every command once per round, round after round
(interleaved, so that a burst of load elsewhere hits every row alike), after
one warm-up round (warm page cache). For each run it records the wall time
and the CPU time (user + sys, from the rusage of the process and of the
children it waited for), and the peak memory (max RSS).

  gpaudit audit       `gpaudit audit SITE --format json`, a first audit (a
                      fresh, empty record cache each run when the binary has
                      one)
  1 thread            the same with RAYON_NUM_THREADS=1
  repeat audit        the same with the record cache warmed by the run before
                      (only when `gpaudit audit --help` offers --no-cache)
  graph, diff         one env's graph; two envs of the site compared
  plan, scan -o       the migration plan; the snapshot written to a file
  audit snapshot      `gpaudit audit snapshot.json` (that snapshot)
  python floor        json.load of every conda-meta/*.json (what `conda list`
                      does at least), in one process and in a pool of as
                      many processes as gpaudit has threads
  py-rattler          rattler.PrefixRecord.from_path of every record (the
                      fastest existing conda reader), the same two ways
  read floor          every byte of the site read once (cat > /dev/null)
  no scripts          gpaudit on the same site without the services' code
  2x, 4x site         gpaudit on the bigger sites (growth)

Ratios are given two ways: by wall time (gpaudit on all its threads against
a one-process tool, as a user waits for it) and by CPU time (work against
work, i.e. per core). It prints the results as a Markdown table, ready to
paste into the README, and writes everything to target/bench/results.json.
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(ROOT, "target", "bench")
VENV = os.path.join(WORK, "venv")

# Every conda-meta record of the site, in one process or a pool of `jobs`.
FLOOR = r'''
import glob, json, os, sys
from concurrent.futures import ProcessPoolExecutor

def load(files):
    for f in files:
        with open(f, "rb") as fh:
            json.load(fh)
    return len(files)

def rattler_load(files):
    import rattler
    for f in files:
        rattler.PrefixRecord.from_path(f)
    return len(files)

if __name__ == "__main__":
    root, how, jobs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    work = load if how == "json" else rattler_load
    files = sorted(glob.glob(os.path.join(root, "**", "conda-meta", "*.json"), recursive=True))
    if jobs == 1:
        n = work(files)
    else:
        chunks = [files[i::jobs * 8] for i in range(jobs * 8)]
        with ProcessPoolExecutor(jobs) as pool:
            n = sum(pool.map(work, chunks))
    print(n)
'''


def run(cmd, env=None):
    subprocess.run(cmd, check=True, env=env, cwd=ROOT)


def build():
    """Build gpaudit and gensite in release mode; the paths cargo built them at."""
    out = subprocess.run(
        ["cargo", "build", "--release", "--locked", "--bin", "gpaudit", "--example", "gensite",
         "--message-format=json-render-diagnostics"],
        check=True, cwd=ROOT, stdout=subprocess.PIPE, text=True).stdout
    found = {}
    for line in out.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg.get("executable"):
            found[msg["target"]["name"]] = msg["executable"]
    missing = {"gpaudit", "gensite"} - set(found)
    if missing:
        sys.exit("cargo did not report the executables of %s" % ", ".join(sorted(missing)))
    return found["gpaudit"], found["gensite"]


class Command:
    """One row: a command line, its environment, and how to prepare each run."""

    def __init__(self, key, label, cmd, env=None, fresh_cache=False, codes=(0, 1)):
        self.key, self.label, self.cmd, self.env = key, label, cmd, env
        self.fresh_cache = fresh_cache
        self.codes = codes
        self.samples = []

    def once(self, cache_root):
        """Run once: wall time, CPU time (user + sys) and peak RSS (MB).

        The rusage comes from wait4 on the child, which on Linux covers the
        child and every descendant it waited for (`find` -> `cat`, a Python
        process pool's workers); its max RSS is the largest of them.
        """
        env = dict(self.env if self.env is not None else os.environ)
        fresh = None
        if self.fresh_cache:
            fresh = tempfile.mkdtemp(prefix="cache-", dir=cache_root)
            env["GPAUDIT_CACHE_DIR"] = fresh
        try:
            with tempfile.TemporaryFile() as err:
                start = time.perf_counter()
                proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=ROOT)
                _, status, usage = os.wait4(proc.pid, 0)
                elapsed = time.perf_counter() - start
                proc.returncode = code = os.waitstatus_to_exitcode(status)
                if code not in self.codes:  # gpaudit exits 1 when it has findings
                    err.seek(0)
                    sys.exit("benchmark command failed (exit %d): %s\n%s" % (
                        code, " ".join(self.cmd), err.read().decode(errors="replace")[-2000:]))
        finally:
            if fresh:
                shutil.rmtree(fresh, ignore_errors=True)
        return {"wall_s": elapsed, "cpu_s": usage.ru_utime + usage.ru_stime,
                "max_rss_mb": usage.ru_maxrss / 1024.0}

    def measure(self, cache_root):
        self.samples.append(self.once(cache_root))

    def summary(self):
        walls = [s["wall_s"] for s in self.samples]
        cpus = [s["cpu_s"] for s in self.samples]
        return {
            "name": self.label,
            "cmd": self.cmd,
            "runs": len(self.samples),
            "wall_s": statistics.median(walls),
            "wall_min_s": min(walls),
            "wall_max_s": max(walls),
            "cpu_s": statistics.median(cpus),
            "cpu_min_s": min(cpus),
            "cpu_max_s": max(cpus),
            "max_rss_mb": max(s["max_rss_mb"] for s in self.samples),
        }


def site(gensite, scale, shape, code=True):
    label = "site-%dx%s" % (scale, "" if code else "-nocode")
    path = os.path.join(WORK, label)
    stamp = os.path.join(WORK, label + ".shape")
    want = json.dumps({**shape, "machines": shape["machines"] * scale, "code": code}, sort_keys=True)
    if os.path.isdir(path) and os.path.exists(stamp) and open(stamp).read() == want:
        return path
    shutil.rmtree(path, ignore_errors=True)
    args = [gensite, path]
    for k, v in json.loads(want).items():
        if k == "code":
            args += [] if v else ["--no-code"]
        else:
            args += ["--" + k, str(v)]
    run(args)
    with open(stamp, "w") as f:
        f.write(want)
    return path


def site_bytes(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def has_cache(gpaudit):
    """Whether this gpaudit keeps a record cache (its audit takes --no-cache)."""
    out = subprocess.run([gpaudit, "audit", "--help"], capture_output=True, text=True, check=True)
    return "--no-cache" in out.stdout


def fmt_s(x):
    return "%.3f s" % x


def ratio(x):
    return "%.2f×" % x if x >= 0.1 else "%.3f×" % x


def markdown(results, threads, cache):
    """The README's table and the targets, as Markdown."""
    g = results["audit"]
    lines = [
        "| | wall | CPU (user+sys) | peak RSS | wall vs `audit` | CPU vs `audit` |",
        "|---|---|---|---|---|---|",
    ]
    for key, r in results.items():
        if key == "audit":
            rel = ("", "")
        else:
            rel = (ratio(r["wall_s"] / g["wall_s"]), ratio(r["cpu_s"] / g["cpu_s"]))
        lines.append("| %s | %s | %s | %.0f MB | %s | %s |" % (
            r["name"], fmt_s(r["wall_s"]), fmt_s(r["cpu_s"]), r["max_rss_mb"], rel[0], rel[1]))
    lines.append("")

    def both(key):
        r = results[key]
        return r["wall_s"] / g["wall_s"], r["cpu_s"] / g["cpu_s"]

    py_w, py_c = both("python_floor")
    pyp_w, _ = both("python_floor_pool")
    rt_w, rt_c = both("py_rattler")
    rtp_w, _ = both("py_rattler_pool")
    cat_c = g["cpu_s"] / results["read_floor"]["cpu_s"]
    graph_c = results["graph"]["cpu_s"] / g["cpu_s"]
    diff_c = results["diff"]["cpu_s"] / g["cpu_s"]
    one = results["audit_1_thread"]["wall_s"] / g["wall_s"]
    lines += [
        "| ratio | 1 core (wall, one Python process against gpaudit's %d threads) | per core (CPU against CPU) | same parallelism (wall, %d-process pool) |" % (threads, threads),
        "|---|---|---|---|",
        "| Python `json.load` floor / gpaudit | %.1f× | %.1f× | %.1f× |" % (py_w, py_c, pyp_w),
        "| py-rattler / gpaudit | %.1f× | %.1f× | %.1f× |" % (rt_w, rt_c, rtp_w),
        "",
        "Targets:",
        "",
        "- gpaudit's CPU within 1.3× of `cat`'s for the same bytes: %.2f× — %s" % (
            cat_c, "met" if cat_c <= 1.3 else "not met"),
        "- `graph` (one env) under a tenth of a full audit's CPU: %.3f× — %s" % (
            graph_c, "met" if graph_c < 0.1 else "not met"),
        "- `diff` (two envs) under a tenth of a full audit's CPU: %.3f× — %s" % (
            diff_c, "met" if diff_c < 0.1 else "not met"),
    ]
    if cache:
        rep = results["audit_repeat"]["cpu_s"] / g["cpu_s"]
        lines.append("- repeat audit under a third of the first's CPU: %.2f× — %s" % (
            rep, "met" if rep < 1 / 3 else "not met"))
    else:
        lines.append("- repeat audit under a third of the first's CPU: not measured "
                     "(this build has no record cache: `audit --help` offers no `--no-cache`)")
    lines.append("- speed-up from 1 thread to %d: %.2f×" % (threads, one))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5, help="timed rounds (default 5)")
    ap.add_argument("--quick", action="store_true", help="3 rounds, no 4x site")
    args = ap.parse_args()
    rounds = 3 if args.quick else args.runs

    os.makedirs(WORK, exist_ok=True)
    gpaudit, gensite = build()
    print("timing %s" % gpaudit, flush=True)
    python = os.path.join(VENV, "bin", "python")
    if not os.path.exists(python):
        run([sys.executable, "-m", "venv", VENV])
        run([python, "-m", "pip", "install", "--quiet", "py-rattler"])
    rattler_version = subprocess.run(
        [python, "-c", "import importlib.metadata as m; print(m.version('py-rattler'))"],
        check=True, capture_output=True, text=True).stdout.strip()

    shape = {"machines": 4, "envs": 12, "packages": 450, "services": 300, "seed": 42}
    cores = os.cpu_count() or 1
    threads = int(os.environ.get("RAYON_NUM_THREADS") or cores)
    base = site(gensite, 1, shape)
    size = site_bytes(base)
    nocode = site(gensite, 1, shape, code=False)
    scales = [2] if args.quick else [2, 4]
    bigger = {s: site(gensite, s, shape) for s in scales}
    cache = has_cache(gpaudit)
    print("site 1x: %s (%.0f MB), %d cores, gpaudit threads %d, record cache: %s" % (
        base, size / 1e6, cores, threads, "yes" if cache else "no"), flush=True)

    scratch = tempfile.mkdtemp(prefix="gpaudit-bench-")
    snapshot = os.path.join(scratch, "snapshot.json")
    run([gpaudit, "scan", base, "-o", snapshot])
    warm_cache = os.path.join(scratch, "warm-cache")
    one = dict(os.environ, RAYON_NUM_THREADS="1")
    site_file = os.path.join(base, "site.toml")
    m1, m2 = "GIS01.EXAMPLE.COM", "GIS02.EXAMPLE.COM"

    def audit_of(path):
        return [gpaudit, "audit", path, "--format", "json", "-o", os.devnull]

    commands = [
        Command("audit", "`gpaudit audit` (first audit, %d threads)" % threads, audit_of(base), fresh_cache=True),
        Command("audit_1_thread", "`gpaudit audit`, 1 thread", audit_of(base), env=one, fresh_cache=True),
    ]
    if cache:
        commands.append(Command("audit_repeat", "`gpaudit audit`, repeat (record cache warm)", audit_of(base),
                                env=dict(os.environ, GPAUDIT_CACHE_DIR=warm_cache)))
    commands += [
        Command("graph", "`gpaudit graph` (one env)",
                [gpaudit, "graph", site_file, "--machine", m1, "--env", "env05"], fresh_cache=True),
        Command("diff", "`gpaudit diff` (two envs of the site)",
                [gpaudit, "diff", "%s#%s/env03" % (site_file, m1), "%s#%s/env04" % (site_file, m2),
                 "--format", "json"], fresh_cache=True),
        Command("plan", "`gpaudit plan`", [gpaudit, "plan", site_file, "-o", os.path.join(scratch, "plan.json")],
                fresh_cache=True),
        Command("scan", "`gpaudit scan -o`", [gpaudit, "scan", site_file, "-o", os.path.join(scratch, "scan.json")],
                fresh_cache=True),
        Command("audit_snapshot", "`gpaudit audit snapshot.json` (%.0f MB)" % (os.path.getsize(snapshot) / 1e6),
                audit_of(snapshot), fresh_cache=True),
        Command("python_floor", "Python `json.load` of every record, 1 process",
                [python, "-c", FLOOR, base, "json", "1"], codes=(0,)),
        Command("python_floor_pool", "Python `json.load`, %d processes" % threads,
                [python, "-c", FLOOR, base, "json", str(threads)], codes=(0,)),
        Command("py_rattler", "py-rattler %s `PrefixRecord.from_path`, 1 process" % rattler_version,
                [python, "-c", FLOOR, base, "rattler", "1"], codes=(0,)),
        Command("py_rattler_pool", "py-rattler, %d processes" % threads,
                [python, "-c", FLOOR, base, "rattler", str(threads)], codes=(0,)),
        Command("read_floor", "read every byte once (`find -exec cat`)",
                ["sh", "-c", "find \"$0\" -type f -exec cat {} + > /dev/null", base], codes=(0,)),
        Command("audit_without_code", "`gpaudit audit`, site without the services' scripts", audit_of(nocode),
                fresh_cache=True),
    ]
    for s, path in bigger.items():
        commands.append(Command("audit_%dx" % s, "`gpaudit audit`, site %dx (%.1f GB)" % (s, site_bytes(path) / 1e9),
                                audit_of(path), fresh_cache=True))

    try:
        print("warm-up round", flush=True)
        for c in commands:
            c.once(scratch)
        for r in range(rounds):
            print("round %d/%d" % (r + 1, rounds), flush=True)
            for c in commands:
                c.measure(scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    results = {c.key: c.summary() for c in commands}
    print()
    for c in commands:
        r = results[c.key]
        print("  %-60s wall %7.3f s  cpu %7.3f s  %6.0f MB" % (r["name"], r["wall_s"], r["cpu_s"], r["max_rss_mb"]))
    table = markdown(results, threads, cache)
    print("\n--- Markdown for the README (%d interleaved rounds after a warm-up, medians) ---\n" % rounds)
    print(table)

    out = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": {"cores": cores, "gpaudit_threads": threads, "platform": platform.platform(),
                    "processor": platform.processor(), "python": platform.python_version()},
        "binary": gpaudit,
        "record_cache": cache,
        "rounds": rounds,
        "site": {"shape": shape, "bytes": size},
        "results": results,
        "markdown": table,
    }
    path = os.path.join(WORK, "results.json")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(out, f, indent=1)
    os.replace(tmp, path)
    print("\nwrote %s" % os.path.relpath(path, ROOT))


if __name__ == "__main__":
    main()
