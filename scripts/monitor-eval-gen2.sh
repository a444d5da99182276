#!/usr/bin/env bash
# The access monitor on hospitals from a second independently written generator
# (tools/independent-hospital-2: a French university hospital, written from the spec alone on
# 2026-12-06 and never tuned against): eight seeds and sizes, each generated, scanned and
# evaluated with the release binary; prints one line per hospital and the pooled numbers.
# Usage: scripts/monitor-eval-gen2.sh [first-seed]
#   first-seed: default 1; 9 gives a second sample of eight hospitals (seeds 9-16, same sizes)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/eval-sizes.sh
generate() {
  PYTHONHASHSEED=0 python3 tools/independent-hospital-2/gen2.py --out "$1" --seed "$2" --days "$3" --patients "$4" --staff "$5" --incidents-per-kind 2 >/dev/null
}
eval_eight_sizes "${1:-1}"
