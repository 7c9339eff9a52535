#!/usr/bin/env bash
# Two sessions register the same submission_id at the same time: exactly one
# household is created and both sessions get its ids.  Needs a running
# cluster (PG* environment) and a database with the extension ($1).
set -euo pipefail
db="$1"
q() { psql -X -q -v ON_ERROR_STOP=1 -At -d "$db" "$@"; }

q -c "INSERT INTO sp.admin_area (code, parent_code, level, name) VALUES ('CC', NULL, 0, 'Concurrency') ON CONFLICT DO NOTHING"
doc='{"submission_id": "00000000-0000-4000-8000-00000000cc01", "admin_area_code": "CC",
      "members": [{"given_name": "Race", "relationship_to_head": "head"}]}'
batch="[$doc]"

# session A registers and holds its transaction open for 2 s
q -c "BEGIN" -c "SELECT sp.register_household('$doc') ->> 'household_id'" -c "SELECT pg_sleep(2)" -c "COMMIT" > /tmp/sp_conc_a.$$ &
sleep 0.5
# sessions B (single) and C (batch) arrive meanwhile, wait for A, and must not insert again
q -c "SELECT sp.register_household('$doc') ->> 'household_id'" > /tmp/sp_conc_b.$$ &
q -c "SELECT sp.import_registrations('$batch') - 'batch_id' - 'errors' - 'possible_duplicates'" > /tmp/sp_conc_c.$$
wait

a=$(cat /tmp/sp_conc_a.$$); b=$(cat /tmp/sp_conc_b.$$); c=$(cat /tmp/sp_conc_c.$$)
rm -f /tmp/sp_conc_[abc].$$
n=$(q -c "SELECT count(*) FROM sp.registration_submission WHERE submission_id = '00000000-0000-4000-8000-00000000cc01'")
h=$(q -c "SELECT count(*) FROM sp.household WHERE admin_area_code = 'CC'")

fail=0
echo "1..4"
if [ "$a" = "$b" ] && [ -n "$a" ]; then echo "ok 1 - both sessions get household $a"; else echo "not ok 1 - A got '$a', B got '$b'"; fail=1; fi
if [ "$c" = '{"inserted": 0, "rejected": 0, "duplicates_skipped": 1}' ]; then echo "ok 2 - the concurrent batch skips it as a duplicate"; else echo "not ok 2 - batch said $c"; fail=1; fi
if [ "$n" = 1 ]; then echo "ok 3 - one submission row"; else echo "not ok 3 - $n submission rows"; fail=1; fi
if [ "$h" = 1 ]; then echo "ok 4 - one household"; else echo "not ok 4 - $h households"; fail=1; fi
exit $fail
