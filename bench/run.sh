#!/usr/bin/env bash
# make bench: runs every bench/bench_*.sh inside a throwaway cluster
# (pg_virtualenv) and assembles their markdown into bench/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."

# BENCH_ONLY=pmt runs bench/bench_pmt.sh alone and keeps the other sections
# from their last run.
mkdir -p bench/out
if [ -z "${BENCH_ONLY:-}" ]; then
  rm -f bench/out/*.md
  scripts=(bench/bench_*.sh)
else
  scripts=(bench/bench_${BENCH_ONLY}.sh)
fi
for b in "${scripts[@]}"; do
  echo "== $b"
  "$b"
done

{
  echo "# Benchmark results"
  echo
  echo "Produced by \`make bench\` on $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(nproc) cores,"
  echo "$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo) RAM, $(psql -XAtc 'SELECT version()' -d postgres | cut -d, -f1)."
  [ -n "${BENCH_ONLY:-}" ] && echo "This run measured only bench_${BENCH_ONLY}.sh; the other sections are from the previous full run."
  echo "Server settings: $(psql -XAtc "SELECT string_agg(name || '=' || current_setting(name), ', ' ORDER BY name) FROM pg_settings WHERE name IN ('shared_buffers', 'max_wal_size', 'synchronous_commit', 'fsync')" -d postgres)."
  echo
  cat bench/out/*.md
} > bench/RESULTS.md
echo "== wrote bench/RESULTS.md"
