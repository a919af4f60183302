#!/usr/bin/env bash
# The main job: set up, prove the rules against the texts, and run the 政策计算器 on the bundled examples.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
. .venv/bin/activate
huiqi lint
[ -f var/demo/enterprises.parquet ] || huiqi demo-data --out var/demo
for f in examples/*.yaml; do
  echo "== $f"
  huiqi check "$f"
done
huiqi screen --period 2024Q4 --data var/demo --out out
