#!/usr/bin/env bash
# The access monitor on hospitals from a fifth independently written generator
# (tools/independent-hospital-5: a German university hospital with CET/CEST, three-shift
# nursing, on-call nights, German, Turkish, Polish and Arabic names with umlauts and their
# transliterations, house numbers after the street, and 0.5% legitimate work nothing in the
# export explains; written from the spec alone on 2026-12-07 and never tuned against): eight seeds and sizes, each
# generated, scanned and evaluated with the release binary; prints one line per hospital and the
# pooled numbers.
# Usage: scripts/monitor-eval-gen5.sh [first-seed]   (9 gives a second sample, seeds 9-16)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/eval-sizes.sh
generate() {
  PYTHONHASHSEED=0 python3 tools/independent-hospital-5/gen5.py --out "$1" --seed "$2" --days "$3" --patients "$4" --staff "$5" --incidents-per-kind 2 >/dev/null
}
eval_eight_sizes "${1:-1}"
