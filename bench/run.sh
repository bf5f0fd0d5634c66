#!/usr/bin/env bash
# `npm run bench`: the benchmark of issue 5. Installs wrk if missing, builds, builds or reuses the
# cached fleet under .bench/, then runs every scenario against every available store.
# Quick run: BENCH_DURATION=3 BENCH_WARMUP=1 npm run bench. See docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null 2>&1; then
  echo "[bench] installing wrk (Debian package)" >&2
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq wrk >/dev/null
fi
[ -d node_modules ] || npm ci
npm run build --silent
# The import benchmark, when it exists (BENCH_IMPORT=0 skips it: it adds a few minutes).
[ "${BENCH_IMPORT:-1}" = 0 ] || for script in bench/import*; do
  case "$script" in
    *.sh) bash "$script" ;;
    *.ts) node --import tsx "$script" ;;
  esac
done
exec node --import tsx bench/bench.ts
