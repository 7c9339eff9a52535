#!/usr/bin/env bash
# The DCI API over HTTP (issue 15): /registry/sync/search through
# sp_registry_gateway against a registry of about 1,000,000 persons, from 16
# concurrent clients (bench/http_load.c, keep-alive connections, a new
# message_id per request), by national ID (the blind index, every lookup
# audited) and by household id; beside it, the same search called in SQL by
# 16 pgbench clients as the same role (the cost of HTTP, authentication and
# the connection pool is the difference).
set -euo pipefail
cd "$(dirname "$0")/.."

N="${BENCH_DCI_PERSONS:-1000000}"
SECS="${BENCH_DCI_SECONDS:-30}"
CLIENTS=16
DB=sp_bench_dci
WORK=$(mktemp -d /tmp/sp_bench_dci.XXXXXX)
gw_pid=""
trap '[ -n "$gw_pid" ] && kill $gw_pid 2>/dev/null; rm -rf "$WORK"' EXIT
q() { psql -X -q -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
now() { date +%s.%N; }
secs() { echo "$(now) - $1" | bc; }

make -s tools/registry_gen
cc -std=gnu11 -O2 -Wall -Wextra -Werror -o "$WORK/http_load" bench/http_load.c -lcurl -lpthread
gateway="$(pg_config --bindir)/sp_registry_gateway"
createdb -E UTF8 -T template0 "$DB"
q -c "SET client_min_messages = warning" -c "CREATE EXTENSION sp_registry CASCADE"

tools/registry_gen --records "$N" --seed 21 --dup-rate 0 > "$WORK/a.csv"
q -c "CREATE TABLE gen (id bigint, entity bigint, household bigint, submission bigint, given_name text, family_name text,
                       birth_date text, birth_precision text, sex text, national_id text, phone text,
                       admin_area_code text, relationship text, tags text)"
q -c "\\copy gen FROM '$WORK/a.csv' WITH (FORMAT csv, HEADER true)"
rm -f "$WORK/a.csv"
q -c "INSERT INTO sp.admin_area (code, parent_code, level, name) VALUES ('SO', NULL, 0, 'Somalia (synthetic)')"
q -c "WITH c AS (SELECT DISTINCT admin_area_code AS v FROM gen)
      INSERT INTO sp.admin_area (code, parent_code, level, name)
      SELECT DISTINCT left(v, 4), 'SO', 1, 'Region ' || left(v, 4) FROM c
      UNION ALL SELECT DISTINCT left(v, 6), left(v, 4), 2, 'District ' || left(v, 6) FROM c
      UNION ALL SELECT v, left(v, 6), 3, 'Village ' || v FROM c
      ORDER BY 3, 1"
q -c "CREATE TABLE reg_docs AS
      SELECT household, row_number() OVER (ORDER BY household) AS n,
             jsonb_build_object('submission_id', md5('dci' || household)::uuid, 'admin_area_code', min(admin_area_code),
                 'members', jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                     'given_name', nullif(given_name, ''), 'family_name', nullif(family_name, ''),
                     'birth_date', nullif(birth_date, ''), 'sex', nullif(sex, ''), 'national_id', nullif(national_id, ''),
                     'phone', nullif(phone, ''),
                     'relationship_to_head', CASE WHEN relationship = 'head' THEN 'head' WHEN relationship IN ('spouse', 'child', 'parent', 'sibling', 'grandchild') THEN relationship ELSE 'other_relative' END))
                   ORDER BY CASE WHEN relationship = 'head' THEN 0 ELSE 1 END, id)) AS doc
      FROM gen GROUP BY household"
q -c "CREATE INDEX ON reg_docs (n)" -c "ANALYZE reg_docs"
batches=$(q -Atc "SELECT ceil(count(*) / 5000.0)::int FROM reg_docs")
t=$(now)
for ((b = 0; b < batches; b++)); do
  q -c "SELECT sp.import_registrations((SELECT jsonb_agg(doc ORDER BY n) FROM reg_docs WHERE n > $b * 5000 AND n <= ($b + 1) * 5000)) IS NOT NULL" >/dev/null
done
load_s=$(printf '%.1f' "$(secs "$t")")
persons=$(q -Atc "SELECT count(*) FROM sp.person")
households=$(q -Atc "SELECT count(*) FROM sp.household")
rejected=$(q -Atc "SELECT count(*) FROM sp.import_error")
[ "$rejected" = 0 ] || { echo "bench_dci: $rejected registrations rejected:" >&2; q -c "SELECT sqlstate, field, message, count(*) FROM sp.import_error GROUP BY 1, 2, 3" >&2; exit 1; }
q -c "VACUUM ANALYZE"

# the gateway's login, a client (a registrar's role, national scope), its token
gw_password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
q >/dev/null <<SQL
SET client_min_messages = warning;
DROP ROLE IF EXISTS bench_gw;
DROP ROLE IF EXISTS bench_dci;
CREATE ROLE bench_gw LOGIN PASSWORD '$gw_password' IN ROLE sp_gateway;
CREATE ROLE bench_dci NOLOGIN IN ROLE sp_registrar;
SELECT sp.grant_area_scope('bench_dci', 'SO');
SELECT sp.register_api_client('dci.bench', '$token', 'bench_dci', '{http://127.0.0.1:9/}');
SQL
q -Atc "SELECT national_id FROM gen WHERE national_id <> '' ORDER BY md5(id::text) LIMIT 20000" > "$WORK/nid.txt"
q -Atc "SELECT household_id FROM sp.household ORDER BY md5(household_id::text) LIMIT 20000" > "$WORK/hid.txt"
q -c "CREATE TABLE bench_ids AS SELECT row_number() OVER () AS i, v AS nid FROM (SELECT national_id AS v FROM gen WHERE national_id <> '' ORDER BY md5(id::text) LIMIT 20000) x" \
  -c "CREATE UNIQUE INDEX ON bench_ids (i)" -c "GRANT SELECT ON bench_ids TO bench_dci"

port=$((55400 + RANDOM % 1000))
PGUSER=bench_gw PGPASSWORD=$gw_password PGDATABASE=$DB \
  "$gateway" --listen "127.0.0.1:$port" --pool "$CLIENTS" --rate 0 --no-notify --access-log "$WORK/access.log" &
gw_pid=$!
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done

url="http://127.0.0.1:$port/registry/sync/search"
"$WORK/http_load" "$url" "$token" dci.bench "$WORK/hid.txt" HouseholdID "$CLIENTS" 5 >/dev/null   # warm-up
echo "dci: $CLIENTS clients, ${SECS}s, by national ID"
by_nid=$("$WORK/http_load" "$url" "$token" dci.bench "$WORK/nid.txt" UIN "$CLIENTS" "$SECS")
echo "  $by_nid"
echo "dci: $CLIENTS clients, ${SECS}s, by household id"
by_hid=$("$WORK/http_load" "$url" "$token" dci.bench "$WORK/hid.txt" HouseholdID "$CLIENTS" "$SECS")
echo "  $by_hid"
kill -TERM "$gw_pid"; wait "$gw_pid" || true; gw_pid=""
audited=$(q -Atc "SELECT count(*) FROM sp.audit_log WHERE acting_role = 'bench_dci'")

# the same search in SQL, 16 pgbench clients as the same role
cat > "$WORK/search.sql" <<'SQL'
\set i random(1, :nids)
SET ROLE bench_dci;
SELECT sp.dci_search(jsonb_build_object(
    'header', jsonb_build_object('message_id', gen_random_uuid()::text, 'message_ts', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                                 'action', 'search', 'sender_id', 'dci.bench', 'total_count', 1),
    'message', jsonb_build_object('transaction_id', 't', 'search_request', jsonb_build_array(jsonb_build_object(
        'reference_id', 'r1', 'timestamp', '2026-01-01T00:00:00Z',
        'search_criteria', jsonb_build_object('query_type', 'idtype-value', 'response_entity', 'Group',
            'query', jsonb_build_object('type', 'UIN', 'value', (SELECT nid FROM public.bench_ids WHERE i = :i)),
            'authorize', '{"purpose": {"text": "load test"}}'::jsonb))))));
RESET ROLE;
SQL
echo "dci: the same search in SQL, pgbench, $CLIENTS clients, ${SECS}s"
audited_before=$(q -Atc "SELECT count(*) FROM sp.audit_log WHERE acting_role = 'bench_dci'")
pg_out=$(pgbench -n -c "$CLIENTS" -j 2 -T "$SECS" -D nids="$(q -Atc "SELECT count(*) FROM bench_ids")" -f "$WORK/search.sql" "$DB" 2>&1)
pg_audited=$(( $(q -Atc "SELECT count(*) FROM sp.audit_log WHERE acting_role = 'bench_dci'") - audited_before ))
pg_tps=$(printf '%.0f' "$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$pg_out" | head -1)")
pg_lat=$(printf '%.1f' "$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' <<<"$pg_out")")
echo "  tps=$pg_tps latency_avg_ms=$pg_lat"

field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }
cat > bench/out/dci.md <<EOF
## DCI search over HTTP (issue 15)

Registry: $persons persons in $households households (\`tools/registry_gen --records $N --seed 21 --dup-rate 0\`),
loaded with \`sp.import_registrations\` in $load_s s. \`sp_registry_gateway --pool $CLIENTS --rate 0\` on loopback,
the client a registrar's role with national scope (names in the answers); $CLIENTS client threads
(\`bench/http_load.c\`, libcurl, keep-alive), ${SECS} s each, a new \`message_id\` per request, one
\`idtype-value\` search per request answered as a Group with its members. The machine's $(nproc) cores
run the server, the gateway and the load.

| \`/registry/sync/search\` | requests | requests/s | p50 ms | p95 ms | p99 ms | max ms | not succ |
|---|---:|---:|---:|---:|---:|---:|---:|
| by national ID (blind index; each lookup audited, durably) | $(field requests "$by_nid") | $(field rps "$by_nid") | $(field p50_ms "$by_nid") | $(field p95_ms "$by_nid") | $(field p99_ms "$by_nid") | $(field max_ms "$by_nid") | $(field not_succ "$by_nid") |
| by household id | $(field requests "$by_hid") | $(field rps "$by_hid") | $(field p50_ms "$by_hid") | $(field p95_ms "$by_hid") | $(field p99_ms "$by_hid") | $(field max_ms "$by_hid") | $(field not_succ "$by_hid") |
| peer: \`sp.dci_search\` by national ID in SQL, pgbench, $CLIENTS clients | | $pg_tps | avg $pg_lat | | | | |

Audit records written: $audited by the national-ID searches over HTTP, $pg_audited by pgbench's (one per lookup).

EOF
dropdb "$DB"
psql -X -q -d postgres -c "DROP ROLE IF EXISTS bench_gw" -c "DROP ROLE IF EXISTS bench_dci"
