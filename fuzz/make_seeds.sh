#!/usr/bin/env bash
# Rebuilds fuzz/seeds/ (the committed seed corpora) from fixtures/. Run from
# the repository root after fixtures change; the seeds are small copies.
set -euo pipefail
cd "$(dirname "$0")/.."
S=fuzz/seeds
SEP='%%gpaudit-fuzz-file%%'
rm -rf "$S" && mkdir -p "$S"
for t in conda_meta_record env_folder pip_dist reference site_toml service_json \
  config_store_xml python_imports snapshot_json apply_journal migration_plan gpaudit_toml \
  pep508_requirement pth_files record_cache script_cache; do mkdir -p "$S/$t"; done
D=fixtures/sites/demo
PRO=$D/pro/arcgispro-py3-clone
HYDRO=$D/gis1/ArcGIS/Server/framework/runtime/ArcGIS/bin/Python/envs/hydro
n=0
for f in $(ls -S -r "$PRO"/conda-meta/*.json | head -4) $(ls -S -r "$HYDRO"/conda-meta/*.json | head -2); do
  n=$((n + 1)); cp "$f" "$S/conda_meta_record/$n.json"
done
rec=$(ls -S -r "$PRO"/conda-meta/*.json | head -1)
dist=$(dirname "$(find "$HYDRO/Lib/site-packages" -name RECORD | head -1)")
{ cat "$rec"; echo "$SEP"; cat "$PRO/conda-meta/pinned"; echo "$SEP"; cat "$PRO/conda-meta/history";
  echo "$SEP"; cat "$dist/METADATA"; echo "$SEP"; cat "$dist/RECORD"; } >"$S/env_folder/1"
n=0
for d in $(find "$D" fixtures/reference -name RECORD -path '*dist-info*' | xargs -n1 dirname | sort | head -3); do
  n=$((n + 1))
  { cat "$d/METADATA"; echo "$SEP"; cat "$d/RECORD"; echo "$SEP"; cat "$d/INSTALLER" 2>/dev/null || true; } >"$S/pip_dist/$n"
done
for f in fixtures/reference/*.txt fixtures/reference/*.json fixtures/reference/*.yml; do
  case "$f" in *snapshot.json) continue ;; esac
  cp "$f" "$S/reference/$(basename "$f")"
done
cp "$D/site.toml" "$S/site_toml/site.toml"
n=0
for f in $(find "$D/arcgisserver/config-store/services" -name '*.json' | sort); do
  n=$((n + 1)); cp "$f" "$S/service_json/$n.json"
done
n=0
for f in $(find "$D" -name 'config-store-connection.xml' | sort); do
  n=$((n + 1)); cp "$f" "$S/config_store_xml/$n.xml"
done
n=0
for f in $(find "$D" -name '*.py' | sort | head -6); do
  n=$((n + 1)); cp "$f" "$S/python_imports/$n.py"
done
cp fixtures/reference/snapshot.json "$S/snapshot_json/snapshot.json"
cp "$D/gpaudit.toml" "$S/gpaudit_toml/gpaudit.toml"
grep -v '^#' fixtures/reference/pip-freeze.txt | grep . | head -6 | nl -nln -w1 -s' ' |
  while read -r i line; do printf '%s' "$line" >"$S/pep508_requirement/$i"; done
# .pth files: the demo's hand-made one, its PEP 660 editable with the
# finder, pywin32's, and an egg-link with easy-install.pth (Windows lines).
ML=$D/gis1/ArcGIS/Server/framework/runtime/ArcGIS/bin/Python/envs/ml/Lib/site-packages
{ cat "$D/gis1/d-envs/special/Lib/site-packages/gp-share.pth"; echo "$SEP"; cat "$ML/__editable__.clusterkit-0.3.pth"; echo
  echo "$SEP"; cat "$ML/__editable___clusterkit_0_3_finder.py"; echo "$SEP"; echo "$SEP"; } >"$S/pth_files/1"
printf '# .pth file for the PyWin32 extensions\r\nwin32\r\nwin32\\lib\r\nPythonwin\r\nimport pywin32_bootstrap\r\n' >"$S/pth_files/2"
{ printf 'D:\\gp\n..\\..\\shared\nC:\\envs\\hydro\\Lib\\site-packages\\tools\n'; echo "$SEP"; printf 'D:\\src\\k\\src\n'; echo "$SEP"
  echo "$SEP"; printf 'C:\\src\\k\r\n.\r\n'; echo "$SEP"; printf 'c:\\src\\k\nimport sys; sys.__plen = len(sys.path)\n'; } >"$S/pth_files/3"
# Cache files are binary: the unit test that checks them writes them.
GPAUDIT_BLESS=1 cargo test --quiet --lib record_cache_fuzz_seeds_decode
GPAUDIT_BLESS=1 cargo test --quiet --lib script_cache_fuzz_seeds_decode
