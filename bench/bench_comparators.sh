#!/usr/bin/env bash
# String comparators: sp.jaro_winkler vs pg_similarity's jarowinkler and
# sp.levenshtein vs fuzzystrmatch's levenshtein over the same 1,000,000 name
# pairs, in the same run, single core (no parallel query).
set -euo pipefail
cd "$(dirname "$0")/.."

PAIRS="${BENCH_PAIRS:-1000000}"
RUNS="${BENCH_RUNS:-3}"
DB=sp_bench_compare

q() { psql -X -q -v ON_ERROR_STOP=1 -d "$DB" "$@"; }

createdb -E UTF8 -T template0 "$DB"
q -c "SET client_min_messages = warning" -c "CREATE EXTENSION sp_registry CASCADE" \
  -c "CREATE EXTENSION pg_similarity" -c "CREATE EXTENSION fuzzystrmatch"
q -f scripts/synth_country.sql >/dev/null

echo "generating $PAIRS name pairs"
# Full names from the synthetic generator's lists (about 1 in 8 with a
# non-ASCII letter), paired with a copy that has 0-2 enumerator typos.
q -c "SET max_parallel_workers_per_gather = 0" -c "
CREATE TABLE pairs AS
WITH names AS (
    SELECT ARRAY['Juma', 'Baraka', 'Omar', 'Hassan', 'Peter', 'Joseph', 'Emmanuel', 'Ibrahim', 'Kwame', 'Tafadzwa',
                 'Nikolai', 'Mohammed', 'Kipchoge', 'José', 'Raúl', 'Thabo', 'Amina', 'Halima', 'Fatuma', 'Grace',
                 'Esther', 'Rehema', 'Zawadi', 'Khadija', 'Akosua', 'Rutendo', 'Wanjiru', 'Zoë', 'Inés', 'Thandiwe'] AS given,
           ARRAY['Odhiambo', 'Otieno', 'Kamau', 'Mwangi', 'Njoroge', 'Wanjala', 'Mohamed', 'Abdullahi', 'Mensah',
                 'Boateng', 'Moyo', 'Ncube', 'Banda', 'Phiri', 'Kiprop', 'Chebet', 'Okafor', 'Tesfaye', 'Ivanova',
                 'Núñez', 'García', 'Mwakyusa', 'Massawe', 'Shirima', 'Mrema', 'Müller', 'Nguyễn', 'Søren', 'Łukasz', 'Dvořák'] AS family
),
p AS (
    SELECT i, synth.pick(given, synth.rnd(1, i, 1)) || ' ' || synth.pick(family, synth.rnd(1, i, 2)) AS a,
           synth.rnd(1, i, 3) AS u, synth.rnd(1, i, 4) AS v
    FROM names, generate_series(1, $PAIRS) i
)
SELECT i, a,
       CASE WHEN u < 0.2 THEN a
            WHEN u < 0.7 THEN synth.typo(a, v, u)
            ELSE synth.typo(synth.typo(a, v, u), u, v) END AS b
FROM p"
q -c "VACUUM ANALYZE pairs"
q -c "CREATE FUNCTION time_ms(query text) RETURNS float8 LANGUAGE plpgsql AS \$\$
DECLARE t0 timestamptz;
BEGIN
    SET LOCAL max_parallel_workers_per_gather = 0;
    t0 := clock_timestamp();
    EXECUTE query;
    RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
END \$\$"

# median of RUNS timings, after one warm-up run
median_ms() {
  q -Atc "SELECT time_ms(\$q\$$1\$q\$)" >/dev/null
  for ((r = 0; r < RUNS; r++)); do q -Atc "SELECT time_ms(\$q\$$1\$q\$)"; done | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p"
}

echo "timing"
base=$(median_ms "SELECT sum(length(a) + length(b)) FROM pairs")
sp_jw=$(median_ms "SELECT sum(sp.jaro_winkler(a, b)) FROM pairs")
sim_jw=$(median_ms "SELECT sum(jarowinkler(a, b)) FROM pairs")
sp_lev=$(median_ms "SELECT sum(sp.levenshtein(a, b)) FROM pairs")
fz_lev=$(median_ms "SELECT sum(levenshtein(a, b)) FROM pairs")
sp_dl=$(median_ms "SELECT sum(sp.damerau_levenshtein(a, b)) FROM pairs")
sp_jaro=$(median_ms "SELECT sum(sp.jaro(a, b)) FROM pairs")

nonascii=$(q -Atc "SELECT count(*) FROM pairs WHERE a !~ '^[ -~]*\$' OR b !~ '^[ -~]*\$'")
jw_disagree=$(q -Atc "SELECT count(*) FROM pairs WHERE abs(sp.jaro_winkler(a, b) - jarowinkler(a, b)) > 1e-9")
jw_disagree_ascii=$(q -Atc "SELECT count(*) FROM pairs WHERE a ~ '^[ -~]*\$' AND b ~ '^[ -~]*\$' AND abs(sp.jaro_winkler(a, b) - jarowinkler(a, b)) > 1e-9")
lev_disagree=$(q -Atc "SELECT count(*) FROM pairs WHERE sp.levenshtein(a, b) <> levenshtein(a, b)")
examples=$(q -Atc "SELECT format('| %s | %s | %s | %s |', a, b, round(sp.jaro_winkler(a, b)::numeric, 4), round(jarowinkler(a, b)::numeric, 4))
                  FROM (VALUES ('José', 'Jose'), ('Zoë Ncube', 'Zoe Ncube'), ('Иван', 'Ивна'), ('Müller', 'Mueller'),
                               ('Omar Njoroge', 'ar Njoroge'), ('MARTHA', 'MARHTA'), ('DIXON', 'DICKSONX')) v (a, b)")

net() { echo "$1 - $base" | bc; }
ratio() { echo "scale=2; $(net "$2") / $(net "$1")" | bc; }
per_sec() { echo "scale=0; $PAIRS * 1000 / $(net "$1")" | bc; }

cat > bench/out/20_comparators.md <<MD
## String comparators (issue: record linkage)

$PAIRS name pairs ("given family", 20 % identical, the rest with one or two typos; $nonascii pairs contain
a non-ASCII letter), single core, median of $RUNS runs after a warm-up, same run. Times are for
\`SELECT sum(f(a, b)) FROM pairs\` minus the same scan with \`length()\` ($(printf '%.0f' "$base") ms).

| function | ms | pairs/s | speed-up over peer |
|---|---:|---:|---:|
| \`sp.jaro_winkler\` | $(printf '%.0f' "$(net "$sp_jw")") | $(per_sec "$sp_jw") | **$(ratio "$sp_jw" "$sim_jw") x** |
| pg_similarity \`jarowinkler\` | $(printf '%.0f' "$(net "$sim_jw")") | $(per_sec "$sim_jw") | |
| \`sp.levenshtein\` | $(printf '%.0f' "$(net "$sp_lev")") | $(per_sec "$sp_lev") | **$(ratio "$sp_lev" "$fz_lev") x** |
| fuzzystrmatch \`levenshtein\` | $(printf '%.0f' "$(net "$fz_lev")") | $(per_sec "$fz_lev") | |
| \`sp.damerau_levenshtein\` (no peer in PostgreSQL) | $(printf '%.0f' "$(net "$sp_dl")") | $(per_sec "$sp_dl") | |
| \`sp.jaro\` | $(printf '%.0f' "$(net "$sp_jaro")") | $(per_sec "$sp_jaro") | |

Targets (issue 4): \`sp.jaro_winkler\` >= 1.5 x pg_similarity, \`sp.levenshtein\` >= 1.5 x fuzzystrmatch.

Correctness on the same pairs: \`sp.jaro_winkler\` and pg_similarity differ by more than 1e-9 on $jw_disagree pairs.
Most contain a non-ASCII letter: pg_similarity compares bytes, so é or a Cyrillic letter counts as two
characters. $jw_disagree_ascii are all-ASCII: there pg_similarity departs from the textbook match window. Checked by
hand for 'Omar Njoroge' / 'ar Njoroge': 10 matches, no transpositions, so Jaro = (10/12 + 10/10 + 10/10) / 3 =
0.9444 and no common prefix, which is what \`sp.jaro_winkler\` returns (table below). Both agree on the published
vectors. fuzzystrmatch's \`levenshtein\` counts characters too ($lev_disagree pairs differ) but refuses arguments over
255 characters; ours accept 1000.

| a | b | \`sp.jaro_winkler\` | pg_similarity |
|---|---|---:|---:|
$examples
MD
cat bench/out/20_comparators.md
dropdb "$DB"
