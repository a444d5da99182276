#!/usr/bin/env bash
# The access monitor on short histories: four of our hospitals of 6-8 days and four of the
# independent generator's of 7-10 days (tools/independent-hospital, without its random
# accesses), two incidents per kind each. The monitor learns each hospital from its own stream,
# so this measures how much it needs to see before the incidents. Prints a line per hospital and
# the pooled numbers of each generator, with the most any ranking could catch within the budget
# (incidents crowd the last days of a short stream).
# Usage: scripts/monitor-eval-short.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p phiguard
bin=target/release/phiguard
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/ours" "$work/independent"
echo "our generator"
printf '%-6s %-6s %-6s %-6s %-8s %-7s %-9s %-7s %-8s %s\n' seed days scale patients events recall precision named auc worst-kind
for cfg in "21 6 0.6 3000" "22 7 0.8 4000" "23 8 1.0 5000" "24 8 0.7 3500"; do
  set -- $cfg
  d="$work/h$1"
  "$bin" simulate hospital --out "$d" --seed "$1" --days "$2" --scale "$3" --patients "$4" --incidents-per-kind 2 >/dev/null
  "$bin" scan --context "$d/context" --events "$d/AuditEvent.ndjson" --out "$d/scores.ndjson" -q
  "$bin" eval --labels "$d/labels.ndjson" --scores "$d/scores.ndjson" --json >"$work/ours/eval-$1.json"
  python3 scripts/eval-table.py row "$work/ours/eval-$1.json" "$1" "$2" "$3" "$4"
done
python3 scripts/eval-table.py pool "$work/ours"
echo
echo "independent generator"
printf '%-6s %-6s %-6s %-6s %-8s %-7s %-9s %-7s %-8s %s\n' seed days patients staff events recall precision named auc worst-kind
for cfg in "31 7 3000 300" "32 8 4000 380" "33 9 4500 400" "34 10 5000 450"; do
  set -- $cfg
  d="$work/h$1"
  PYTHONHASHSEED=0 python3 tools/independent-hospital/indgen.py --out "$d" --seed "$1" --days "$2" --patients "$3" --staff "$4" --incidents-per-kind 2 --unexplained-share 0 >/dev/null 2>&1
  "$bin" scan --context "$d/context" --events "$d/AuditEvent.ndjson" --out "$d/scores.ndjson" -q
  "$bin" eval --labels "$d/labels.ndjson" --scores "$d/scores.ndjson" --json >"$work/independent/eval-$1.json"
  python3 scripts/eval-table.py row "$work/independent/eval-$1.json" "$1" "$2" "$3" "$4"
done
python3 scripts/eval-table.py pool "$work/independent"
