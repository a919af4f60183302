#!/usr/bin/env bash
# The main job: set up, prove the rules against the texts, make sure the demo data is there, and serve the web
# application (政策库, 政策计算器, 工作台, REST API) at http://127.0.0.1:8000 on the embedded SQLite database.
# PORT, HOST, HUIQI_DB and WORKERS (server processes, default 1; docs/web.md) override the defaults; Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
. .venv/bin/activate
huiqi lint
[ -f var/demo/enterprises.parquet ] || huiqi demo-data --out var/demo
exec huiqi serve --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}" --workers "${WORKERS:-1}" --db "${HUIQI_DB:-sqlite:///var/huiqi.db}" --data var/demo
