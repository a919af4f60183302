#!/usr/bin/env bash
# Debian packages the tests use: PostgreSQL (a real server for the storage tests), LibreOffice (opens the
# exported Excel files headless), Chromium (Playwright drives it for the browser tests; no browser download)
# Noto CJK fonts (Chinese renders in screenshots and PDFs, not as tofu) and a headless Java runtime (PySpark
# runs the scale-out test on local[2]; Spark 4 needs Java 17+, bookworm's default is 17) and wrk (the low-CPU load
# client of benchmarks/bench_web.py; no test needs it). Installed only when
# missing; needs root and apt-get, otherwise the tests that need them are skipped with a reason.
set -euo pipefail
need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v soffice >/dev/null 2>&1 || need+=(libreoffice-calc-nogui)
[ -x /usr/bin/chromium ] || need+=(chromium)
java -version >/dev/null 2>&1 || need+=(default-jre-headless)
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || need+=(fonts-noto-cjk)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "system-packages: cannot install ${need[*]} (not root or no apt-get); the tests that need them will be skipped" >&2
  exit 0
fi
echo "system-packages: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
