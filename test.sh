#!/usr/bin/env bash
# The whole test suite: set up, check the code (ruff), lint the rules against the texts, run every test.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
bash scripts/system-packages.sh
. .venv/bin/activate
ruff check huiqi tests benchmarks
huiqi lint
python -m pytest tests "$@"
