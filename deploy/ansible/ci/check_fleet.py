"""Checks of the ansible-fleet CI step (.ci/run): what the plays left behind.

  check_fleet.py audit OUT DIRECT.json     three snapshots fetched; the merged
                                           audit's findings equal the direct audit's
  check_fleet.py migrated SITE SHARE M...  the machines M were migrated, one apply
                                           run each, in this order, every step done
  check_fleet.py stopped SITE SHARE FAILED UNTOUCHED...
                                           the rollout stopped at FAILED: its run
                                           failed, the machines after it had no run
  check_fleet.py arcpy SITE MACHINE ENV VERSION
                                           the env's arcpy is at VERSION
"""

import glob
import json
import os
import sys


def fail(message):
    print(f"check_fleet: {message}", file=sys.stderr)
    sys.exit(1)


def audit(out, direct):
    snapshots = sorted(os.listdir(os.path.join(out, "snapshots")))
    want = [f"GIS{i}.EXAMPLE.COM.json" for i in (1, 2, 3)]
    if snapshots != want:
        fail(f"fetched snapshots {snapshots}, want {want}")
    for name in snapshots:
        with open(os.path.join(out, "snapshots", name)) as f:
            machines = [m["name"] for m in json.load(f)["machines"]]
        if machines != [name.removesuffix(".json")]:
            fail(f"{name} holds machines {machines}")
    with open(os.path.join(out, "reports", "audit.json")) as f:
        merged = json.load(f)["findings"]
    with open(direct) as f:
        expected = json.load(f)["findings"]
    if merged != expected:
        extra = [x for x in merged if x not in expected]
        missing = [x for x in expected if x not in merged]
        fail(f"merged audit differs: {len(extra)} extra, {len(missing)} missing: {(extra + missing)[:3]}")
    for ext in ("md", "html"):
        if os.path.getsize(os.path.join(out, "reports", f"audit.{ext}")) == 0:
            fail(f"audit.{ext} is empty")
    print(f"audit: 3 snapshots, {len(merged)} findings, the same as the direct audit")


def runs(share):
    """Each apply run of the journal: (its steps' machines, its step ends)."""
    result = []
    with open(os.path.join(share, "plan.journal.jsonl")) as f:
        for line in f:
            entry = json.loads(line)
            if entry["event"] == "run":
                result.append({"machines": [], "ends": []})
            elif entry["event"] in ("begin", "end"):
                machine = entry["step"].split("/")[0]
                if machine not in result[-1]["machines"]:
                    result[-1]["machines"].append(machine)
                if entry["event"] == "end":
                    result[-1]["ends"].append((entry["step"], entry["status"]))
    return result


def migrated(site, share, machines):
    got = runs(share)
    if [r["machines"] for r in got] != [[m] for m in machines]:
        fail(f"apply runs touched {[r['machines'] for r in got]}, want one machine each: {machines}")
    for r in got:
        bad = [e for e in r["ends"] if e[1] != "done"]
        if bad:
            fail(f"steps not done: {bad}")
        starts = [s for s, _ in r["ends"] if s.endswith("-start")]
        if not starts:
            fail(f"{r['machines'][0]}: no service restarted")
    for m in machines:
        for env in ("hydro", "survey"):
            arcpy(site, m, env, "3.3")
    print(f"migrated: {', '.join(machines)}, one at a time, services restarted")


def stopped(site, share, failed, untouched):
    got = runs(share)
    touched = [m for r in got for m in r["machines"]]
    if touched[-1:] != [failed]:
        fail(f"the last machine applied is {touched[-1:]}, want {failed}")
    if any(m in touched for m in untouched):
        fail(f"the rollout went on past {failed}: {touched}")
    if not any(e[1] != "done" for e in got[-1]["ends"]):
        fail(f"{failed}: no step failed")
    for m in untouched:
        arcpy(site, m, "hydro", "3.1")
    print(f"stopped: {failed} failed, {', '.join(untouched)} left as they were")


def arcpy(site, machine, env, version):
    meta = os.path.join(site, machine.lower(), "framework/runtime/ArcGIS/bin/Python/envs", env, "conda-meta")
    found = [os.path.basename(p) for p in glob.glob(os.path.join(meta, "arcpy-[0-9]*.json"))]
    if not any(n.startswith(f"arcpy-{version}-") for n in found):
        fail(f"{machine}/{env}: arcpy {found}, want {version}")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "audit":
        audit(*args)
    elif cmd == "migrated":
        migrated(args[0], args[1], args[2:])
    elif cmd == "stopped":
        stopped(args[0], args[1], args[2], args[3:])
    elif cmd == "arcpy":
        arcpy(*args)
        print(f"arcpy: {args[1]}/{args[2]} at {args[3]}")
    else:
        fail(f"unknown check {cmd}")
