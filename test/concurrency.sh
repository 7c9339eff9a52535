#!/usr/bin/env bash
# Two sessions register the same submission_id at the same time: exactly one
# household is created and both sessions get its ids.  Two sessions run
# eligibility and enrolment of one programme at the same time: the runs are
# serialised and no unit is enrolled twice.  A household reactivated while
# retention runs is not pseudonymised.  Two sessions generate one payment
# list at once: no beneficiary is paid twice.  The outbox hands events out
# in commit order.  A form edit sent twice at once is applied once, and the
# second send gets the first's answer.  Needs a running
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

# two eligibility runs and an enrolment of one programme at once
q -c "SELECT sp.register_household(('{\"admin_area_code\": \"CC\", \"attributes\": {\"rooms\": ' || i || '},
        \"members\": [{\"given_name\": \"E' || i || '\", \"relationship_to_head\": \"head\", \"phone\": \"07000000' || lpad(i::text, 2, '0') || '\"}]}')::jsonb)
      FROM generate_series(1, 30) i" >/dev/null
q -c "SELECT sp.create_pmt_model('cc_rooms', '{\"intercept\": 0, \"terms\": [{\"variable\": \"rooms\", \"coefficient\": 1}], \"cutoffs\": [{\"value\": 20}]}')" \
  -c "SELECT sp.activate_pmt_model('cc_rooms', 1)" -c "SELECT sp.score_households('cc_rooms', 'CC')" >/dev/null
q -c "INSERT INTO sp.programme (name, title, benefit_type, rule, ranking) VALUES ('cc_grant', 'Race', 'cash',
        '{\"all\": [{\"area\": \"CC\"}, {\"pmt\": {\"model\": \"cc_rooms\", \"below_cutoff\": true}}]}', '{\"pmt\": \"cc_rooms\"}')" \
  -c "INSERT INTO sp.programme_quota VALUES ('cc_grant', 'CC', 10)"
q -c "BEGIN" -c "SELECT sp.determine_eligibility('cc_grant') ->> 'new_enrolments'" -c "SELECT pg_sleep(1.5)" -c "COMMIT" > /tmp/sp_conc_d.$$ 2>&1 &
sleep 0.5
q -c "SELECT sp.determine_eligibility('cc_grant') ->> 'new_enrolments'" > /tmp/sp_conc_e.$$ 2>&1 &
q -c "SELECT sp.enrol('cc_grant') ->> 'newly_enrolled'" > /tmp/sp_conc_f.$$ 2>&1
wait
d=$(cat /tmp/sp_conc_d.$$); e=$(cat /tmp/sp_conc_e.$$); f=$(cat /tmp/sp_conc_f.$$)
rm -f /tmp/sp_conc_[def].$$
open=$(q -c "SELECT count(*) || '/' || count(DISTINCT household_id) || '/' || count(*) FILTER (WHERE state = 'enrolled')
             FROM sp.enrolment WHERE programme = 'cc_grant' AND state <> 'exited'")

# retention meets a household that another session is reactivating
rh=$(q -c "SELECT (sp.register_household('{\"admin_area_code\": \"CC\", \"members\": [{\"given_name\": \"Back\", \"relationship_to_head\": \"head\"}]}') ->> 'household_id')")
q -c "SELECT sp.set_household_status($rh, 'inactive', 'left')" >/dev/null
q -c "SET session_replication_role = replica" -c "UPDATE sp.household SET updated_at = now() - interval '60 days' WHERE household_id = $rh" \
  -c "UPDATE sp.person SET updated_at = now() - interval '60 days' WHERE household_id = $rh"
q -c "INSERT INTO sp.privacy_setting (name, value) VALUES ('closed_record_retention_days', 30)"
q -c "BEGIN" -c "SELECT sp.set_household_status($rh, 'active', 'came back') IS NOT NULL" -c "SELECT pg_sleep(1.5)" -c "COMMIT" >/dev/null &
sleep 0.5
r=$(q -c "SELECT (sp.apply_retention() ->> 'households_pseudonymised') || '/' || (SELECT status || '/' || (pseudonymised_at IS NULL)
        FROM sp.household WHERE household_id = $rh)")
wait
r2=$(q -c "SELECT status || '/' || (pseudonymised_at IS NULL) || '/' || (SELECT count(*) FROM sp.person WHERE household_id = $rh AND given_name IS NOT NULL)
           FROM sp.household WHERE household_id = $rh")
q -c "DELETE FROM sp.privacy_setting WHERE name = 'closed_record_retention_days'"

# two sessions generate the payment list of one cycle at once: no second payment
q -c "INSERT INTO sp.payment_provider (name, title, fa_type, payer_fa, currency) VALUES ('cc-pay', 'CC Pay', 'mobile', 'account:1@cc-pay', 'CCX')" \
  -c "SELECT sp.set_entitlement('cc_grant', '{\"currency\": \"CCX\", \"components\": [{\"kind\": \"flat\", \"amount\": 10}]}', 'cc-pay', 'race')" >/dev/null
cy=$(q -c "SELECT cycle_id FROM sp.create_payment_cycle('cc_grant', date_trunc('month', current_date)::date, (date_trunc('month', current_date) + interval '1 month - 1 day')::date)")
q -c "BEGIN" -c "SELECT sp.generate_payment_list($cy) ->> 'created'" -c "SELECT pg_sleep(1.5)" -c "COMMIT" > /tmp/sp_conc_g.$$ 2>&1 &
sleep 0.5
h2=$(q -c "SELECT sp.generate_payment_list($cy) ->> 'created'" 2>&1)
wait
g1=$(cat /tmp/sp_conc_g.$$); rm -f /tmp/sp_conc_g.$$
paid=$(q -c "SELECT count(*) || '/' || count(DISTINCT enrolment_id) FROM sp.payment WHERE cycle_id = $cy")
# every enrolled unit is paid once or left out with a reason (the first household has no phone)
covered=$(q -c "SELECT (SELECT count(*) FROM sp.payment WHERE cycle_id = $cy) + (SELECT count(*) FROM sp.payment_exclusion WHERE cycle_id = $cy)")

# the outbox hands events out in commit order: while session A, which wrote
# first, is still open, neither its event nor session B's later one (already
# committed) is given; once A commits, both come, A's first, each once
q -c "DO \$\$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sp_cc_outbox') THEN CREATE ROLE sp_cc_outbox NOLOGIN IN ROLE sp_integration; END IF; END \$\$" \
  -c "SELECT sp.grant_area_scope('sp_cc_outbox', 'CC')" -c "SELECT sp.create_outbox_consumer('cc.outbox', 'sp_cc_outbox')" >/dev/null
claim() { q -c "SET ROLE sp_cc_outbox" -c "SELECT coalesce(string_agg(household_id::text, ',' ORDER BY event_id), '') || ':' || count(*)
                                                FROM sp.outbox_claim('cc.outbox', 100) WHERE event_type = 'REGISTER'"; }
q -c "BEGIN" -c "SELECT sp.register_household('{\"admin_area_code\": \"CC\", \"members\": [{\"given_name\": \"First\", \"relationship_to_head\": \"head\"}]}') ->> 'household_id'" \
  -c "SELECT pg_sleep(2)" -c "COMMIT" > /tmp/sp_conc_o.$$ &
sleep 0.5
ob=$(q -c "SELECT sp.register_household('{\"admin_area_code\": \"CC\", \"members\": [{\"given_name\": \"Second\", \"relationship_to_head\": \"head\"}]}') ->> 'household_id'")
o_during=$(claim)
wait
oa=$(cat /tmp/sp_conc_o.$$); rm -f /tmp/sp_conc_o.$$
o_after=$(claim)
q -c "DELETE FROM sp.outbox_consumer WHERE name = 'cc.outbox'" -c "SELECT sp.revoke_area_scope('sp_cc_outbox', 'CC')" -c "DROP ROLE sp_cc_outbox" >/dev/null

# the same form edit sent twice at once (a retry while the first is still
# running): the second waits for the household, then gets the first's answer
q -c "SELECT sp.set_form_mapping('cc_form', '{\"admin_area_code\": \"v\", \"attributes\": {\"rooms\": \"rooms\"},
        \"members\": {\"repeat\": \"m\", \"fields\": {\"given_name\": \"m/g\", \"relationship_to_head\": \"m/r\"}}}')" >/dev/null
form() {  # $1: instance, $2: the instance it edits or null, $3: rooms
  local dep=""
  [ "$2" = null ] || dep=", \"deprecatedID\": \"uuid:00000000-0000-4000-8000-0000000cf$2\""
  printf '{"v": "CC", "rooms": "%s", "m": [{"m/g": "Formo", "m/r": "head"}], "meta": {"instanceID": "uuid:00000000-0000-4000-8000-0000000cf%s"%s}}' "$3" "$1" "$dep"
}
q -c "SELECT sp.submit_form('cc_form', '$(form 001 null 2)') ->> 'status'" >/dev/null
q -c "BEGIN" -c "SELECT sp.submit_form('cc_form', '$(form 002 001 3)') ->> 'status'" -c "SELECT pg_sleep(2)" -c "COMMIT" > /tmp/sp_conc_f.$$ &
sleep 0.5
fb=$(q -c "SELECT (r ->> 'status') || '/' || (r ->> 'replayed') FROM sp.submit_form('cc_form', '$(form 002 001 3)') r")
wait
fa=$(cat /tmp/sp_conc_f.$$); rm -f /tmp/sp_conc_f.$$
fstate=$(q -c "SELECT (SELECT count(*) FROM sp.form_submission WHERE instance_id = 'uuid:00000000-0000-4000-8000-0000000cf002') || '/' ||
                      (SELECT h.version || ':' || (h.attributes ->> 'rooms') FROM sp.household h JOIN sp.form_submission s USING (household_id)
                       WHERE s.instance_id = 'uuid:00000000-0000-4000-8000-0000000cf001')")

fail=0
echo "1..10"
if [ "$a" = "$b" ] && [ -n "$a" ]; then echo "ok 1 - both sessions get household $a"; else echo "not ok 1 - A got '$a', B got '$b'"; fail=1; fi
if [ "$c" = '{"inserted": 0, "rejected": 0, "duplicates_skipped": 1}' ]; then echo "ok 2 - the concurrent batch skips it as a duplicate"; else echo "not ok 2 - batch said $c"; fail=1; fi
if [ "$n" = 1 ]; then echo "ok 3 - one submission row"; else echo "not ok 3 - $n submission rows"; fail=1; fi
if [ "$h" = 1 ]; then echo "ok 4 - one household"; else echo "not ok 4 - $h households"; fail=1; fi
if [ "$d" = 20 ] && [ "$e" = 0 ]; then echo "ok 5 - the second eligibility run waits for the first and opens nothing twice"; else echo "not ok 5 - first run said '$d', second '$e'"; fail=1; fi
if [ "$open" = "20/20/10" ] && [ "$f" = 10 ]; then echo "ok 6 - enrolment after both runs: 20 open, 10 enrolled within the quota"; else echo "not ok 6 - open/distinct/enrolled = $open, enrol said '$f'"; fail=1; fi
if [ "$r2" = "active/true/1" ] && [ "${r%%/*}" = 0 ]; then echo "ok 7 - retention waits for a household being reactivated and leaves it alone"; else echo "not ok 7 - retention said '$r', household now '$r2'"; fail=1; fi
if [ "$paid" = "$g1/$g1" ] && [ "$h2" = 0 ] && [ "$covered" = 10 ]; then echo "ok 8 - two sessions generating one payment list: $g1 payments, none twice"; else echo "not ok 8 - first said '$g1', second '$h2', payments/enrolments $paid, paid or left out $covered of 10"; fail=1; fi
if [ "$o_during" = ":0" ] && [ "$o_after" = "$oa,$ob:2" ]; then echo "ok 9 - the outbox waits for the open transaction, then gives both events in commit order"; else echo "not ok 9 - during A: '$o_during', after: '$o_after' (A $oa, B $ob)"; fail=1; fi
if [ "$fa" = applied ] && [ "$fb" = applied/true ] && [ "$fstate" = "1/2:3" ]; then echo "ok 10 - the same form edit sent twice at once: applied once, the second gets its answer"; else echo "not ok 10 - first '$fa', second '$fb', submissions/version:rooms '$fstate'"; fail=1; fi
exit $fail
