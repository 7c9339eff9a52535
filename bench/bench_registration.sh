#!/usr/bin/env bash
# Registration throughput: sp.import_registrations vs plain COPY of the same
# data into unindexed tables, same run, same documents.
set -euo pipefail
cd "$(dirname "$0")/.."

N="${BENCH_HOUSEHOLDS:-100000}"
BATCH="${BENCH_BATCH:-1000}"
DB=sp_bench_registration
WORK=$(mktemp -d /tmp/sp_bench.XXXXXX)
chmod 777 "$WORK"  # the server (user postgres) writes and reads the files
trap 'rm -rf "$WORK"' EXIT

q() { psql -X -q -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
now() { date +%s.%N; }
secs() { echo "$(now) - $1" | bc; }

createdb -E UTF8 -T template0 "$DB"
q -c "SET client_min_messages = warning" -c "CREATE EXTENSION sp_registry CASCADE"
q -f scripts/synth_country.sql >/dev/null
q -Atc "SELECT synth.create_country()" >/dev/null

echo "generating $N documents"
q -c "CREATE TABLE synth.docs AS SELECT row_number() OVER () AS i, d FROM synth.household_docs($N, 7) d"
persons=$(q -Atc "SELECT sum(jsonb_array_length(d -> 'members')) FROM synth.docs")

# The same data three ways, written to files before anything is timed.
q -c "COPY (SELECT d FROM synth.docs ORDER BY i) TO '$WORK/docs.copy'"
q -c "COPY (SELECT i, d ->> 'admin_area_code', d -> 'location', d -> 'attributes', d ->> 'submission_id', d ->> 'device_time'
            FROM synth.docs ORDER BY i) TO '$WORK/households.copy'"
q -c "COPY (SELECT i, m ->> 'given_name', m ->> 'family_name', m ->> 'birth_date', m ->> 'sex', m ->> 'relationship_to_head',
                   m ->> 'national_id', m ->> 'phone', m -> 'attributes'
            FROM synth.docs, jsonb_array_elements(d -> 'members') m ORDER BY i) TO '$WORK/persons.copy'"
q -c "CREATE TABLE public.copy_docs (doc jsonb)"
q -c "CREATE TABLE public.copy_households (i bigint, admin_area_code text, location jsonb, attributes jsonb, submission_id uuid, device_time timestamptz)"
q -c "CREATE TABLE public.copy_persons (i bigint, given_name text, family_name text, birth_date text, sex text,
                                        relationship_to_head text, national_id text, phone text, attributes jsonb)"
q -c "CHECKPOINT"

t=$(now); q -c "COPY public.copy_docs FROM '$WORK/docs.copy'"; copy_docs=$(secs "$t")
t=$(now); q -c "COPY public.copy_households FROM '$WORK/households.copy'" -c "COPY public.copy_persons FROM '$WORK/persons.copy'"; copy_rows=$(secs "$t")
q -c "CHECKPOINT"

echo "importing $N documents in batches of $BATCH"
# Batches are assembled before the clock starts; one session sends them one
# after the other, each in its own transaction, as a sync server would.
nb=$(( (N + BATCH - 1) / BATCH ))
q -c "CREATE TABLE synth.batches AS
      SELECT (i - 1) / $BATCH AS b, jsonb_agg(d ORDER BY i) AS batch FROM synth.docs GROUP BY 1"
q -c "CREATE UNIQUE INDEX ON synth.batches (b)"
for ((b = 0; b < nb; b++)); do
  echo "SELECT sp.import_registrations(batch) - 'errors' FROM synth.batches WHERE b = $b;"
done > "$WORK/import.sql"
q -c "CHECKPOINT"
t=$(now)
q -f "$WORK/import.sql" >/dev/null
import=$(secs "$t")
inserted=$(q -Atc "SELECT sum(inserted) FROM sp.import_batch")
rejected=$(q -Atc "SELECT sum(rejected) FROM sp.import_batch")

NREPLAY=$(( N < 10000 ? N : 10000 ))
q -c "CREATE TABLE synth.replay AS SELECT jsonb_agg(d ORDER BY i) AS batch FROM synth.docs WHERE i <= $NREPLAY"
t=$(now)
q -Atc "SELECT sp.import_registrations(batch) - 'errors' FROM synth.replay" >/dev/null
replay=$(secs "$t")

rate() { echo "scale=0; $1 / $2" | bc; }
pct() { echo "scale=1; 100 * $1 / $2" | bc; }
r_import=$(rate "$N" "$import")
r_docs=$(rate "$N" "$copy_docs")
r_rows=$(rate "$N" "$copy_rows")

cat > bench/out/10_registration.md <<MD
## Registration throughput (issue: foundation)

$N synthetic household documents ($persons persons) from \`synth.household_docs($N, 7)\`, loaded three ways
in the same run on an empty registry. Rates are households (documents) per second.

| load | seconds | households/s | registration as % of it |
|---|---:|---:|---:|
| \`sp.import_registrations\`, batches of $BATCH sent one after another by one session, validated, encrypted, indexed, one transaction per batch | $(printf '%.2f' "$import") | $r_import | |
| plain \`COPY\` of the documents into an unindexed one-column jsonb table | $(printf '%.2f' "$copy_docs") | $r_docs | $(pct "$r_import" "$r_docs") % |
| plain \`COPY\` of the same data flattened into unindexed household and person tables | $(printf '%.2f' "$copy_rows") | $r_rows | $(pct "$r_import" "$r_rows") % |

Inserted $inserted, rejected $rejected (the generator makes no invalid documents). Replaying the first $NREPLAY
documents in one batch took $(printf '%.2f' "$replay") s ($(rate "$NREPLAY" "$replay") documents/s checked and skipped).

Target (issue 3): registration at least 20 % of raw COPY. Target (issue 9): at least 5,000
households/s with row-level security, keyed fingerprints and the audit in place (7,811 before the
security model, 2026-11-28; 4,640-4,707 on 2026-11-30 before the change below).

Where a batch's time went (1,000 documents, ~4,000 persons, into a registry of ~18,000 households,
auto_explain, shares approximate, measured before 2026-11-30): foreign-key checks of persons and
households by row-level triggers about 25 %; writing rows with their indexes (primary keys, household,
national-ID and phone blind indexes, one-head-per-household, GiST on location) about 30 %; encrypting
and blind-indexing identifiers (pgcrypto PGP AES-256 and HMAC-SHA256) about 15 %; parsing,
fingerprinting, replay lookup and catalogue validation about 15 %. Since 2026-11-30 the references of
a batch's new rows are checked once per batch (under the same FOR KEY SHARE locks) instead of by a
trigger per row, and documents are fingerprinted and encrypted in one call; the foreign keys still
guard every other write. The encryption and the indexes are what the registry is for, so they stay.
MD
cat bench/out/10_registration.md
dropdb "$DB"
