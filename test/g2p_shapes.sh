#!/usr/bin/env bash
# G2P Connect shapes (issue 12): the disburse requests sp.disburse_request
# writes, and an on-disburse callback built the way a provider answers them,
# validated against ../shared/specs/g2p-connect/disburse_core_api_v1.0.0.yaml
# by test/g2p_shapes.py (PyYAML); the callback is then reconciled.
# Usage: test/g2p_shapes.sh (PG* environment of a running cluster, as a
# superuser; make test runs it through scripts/run-tests.sh).  Output is TAP.
set -euo pipefail
cd "$(dirname "$0")/.."

spec="$(cd .. && pwd)/shared/specs/g2p-connect/disburse_core_api_v1.0.0.yaml"
db=sp_registry_g2p
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
q() { psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }

dropdb --if-exists "$db" 2>/dev/null
createdb -E UTF8 -T template0 "$db"
q -c "SET client_min_messages = warning" -c "CREATE EXTENSION sp_registry CASCADE"
q >/dev/null <<'SQL'
SET client_min_messages = warning;
INSERT INTO sp.admin_area (code, parent_code, level, name) VALUES ('GX', NULL, 0, 'Gland');
SELECT sp.register_household(jsonb_build_object('admin_area_code', 'GX', 'members', jsonb_build_array(
    jsonb_build_object('given_name', 'Head' || i, 'relationship_to_head', 'head', 'birth_date', '1980-01-01',
                       'phone', '+2547000000' || lpad(i::text, 2, '0')))))
FROM generate_series(1, 5) i;
INSERT INTO sp.programme (name, title, benefit_type, rule) VALUES ('gx_cash', 'Gland cash transfer', 'cash', '{"area": "GX"}');
SELECT sp.determine_eligibility('gx_cash'), sp.enrol('gx_cash');
INSERT INTO sp.payment_provider (name, title, fa_type, payer_fa, currency, batch_size, receiver_id)
VALUES ('mpesa', 'M-Pesa', 'mobile', 'account:100200@mpesa', 'KES', 2, 'pymts.example.org');
SELECT sp.set_entitlement('gx_cash', '{"currency": "KES", "components": [{"kind": "flat", "amount": 1234.5}]}', 'mpesa', 'g2p test');
DROP ROLE IF EXISTS sp_g2p_a;
DROP ROLE IF EXISTS sp_g2p_b;
CREATE ROLE sp_g2p_a IN ROLE sp_payment_officer;
CREATE ROLE sp_g2p_b IN ROLE sp_payment_officer;
SELECT sp.grant_area_scope('sp_g2p_a', 'GX'), sp.grant_area_scope('sp_g2p_b', 'GX');
SELECT sp.create_payment_cycle('gx_cash', date_trunc('month', current_date)::date, (date_trunc('month', current_date) + interval '1 month - 1 day')::date);
SET ROLE sp_g2p_a;
SELECT sp.generate_payment_list(1);
RESET ROLE;
SET ROLE sp_g2p_b;
SELECT sp.approve_payment_cycle(1, 'g2p test');
RESET ROLE;
SQL
q -Atc "SET ROLE sp_g2p_a" -c "SELECT sp.disburse_request(1, 'mpesa')" > "$work/disburse.json"
# the provider's answer: the first payment rejected, the others paid
q -Atc "SELECT jsonb_build_object(
          'signature', 'not signed in this test',
          'header', jsonb_build_object('version', '1.0.0', 'message_id', gen_random_uuid()::text,
                                       'message_ts', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
                                       'action', 'on-disburse', 'status', 'succ', 'total_count', count(*), 'completed_count', count(*),
                                       'sender_id', 'pymts.example.org', 'receiver_id', 'sp-registry', 'is_msg_encrypted', false),
          'message', jsonb_build_object('transaction_id', min(b.transaction_id), 'disbursements_status', jsonb_agg(jsonb_build_object(
              'reference_id', p.reference_id,
              'timestamp', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
              'status', CASE WHEN p.payment_id = 1 THEN 'rjct' ELSE 'succ' END,
              'status_reason_code', CASE WHEN p.payment_id = 1 THEN 'rjct.payee_fa.invalid' END,
              'amount', to_char(p.amount, 'FM9999999990.00'), 'currency_code', p.currency) ORDER BY p.payment_id)))
        FROM sp.payment p JOIN sp.disbursement_batch b USING (batch_id) WHERE p.cycle_id = 1 AND b.batch_no = 1" \
  | jq 'del(.message.disbursements_status[] | select(.status_reason_code == null) | .status_reason_code)' > "$work/on_disburse.json"

python3 test/g2p_shapes.py "$spec" disburse "$work/disburse.json" > "$work/t1" || true
# the validator itself: a request with three decimals, no reference and a field the schema lacks must fail
jq '.[0].message.disbursements[0].amount = "1234.567" | del(.[0].message.disbursements[0].reference_id)
    | .[0].message.disbursements[0].payee_phone = "x"' "$work/disburse.json" > "$work/broken.json"
broken=$(python3 test/g2p_shapes.py "$spec" disburse "$work/broken.json" || echo "exit $?")
python3 test/g2p_shapes.py "$spec" on-disburse "$work/on_disburse.json" > "$work/t2" || true
reconciled=$(q -Atc "SET ROLE sp_g2p_b" -c "SELECT r ->> 'paid' || ' paid, ' || (r ->> 'failed') || ' failed, ' || (r -> 'flagged')::text
                      FROM sp.reconcile_payments(1, 'mpesa', '$(cat "$work/on_disburse.json")'::jsonb) r")

# one TAP stream out of the two reports and the reconciliation
n=0; status=0
total=$(( $(grep -c '^\(not \)\?ok ' "$work/t1") + $(grep -c '^\(not \)\?ok ' "$work/t2") + 2 ))
echo "1..$total"
for f in "$work/t1" "$work/t2"; do
  while IFS= read -r line; do
    case "$line" in
      "ok "*|"not ok "*)
        n=$((n + 1)); res=${line%% [0-9]*}; rest=${line#* [0-9]* - }
        [ "$res" = "not ok" ] && status=1
        echo "$res $n - $rest" ;;
      "#"*) echo "$line" ;;
    esac
  done < "$f"
done
n=$((n + 1))
if echo "$broken" | grep -q 'amount.*does not match' && echo "$broken" | grep -q 'reference_id: required, missing' \
   && echo "$broken" | grep -q 'payee_phone: not a property' && echo "$broken" | grep -q '^exit 1$'; then
  echo "ok $n - a request with a three-decimal amount, no reference and an unknown field is refused, each named"
else echo "not ok $n - a request with a three-decimal amount, no reference and an unknown field is refused, each named"
  echo "$broken" | sed 's/^/#   /' | head -20; status=1; fi
n=$((n + 1))
if [ "$reconciled" = '1 paid, 1 failed, {}' ]; then echo "ok $n - the on-disburse callback reconciles: 1 paid, 1 failed, nothing flagged"
else echo "not ok $n - the on-disburse callback reconciles: 1 paid, 1 failed, nothing flagged"; echo "#   got: $reconciled"; status=1; fi

q -c "DROP OWNED BY sp_g2p_a, sp_g2p_b" >/dev/null
dropdb "$db"
psql -X -q -d postgres -c "DROP ROLE sp_g2p_a" -c "DROP ROLE sp_g2p_b"
exit $status
