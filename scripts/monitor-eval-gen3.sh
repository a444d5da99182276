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
. scripts/eval-sizes.sh
unexplained=${2:-3}
generate() {
  PYTHONHASHSEED=0 python3 tools/independent-hospital-3/gen3.py --out "$1" --seed "$2" --days "$3" --patients "$4" --staff "$5" --incidents-per-kind 2 --unexplained "$unexplained" >/dev/null
}
eval_eight_sizes "${1:-1}"
