#!/usr/bin/env bash
# Side-by-side benchmark: phiguard's detectors vs scikit-learn and PyOD on the same splits.
# Creates a throwaway virtualenv in a temp dir, installs scikit-learn and pyod from PyPI,
# builds phiguard (release) and prints one table per ADBench data set plus WUSTL-EHMS.
# Usage: bench/anomaly_peers.sh [ADBENCH_DIR] [WUSTL_CSV]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
adbench="${1:-$root/../shared/datasets/adbench}"
wustl="${2:-$root/../shared/datasets/wustl_ehms_2020/wustl-ehms-2020_with_attacks_categories.csv}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install --quiet --disable-pip-version-check scikit-learn pyod >&2
(cd "$root" && cargo build --release --quiet -p phiguard)
target="${CARGO_TARGET_DIR:-$root/target}"
"$tmp/venv/bin/python" "$here/anomaly_peers.py" --phiguard "$target/release/phiguard" --adbench "$adbench" --wustl "$wustl"
