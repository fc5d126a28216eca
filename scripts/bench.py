#!/usr/bin/env python3
"""Benchmark gpaudit against the alternatives, side by side in one run.

Run by hand (not in CI), from the repository root:

    python3 scripts/bench.py            # default site, 5 runs each
    python3 scripts/bench.py --quick    # fewer runs, no 4x site

It builds gpaudit and the site generator (examples/gensite) in release mode,
creates a Python venv with py-rattler under target/bench/, generates the
benchmark sites (4 machines x 12 envs x 450 packages x 300 services with
their Python scripts, the same without scripts, and at 2x and 4x the
machines), then measures, each with one warm-up run and
the median of the timed runs (warm page cache):

  gpaudit          `gpaudit audit SITE --format json`, the whole process
  gpaudit 1 thread the same with RAYON_NUM_THREADS=1
  python floor     json.load of every conda-meta/*.json (what `conda list`
                   does at least)
  py-rattler       rattler.PrefixRecord.from_path of every record (the
                   fastest existing conda reader)
  read floor       every byte of the site read once (cat > /dev/null)
  no scripts       gpaudit on the same site without the services' code, to
                   see what parsing every script costs

and peak memory (max RSS) of each. It prints a table with the ratios and
writes everything to target/bench/results.json.
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(ROOT, "target", "bench")
VENV = os.path.join(WORK, "venv")
GPAUDIT = os.path.join(ROOT, "target", "release", "gpaudit")
GENSITE = os.path.join(ROOT, "target", "release", "examples", "gensite")

PY_FLOOR = r'''
import glob, json, os, sys
n = 0
for f in glob.glob(os.path.join(sys.argv[1], "**", "conda-meta", "*.json"), recursive=True):
    with open(f, "rb") as fh:
        json.load(fh)
    n += 1
print(n)
'''

PY_RATTLER = r'''
import glob, os, sys
import rattler
n = 0
for f in glob.glob(os.path.join(sys.argv[1], "**", "conda-meta", "*.json"), recursive=True):
    rattler.PrefixRecord.from_path(f)
    n += 1
print(n)
'''


def run(cmd, env=None):
    subprocess.run(cmd, check=True, env=env, cwd=ROOT)


def timed(cmd, env=None):
    """Wall time (s) and max RSS (MB) of one run of cmd."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=env, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):  # gpaudit exits 1 when it has findings
        sys.exit("benchmark command failed (exit %d): %s" % (code, " ".join(cmd)))
    return elapsed, usage.ru_maxrss / 1024.0


def measure(name, cmd, runs, env=None):
    timed(cmd, env)  # warm-up: page cache, lazy loading
    samples = [timed(cmd, env) for _ in range(runs)]
    times = [t for t, _ in samples]
    result = {
        "name": name,
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
        "runs": runs,
        "max_rss_mb": max(m for _, m in samples),
    }
    print("  %-22s %8.3f s  (min %.3f, max %.3f)  %7.1f MB" % (
        name, result["median_s"], result["min_s"], result["max_s"], result["max_rss_mb"]), flush=True)
    return result


def site(scale, shape, code=True):
    label = "site-%dx%s" % (scale, "" if code else "-nocode")
    path = os.path.join(WORK, label)
    stamp = os.path.join(WORK, label + ".shape")
    want = json.dumps({**shape, "machines": shape["machines"] * scale, "code": code}, sort_keys=True)
    if os.path.isdir(path) and os.path.exists(stamp) and open(stamp).read() == want:
        return path
    shutil.rmtree(path, ignore_errors=True)
    args = [GENSITE, path]
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="3 runs, no 4x site")
    args = ap.parse_args()
    runs = 3 if args.quick else args.runs

    os.makedirs(WORK, exist_ok=True)
    run(["cargo", "build", "--release", "--locked", "--bin", "gpaudit", "--example", "gensite"])
    python = os.path.join(VENV, "bin", "python")
    if not os.path.exists(python):
        run([sys.executable, "-m", "venv", VENV])
        run([python, "-m", "pip", "install", "--quiet", "py-rattler"])
    rattler_version = subprocess.run(
        [python, "-c", "import importlib.metadata as m; print(m.version('py-rattler'))"],
        check=True, capture_output=True, text=True).stdout.strip()

    shape = {"machines": 4, "envs": 12, "packages": 450, "services": 300, "seed": 42}
    cores = os.cpu_count() or 1
    base = site(1, shape)
    size = site_bytes(base)
    print("site 1x: %s (%.0f MB), %d cores" % (base, size / 1e6, cores), flush=True)

    audit = [GPAUDIT, "audit", base, "--format", "json", "-o", os.devnull]
    one = dict(os.environ, RAYON_NUM_THREADS="1")
    results = {
        "gpaudit": measure("gpaudit", audit, runs),
        "gpaudit_1_thread": measure("gpaudit 1 thread", audit, runs, env=one),
        "python_floor": measure("python json.load", [python, "-c", PY_FLOOR, base], runs),
        "py_rattler": measure("py-rattler %s" % rattler_version, [python, "-c", PY_RATTLER, base], runs),
        "read_floor": measure("read floor (cat)", ["sh", "-c", "find \"$0\" -type f -exec cat {} + > /dev/null", base], runs),
    }
    nocode = site(1, shape, code=False)
    results["gpaudit_without_code"] = measure(
        "gpaudit, no scripts", [GPAUDIT, "audit", nocode, "--format", "json", "-o", os.devnull], runs)
    growth = [{"scale": 1, "bytes": size, **results["gpaudit"]}]
    for scale in ([2] if args.quick else [2, 4]):
        path = site(scale, shape)
        r = measure("gpaudit %dx site" % scale, [GPAUDIT, "audit", path, "--format", "json", "-o", os.devnull],
                    max(1, runs // 2 + 1))
        growth.append({"scale": scale, "bytes": site_bytes(path), **r})

    g = results["gpaudit"]["median_s"]
    ratios = {
        "python_floor_over_gpaudit": results["python_floor"]["median_s"] / g,
        "rattler_over_gpaudit": results["py_rattler"]["median_s"] / g,
        "gpaudit_over_read_floor": g / results["read_floor"]["median_s"],
        "speedup_1_to_all_cores": results["gpaudit_1_thread"]["median_s"] / g,
        "growth": [(x["scale"], x["median_s"] / g) for x in growth],
        "script_parsing_overhead": g / results["gpaudit_without_code"]["median_s"] - 1,
    }
    print()
    print("python_floor / gpaudit   %6.1fx   (target >= 10x)" % ratios["python_floor_over_gpaudit"])
    print("py-rattler / gpaudit     %6.1fx   (target >= 2x)" % ratios["rattler_over_gpaudit"])
    print("gpaudit / read floor     %6.1fx   (target <= 3x)" % ratios["gpaudit_over_read_floor"])
    print("1 thread / %d cores       %6.2fx   (target >= 1.6x on 2 cores)" % (cores, ratios["speedup_1_to_all_cores"]))
    print("growth (time vs 1x)      %s   (linear: 2x -> 2, 4x -> 4)" % ", ".join(
        "%dx: %.2f" % (s, r) for s, r in ratios["growth"]))
    print("script parsing adds      %5.1f%%   (target < 20%%)" % (100 * ratios["script_parsing_overhead"]))
    print("peak memory              %s" % ", ".join(
        "%dx: %.0f MB" % (x["scale"], x["max_rss_mb"]) for x in growth))

    out = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": {"cores": cores, "platform": platform.platform(), "processor": platform.processor(),
                    "python": platform.python_version()},
        "site": {"shape": shape, "bytes": size},
        "results": results,
        "growth": growth,
        "ratios": ratios,
    }
    path = os.path.join(WORK, "results.json")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(out, f, indent=1)
    os.replace(tmp, path)
    print("\nwrote %s" % os.path.relpath(path, ROOT))


if __name__ == "__main__":
    main()
