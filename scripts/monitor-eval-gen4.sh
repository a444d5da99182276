#!/usr/bin/env bash
# The access monitor on hospitals from a fourth independently written generator
# (tools/independent-hospital-4: an NHS acute trust with BST, smartcard logins, district nursing,
# MDTs, phlebotomy rounds and about 1% legitimate work nothing in the export explains; written
# from the spec alone on 2026-12-07 and never tuned against): eight seeds and sizes, each
# generated, scanned and evaluated with the release binary; prints one line per hospital and the
# pooled numbers.
# Usage: scripts/monitor-eval-gen4.sh [first-seed]   (9 gives a second sample, seeds 9-16)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/eval-sizes.sh
generate() {
  PYTHONHASHSEED=0 python3 tools/independent-hospital-4/gen4.py --out "$1" --seed "$2" --days "$3" --patients "$4" --staff "$5" --incidents-per-kind 2 >/dev/null
}
eval_eight_sizes "${1:-1}"
