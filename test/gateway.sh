#!/usr/bin/env bash
# The DCI HTTP gateway (sp_registry_gateway) on loopback ports, against a
# database of its own in the running cluster (PG* environment): start-up
# checks, sync and async routes with a local callback listener, tokens,
# scopes and fields per client, limits, notifications, the access log and a
# clean stop on SIGTERM.  TAP output.
set -euo pipefail
cd "$(dirname "$0")/.."

db=sp_gateway_test
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  PGOPTIONS="-c client_min_messages=warning" dropdb --if-exists "$db" >/dev/null 2>&1 || true
  psql -X -q -d postgres -c "DROP ROLE IF EXISTS sp_test_gw_login" -c "DROP ROLE IF EXISTS sp_test_gw_outsider" \
       -c "DROP ROLE IF EXISTS sp_test_gw_mis" -c "DROP ROLE IF EXISTS sp_test_gw_ana" -c "DROP ROLE IF EXISTS sp_test_gw_ssrf" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

gateway="$(pg_config --bindir)/sp_registry_gateway"
[ -x "$gateway" ] || gateway=src/gateway/sp_registry_gateway
q() { psql -X -q -v ON_ERROR_STOP=1 -At -d "$db" "$@"; }
n=0
fail=0
ok() {  # ok <condition-exit-status> <description> [diagnostic]
  n=$((n + 1))
  if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; [ -n "${3:-}" ] && sed 's/^/# /' <<<"$3"; fail=1; fi
}
in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local p
  for _ in $(seq 1 200); do p=$((55400 + RANDOM % 1000)); in_use "$p" || { echo "$p"; return; }; done
  echo "no free port" >&2; exit 1
}
wait_port() { for _ in $(seq 1 100); do in_use "$1" && return 0; sleep 0.05; done; return 1; }
# the server's time (a test run may give the server a clock ahead of this machine's)
now() { psql -X -At -d postgres -c "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"; }
# post PATH TOKEN BODY [PORT]: "<http status> <body>"
post() {
  local auth=()
  [ -n "$2" ] && auth=(-H "Authorization: Bearer $2")
  curl -s -m 10 -o "$work/resp" -w '%{http_code}' -X POST "http://127.0.0.1:${4:-$gw_port}$1" "${auth[@]}" \
       -H 'Content-Type: application/json' --data-binary "$3" || true
  printf ' '; cat "$work/resp"
}
# envelope ACTION MESSAGE_ID ITEMS_KEY ITEMS [EXTRA_HEADER_JSON]
envelope() {
  jq -cn --arg a "$1" --arg m "$2" --arg k "$3" --argjson items "$4" --arg ts "$(now)" --argjson extra "${5:-{\}}" \
    '{header: ({version: "1.0.0", message_id: $m, message_ts: $ts, action: $a, sender_id: "mis.test",
                total_count: ($items | if type == "array" then length else 1 end)} + $extra),
      message: {transaction_id: ("txn-" + $m), ($k): $items}}'
}
search_item() {  # reference criteria-json
  jq -cn --arg r "$1" --arg ts "$(now)" --argjson c "$2" '{reference_id: $r, timestamp: $ts, search_criteria: $c}'
}
callbacks() { [ -f "$work/callbacks.jsonl" ] && cat "$work/callbacks.jsonl" || true; }
wait_callback() {  # jq filter over callbacks: true once one matches (up to 10 s)
  for _ in $(seq 1 100); do
    [ -f "$work/callbacks.jsonl" ] && jq -se "any(.[]; $1)" "$work/callbacks.jsonl" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}

# --- a small registry, a gateway login, two clients -------------------------
for r in sp_test_gw_login sp_test_gw_outsider sp_test_gw_mis sp_test_gw_ana sp_test_gw_ssrf; do
  psql -X -q -d postgres -c "DROP ROLE IF EXISTS $r" >/dev/null 2>&1 || true
done
PGOPTIONS="-c client_min_messages=warning" dropdb --if-exists "$db"
createdb -E UTF8 -T template0 "$db"
gw_password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
cb_port=$(free_port)
token_mis=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
token_ana=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
token_ssrf=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
q >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION sp_registry CASCADE;
INSERT INTO sp.admin_area (code, parent_code, level, name) VALUES
    ('GW', NULL, 0, 'Gatewayland'), ('GW01', 'GW', 1, 'North'), ('GW02', 'GW', 1, 'South'),
    ('GW0101', 'GW01', 2, 'Hills'), ('GW010101', 'GW0101', 3, 'Upper Hills');
SELECT sp.register_household('{"admin_area_code": "GW010101", "members": [
    {"given_name": "Amina", "family_name": "Bari", "relationship_to_head": "head", "sex": "F", "birth_date": "1980-05-02", "national_id": "GW-100-200"},
    {"given_name": "Bile", "family_name": "Bari", "relationship_to_head": "spouse", "sex": "M", "birth_date": "1978"}]}');
SELECT sp.register_household('{"admin_area_code": "GW02", "members": [
    {"given_name": "Caano", "family_name": "Dheere", "relationship_to_head": "head", "sex": "M", "birth_date": "1990", "national_id": "GW-300-400"}]}');
CREATE ROLE sp_test_gw_login LOGIN PASSWORD '$gw_password' IN ROLE sp_gateway;
CREATE ROLE sp_test_gw_outsider LOGIN PASSWORD '$gw_password';
CREATE ROLE sp_test_gw_mis NOLOGIN IN ROLE sp_registrar;
CREATE ROLE sp_test_gw_ana NOLOGIN IN ROLE sp_analyst;
CREATE ROLE sp_test_gw_ssrf NOLOGIN IN ROLE sp_analyst;
SELECT sp.grant_area_scope('sp_test_gw_mis', 'GW01');
SELECT sp.grant_area_scope('sp_test_gw_ana', 'GW');
SELECT sp.register_api_client('mis.test', '$token_mis', 'sp_test_gw_mis', '{http://127.0.0.1:$cb_port/cb/}');
SELECT sp.register_api_client('ana.test', '$token_ana', 'sp_test_gw_ana', '{http://127.0.0.1:$cb_port/ana/}');
SELECT sp.grant_area_scope('sp_test_gw_ssrf', 'GW');
-- a client whose callback is a host name that resolves to the gateway's own host
SELECT sp.register_api_client('ssrf.test', '$token_ssrf', 'sp_test_gw_ssrf', '{http://localhost:$cb_port/cb/}');
SQL

python3 test/callback_listener.py "$work/callbacks.jsonl" "$cb_port" &
pids+=($!)
wait_port "$cb_port"

echo "1..34"

# --- start-up checks -----------------------------------------------------------
out=$(PGDATABASE=$db "$gateway" --listen "127.0.0.1:$(free_port)" 2>&1 < /dev/null) && rc=0 || rc=$?
ok "$([ "$rc" = 2 ] && grep -q 'refusing to run as superuser' <<<"$out"; echo $?)" \
   "the gateway refuses to run as a superuser (exit 2)" "rc=$rc $out"
out=$(PGUSER=sp_test_gw_outsider PGPASSWORD=$gw_password PGDATABASE=$db "$gateway" --listen "127.0.0.1:$(free_port)" 2>&1) && rc=0 || rc=$?
ok "$([ "$rc" = 2 ] && grep -q 'is not a member of sp_gateway' <<<"$out"; echo $?)" \
   "and a login that is not a member of sp_gateway (exit 2)" "rc=$rc $out"
out=$("$gateway" --listen 127.0.0.1 2>&1) && rc=0 || rc=$?
ok "$([ "$rc" = 1 ] && grep -q 'ADDR:PORT' <<<"$out"; echo $?)" "a bad option exits 1 and says why" "rc=$rc $out"

gw_port=$(free_port)
PGUSER=sp_test_gw_login PGPASSWORD=$gw_password PGDATABASE=$db \
  "$gateway" --listen "127.0.0.1:$gw_port" --auth-cache 0 --access-log "$work/access.log" --notify-interval 500 &
gw_pid=$!
pids+=($gw_pid)
wait_port "$gw_port"

# --- sync search ----------------------------------------------------------------
req=$(envelope search s-1 search_request "[$(search_item uin '{"query_type": "idtype-value", "query": {"type": "UIN", "value": "GW-100-200"}, "authorize": {"purpose": {"text": "gateway test"}}}'),
                                            $(search_item south '{"query_type": "idtype-value", "query": {"type": "UIN", "value": "GW-300-400"}}')]")
got=$(post /registry/sync/search "$token_mis" "$req")
ok "$([ "${got%% *}" = 200 ] && jq -e '.header.action == "on-search" and .message.search_response[0].data.reg_records[0].member_list[0].demographic_info.name.given_name == "Amina"' <<<"${got#* }" >/dev/null; echo $?)" \
   "/registry/sync/search by national ID: 200 and the household with names (a registrar's client)" "$got"
ok "$(jq -e '.message.search_response[1].status == "succ" and .message.search_response[1].pagination.total_count == 0' <<<"${got#* }" >/dev/null; echo $?)" \
   "the client's area scope applies: a national ID of the South finds nothing for a client of the North" "$got"
ok "$([ "$(q -c "SELECT count(*) FROM sp.audit_log WHERE login_role = 'sp_test_gw_login' AND acting_role = 'sp_test_gw_mis' AND purpose LIKE 'gateway test%'")" = 1 ]; echo $?)" \
   "the lookup is in the audit trail as the gateway's login acting as the client's role, with its purpose" \
   "$(q -c "SELECT login_role, acting_role, purpose FROM sp.audit_log ORDER BY log_id DESC LIMIT 3")"
req=$(envelope search a-1 search_request "[$(search_item hh '{"query_type": "predicate", "query": [{"seq_num": 1, "expression1": {"attribute_name": "area", "operator": "eq", "attribute_value": "GW"}}]}')]" | sed 's/"mis.test"/"ana.test"/')
got=$(post /registry/sync/search "$token_ana" "$req")
ok "$([ "${got%% *}" = 200 ] && jq -e '([.message.search_response[0].data.reg_records[] | .. | objects | select(has("name") or has("birth_date"))] | length == 0)
                                      and .message.search_response[0].pagination.total_count == 2' <<<"${got#* }" >/dev/null; echo $?)" \
   "an analyst's client gets de-identified records: no names, no birth dates" "$got"
got=$(post /registry/sync/search "$token_mis" "$(envelope search s-1 search_request "[$(search_item x '{"query_type": "idtype-value", "query": {"type": "HouseholdID", "value": "1"}}')]")")
ok "$(jq -e '.header.status == "rjct" and .header.status_reason_code == "rjct.message_id.duplicate"' <<<"${got#* }" >/dev/null; echo $?)" \
   "a replayed message_id is rejected" "$got"
got=$(post /registry/sync/search "$token_mis" "$req")
ok "$(jq -e '.message.ack_status == "ERR" and .message.error.code == "err.sender_id.invalid"' <<<"${got#* }" >/dev/null; echo $?)" \
   "a client naming another sender_id gets err.sender_id.invalid" "$got"

# --- authentication and HTTP errors ------------------------------------------
got=$(post /registry/sync/search "" "$req")
ok "$([ "${got%% *}" = 401 ] && jq -e '.errors[0].code == "err.request.unauthorized"' <<<"${got#* }" >/dev/null; echo $?)" "no token: 401 with a JSON error" "$got"
got=$(post /registry/sync/search "${token_mis}x" "$req")
ok "$([ "${got%% *}" = 403 ] && jq -e '.errors[0].code == "err.request.forbidden"' <<<"${got#* }" >/dev/null; echo $?)" "a wrong token: 403 with a JSON error" "$got"
got=$(post /registry/sync/search "$token_mis" '{"header": ')
ok "$([ "${got%% *}" = 400 ] && jq -e '.errors[0].code == "err.request.bad"' <<<"${got#* }" >/dev/null; echo $?)" "a body that is not JSON: 400" "$got"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$gw_port/registry/sync/search" -H "Authorization: Bearer $token_mis" -H 'Content-Type: text/plain' --data-binary '{}')
ok "$([ "$code" = 415 ]; echo $?)" "a body that is not application/json: 415" "$code"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$gw_port/registry/sync/search" -H "Authorization: Bearer $token_mis")
code2=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$gw_port/registry/admin" -H "Authorization: Bearer $token_mis")
ok "$([ "$code" = 405 ] && [ "$code2" = 404 ]; echo $?)" "GET: 405; an unknown route: 404" "$code $code2"

# --- async routes and callbacks ------------------------------------------------
req=$(envelope search as-1 search_request "[$(search_item north '{"query_type": "predicate", "response_entity": "Member", "query": [{"seq_num": 1, "expression1": {"attribute_name": "sex", "operator": "in", "attribute_value": ["male", "female"]}}]}')]" \
      "{\"sender_uri\": \"http://127.0.0.1:$cb_port/cb/on-search\"}")
got=$(post /registry/search "$token_mis" "$req")
corr=$(jq -r '.message.correlation_id' <<<"${got#* }")
ok "$([ "${got%% *}" = 200 ] && jq -e '.message.ack_status == "ACK"' <<<"${got#* }" >/dev/null && [ -n "$corr" ]; echo $?)" \
   "/registry/search: an ACK with a correlation_id at once" "$got"
wait_callback ".path == \"/cb/on-search\" and .body.message.correlation_id == \"$corr\" and .body.message.transaction_id == \"txn-as-1\"
               and (.body.message.search_response[0].data.reg_records | length) == 2" && rc=0 || rc=1
ok "$rc" "then the on-search result is POSTed to header.sender_uri, with the same correlation_id" "$(callbacks)"
before=$(callbacks | wc -l)
for uri in "http://127.0.0.1:$cb_port/ana/on-search" "http://127.0.0.1:$cb_port/cb/../ana/x" "http://127.0.0.1:$((cb_port + 1))/cb/x"; do
  got=$(post /registry/search "$token_mis" "$(envelope search "as-$RANDOM" search_request "[$(search_item x '{"query_type": "idtype-value", "query": {"type": "HouseholdID", "value": "1"}}')]" "{\"sender_uri\": \"$uri\"}")")
  jq -e '.message.ack_status == "ERR" and .message.error.code == "err.sender_uri.invalid"' <<<"${got#* }" >/dev/null || { echo "# $uri: $got"; before=-1; }
done
got=$(post /registry/search "$token_mis" "$(envelope search as-none search_request "[$(search_item x '{"query_type": "idtype-value", "query": {"type": "HouseholdID", "value": "1"}}')]")")
jq -e '.message.error.code == "err.sender_uri.invalid"' <<<"${got#* }" >/dev/null || before=-1
sleep 1
ok "$([ "$before" = "$(callbacks | wc -l)" ]; echo $?)" \
   "a callback outside the client's prefixes (another client's, a dot segment, another port) or none: ERR err.sender_uri.invalid, nothing POSTed" "$got"
# a callback host name that resolves to loopback: refused when connecting (no request to the gateway's host)
req=$(envelope search ssrf-1 search_request "[$(search_item x '{"query_type": "idtype-value", "query": {"type": "HouseholdID", "value": "1"}}')]" \
      "{\"sender_uri\": \"http://localhost:$cb_port/cb/ssrf\"}" | sed 's/"mis.test"/"ssrf.test"/')
got=$(post /registry/search "$token_ssrf" "$req")
corr_ssrf=$(jq -r '.message.correlation_id' <<<"${got#* }")
for _ in $(seq 1 50); do grep -q "\"correlation_id\":\"$corr_ssrf\".*callback_status" "$work/access.log" && break; sleep 0.1; done
ok "$(jq -e '.message.ack_status == "ACK"' <<<"${got#* }" >/dev/null && grep "\"correlation_id\":\"$corr_ssrf\"" "$work/access.log" | grep -q '"callback_status":-1' \
      && ! callbacks | grep -q '/cb/ssrf'; echo $?)" \
   "a callback whose host name resolves to loopback is not connected to (no server-side request to the gateway's own host)" "$got $(grep "$corr_ssrf" "$work/access.log")"
got=$(post /registry/sync/txn/status "$token_mis" "$(envelope txn-status st-1 txnstatus_request '{"reference_id": "t", "txn_type": "search", "attribute_type": "correlation_id", "attribute_value": "'"$corr"'"}')")
ok "$(jq -e '.header.action == "txn-on-status" and .message.txnstatus_response.txn_status.transaction_id == "txn-as-1"' <<<"${got#* }" >/dev/null; echo $?)" \
   "/registry/sync/txn/status finds the asynchronous search by its correlation_id" "$got"

# --- subscribe and notify --------------------------------------------------------
req=$(envelope subscribe sub-1 subscribe_request '[{"reference_id": "new", "timestamp": "'"$(now)"'", "subscribe_criteria": {"reg_event_type": "REGISTER", "filter_type": "predicate", "notify_record_type": "Group", "filter": [{"seq_num": 1, "expression1": {"attribute_name": "area", "operator": "eq", "attribute_value": "GW01"}}]}}]' \
      "{\"sender_uri\": \"http://127.0.0.1:$cb_port/cb/notify\"}")
got=$(post /registry/subscribe "$token_mis" "$req")
wait_callback '.path == "/cb/notify" and .body.header.action == "on-subscribe" and .body.message.subscribe_response[0].status == "succ"' && rc=0 || rc=1
ok "$([ "$rc" = 0 ] && jq -e '.message.ack_status == "ACK"' <<<"${got#* }" >/dev/null; echo $?)" \
   "/registry/subscribe: ACK, then on-subscribe with the subscription code to the callback" "$got $(callbacks | tail -1)"
q -c "SELECT sp.register_household('{\"admin_area_code\": \"GW02\", \"members\": [{\"given_name\": \"Southern\", \"relationship_to_head\": \"head\"}]}')" >/dev/null
q -c "SELECT sp.register_household('{\"admin_area_code\": \"GW0101\", \"members\": [{\"given_name\": \"Notified\", \"relationship_to_head\": \"head\"}]}')" >/dev/null
wait_callback '.body.header.action == "notify" and .body.message.notify_event[0].data.reg_records[0].member_list[0].demographic_info.name.given_name == "Notified"' && rc=0 || rc=1
ok "$rc" "a household registered in the North is notified to the subscriber's callback (notify, Group record)" "$(callbacks | tail -2)"
sleep 1
ok "$(callbacks | jq -se '[.[] | select(.body.header.action == "notify") | .. | strings | select(. == "Southern")] | length == 0' >/dev/null; echo $?)" \
   "one registered in the South (outside the client's scope) is not" "$(callbacks | tail -2)"
left=$(q -c "SELECT count(*) FROM sp_internal.outbox_delivery WHERE acked_at IS NULL AND consumer LIKE 'dci.%'")
ok "$([ "$left" = 0 ]; echo $?)" "the delivered events are acknowledged" "unacknowledged: $left"

# --- revocation ----------------------------------------------------------------
q -c "SELECT sp.revoke_api_client('ana.test')" >/dev/null
got=$(post /registry/sync/search "$token_ana" "$(envelope search a-2 search_request '[]' | sed 's/"mis.test"/"ana.test"/')")
ok "$([ "${got%% *}" = 403 ]; echo $?)" "a revoked client's token is refused" "$got"

# --- limits, on a second gateway ---------------------------------------------------
lim_port=$(free_port)
PGUSER=sp_test_gw_login PGPASSWORD=$gw_password PGDATABASE=$db \
  "$gateway" --listen "127.0.0.1:$lim_port" --rate 1 --burst 3 --max-body 4096 --no-notify --access-log "$work/limits.log" &
lim_pid=$!
pids+=($lim_pid)
wait_port "$lim_port"
big=$(envelope search big-1 search_request "[$(search_item x "$(jq -cn --arg pad "$(head -c 6000 /dev/zero | tr '\0' 'x')" '{query_type: "idtype-value", query: {type: "HouseholdID", value: "1"}, pad: $pad}')")]")
got=$(post /registry/sync/search "$token_mis" "$big" "$lim_port")
ok "$([ "${got%% *}" = 413 ] && jq -e '.errors[0].code == "err.request.bad"' <<<"${got#* }" >/dev/null; echo $?)" "a body over --max-body: 413" "$got"
codes=""
for i in 1 2 3 4 5 6; do
  codes="$codes $(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$lim_port/registry/sync/search" -H "Authorization: Bearer $token_mis" \
                   -H 'Content-Type: application/json' --data-binary "$(envelope search "rl-$i" search_request '[]')")"
done
retry=$(curl -s -D - -o /dev/null -X POST "http://127.0.0.1:$lim_port/registry/sync/search" -H "Authorization: Bearer $token_mis" \
          -H 'Content-Type: application/json' --data-binary '{}' | tr -d '\r' | sed -n 's/^Retry-After: //Ip')
ok "$(grep -q 429 <<<"$codes" && [ -n "$retry" ]; echo $?)" "over --rate: 429 with Retry-After" "$codes retry=$retry"

code=$(head -c 3000000 /dev/zero | tr '\0' 'x' | curl -s -o /dev/null -w '%{http_code}' -m 10 -X POST "http://127.0.0.1:$lim_port/registry/sync/search" \
         -H 'Content-Type: application/json' --data-binary @-)
ok "$([ "$code" = 401 ]; echo $?)" "a large body without a token is refused as unauthorized, before its size is even looked at" "$code"
codes=""
for i in $(seq 1 40); do
  codes="$codes $(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$lim_port/registry/sync/search" -H "Authorization: Bearer guess$i$token_mis" \
                   -H 'Content-Type: application/json' --data-binary '{}')"
done
ok "$(grep -q 403 <<<"$codes" && grep -q 429 <<<"$codes"; echo $?)" "guessing tokens: 403, then 429 once an address failed too often" "$codes"

# --- HTTPS: with a certificate and key, the gateway speaks TLS only -----------
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/tls.key" -out "$work/tls.crt" -subj "/CN=localhost" -days 2 \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" >/dev/null 2>&1
tls_port=$(free_port)
PGUSER=sp_test_gw_login PGPASSWORD=$gw_password PGDATABASE=$db \
  "$gateway" --listen "127.0.0.1:$tls_port" --tls-cert "$work/tls.crt" --tls-key "$work/tls.key" --no-notify --access-log "$work/tls.log" &
tls_pid=$!
pids+=($tls_pid)
wait_port "$tls_port"
code=$(curl -s --cacert "$work/tls.crt" -o "$work/resp" -w '%{http_code}' -X POST "https://127.0.0.1:$tls_port/registry/sync/search" \
         -H "Authorization: Bearer $token_mis" -H 'Content-Type: application/json' \
         --data-binary "$(envelope search tls-1 search_request "[$(search_item x '{"query_type": "idtype-value", "query": {"type": "HouseholdID", "value": "1"}}')]")")
ok "$([ "$code" = 200 ] && jq -e '.header.action == "on-search"' "$work/resp" >/dev/null; echo $?)" "--tls-cert and --tls-key: the DCI routes over HTTPS" "$code $(cat "$work/resp")"
code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$tls_port/registry/sync/search" -H "Authorization: Bearer $token_mis" || true)
ok "$([ "$code" != 200 ] && [ "$code" != 401 ] && [ "$code" != 403 ]; echo $?)" "and nothing in plain HTTP (no token read off the wire)" "$code"
kill -TERM "$tls_pid"; wait "$tls_pid" || true

# --- the access log ----------------------------------------------------------------
ok "$(jq -e . "$work/access.log" >/dev/null 2>&1 && ! grep -q -e "$token_mis" -e "$token_ana" -e Amina -e GW-100-200 "$work/access.log" \
      && [ "$(head -1 "$work/access.log" | jq -r .event)" = start ]; echo $?)" \
   "the access log is JSON lines, without tokens, names or identifiers, and starts with the start (libmicrohttpd took every option without a word)" "$(head -3 "$work/access.log")"
ok "$(jq -se '[.[] | select(.path == "/registry/sync/search" and .status == 200 and .sender_id == "mis.test")] | length > 0' "$work/access.log" >/dev/null; echo $?)" \
   "each request is logged with its route, status, time and client" "$(grep sync/search "$work/access.log" | head -2)"

# --- a clean stop: the ACKed work is done first -------------------------------------
req=$(envelope search stop-1 search_request "[$(search_item last '{"query_type": "idtype-value", "query": {"type": "HouseholdID", "value": "1"}}')]" \
      "{\"sender_uri\": \"http://127.0.0.1:$cb_port/cb/last\"}")
got=$(post /registry/search "$token_mis" "$req")
kill -TERM "$gw_pid"
wait "$gw_pid" && rc=0 || rc=$?
ok "$([ "$rc" = 0 ] && grep -q '"event":"stopped"' "$work/access.log"; echo $?)" "SIGTERM: the gateway stops with status 0" "rc=$rc $(tail -3 "$work/access.log")"
ok "$(callbacks | jq -se 'any(.[]; .path == "/cb/last")' >/dev/null; echo $?)" \
   "a request ACKed just before SIGTERM still gets its callback" "$got $(tail -3 "$work/access.log")"
kill -TERM "$lim_pid"; wait "$lim_pid" || true
exit $fail
