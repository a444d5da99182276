#!/usr/bin/env bash
# The access monitor on hospitals from the independently written generator
# (tools/independent-hospital): eight seeds and sizes, each generated, scanned and evaluated
# with the release binary; prints one line per hospital and the pooled numbers.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p phiguard
bin=target/release/phiguard
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '%-6s %-5s %-9s %-6s %-8s %-7s %-9s %-7s %s\n' seed days patients staff events recall precision named worst-kind
for cfg in "1 21 4000 400 2" "2 14 3500 320 2" "3 28 6000 500 2" "4 24 5000 450 2" \
  "5 24 4500 400 3" "6 26 4800 420 3" "7 28 5100 440 3" "8 30 5400 460 3"; do
  set -- $cfg
  d="$work/h$1"
  PYTHONHASHSEED=0 python3 tools/independent-hospital/indgen.py --out "$d" --seed "$1" --days "$2" --patients "$3" --staff "$4" --incidents-per-kind "$5" >/dev/null 2>&1
  "$bin" scan --context "$d/context" --events "$d/AuditEvent.ndjson" --out "$d/scores.ndjson" -q
  "$bin" eval --labels "$d/labels.ndjson" --scores "$d/scores.ndjson" --json >"$work/eval-$1.json"
  python3 -c '
import json, sys
r = json.load(sys.stdin)
k, w = min(r["kinds"].items(), key=lambda kv: kv[1]["recall"])
print("%-6s %-5s %-9s %-6s %-8d %-7.3f %-9.3f %-7.3f %s %.2f" % (sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], r["events"], r["recall"], r["precision"], r["reasons_named"], k, w["recall"]))
' "$1" "$2" "$3" "$4" <"$work/eval-$1.json"
done
python3 - "$work" <<'PY'
import glob, json, sys
kinds, reviewed, hits = {}, 0, 0
for f in sorted(glob.glob(sys.argv[1] + "/eval-*.json")):
    r = json.load(open(f))
    reviewed += r["reviewed_cases"]
    hits += r["reviewed_incident_cases"]
    for k, v in r["kinds"].items():
        a = kinds.setdefault(k, [0, 0, 0])
        a[0] += v["incidents"]; a[1] += v["caught"]; a[2] += v["reasons_named"]
n = sum(a[0] for a in kinds.values())
print("pooled: %d incidents, recall %.3f, precision %.3f, reasons named %.3f" % (
    n, sum(a[1] for a in kinds.values()) / n, hits / max(reviewed, 1), sum(a[2] for a in kinds.values()) / n))
print("per kind: " + ", ".join("%s %d/%d" % (k, a[1], a[0]) for k, a in sorted(kinds.items())))
PY
