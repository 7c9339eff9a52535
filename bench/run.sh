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
touch bench/run.sh.stamp   # sections written after this are this run's
for b in "${scripts[@]}"; do
  echo "== $b"
  "$b"
done

# A full run writes the whole file.  BENCH_ONLY replaces only its own
# section (the block from the section's "## " heading to the next one) and
# leaves the header and the other sections - their figures and the notes
# written under them - as they are.
if [ -n "${BENCH_ONLY:-}" ] && [ -f bench/RESULTS.md ]; then
  for out in bench/out/*.md; do
    [ "$out" -nt bench/run.sh.stamp ] 2>/dev/null || continue
    heading=$(head -1 "$out")
    awk -v heading="$heading" -v block="$out" '
      BEGIN { while ((getline line < block) > 0) text = text line "\n" }
      $0 == heading { printf "%s\n", text; skip = 1; done = 1; next }
      skip && /^## / { skip = 0 }
      !skip { print }
      END { if (!done) printf "%s", text }' bench/RESULTS.md > bench/RESULTS.md.new
    mv bench/RESULTS.md.new bench/RESULTS.md
    echo "== replaced \"$heading\" in bench/RESULTS.md"
  done
  rm -f bench/run.sh.stamp
  exit 0
fi
{
  echo "# Benchmark results"
  echo
  echo "Produced by \`make bench\` on $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(nproc) cores,"
  echo "$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo) RAM, $(psql -XAtc 'SELECT version()' -d postgres | cut -d, -f1)."
  echo "Server settings: $(psql -XAtc "SELECT string_agg(name || '=' || current_setting(name), ', ' ORDER BY name) FROM pg_settings WHERE name IN ('shared_buffers', 'max_wal_size', 'synchronous_commit', 'fsync')" -d postgres)."
  echo
  cat bench/out/*.md
} > bench/RESULTS.md
rm -f bench/run.sh.stamp
echo "== wrote bench/RESULTS.md"
