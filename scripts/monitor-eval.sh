#!/usr/bin/env bash
# Reproduces the access monitor's quality numbers: twelve seeds and sizes of the simulated
# hospital (10-28 days, 2,000-9,000 patients), each simulated, scanned and evaluated with the
# release binary.
# Usage: scripts/monitor-eval.sh [incidents-per-kind] [unexplained-share]
# Prints one line per hospital, then the pooled numbers. With an unexplained share (e.g. 0.005)
# every hospital also repeats that share of its legitimate accesses on random patients (work
# whose reason the context does not record): the precision stress test.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p phiguard
bin=target/release/phiguard
ipk=${1:-2}
share=${2:-0}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '%-6s %-6s %-6s %-6s %-8s %-7s %-9s %-7s %-8s %s\n' seed days scale patients events recall precision named auc worst-kind
for cfg in "1 21 1.0 6000" "2 21 1.0 6000" "3 14 0.6 3000" "4 28 1.5 9000" "5 21 1.0 6000" "6 10 0.5 2000" \
  "7 21 1.0 6000" "8 14 0.8 4000" "9 28 1.2 8000" "10 21 1.0 6000" "11 10 0.6 2500" "12 21 1.3 7000"; do
  set -- $cfg
  d="$work/h$1"
  "$bin" simulate hospital --out "$d" --seed "$1" --days "$2" --scale "$3" --patients "$4" --incidents-per-kind "$ipk" --unexplained-share "$share" >/dev/null
  "$bin" scan --context "$d/context" --events "$d/AuditEvent.ndjson" --out "$d/scores.ndjson" -q
  "$bin" eval --labels "$d/labels.ndjson" --scores "$d/scores.ndjson" --json >"$work/eval-$1.json"
  python3 scripts/eval-table.py row "$work/eval-$1.json" "$1" "$2" "$3" "$4"
done
python3 scripts/eval-table.py pool "$work"
