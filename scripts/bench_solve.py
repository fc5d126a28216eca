#!/usr/bin/env python3
"""Benchmark of `audit --target 11.3 --channel ...` (the offline solve), run by
hand, never in CI. Writes a generated pair of channels the size of Esri's plus
Anaconda main's win-64 + noarch repodata (~30,000 records) under
target/bench-solve/, then runs, in interleaved rounds, the demo audit with
`--target 11.3` alone (A) and with `--target 11.3 --channel esri main` (B),
and reports the CPU time (user+sys of the gpaudit process, from wait4) of
each: B - A is what reading the channels and solving the demo's four clones
costs.

    cargo build --release && python3 scripts/bench_solve.py [--rounds 7]

The generated channels keep fixtures/channels/ (so the demo's outcomes are
the same: GIS1 hydro unsolvable, GIS2 hydro solves) and add, deterministically,
many versions and python builds of the demo's packages and ~1,400 other
packages with python, numpy and inter-package bounds, the way main's
repodata looks.
"""

import argparse
import json
import os
import pathlib
import random
import statistics
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "fixtures" / "channels"
OUT = ROOT / "target" / "bench-solve"
PYTHONS = ["3.8", "3.9", "3.10", "3.11", "3.12"]


def load(channel, subdir):
    path = FIXTURE / channel / subdir / "repodata.json"
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))["packages"]


def rec(name, version, build, depends, subdir, number=0):
    return {
        "build": build,
        "build_number": number,
        "depends": depends,
        "license": "BSD-3-Clause",
        "md5": "%032x" % random.getrandbits(128),
        "name": name,
        "sha256": "%064x" % random.getrandbits(256),
        "size": random.randint(10_000, 50_000_000),
        "subdir": subdir,
        "timestamp": 1_600_000_000_000 + random.randint(0, 10**11),
        "version": version,
    }


def py_dep(py):
    major, minor = py.split(".")
    return "python >=%s,<%s.%d.0a0" % (py, major, int(minor) + 1)


def tag(py):
    return "py" + py.replace(".", "")


def put(packages, r):
    packages["%s-%s-%s.tar.bz2" % (r["name"], r["version"], r["build"])] = r


def generate():
    random.seed(17)
    esri = dict(load("esri", "win-64"))
    main = dict(load("main", "win-64"))
    noarch = dict(load("main", "noarch"))

    # Many versions and builds of the demo's packages, with real-looking bounds.
    for minor in range(50, 61):
        for py in PYTHONS:
            lo_np = "1.%d" % (18 + (minor - 50) // 2)
            hi_np = "1.%d.0a0" % (24 + (minor - 50) // 3)
            put(main, rec("numba", "0.%d.0" % minor, "%sh%07x_0" % (tag(py), random.getrandbits(28)),
                          [py_dep(py), "numpy >=%s,<%s" % (lo_np, hi_np),
                           "llvmlite >=0.%d.0,<0.%d.0a0" % (minor - 17, minor - 16), "setuptools"], "win-64"))
            put(main, rec("llvmlite", "0.%d.0" % (minor - 17), "%sh%07x_0" % (tag(py), random.getrandbits(28)),
                          [py_dep(py), "vc >=14.1,<15.0a0"], "win-64"))
    for v in ["1.2.%d" % i for i in range(0, 11)] + ["1.3.%d" % i for i in range(0, 10)]:
        for py in PYTHONS:
            gdal = "3.4.1" if v.startswith("1.2") else random.choice(["3.6.2", "3.8.1"])
            put(main, rec("rasterio", v, "%sh%07x_0" % (tag(py), random.getrandbits(28)),
                          [py_dep(py), "affine", "click >=4.0", "libgdal >=%s,<%s.0a0" % (gdal, gdal.rsplit(".", 1)[0][:-1] + str(int(gdal.split(".")[1]) + 1)),
                           "numpy >=1.20.1,<2.0a0", "snuggs >=1.4.1"], "win-64"))
    for v in ["%d.0.0" % m for m in range(1, 16)]:
        for py in PYTHONS[1:]:
            put(main, rec("pyarrow", v, "%sh%07x_0" % (tag(py), random.getrandbits(28)),
                          [py_dep(py), "numpy >=1.16,<2.0a0"], "win-64"))
    for minor in range(17, 27):
        for patch in range(0, 6):
            for py in PYTHONS:
                put(main, rec("numpy", "1.%d.%d" % (minor, patch), "%sh%07x_0" % (tag(py), random.getrandbits(28)),
                              [py_dep(py), "numpy-base 1.%d.%d.*" % (minor, patch)], "win-64"))
                put(main, rec("numpy-base", "1.%d.%d" % (minor, patch), "%sh%07x_0" % (tag(py), random.getrandbits(28)),
                              [py_dep(py)], "win-64"))

    # ~1,400 other packages: versions x python builds, depending on earlier
    # packages with ranges, some on numpy.
    names = ["pkg%04d" % i for i in range(1400)]
    count = lambda: len(esri) + len(main) + len(noarch)
    i = 0
    while count() < 30_000:
        name = names[i % len(names)]
        i += 1
        idx = names.index(name)
        major = 1 + (i // len(names))
        for minor in range(0, 3):
            version = "%d.%d.0" % (major, minor)
            deps_base = []
            for _ in range(random.randint(0, 3)):
                if idx == 0:
                    break
                dep = names[random.randrange(0, idx)]
                deps_base.append("%s >=1.0" % dep if random.random() < 0.7 else dep)
            if random.random() < 0.3:
                deps_base.append("numpy >=1.%d" % random.randint(16, 22))
            if random.random() < 0.2:
                put(noarch, rec(name, version, "pyhd3eb1b0_0", ["python >=3.6"] + deps_base, "noarch"))
                continue
            for py in PYTHONS:
                put(main, rec(name, version, "%sh%07x_0" % (tag(py), random.getrandbits(28)),
                              [py_dep(py)] + deps_base, "win-64"))
    # Esri's channel: arcgispro/arcpy of earlier releases as filler.
    for pro in range(0, 6):
        for build in range(0, 40):
            put(esri, rec("arcgis", "2.%d.%d" % (pro, build), "py311_%d" % (1000 + build), [py_dep("3.11")], "win-64"))

    for channel, subdir, packages in [("esri", "win-64", esri), ("main", "win-64", main), ("main", "noarch", noarch)]:
        path = OUT / channel / subdir
        path.mkdir(parents=True, exist_ok=True)
        data = {"info": {"subdir": subdir}, "packages": packages, "packages.conda": {}, "repodata_version": 1}
        (path / "repodata.json").write_text(json.dumps(data), encoding="utf-8")
    return len(esri), len(main), len(noarch)


def cpu(cmd):
    """User+sys CPU seconds of one run, and its exit code."""
    with open(os.devnull, "wb") as null:
        proc = subprocess.Popen(cmd, stdout=null, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.stderr.close()
    return usage.ru_utime + usage.ru_stime, os.waitstatus_to_exitcode(status)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--bin", default=str(ROOT / "target" / "release" / "gpaudit"))
    args = ap.parse_args()
    counts = generate()
    sizes = sum(p.stat().st_size for p in OUT.rglob("repodata.json"))
    print("channels: esri/win-64 %d, main/win-64 %d, main/noarch %d records (%d total, %.1f MB)"
          % (*counts, sum(counts), sizes / 1e6))
    site = str(ROOT / "fixtures" / "sites" / "demo" / "site.toml")
    base = [args.bin, "audit", site, "--target", "11.3", "--format", "json"]
    channels = ["--channel", str(OUT / "esri"), str(OUT / "main")]
    a_cmd = base
    b_cmd = base + channels
    # --target 11.0: no clone of the demo is before 11.0, so nothing is
    # solved, but the channels are read: C - A0 is the reading alone.
    base0 = [args.bin, "audit", site, "--target", "11.0", "--format", "json"]
    a0_cmd = base0
    c_cmd = base0 + channels
    # Check the outcome once: the demo's findings with the big channels.
    out = subprocess.run(b_cmd, capture_output=True, text=True)
    report = json.loads(out.stdout)
    codes = sorted({(f["code"], f["machine"], f["env"], f.get("package")) for f in report["findings"]
                    if f["code"] in ("upgrade-unsolvable", "upgrade-will-change")})
    for c in codes:
        print("  ", *c)
    for cmd in (a_cmd, b_cmd, a0_cmd, c_cmd):  # warm-up
        cpu(cmd)
    runs = {"A": [], "B": [], "A0": [], "C": []}
    for _ in range(args.rounds):
        for key, cmd in (("A", a_cmd), ("B", b_cmd), ("A0", a0_cmd), ("C", c_cmd)):
            runs[key].append(cpu(cmd)[0])
    med = {k: statistics.median(v) for k, v in runs.items()}
    labels = {
        "A": "A  --target 11.3",
        "B": "B  --target 11.3 --channel esri main",
        "A0": "A0 --target 11.0",
        "C": "C  --target 11.0 --channel esri main (read, no solve)",
    }
    for k in ("A", "B", "A0", "C"):
        print("%-55s median CPU %.3f s  (%s)" % (labels[k], med[k], ", ".join("%.3f" % x for x in runs[k])))
    read = med["C"] - med["A0"]
    total = med["B"] - med["A"]
    print("reading %d records: %.3f s CPU; solving the 4 clones (8 solves): %.3f s CPU; together %.3f s"
          % (sum(counts), read, total - read, total))


if __name__ == "__main__":
    sys.exit(main())
