#!/usr/bin/env bash
# The access monitor on hospitals from a third independently written generator
# (tools/independent-hospital-3: a US academic medical center with DST, NPI logins, research
# teams and primary care; written from the spec alone on 2026-12-06 and never tuned against):
# eight seeds and sizes, each generated, scanned and evaluated with the release binary; prints
# one line per hospital and the pooled numbers.
# Usage: scripts/monitor-eval-gen3.sh [first-seed] [unexplained]
#   first-seed: default 1; 9 gives a second sample of eight hospitals (seeds 9-16, same sizes)
#   unexplained: default 3, the generator's own: sessions a day (per 4000 patients) of a random
#     on-duty nurse, physician, IT or social worker opening a random inpatient's chart, which is
#     exactly what its SNOOPING incidents look like; 0 leaves them out
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p phiguard
bin=target/release/phiguard
first=${1:-1}
unexplained=${2:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '%-6s %-6s %-6s %-6s %-8s %-7s %-9s %-7s %-8s %s\n' seed days patients staff events recall precision named auc worst-kind
i=0
for cfg in "21 4000 400" "14 3000 300" "28 5000 450" "21 4500 400" "24 4500 400" "26 4800 420" "28 5100 440" "30 5400 460"; do
  set -- $cfg
  seed=$((first + i))
  i=$((i + 1))
  d="$work/h$seed"
  PYTHONHASHSEED=0 python3 tools/independent-hospital-3/gen3.py --out "$d" --seed "$seed" --days "$1" --patients "$2" --staff "$3" --incidents-per-kind 2 --unexplained "$unexplained" >/dev/null
  "$bin" scan --context "$d/context" --events "$d/AuditEvent.ndjson" --out "$d/scores.ndjson" -q
  "$bin" eval --labels "$d/labels.ndjson" --scores "$d/scores.ndjson" --json >"$work/eval-$seed.json"
  python3 scripts/eval-table.py row "$work/eval-$seed.json" "$seed" "$1" "$2" "$3"
  rm -rf "$d"
done
python3 scripts/eval-table.py pool "$work"
