#!/usr/bin/env bash
# The access monitor on hospitals from a sixth independently written generator
# (tools/independent-hospital-6: a US integrated delivery network, two hospitals, outpatient
# clinics, a call center and home health on one EHR, Pacific time across the November change;
# in-basket work, registry outreach, rotating residents, float and travel nurses, and 0.7%
# legitimate work nothing in the export explains; written from the spec alone on 2026-12-07 and
# never tuned against): eight seeds and sizes, each generated, scanned and evaluated with the
# release binary; prints one line per hospital and the pooled numbers.
# Usage: scripts/monitor-eval-gen6.sh [first-seed] [unexplained]
#   first-seed: 9 gives a second sample, seeds 9-16
#   unexplained: the share of legitimate events nothing in the export explains (the generator's
#   default 0.007; 0 measures the monitor without them)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/eval-sizes.sh
unexplained=${2:-0.007}
generate() {
  PYTHONHASHSEED=0 python3 tools/independent-hospital-6/gen6.py --out "$1" --seed "$2" --days "$3" --patients "$4" --staff "$5" --incidents-per-kind 2 --unexplained "$unexplained" >/dev/null
}
eval_eight_sizes "${1:-1}"
