#!/usr/bin/env bash
# The access monitor on hospitals from the independently written generator
# (tools/independent-hospital): eight seeds and sizes, each generated, scanned and evaluated
# with the release binary; prints one line per hospital and the pooled numbers.
# Usage: scripts/monitor-eval-independent.sh [unexplained-share] [second]
#   unexplained-share: default 0.002, the generator's own: that share of legitimate accesses is a
#     random on-duty user opening a random patient; 0 leaves it out
#   second: eight other seeds (9-16, same sizes, two incidents per kind), a second sample of
#     hospitals for how much the pooled numbers vary from one set of hospitals to the next
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p phiguard
bin=target/release/phiguard
share=${1:-0.002}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '%-6s %-6s %-6s %-6s %-8s %-7s %-9s %-7s %-8s %s\n' seed days patients staff events recall precision named auc worst-kind
configs=("1 21 4000 400 2" "2 14 3500 320 2" "3 28 6000 500 2" "4 24 5000 450 2"
  "5 24 4500 400 3" "6 26 4800 420 3" "7 28 5100 440 3" "8 30 5400 460 3")
if [ "${2:-}" = second ]; then
  configs=("9 21 4000 400 2" "10 14 3500 320 2" "11 28 6000 500 2" "12 24 5000 450 2"
    "13 24 4500 400 2" "14 26 4800 420 2" "15 28 5100 440 2" "16 30 5400 460 2")
fi
for cfg in "${configs[@]}"; do
  set -- $cfg
  d="$work/h$1"
  PYTHONHASHSEED=0 python3 tools/independent-hospital/indgen.py --out "$d" --seed "$1" --days "$2" --patients "$3" --staff "$4" --incidents-per-kind "$5" --unexplained-share "$share" >/dev/null 2>&1
  "$bin" scan --context "$d/context" --events "$d/AuditEvent.ndjson" --out "$d/scores.ndjson" -q
  "$bin" eval --labels "$d/labels.ndjson" --scores "$d/scores.ndjson" --json >"$work/eval-$1.json"
  python3 scripts/eval-table.py row "$work/eval-$1.json" "$1" "$2" "$3" "$4"
done
python3 scripts/eval-table.py pool "$work"
