"""Conformance: Esri's own Python client (the `arcgis` package, pinned in
requirements.txt) against gpaudit's ArcGIS Server stand-in
(`cargo run --example arcgis-standin`). Esri's code is used unchanged; every
step asserts what a real 11.x site answers. Exits non-zero at the first
divergence, naming the step.

usage: python esri_client.py STANDALONE_URL FEDERATED_URL
  STANDALONE_URL  a stand-in started without --federated (signs in as the
                  primary site administrator at its /arcgis/tokens/)
  FEDERATED_URL   a stand-in started with --federated (signs in at its
                  portal's sharing/rest/generateToken; the portal token is
                  then used at the server with the same Referer)
Both must be started with --tls (Esri's client upgrades http to https) and
--empty-folder Empty.
"""

import sys
import time
import warnings

warnings.simplefilter("ignore")

from arcgis.gis.server import Server  # noqa: E402

SITE_ADMIN = ("siteadmin", "s3cret-Pa55word")
PORTAL_ADMIN = ("portaladmin", "P0rtal-Adm1n-Pa55")

failures = []


def step(name, check):
    start = time.monotonic()
    try:
        result = check()
    except Exception as e:  # a divergence, whatever Esri's client raised
        failures.append(f"{name}: {type(e).__name__}: {e}")
        print(f"FAIL {name}: {type(e).__name__}: {e}")
        return None
    print(f"ok   {name} ({time.monotonic() - start:.2f}s)")
    return result


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def exercise(label, url, user, password):
    server = step(
        f"{label}: sign in",
        lambda: Server(url=f"{url}/admin", username=user, password=password, verify_cert=False),
    )
    if server is None:
        return

    def resources():
        res = server.resources
        expect("services" in res and "machines" in res, f"resources: {res}")

    step(f"{label}: /admin root resources", resources)

    def folders():
        f = server.services.folders
        for want in ("System", "Utilities", "Hydro", "Empty"):
            expect(want in f, f"folder {want} missing from {f}")
        return f

    step(f"{label}: list folders", folders)

    def empty():
        expect(server.services.list(folder="Empty") == [], "an empty folder is not an empty list")

    step(f"{label}: an empty folder is an empty list", empty)

    def built_in():
        names = [s.properties["serviceName"] for s in server.services.list(folder="System")]
        expect("PublishingTools" in names, f"System has {names}")
        names = [s.properties["serviceName"] for s in server.services.list(folder="Utilities")]
        expect("PrintingTools" in names, f"Utilities has {names}")

    step(f"{label}: Esri's built-in GP services", built_in)

    def hydro():
        services = server.services.list(folder="Hydro")
        names = sorted(s.properties["serviceName"] for s in services)
        expect(names == ["Ebb", "Flood"], f"Hydro has {names}")
        return [s for s in services if s.properties["serviceName"] == "Flood"][0]

    flood = step(f"{label}: list services", hydro)
    if flood is None:
        return

    def status(want):
        st = flood.status
        expect(st.get("realTimeState") == want, f"status {st}, wanted {want}")

    step(f"{label}: read a service's status", lambda: status("STARTED"))
    step(f"{label}: stop it", lambda: expect(flood.stop() is True, "stop did not succeed"))
    step(f"{label}: it is stopped", lambda: status("STOPPED"))
    step(f"{label}: start it", lambda: expect(flood.start() is True, "start did not succeed"))
    step(f"{label}: it is started", lambda: status("STARTED"))

    def statistics():
        stats = flood._con.get(f"{flood.url}/statistics", {"f": "json"})
        per = stats.get("perMachine", [])
        expect(len(per) > 0 and all("machineName" in m for m in per), f"statistics {stats}")

    step(f"{label}: per-machine statistics", statistics)

    def machines():
        listed = server.machines.list()
        expect(len(listed) > 0, "no machines")
        for m in listed:
            st = m.status
            expect(st.get("realTimeState") in ("STARTED", "STOPPED"), f"{m.machineName}: {st}")
        return [m.machineName for m in listed]

    names = step(f"{label}: machines and their status", machines)
    if names:
        print(f"     machines: {', '.join(names)}")


def main(argv):
    if len(argv) != 3:
        print(__doc__)
        return 2
    exercise("standalone", argv[1], *SITE_ADMIN)
    exercise("federated (portal account)", argv[2], *PORTAL_ADMIN)
    if failures:
        print(f"{len(failures)} divergence(s) from what Esri's client expects:")
        for f in failures:
            print(f"  {f}")
        return 1
    print("Esri's client accepts the stand-in")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
