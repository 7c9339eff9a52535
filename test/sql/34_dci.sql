-- The DCI social-registry API in SQL (issue 15): search by identifier,
-- predicate and expression, pagination, fields by the caller's grants,
-- malformed envelopes, replayed message ids; subscribe, unsubscribe and
-- transaction status; API clients and their callback prefixes.
\set SHOW_CONTEXT never
\set VERBOSITY terse

INSERT INTO sp.admin_area (code, parent_code, level, name) VALUES
    ('DS', NULL, 0, 'Dcistan'), ('DS01', 'DS', 1, 'North'), ('DS02', 'DS', 1, 'South'),
    ('DS0101', 'DS01', 2, 'Hills'), ('DS010101', 'DS0101', 3, 'Upper Hills');
SELECT (sp.register_household('{"admin_area_code": "DS010101", "attributes": {"rooms": 2}, "members": [
          {"given_name": "Amina", "family_name": "Bari", "relationship_to_head": "head", "sex": "F", "birth_date": "1980-05-02", "national_id": "DS-100-200"},
          {"given_name": "Bile", "family_name": "Bari", "relationship_to_head": "spouse", "sex": "M", "birth_date": "1978", "phone": "+252 61 555 0101"}]}')
        ->> 'household_id')::bigint AS h1 \gset
SELECT (sp.register_household('{"admin_area_code": "DS0101", "attributes": {"rooms": 5}, "members": [
          {"given_name": "Dega", "family_name": "Cali", "relationship_to_head": "head", "sex": "F", "birth_date": "2001-03-04"}]}')
        ->> 'household_id')::bigint AS h2 \gset
SELECT (sp.register_household('{"admin_area_code": "DS02", "members": [
          {"given_name": "Caano", "family_name": "Dheere", "relationship_to_head": "head", "sex": "M", "birth_date": "1990", "national_id": "DS-300-400"}]}')
        ->> 'household_id')::bigint AS h3 \gset

-- roles: a registrar of the North, an analyst and an integration of the
-- whole country, a registrar without scope
CREATE ROLE sp_test_dci_reg IN ROLE sp_registrar;
CREATE ROLE sp_test_dci_ana IN ROLE sp_analyst;
CREATE ROLE sp_test_dci_int IN ROLE sp_integration;
CREATE ROLE sp_test_dci_none IN ROLE sp_registrar;
SELECT sp.grant_area_scope('sp_test_dci_reg', 'DS01') IS NOT NULL AS north,
       sp.grant_area_scope('sp_test_dci_ana', 'DS') IS NOT NULL AS ana,
       sp.grant_area_scope('sp_test_dci_int', 'DS') IS NOT NULL AS integration;

-- envelopes: times are now, ids given; a response's changing values
-- (ids, times, uuids) are shown as "~"
CREATE FUNCTION pg_temp.now_ts(shift interval DEFAULT '0') RETURNS text LANGUAGE sql AS
$$ SELECT to_char((now() + shift) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') $$;
CREATE FUNCTION pg_temp.env(action text, mid text, items jsonb, items_key text DEFAULT 'search_request', header jsonb DEFAULT '{}')
RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object(
        'signature', 'Signature: namespace="spdci"',
        'header', jsonb_build_object('version', '1.0.0', 'message_id', mid, 'message_ts', pg_temp.now_ts(), 'action', action,
                                     'sender_id', 'spmis.test', 'receiver_id', 'registry.test', 'total_count', jsonb_array_length(items),
                                     'is_msg_encrypted', false) || header,
        'message', jsonb_build_object('transaction_id', 'txn-' || mid, items_key, items))
$$;
CREATE FUNCTION pg_temp.q(ref text, criteria jsonb) RETURNS jsonb LANGUAGE sql AS
$$ SELECT jsonb_build_object('reference_id', ref, 'timestamp', pg_temp.now_ts(), 'search_criteria', criteria, 'locale', 'eng') $$;
CREATE FUNCTION pg_temp.scrub(j jsonb) RETURNS jsonb LANGUAGE sql AS $$
    SELECT CASE jsonb_typeof(j)
        WHEN 'object' THEN coalesce((SELECT jsonb_object_agg(k, CASE WHEN k IN ('message_id', 'message_ts', 'correlation_id', 'timestamp',
                                                                                 'registration_date', 'registration_year', 'last_updated', 'identifier_value',
                                                                                 'start_time', 'end_time')
                                                                      THEN '"~"'::jsonb ELSE pg_temp.scrub(v) END)
                                     FROM jsonb_each(j) x (k, v)), '{}')
        WHEN 'array' THEN coalesce((SELECT jsonb_agg(pg_temp.scrub(e) ORDER BY n) FROM jsonb_array_elements(j) WITH ORDINALITY x (e, n)), '[]')
        WHEN 'string' THEN CASE WHEN j #>> '{}' LIKE 'sub-%' THEN '"sub-~"' ELSE j END
        ELSE j END
$$;
-- one line per response item: reference, status, reason, total, and the
-- records by their members' given names (or sex and birth year)
CREATE FUNCTION pg_temp.items(resp jsonb)
RETURNS TABLE (ref text, status text, reason text, total int, page int, records text) LANGUAGE sql AS $$
    SELECT i ->> 'reference_id', i ->> 'status', coalesce(i ->> 'status_reason_code', '') || coalesce(': ' || (i ->> 'status_reason_message'), ''),
           (i #>> '{pagination,total_count}')::int, (i #>> '{pagination,page_number}')::int,
           (SELECT string_agg(CASE WHEN r ? 'member_list' THEN
                                   '[' || (SELECT string_agg(coalesce(m #>> '{demographic_info,name,given_name}',
                                                                      (m #>> '{demographic_info,sex}') || '/' || coalesce((SELECT a ->> 'birth_year' FROM jsonb_array_elements(m -> 'additional_attributes') a WHERE a ? 'birth_year'), '?')), ' ')
                                           FROM jsonb_array_elements(r -> 'member_list') m) || ']'
                                   WHEN r ->> '@type' = 'Group' THEN 'group in ' || (r #>> '{place,admin_area_code}')
                                   ELSE coalesce(r #>> '{demographic_info,name,given_name}',
                                                 (r #>> '{demographic_info,sex}') || '/' || coalesce((SELECT a ->> 'birth_year' FROM jsonb_array_elements(r -> 'additional_attributes') a WHERE a ? 'birth_year'), '?')) END,
                              ', ' ORDER BY n)
            FROM jsonb_array_elements(i #> '{data,reg_records}') WITH ORDINALITY x (r, n))
    FROM jsonb_array_elements(resp #> '{message,search_response}') i
$$;
CREATE FUNCTION pg_temp.head(resp jsonb) RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(resp #>> '{header,status}', resp #>> '{message,ack_status}') || ' '
           || coalesce(resp #>> '{header,status_reason_code}', resp #>> '{message,error,code}', '')
           || coalesce(': ' || coalesce(resp #>> '{header,status_reason_message}', resp #>> '{message,error,message}'), '')
$$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA pg_temp TO PUBLIC;

-- A registrar of the North: by national ID (the blind index; audited with
-- its purpose), by phone, by household id; predicates; an expression
SET ROLE sp_test_dci_reg;
SELECT jsonb_pretty(pg_temp.scrub(sp.dci_search(pg_temp.env('search', 'reg-1', jsonb_build_array(
    pg_temp.q('by-uin', '{"query_type": "idtype-value", "query": {"type": "UIN", "value": "ds100200"},
                         "authorize": {"purpose": {"text": "checking a transfer"}}}')))))) AS response;
SELECT * FROM pg_temp.items(sp.dci_search(pg_temp.env('search', 'reg-2', jsonb_build_array(
    pg_temp.q('uin-member', '{"query_type": "idtype-value", "response_entity": "Member", "query": {"type": "NationalID", "value": "DS-100-200"}}'),
    pg_temp.q('phone', '{"query_type": "idtype-value", "response_entity": "Member", "query": {"type": "MOBILE", "value": "+25261 5550101"}}'),
    pg_temp.q('uin-elsewhere', '{"query_type": "idtype-value", "query": {"type": "UIN", "value": "DS-300-400"}}'),
    pg_temp.q('uin-nobody', '{"query_type": "idtype-value", "query": {"type": "UIN", "value": "DS-999-999"}}'),
    pg_temp.q('household', jsonb_build_object('query_type', 'idtype-value', 'query', jsonb_build_object('type', 'HouseholdID', 'value', :h2::text))),
    pg_temp.q('household-elsewhere', jsonb_build_object('query_type', 'idtype-value', 'query', jsonb_build_object('type', 'HouseholdID', 'value', :h3))),
    pg_temp.q('women', '{"query_type": "predicate", "response_entity": "Member", "query": [
        {"seq_num": 1, "expression1": {"attribute_name": "sex", "operator": "eq", "attribute_value": "female"}}]}'),
    pg_temp.q('young-or-men', '{"query_type": "predicate", "response_entity": "Member", "query": [
        {"seq_num": 2, "expression1": {"attribute_name": "birth_year", "operator": "ge", "attribute_value": 2000},
         "condition": "or", "expression2": {"attribute_name": "sex", "operator": "in", "attribute_value": ["male"]}}]}'),
    pg_temp.q('not-heads', '{"query_type": "predicate", "response_entity": "Member", "query": [
        {"seq_num": 1, "expression1": {"attribute_name": "relationship_to_head", "operator": "eq", "attribute_value": "head"}, "condition": "not"}]}'),
    pg_temp.q('born-80s-not-men', '{"query_type": "predicate", "response_entity": "Member", "query": [
        {"seq_num": 1, "expression1": {"attribute_name": "birth_date", "operator": "lt", "attribute_value": "1990-01-01"},
         "condition": "not", "expression2": {"attribute_name": "sex", "operator": "eq", "attribute_value": "male"}}]}'),
    pg_temp.q('groups-with-a-man', '{"query_type": "predicate", "query": [
        {"seq_num": 1, "expression1": {"attribute_name": "sex", "operator": "eq", "attribute_value": "M"}}]}'),
    pg_temp.q('small-in-hills', '{"query_type": "expression", "response_entity": "Group", "query": {"type": "ns:org:QueryType:NoSql",
        "value": {"expression": {"collection": "Group", "query": {"$and": [{"group_size": {"$lt": 3}}, {"area": "DS0101"}, {"$not": {"household_id": -1}}]}}}}}'),
    pg_temp.q('two-rooms', '{"query_type": "expression", "query": {"type": "NoSql",
        "value": {"expression": {"collection": "Group", "query": {"$or": [{"rooms": 2}, {"household_size": {"$gte": 9}}]}}}}}')
))));
-- the national ID lookups are in the audit trail, with every match (the one
-- outside the registrar's scope too), the purpose and the DCI message
RESET ROLE;
SELECT action, cardinality(person_ids) AS matches, purpose, detail #>> '{dci,reference_id}' AS reference, detail #>> '{dci,message_id}' AS message
FROM sp.audit_log WHERE detail #>> '{dci,sender_id}' = 'spmis.test' ORDER BY log_id;

-- pages: every member of the scope, two at a time, in the order asked and
-- then by id; total_count on every page; a page past the end is empty
SET ROLE sp_test_dci_reg;
SELECT p.page, i.total, i.records
FROM generate_series(1, 3) p (page),
     pg_temp.items(sp.dci_search(pg_temp.env('search', 'reg-page-' || p.page, jsonb_build_array(pg_temp.q('all',
        jsonb_build_object('query_type', 'predicate', 'response_entity', 'Member',
                           'query', '[{"seq_num": 1, "expression1": {"attribute_name": "area", "operator": "eq", "attribute_value": "DS"}}]'::jsonb,
                           'sort', '[{"attribute_name": "birth_year", "sort_order": "desc"}]'::jsonb,
                           'pagination', jsonb_build_object('page_size', 2, 'page_number', p.page))))))) i
ORDER BY p.page;

-- bad requests are rejected item by item, with the spec's reason codes;
-- the good one beside them is answered
SELECT * FROM pg_temp.items(sp.dci_search(pg_temp.env('search', 'reg-bad', jsonb_build_array(
    pg_temp.q('ok', '{"query_type": "idtype-value", "query": {"type": "PersonID", "value": "0"}}'),
    pg_temp.q('unknown-attribute', '{"query_type": "predicate", "query": [{"seq_num": 1, "expression1": {"attribute_name": "given_name", "operator": "eq", "attribute_value": "Amina"}}]}'),
    pg_temp.q('injection-name', '{"query_type": "predicate", "query": [{"seq_num": 1, "expression1": {"attribute_name": "sex = sex) OR (true", "operator": "eq", "attribute_value": "F"}}]}'),
    pg_temp.q('injection-value', '{"query_type": "predicate", "query": [{"seq_num": 1, "expression1": {"attribute_name": "group_size", "operator": "gt", "attribute_value": "1) OR (1=1"}}]}'),
    pg_temp.q('injection-text', '{"query_type": "predicate", "query": [{"seq_num": 1, "expression1": {"attribute_name": "relationship_to_head", "operator": "eq", "attribute_value": "x'' OR ''1''=''1"}}]}'),
    pg_temp.q('operator', '{"query_type": "predicate", "query": [{"seq_num": 1, "expression1": {"attribute_name": "group_size", "operator": "like", "attribute_value": 1}}]}'),
    pg_temp.q('text-range', '{"query_type": "predicate", "query": [{"seq_num": 1, "expression1": {"attribute_name": "sex", "operator": "gt", "attribute_value": "F"}}]}'),
    pg_temp.q('in-not-array', '{"query_type": "predicate", "query": [{"seq_num": 1, "expression1": {"attribute_name": "sex", "operator": "in", "attribute_value": "F"}}]}'),
    pg_temp.q('seq-twice', '{"query_type": "predicate", "query": [{"seq_num": 1, "expression1": {"attribute_name": "sex", "operator": "eq", "attribute_value": "F"}},
                                                                  {"seq_num": 1, "expression1": {"attribute_name": "sex", "operator": "eq", "attribute_value": "M"}}]}'),
    pg_temp.q('and-alone', '{"query_type": "predicate", "query": [{"seq_num": 1, "condition": "and", "expression1": {"attribute_name": "sex", "operator": "eq", "attribute_value": "F"}}]}'),
    pg_temp.q('not-a-list', '{"query_type": "predicate", "query": {"seq_num": 1}}'),
    pg_temp.q('bad-date', '{"query_type": "predicate", "response_entity": "Member", "query": [{"seq_num": 1, "expression1": {"attribute_name": "birth_date", "operator": "lt", "attribute_value": "1990-02-30"}}]}'),
    pg_temp.q('unknown-area', '{"query_type": "predicate", "query": [{"seq_num": 1, "expression1": {"attribute_name": "area", "operator": "eq", "attribute_value": "XX99"}}]}'),
    pg_temp.q('mongo-where', '{"query_type": "expression", "query": {"type": "NoSql", "value": {"expression": {"collection": "Group", "query": {"$where": "sleep(10)"}}}}}'),
    pg_temp.q('graphql', '{"query_type": "expression", "query": {"type": "ns:org:QueryType:GraphQl", "value": {"expression": "{ group { id } }"}}}'),
    pg_temp.q('collection', '{"query_type": "expression", "query": {"type": "NoSql", "value": {"expression": {"collection": "pg_authid", "query": {"household_id": 1}}}}}'),
    pg_temp.q('deep', jsonb_build_object('query_type', 'expression', 'query', jsonb_build_object('type', 'NoSql', 'value', jsonb_build_object('expression',
        jsonb_build_object('collection', 'Group', 'query',
            (SELECT '{"$not": '::text || repeat('{"$not": ', 9) || '{"household_id": 1}' || repeat('}', 10))::jsonb))))),
    pg_temp.q('query-type', '{"query_type": "sql", "query": "SELECT 1"}'),
    pg_temp.q('id-type', '{"query_type": "idtype-value", "query": {"type": "PASSPORT", "value": "X1"}}'),
    pg_temp.q('id-value', '{"query_type": "idtype-value", "query": {"type": "HouseholdID", "value": "1 OR 1=1"}}'),
    pg_temp.q('entity', '{"query_type": "idtype-value", "response_entity": "Household", "query": {"type": "HouseholdID", "value": "1"}}'),
    pg_temp.q('page-size', '{"query_type": "idtype-value", "query": {"type": "HouseholdID", "value": "1"}, "pagination": {"page_size": 0}}'),
    pg_temp.q('page-number', '{"query_type": "idtype-value", "query": {"type": "HouseholdID", "value": "1"}, "pagination": {"page_size": 5, "page_number": 1.5}}'),
    pg_temp.q('sort-text', '{"query_type": "idtype-value", "query": {"type": "HouseholdID", "value": "1"}, "sort": [{"attribute_name": "sex"}]}'),
    pg_temp.q('sort-order', '{"query_type": "idtype-value", "query": {"type": "HouseholdID", "value": "1"}, "sort": [{"attribute_name": "group_size", "sort_order": "up"}]}'),
    pg_temp.q('sort-member-of-group', '{"query_type": "idtype-value", "query": {"type": "HouseholdID", "value": "1"}, "sort": [{"attribute_name": "birth_year"}]}'),
    pg_temp.q('ok', '{"query_type": "idtype-value", "query": {"type": "PersonID", "value": "0"}}'),
    '{"timestamp": "2026-01-01T00:00:00Z", "search_criteria": {}}'::jsonb,
    '{"reference_id": "no-time", "search_criteria": {"query_type": "idtype-value", "query": {"type": "PersonID", "value": "0"}}}'::jsonb,
    '{"reference_id": "local-time", "timestamp": "2026-01-01T00:00:00", "search_criteria": {"query_type": "idtype-value", "query": {"type": "PersonID", "value": "0"}}}'::jsonb,
    '{"reference_id": "locale", "timestamp": "2026-01-01T00:00:00Z", "locale": "en", "search_criteria": {"query_type": "idtype-value", "query": {"type": "PersonID", "value": "0"}}}'::jsonb,
    '{"reference_id": "no-criteria", "timestamp": "2026-01-01T00:00:00Z"}'::jsonb
))));
-- too many matches for the privacy setting dci_max_records
RESET ROLE;
SELECT count(*) AS households_still_there FROM sp.household h WHERE h.admin_area_code LIKE 'DS%';
INSERT INTO sp.privacy_setting (name, value) VALUES ('dci_max_records', 2);
SET ROLE sp_test_dci_reg;
SELECT * FROM pg_temp.items(sp.dci_search(pg_temp.env('search', 'reg-many', jsonb_build_array(
    pg_temp.q('everyone', '{"query_type": "predicate", "response_entity": "Member", "query": [{"seq_num": 1, "expression1": {"attribute_name": "person_status", "operator": "eq", "attribute_value": "active"}}],
                            "pagination": {"page_size": 1}}'),
    pg_temp.q('two-women', '{"query_type": "predicate", "response_entity": "Member", "query": [{"seq_num": 1, "expression1": {"attribute_name": "sex", "operator": "eq", "attribute_value": "female"}}]}')))));
RESET ROLE;
DELETE FROM sp.privacy_setting WHERE name = 'dci_max_records';

-- envelopes: what cannot be read as a request gets the DCI error object;
-- a header that is wrong gets a rejected header, nothing searched
SET ROLE sp_test_dci_reg;
SELECT t.what, pg_temp.head(sp.dci_search(t.request)) AS answer
FROM (VALUES
    ('not an object', '[1, 2]'::jsonb),
    ('no header', '{"message": {"transaction_id": "t", "search_request": []}}'),
    ('header not an object', '{"header": "search", "message": {}}'),
    ('no message', jsonb_build_object('header', pg_temp.env('search', 'env-1', '[]') -> 'header')),
    ('no total_count', pg_temp.env('search', 'env-2', '[]') #- '{header,total_count}'),
    ('no message_id', pg_temp.env('search', 'env-3', '[]') #- '{header,message_id}'),
    ('no transaction_id', pg_temp.env('search', 'env-4', '[]') #- '{message,transaction_id}'),
    ('search_request not an array', jsonb_set(pg_temp.env('search', 'env-5', '[]'), '{message,search_request}', '{}')),
    ('encrypted', pg_temp.env('search', 'env-6', '[]', 'search_request', '{"is_msg_encrypted": true}')),
    ('total_count wrong', pg_temp.env('search', 'env-7', jsonb_build_array(pg_temp.q('a', '{}')), 'search_request', '{"total_count": 2}')),
    ('no request', pg_temp.env('search', 'env-8', '[]')),
    ('too many requests', pg_temp.env('search', 'env-9', (SELECT jsonb_agg(pg_temp.q('r' || i, '{}')) FROM generate_series(1, 101) i))),
    ('wrong action', pg_temp.env('subscribe', 'env-10', jsonb_build_array(pg_temp.q('a', '{}')))),
    ('wrong version', pg_temp.env('search', 'env-11', jsonb_build_array(pg_temp.q('a', '{}')), 'search_request', '{"version": "2.0.0"}')),
    ('message_ts two days old', pg_temp.env('search', 'env-12', jsonb_build_array(pg_temp.q('a', '{}')), 'search_request',
                                            jsonb_build_object('message_ts', pg_temp.now_ts('-2 days')))),
    ('message_ts in an hour', pg_temp.env('search', 'env-13', jsonb_build_array(pg_temp.q('a', '{}')), 'search_request',
                                          jsonb_build_object('message_ts', pg_temp.now_ts('1 hour')))),
    ('message_ts without zone', pg_temp.env('search', 'env-14', jsonb_build_array(pg_temp.q('a', '{}')), 'search_request',
                                            '{"message_ts": "2026-12-01 10:00:00"}')),
    ('message_ts not a time', pg_temp.env('search', 'env-15', jsonb_build_array(pg_temp.q('a', '{}')), 'search_request', '{"message_ts": "now"}')),
    ('replayed message_id', pg_temp.env('search', 'reg-1', jsonb_build_array(pg_temp.q('by-uin', '{"query_type": "idtype-value", "query": {"type": "UIN", "value": "ds100200"}}'))))
) t (what, request);
-- the replay was not looked up again
RESET ROLE;
SELECT count(*) AS lookups_of_reg_1 FROM sp.audit_log WHERE detail #>> '{dci,message_id}' = 'reg-1';

-- What each caller sees follows its grants.  An analyst: no names, birth
-- dates or exact areas (birth year; the area at the de-identified level,
-- here the district DS0101 for a household in DS010101); it cannot filter on
-- what it cannot see, nor look up national IDs.
SET ROLE sp_test_dci_ana;
SELECT jsonb_pretty(pg_temp.scrub(sp.dci_search(pg_temp.env('search', 'ana-1', jsonb_build_array(
    pg_temp.q('household', jsonb_build_object('query_type', 'idtype-value', 'query', jsonb_build_object('type', 'HouseholdID', 'value', :h1))))))
    #> '{message,search_response,0,data,reg_records,0}')) AS analyst_sees;
SELECT * FROM pg_temp.items(sp.dci_search(pg_temp.env('search', 'ana-2', jsonb_build_array(
    pg_temp.q('women', '{"query_type": "predicate", "response_entity": "Member", "query": [{"seq_num": 1, "expression1": {"attribute_name": "sex", "operator": "eq", "attribute_value": "female"}}]}'),
    pg_temp.q('district', '{"query_type": "predicate", "query": [{"seq_num": 1, "expression1": {"attribute_name": "area", "operator": "in", "attribute_value": ["DS0101", "DS02"]}}]}'),
    pg_temp.q('village', '{"query_type": "predicate", "query": [{"seq_num": 1, "expression1": {"attribute_name": "area", "operator": "eq", "attribute_value": "DS010101"}}]}'),
    pg_temp.q('birth-date', '{"query_type": "predicate", "response_entity": "Member", "query": [{"seq_num": 1, "expression1": {"attribute_name": "birth_date", "operator": "lt", "attribute_value": "1990-01-01"}}]}'),
    pg_temp.q('registered-on', '{"query_type": "predicate", "query": [{"seq_num": 1, "expression1": {"attribute_name": "registration_date", "operator": "ge", "attribute_value": "2020-01-01"}}]}'),
    pg_temp.q('uin', '{"query_type": "idtype-value", "query": {"type": "UIN", "value": "DS-100-200"}}'),
    pg_temp.q('phone', '{"query_type": "idtype-value", "query": {"type": "MOBILE", "value": "+252615550101"}}')))));
-- An integration role reads household ids and areas only: that is all it gets
SET ROLE sp_test_dci_int;
SELECT jsonb_pretty(pg_temp.scrub(sp.dci_search(pg_temp.env('search', 'int-1', jsonb_build_array(
    pg_temp.q('household', jsonb_build_object('query_type', 'idtype-value', 'query', jsonb_build_object('type', 'HouseholdID', 'value', :h1))))))
    #> '{message,search_response,0,data,reg_records}')) AS integration_sees;
SELECT * FROM pg_temp.items(sp.dci_search(pg_temp.env('search', 'int-2', jsonb_build_array(
    pg_temp.q('south', '{"query_type": "predicate", "query": [{"seq_num": 1, "expression1": {"attribute_name": "area", "operator": "eq", "attribute_value": "DS02"}}]}'),
    pg_temp.q('members', '{"query_type": "predicate", "response_entity": "Member", "query": [{"seq_num": 1, "expression1": {"attribute_name": "area", "operator": "eq", "attribute_value": "DS"}}]}'),
    pg_temp.q('size', '{"query_type": "predicate", "query": [{"seq_num": 1, "expression1": {"attribute_name": "group_size", "operator": "gt", "attribute_value": 0}}]}'),
    pg_temp.q('score', '{"query_type": "predicate", "query": [{"seq_num": 1, "expression1": {"attribute_name": "poverty_score", "operator": "lt", "attribute_value": 50}}]}'),
    pg_temp.q('person', '{"query_type": "idtype-value", "query": {"type": "PersonID", "value": "1"}}')))));
-- a registrar without scope finds nothing, not even by national ID (the
-- lookup is audited all the same)
SET ROLE sp_test_dci_none;
SELECT * FROM pg_temp.items(sp.dci_search(pg_temp.env('search', 'none-1', jsonb_build_array(
    pg_temp.q('uin', '{"query_type": "idtype-value", "query": {"type": "UIN", "value": "DS-100-200"}}'),
    pg_temp.q('all', '{"query_type": "predicate", "query": [{"seq_num": 1, "expression1": {"attribute_name": "area", "operator": "eq", "attribute_value": "DS"}}]}')))));
RESET ROLE;

-- catalogue variables are searchable once an administrator lists them
INSERT INTO sp.dci_attribute (attribute_name, variable_code, description) VALUES ('rooms', 'rooms', 'Sleeping rooms');
INSERT INTO sp.dci_attribute (attribute_name, variable_code) VALUES ('group_size', 'rooms');
INSERT INTO sp.dci_attribute (attribute_name, variable_code) VALUES ('ROOMS', 'rooms');
SET ROLE sp_test_dci_reg;
SELECT * FROM pg_temp.items(sp.dci_search(pg_temp.env('search', 'reg-rooms', jsonb_build_array(
    pg_temp.q('two-rooms', '{"query_type": "expression", "query": {"type": "NoSql",
        "value": {"expression": {"collection": "Group", "query": {"$or": [{"rooms": 2}, {"rooms": {"$gte": 9, "$lt": 20}}]}}}}}'),
    pg_temp.q('rooms-sorted', '{"query_type": "predicate", "query": [{"seq_num": 1, "expression1": {"attribute_name": "rooms", "operator": "ge", "attribute_value": 1}}],
                               "sort": [{"attribute_name": "rooms", "sort_order": "desc"}]}'),
    pg_temp.q('rooms-text', '{"query_type": "predicate", "query": [{"seq_num": 1, "expression1": {"attribute_name": "rooms", "operator": "eq", "attribute_value": "two"}}]}')))));
RESET ROLE;

-- API clients: a sender bound to a role of its own, a hashed token, the
-- prefixes its callbacks may go to
CREATE ROLE sp_test_dci_client IN ROLE sp_registrar;
CREATE ROLE sp_test_dci_client2 IN ROLE sp_registrar;
SELECT sp.grant_area_scope('sp_test_dci_client', 'DS01') IS NOT NULL AS client_scope;
SELECT c - 'created_at' - 'created_by' AS client
FROM sp.register_api_client('spmis.test', repeat('t0k3n', 8), 'sp_test_dci_client', '{http://127.0.0.1:8099/dci/, https://spmis.example.org/callbacks/}', 'the test MIS') c;
SELECT sp.register_api_client('other.test', repeat('s3cr3t', 8), 'sp_test_dci_client2', '{https://other.example.org/}') ->> 'sender_id' AS client;
SELECT count(*) AS tokens_in_clear FROM sp.api_client c WHERE to_jsonb(c)::text LIKE '%t0k3n%' OR to_jsonb(c)::text LIKE '%s3cr3t%';
SELECT token_sha256 = sha256(convert_to(repeat('t0k3n', 8), 'UTF8')) AS token_hashed FROM sp.api_client WHERE sender_id = 'spmis.test';
-- bad clients
SELECT sp.register_api_client('bad id!', repeat('t', 40), 'sp_test_dci_client2');
SELECT sp.register_api_client('x.test', 'short', 'sp_test_dci_client2');
SELECT sp.register_api_client('x.test', repeat('t', 40), 'sp_registrar');
CREATE ROLE sp_test_dci_super SUPERUSER;
SELECT sp.register_api_client('x.test', repeat('t', 40), 'sp_test_dci_super');
DROP ROLE sp_test_dci_super;
SELECT sp.register_api_client('x.test', repeat('t', 40), 'nobody_at_all');
SELECT sp.register_api_client('x.test', repeat('t', 40), 'sp_test_dci_client');
SELECT sp.register_api_client('x.test', repeat('s3cr3t', 8), 'sp_test_dci_ana');
CREATE ROLE sp_test_dci_login LOGIN IN ROLE sp_registrar;
SELECT sp.register_api_client('x.test', repeat('t', 40), 'sp_test_dci_login');
DROP ROLE sp_test_dci_login;
CREATE ROLE sp_test_dci_admin IN ROLE sp_admin;
SELECT sp.register_api_client('x.test', repeat('t', 40), 'sp_test_dci_admin');
DROP ROLE sp_test_dci_admin;
SELECT sp.register_api_client('x.test', 'a token with spaces in it, long enough', 'sp_test_dci_ana');
SELECT sp.register_api_client('x.test', repeat('t', 40), 'sp_test_dci_ana', '{https://spmis.example.org}');
SELECT sp.register_api_client('x.test', repeat('t', 40), 'sp_test_dci_ana', '{https://spmis.example.org/cb}');
SELECT sp.register_api_client('x.test', repeat('t', 40), 'sp_test_dci_ana', '{ftp://spmis.example.org/}');
SELECT sp.register_api_client('x.test', repeat('t', 40), 'sp_test_dci_ana', '{https://user@spmis.example.org/}');
SELECT sp.register_api_client('x.test', repeat('t', 40), 'sp_test_dci_ana', '{https://spmis.example.org/a/../b/}');
SELECT sp.register_api_client('x.test', repeat('t', 40), 'sp_test_dci_ana', '{https://spmis.example.org/?q=/}');
SELECT count(*) AS clients FROM sp.api_client WHERE sender_id IN ('x.test', 'bad id!');

-- a client must name itself as its registered sender
SET ROLE sp_test_dci_client;
SELECT pg_temp.head(sp.dci_search(pg_temp.env('search', 'cl-1', jsonb_build_array(pg_temp.q('a', '{}')), 'search_request', '{"sender_id": "other.test"}'))) AS other_sender;
SELECT pg_temp.head(sp.dci_search(pg_temp.env('search', 'cl-2', jsonb_build_array(
    pg_temp.q('hills', '{"query_type": "predicate", "query": [{"seq_num": 1, "expression1": {"attribute_name": "area", "operator": "eq", "attribute_value": "DS0101"}}]}'))))) AS own_sender;

-- subscriptions: events of a type, records matching a filter, sent to a
-- callback under the client's prefixes
RESET ROLE;
CREATE FUNCTION pg_temp.sub(ref text, criteria jsonb) RETURNS jsonb LANGUAGE sql AS
$$ SELECT jsonb_build_object('reference_id', ref, 'timestamp', pg_temp.now_ts(), 'subscribe_criteria', criteria) $$;
CREATE FUNCTION pg_temp.subscribe(mid text, items jsonb, callback text DEFAULT NULL) RETURNS jsonb LANGUAGE sql AS
$$ SELECT sp.dci_subscribe(pg_temp.env('subscribe', mid, items, 'subscribe_request',
                                        CASE WHEN callback IS NOT NULL THEN jsonb_build_object('sender_uri', callback) ELSE '{}' END)) $$;
CREATE FUNCTION pg_temp.sub_items(r jsonb) RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(r #>> '{message,error,code}',
                    (SELECT string_agg((i ->> 'reference_id') || ' ' || (i ->> 'status') || coalesce(' ' || (i ->> 'status_reason_code'), ''), ', ' ORDER BY n)
                     FROM jsonb_array_elements(r #> '{message,subscribe_response}') WITH ORDINALITY x (i, n)),
                    r #>> '{header,status_reason_code}')
$$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA pg_temp TO PUBLIC;
SET ROLE sp_test_dci_client;
SELECT jsonb_pretty(pg_temp.scrub(pg_temp.subscribe('sub-1', jsonb_build_array(pg_temp.sub('new-in-north', jsonb_build_object(
        'reg_event_type', 'REGISTER', 'filter_type', 'predicate', 'notify_record_type', 'Group',
        'filter', '[{"seq_num": 1, "expression1": {"attribute_name": "area", "operator": "eq", "attribute_value": "DS01"}}]'::jsonb,
        'frequency', jsonb_build_object('start_time', pg_temp.now_ts(), 'end_time', pg_temp.now_ts('30 days'), 'frequency', '0 0 0 5,15 * ? *')))),
    'http://127.0.0.1:8099/dci/notify'))) AS subscribed;
SELECT i ->> 'reference_id' AS ref, i ->> 'status' AS status, coalesce(i ->> 'status_reason_code', '') || coalesce(': ' || (i ->> 'status_reason_message'), '') AS reason,
       i #>> '{subscriptions,0,reg_event_type}' AS event
FROM jsonb_array_elements(pg_temp.subscribe('sub-2', jsonb_build_array(
    pg_temp.sub('again', jsonb_build_object('reg_event_type', 'REGISTER', 'filter_type', 'predicate', 'notify_record_type', 'Group',
        'filter', '[{"seq_num": 1, "expression1": {"attribute_name": "area", "operator": "eq", "attribute_value": "DS01"}}]'::jsonb)),
    pg_temp.sub('deaths', jsonb_build_object('reg_event_type', 'spdci-common:RegistryEventType:DEATH', 'filter_type', 'idtype-value',
        'notify_record_type', 'Member', 'filter', jsonb_build_object('type', 'HouseholdID', 'value', :h1::text))),
    pg_temp.sub('births', jsonb_build_object('reg_event_type', 'LiveBirth', 'filter_type', 'predicate', 'notify_record_type', 'Group', 'filter', '[]'::jsonb)),
    pg_temp.sub('bad-filter', jsonb_build_object('reg_event_type', 'UPDATE', 'filter_type', 'predicate', 'notify_record_type', 'Group',
        'filter', '[{"seq_num": 1, "expression1": {"attribute_name": "password", "operator": "eq", "attribute_value": "x"}}]'::jsonb)),
    pg_temp.sub('empty-filter', jsonb_build_object('reg_event_type', 'UPDATE', 'filter_type', 'predicate', 'notify_record_type', 'Group', 'filter', '[]'::jsonb)),
    pg_temp.sub('by-uin', jsonb_build_object('reg_event_type', 'UPDATE', 'filter_type', 'idtype-value', 'notify_record_type', 'Group',
        'filter', '{"type": "UIN", "value": "DS-100-200"}'::jsonb)),
    pg_temp.sub('record-type', jsonb_build_object('reg_event_type', 'UPDATE', 'filter_type', 'predicate', 'notify_record_type', 'Person',
        'filter', '[{"seq_num": 1, "expression1": {"attribute_name": "area", "operator": "eq", "attribute_value": "DS01"}}]'::jsonb)),
    pg_temp.sub('past', jsonb_build_object('reg_event_type', 'UPDATE', 'filter_type', 'predicate', 'notify_record_type', 'Group',
        'filter', '[{"seq_num": 1, "expression1": {"attribute_name": "area", "operator": "eq", "attribute_value": "DS01"}}]'::jsonb,
        'frequency', jsonb_build_object('start_time', pg_temp.now_ts('-30 days'), 'end_time', pg_temp.now_ts('-1 day'), 'frequency', '* * *')))
    ), 'https://spmis.example.org/callbacks/notify') -> 'message' -> 'subscribe_response') i;
-- callbacks only under the client's prefixes
SELECT u AS sender_uri, pg_temp.sub_items(pg_temp.subscribe('sub-uri-' || n, jsonb_build_array(pg_temp.sub('exits', jsonb_build_object(
        'reg_event_type', 'EXIT', 'filter_type', 'idtype-value', 'notify_record_type', 'Group', 'filter', jsonb_build_object('type', 'HouseholdID', 'value', n)))),
    u)) AS answer
FROM unnest(ARRAY['http://127.0.0.1:8099/dci/on-notify', 'http://127.0.0.1:8099/dci', 'http://127.0.0.1:8099/dci/../admin',
                  'http://127.0.0.1:8099/dci/%2e%2e/admin', 'http://127.0.0.1:8099.evil.net/dci/', 'http://user@127.0.0.1:8099/dci/',
                  'https://other.example.org/', 'http://127.0.0.1:8099/dci/on-notify#x']) WITH ORDINALITY x (u, n);
RESET ROLE;
-- a direct SQL user (no registered client) subscribes without a callback,
-- and may not name one
SET ROLE sp_test_dci_reg;
SELECT pg_temp.sub_items(pg_temp.subscribe('sub-sql', jsonb_build_array(pg_temp.sub('enrolments', jsonb_build_object(
        'reg_event_type', 'ENROL', 'filter_type', 'idtype-value', 'notify_record_type', 'Group', 'filter', jsonb_build_object('type', 'HouseholdID', 'value', 1)))))) AS without_callback,
       pg_temp.sub_items(pg_temp.subscribe('sub-sql-2', jsonb_build_array(pg_temp.sub('enrolments-2', jsonb_build_object(
        'reg_event_type', 'ENROL', 'filter_type', 'idtype-value', 'notify_record_type', 'Group', 'filter', jsonb_build_object('type', 'HouseholdID', 'value', 2)))),
        'http://127.0.0.1:8099/dci/x')) AS with_callback;
RESET ROLE;
SELECT s.sender_id, s.caller_role, s.reg_event_type, s.filter_type, s.notify_record_type, s.callback_uri,
       s.starts_at IS NOT NULL AS has_period, c.consumer_role AS outbox_consumer_role, c.event_types
FROM sp.dci_subscription s JOIN sp.outbox_consumer c ON c.name = s.outbox_consumer
WHERE s.caller_role LIKE 'sp_test_dci%' ORDER BY s.caller_role, s.reg_event_type, s.filter ->> 'value';
SELECT subscription_code AS sub_deaths FROM sp.dci_subscription WHERE caller_role = 'sp_test_dci_client' AND reg_event_type = 'DEATH' \gset
SELECT subscription_code AS sub_register FROM sp.dci_subscription WHERE caller_role = 'sp_test_dci_client' AND reg_event_type = 'REGISTER' \gset
SELECT subscription_code AS sub_other FROM sp.dci_subscription WHERE caller_role = 'sp_test_dci_reg' \gset

-- unsubscribe: all or nothing; another client's code is an unknown code
SET ROLE sp_test_dci_client;
SELECT t.what, r #>> '{message,status}' AS status,
       coalesce(r #>> '{message,status_reason_code}', '') || coalesce(r #>> '{header,status_reason_code}', '') AS reason,
       pg_temp.scrub(r #> '{message,subscription_status}') AS subscription_status
FROM (VALUES
    (1, 'unknown', jsonb_set(pg_temp.env('unsubscribe', 'uns-1', '["sub-nothing"]', 'subscription_codes'), '{message,timestamp}', to_jsonb(pg_temp.now_ts()))),
    (2, 'another client''s', jsonb_set(pg_temp.env('unsubscribe', 'uns-2', jsonb_build_array(:'sub_deaths', :'sub_other'), 'subscription_codes'),
                                    '{message,timestamp}', to_jsonb(pg_temp.now_ts()))),
    (3, 'no timestamp', pg_temp.env('unsubscribe', 'uns-3', jsonb_build_array(:'sub_deaths'), 'subscription_codes')),
    (4, 'the spec''s spelling', jsonb_set(pg_temp.env('unsubscribe', 'uns-4', jsonb_build_array(:'sub_deaths'), 'subscription_codes'),
                                          '{message,timesstamp}', to_jsonb(pg_temp.now_ts()))),
    (5, 'again', jsonb_set(pg_temp.env('unsubscribe', 'uns-5', jsonb_build_array(:'sub_deaths'), 'subscription_codes'),
                           '{message,timestamp}', to_jsonb(pg_temp.now_ts()))),
    (6, 'total_count wrong', jsonb_set(pg_temp.env('unsubscribe', 'uns-6', jsonb_build_array(:'sub_register'), 'subscription_codes', '{"total_count": 3}'),
                                       '{message,timestamp}', to_jsonb(pg_temp.now_ts())))
) t (n, what, request), LATERAL (SELECT sp.dci_unsubscribe(t.request) r) x
ORDER BY t.n;
RESET ROLE;
SELECT reg_event_type, unsubscribed_at IS NOT NULL AS ended, unsubscribed_by FROM sp.dci_subscription
WHERE caller_role = 'sp_test_dci_client' ORDER BY reg_event_type;

-- transaction status: what this registry answered to the client's own
-- requests; another client's are unknown to it
SET ROLE sp_test_dci_client;
SELECT t.what, pg_temp.head(r) AS header, r #>> '{message,txnstatus_response,txn_type}' AS txn_type,
       r #>> '{message,txnstatus_response,txn_status,transaction_id}' AS of_transaction,
       (SELECT string_agg((i ->> 'reference_id') || ':' || (i ->> 'status'), ', ' ORDER BY i ->> 'reference_id')
        FROM jsonb_array_elements(coalesce(r #> '{message,txnstatus_response,txn_status,search_response}',
                                           r #> '{message,txnstatus_response,txn_status,subscribe_response}')) i) AS items,
       r #>> '{message,txnstatus_response,txn_status,status}' AS unsubscribe_status
FROM (VALUES
    (1, 'search by transaction', jsonb_build_object('reference_id', 's1', 'txn_type', 'search', 'attribute_type', 'transaction_id', 'attribute_value', 'txn-cl-2')),
    (2, 'search by reference', jsonb_build_object('reference_id', 's2', 'txn_type', 'search', 'attribute_type', 'reference_id_list', 'attribute_value', '["hills", "nothing"]'::jsonb)),
    (3, 'subscribe by transaction', jsonb_build_object('reference_id', 's3', 'txn_type', 'subscibe', 'attribute_type', 'transaction_id', 'attribute_value', 'txn-sub-2')),
    (4, 'subscriptions by code', jsonb_build_object('reference_id', 's4', 'txn_type', 'subscribe', 'attribute_type', 'subscription_code_list',
                                                    'attribute_value', jsonb_build_array(:'sub_register', :'sub_deaths', :'sub_other'))),
    (5, 'unsubscribe by transaction', jsonb_build_object('reference_id', 's5', 'txn_type', 'unsubscribe', 'attribute_type', 'transaction_id', 'attribute_value', 'txn-uns-4')),
    (6, 'another client''s search', jsonb_build_object('reference_id', 's6', 'txn_type', 'search', 'attribute_type', 'transaction_id', 'attribute_value', 'txn-reg-1')),
    (7, 'receipt', jsonb_build_object('reference_id', 's7', 'txn_type', 'receipt', 'attribute_type', 'transaction_id', 'attribute_value', 'txn-cl-2')),
    (8, 'bad attribute type', jsonb_build_object('reference_id', 's8', 'txn_type', 'search', 'attribute_type', 'national_id', 'attribute_value', 'x'))
) t (n, what, txn), LATERAL (SELECT sp.dci_txn_status(jsonb_build_object(
    'header', jsonb_build_object('message_id', 'st-' || t.n, 'message_ts', pg_temp.now_ts(), 'action', 'txn-status', 'sender_id', 'spmis.test', 'total_count', 1),
    'message', jsonb_build_object('transaction_id', 'txn-st', 'txnstatus_request', t.txn))) r) x
ORDER BY t.n;
-- the correlation id of an earlier answer finds it too
SELECT pg_temp.head(sp.dci_txn_status(jsonb_build_object(
    'header', jsonb_build_object('message_id', 'st-corr', 'message_ts', pg_temp.now_ts(), 'action', 'txn-status', 'sender_id', 'spmis.test', 'total_count', 1),
    'message', jsonb_build_object('transaction_id', 'txn-st', 'txnstatus_request', jsonb_build_object('reference_id', 's9', 'txn_type', 'search',
        'attribute_type', 'correlation_id', 'attribute_value', sp.dci_search(pg_temp.env('search', 'cl-3', jsonb_build_array(
            pg_temp.q('hills', '{"query_type": "predicate", "query": [{"seq_num": 1, "expression1": {"attribute_name": "area", "operator": "eq", "attribute_value": "DS0101"}}]}'))))
            #> '{message,correlation_id}'))))) AS by_correlation_id;
RESET ROLE;

-- Notifications: the outbox's events for a client's subscriptions, as DCI
-- notify messages to its callback; acknowledged once delivered, given again
-- when they were not.  The client subscribed to registrations in the North
-- (as Groups); a household registered there is notified, one in the South
-- (outside its scope) and one before it subscribed are not.
SELECT (sp.register_household('{"admin_area_code": "DS0101", "members": [
          {"given_name": "Eebla", "family_name": "Faarax", "relationship_to_head": "head", "sex": "F", "birth_date": "1995"},
          {"given_name": "Geedi", "family_name": "Faarax", "relationship_to_head": "child", "sex": "M", "birth_date": "2020"}]}')
        ->> 'household_id')::bigint AS h4 \gset
SELECT sp.register_household('{"admin_area_code": "DS02", "members": [{"given_name": "Hodan", "relationship_to_head": "head"}]}') IS NOT NULL AS south;
SET ROLE sp_test_dci_client;
CREATE TEMP TABLE n1 AS SELECT * FROM sp.dci_notify_claim(10);
SELECT callback_uri, notification #>> '{header,action}' AS action, notification #>> '{header,receiver_id}' AS receiver,
       notification #>> '{header,meta,subscription_code}' = subscription_code AS code_in_meta,
       notification #>> '{message,transaction_id}' AS of_transaction,
       (SELECT string_agg((e #>> '{data,reg_event_type}') || ' ' || (e #>> '{data,reg_record_type}') || ' [' ||
                          (SELECT string_agg(m #>> '{demographic_info,name,given_name}', ' ') FROM jsonb_array_elements(e #> '{data,reg_records,0,member_list}') m) || ']', ', ')
        FROM jsonb_array_elements(notification #> '{message,notify_event}') e) AS events,
       cardinality(event_ids) AS to_acknowledge
FROM n1;
SELECT count(*) AS claimed_again_at_once FROM sp.dci_notify_claim(10);
-- the gateway crashed before acknowledging: once the claim's lease has run
-- out, the same events come again
RESET ROLE;
UPDATE sp_internal.outbox_delivery SET claimed_until = now() - interval '1 second'
WHERE consumer = sp_internal.dci_consumer_name('sp_test_dci_client') AND acked_at IS NULL;
SET ROLE sp_test_dci_client;
SELECT n2.event_ids = n1.event_ids AS same_events_again FROM sp.dci_notify_claim(10) n2, n1;
SELECT r - 'position' AS acknowledged FROM n1, LATERAL sp.dci_notify_ack(n1.event_ids) r;
SELECT r - 'position' AS acknowledged_twice FROM n1, LATERAL sp.dci_notify_ack(n1.event_ids) r;
RESET ROLE;
UPDATE sp_internal.outbox_delivery SET claimed_until = now() - interval '1 second'
WHERE consumer = sp_internal.dci_consumer_name('sp_test_dci_client') AND acked_at IS NULL;
SET ROLE sp_test_dci_client;
SELECT count(*) AS nothing_left FROM sp.dci_notify_claim(10);
-- a role without subscriptions has nothing to claim or acknowledge
SET ROLE sp_test_dci_ana;
SELECT count(*) AS nothing FROM sp.dci_notify_claim(10);
SELECT sp.dci_notify_ack('{1}');
SELECT sp.dci_notify_claim(0);
RESET ROLE;
-- the gateway's view: clients with subscriptions; a token's client
SET ROLE sp_gateway;
SELECT sender_id, client_role FROM sp.dci_subscribers() WHERE sender_id LIKE '%.test';
SELECT sender_id, client_role, callback_prefixes FROM sp.api_client_authenticate(sha256(convert_to(repeat('t0k3n', 8), 'UTF8')));
SELECT count(*) AS wrong_token FROM sp.api_client_authenticate(sha256(convert_to(repeat('t0k3n', 7) || 'x0k3n', 'UTF8')));
RESET ROLE;
SELECT pg_has_role('sp_gateway', 'sp_test_dci_client', 'MEMBER') AS gateway_may_act_as_client,
       has_function_privilege('sp_gateway', 'sp.dci_search(jsonb,text)', 'EXECUTE') AS gateway_itself_may_search;

-- messages are kept for at least a day (a replay must still be refused)
SELECT sp.prune_dci_messages('1 hour');
SELECT sp.prune_dci_messages('1 day') AS pruned;
SELECT count(*) > 0 AS messages_kept FROM sp_internal.dci_message WHERE sender_id = 'spmis.test';
-- revoking a client ends its registration, not its history
SELECT sp.revoke_api_client('other.test') ->> 'revoked_by' IS NOT NULL AS revoked;
SELECT sp.revoke_api_client('other.test');
SELECT pg_has_role('sp_gateway', 'sp_test_dci_client2', 'MEMBER') AS gateway_may_act_as_revoked;
SELECT sender_id, client_role, operation FROM sp.api_client_history WHERE sender_id IN ('spmis.test', 'other.test') ORDER BY history_id;

-- Hostile values in every field of the requests: always a DCI answer (an
-- error object, a rejected header or item), never an exception.  Each call
-- is rolled back, so that every one gets past the replay check.
CREATE FUNCTION pg_temp.outcome(fn text, request jsonb) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    st text;
    m text;
BEGIN
    BEGIN
        EXECUTE format('SELECT %s($1)', fn) USING request;
        RAISE EXCEPTION USING ERRCODE = 'P0099';
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, m = MESSAGE_TEXT;
    END;
    RETURN CASE WHEN st = 'P0099' THEN 'answered' ELSE st || ': ' || m END;
END
$$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA pg_temp TO PUBLIC;
CREATE TEMP TABLE hostile (v jsonb);
INSERT INTO hostile VALUES ('null'), ('true'), ('0'), ('-1'), ('1.5'), ('1e400'), ('-1e400'), ('9223372036854775808'), ('""'), ('" "'),
    ('"1 OR 1=1"'), ('"x''); DROP TABLE sp.person; --"'), ('"$where"'), ('"1990-02-30"'), ('"2026-12-01T10:00:00"'), ('"sub-x"'),
    ('"DS"'), ('"eq"'), ('"in"'), ('"not"'), ('"Group"'), ('"NoSql"'), ('[]'), ('{}'), ('[null]'), ('[1, "a", {}]'), ('{"$not": {}}'),
    ('{"type": "UIN"}'), ('{"value": "1"}'), ('{"type": "HouseholdID", "value": null}'), ('{"seq_num": 1}'), ('[{"seq_num": "1"}]'),
    ('[{"seq_num": 1, "expression1": {"attribute_name": "sex", "operator": "in", "attribute_value": [[], {}, null]}}]'),
    ('{"page_size": 1e400, "page_number": -1e400}'), ('{"page_size": 5, "page_number": 9999999999}'),
    (to_jsonb(repeat('x', 100000))), (to_jsonb(repeat('9', 300))),
    ((SELECT repeat('[', 500) || repeat(']', 500))::jsonb), ((SELECT repeat('{"$or": [', 12) || '{"sex": "F"}' || repeat(']}', 12))::jsonb);
CREATE TEMP TABLE base (fn text, request jsonb, paths text[]);
INSERT INTO base VALUES
    ('sp.dci_search', pg_temp.env('search', 'fz-1', jsonb_build_array(
        pg_temp.q('p', '{"query_type": "predicate", "response_entity": "Member", "sort": [{"attribute_name": "age", "sort_order": "desc"}], "pagination": {"page_size": 2, "page_number": 1},
                         "query": [{"seq_num": 1, "expression1": {"attribute_name": "sex", "operator": "eq", "attribute_value": "female"}, "condition": "or",
                                    "expression2": {"attribute_name": "rooms", "operator": "in", "attribute_value": [2, 3]}}]}'),
        pg_temp.q('e', '{"query_type": "expression", "query": {"type": "NoSql", "value": {"expression": {"collection": "Group", "query": {"$and": [{"area": "DS01"}, {"group_size": {"$gte": 1}}]}}}}}'),
        pg_temp.q('i', jsonb_build_object('query_type', 'idtype-value', 'query', jsonb_build_object('type', 'HouseholdID', 'value', :h1::text))))),
     ARRAY['{header}', '{header,message_id}', '{header,message_ts}', '{header,action}', '{header,sender_id}', '{header,total_count}',
           '{header,version}', '{header,is_msg_encrypted}', '{header,receiver_id}', '{message}', '{message,transaction_id}', '{message,search_request}',
           '{message,search_request,0}', '{message,search_request,0,reference_id}', '{message,search_request,0,timestamp}', '{message,search_request,0,locale}',
           '{message,search_request,0,search_criteria}', '{message,search_request,0,search_criteria,query_type}', '{message,search_request,0,search_criteria,query}',
           '{message,search_request,0,search_criteria,response_entity}', '{message,search_request,0,search_criteria,version}',
           '{message,search_request,0,search_criteria,pagination}', '{message,search_request,0,search_criteria,pagination,page_size}',
           '{message,search_request,0,search_criteria,pagination,page_number}', '{message,search_request,0,search_criteria,sort}',
           '{message,search_request,0,search_criteria,sort,0}', '{message,search_request,0,search_criteria,sort,0,attribute_name}',
           '{message,search_request,0,search_criteria,sort,0,sort_order}', '{message,search_request,0,search_criteria,query,0}',
           '{message,search_request,0,search_criteria,query,0,seq_num}', '{message,search_request,0,search_criteria,query,0,condition}',
           '{message,search_request,0,search_criteria,query,0,expression1}', '{message,search_request,0,search_criteria,query,0,expression2}',
           '{message,search_request,0,search_criteria,query,0,expression1,attribute_name}', '{message,search_request,0,search_criteria,query,0,expression1,operator}',
           '{message,search_request,0,search_criteria,query,0,expression1,attribute_value}', '{message,search_request,0,search_criteria,query,0,expression2,attribute_value}',
           '{message,search_request,1,search_criteria,query,type}', '{message,search_request,1,search_criteria,query,value}',
           '{message,search_request,1,search_criteria,query,value,expression}', '{message,search_request,1,search_criteria,query,value,expression,collection}',
           '{message,search_request,1,search_criteria,query,value,expression,query}', '{message,search_request,1,search_criteria,query,value,expression,query,$and}',
           '{message,search_request,1,search_criteria,query,value,expression,query,$and,0}', '{message,search_request,1,search_criteria,query,value,expression,query,$and,0,area}',
           '{message,search_request,1,search_criteria,query,value,expression,query,$and,1,group_size}',
           '{message,search_request,2,search_criteria,query,type}', '{message,search_request,2,search_criteria,query,value}']),
    -- (apart: every national ID lookup is audited, durably)
    ('sp.dci_search', pg_temp.env('search', 'fz-5', jsonb_build_array(
        pg_temp.q('u', '{"query_type": "idtype-value", "query": {"type": "UIN", "value": "DS-100-200"}}'))),
     ARRAY['{message,search_request,0,search_criteria,query,type}', '{message,search_request,0,search_criteria,query,value}']),
    ('sp.dci_subscribe', pg_temp.env('subscribe', 'fz-2', jsonb_build_array(pg_temp.sub('s', jsonb_build_object(
        'reg_event_type', 'REGISTER', 'filter_type', 'predicate', 'notify_record_type', 'Group',
        'filter', '[{"seq_num": 1, "expression1": {"attribute_name": "area", "operator": "eq", "attribute_value": "DS01"}}]'::jsonb,
        'frequency', jsonb_build_object('start_time', pg_temp.now_ts(), 'end_time', pg_temp.now_ts('1 day'), 'frequency', '* * *')))), 'subscribe_request',
        '{"sender_uri": "http://127.0.0.1:8099/dci/n"}'),
     ARRAY['{header,sender_uri}', '{message,subscribe_request}', '{message,subscribe_request,0}', '{message,subscribe_request,0,subscribe_criteria}',
           '{message,subscribe_request,0,subscribe_criteria,reg_event_type}', '{message,subscribe_request,0,subscribe_criteria,filter_type}',
           '{message,subscribe_request,0,subscribe_criteria,filter}', '{message,subscribe_request,0,subscribe_criteria,notify_record_type}',
           '{message,subscribe_request,0,subscribe_criteria,frequency}', '{message,subscribe_request,0,subscribe_criteria,frequency,start_time}',
           '{message,subscribe_request,0,subscribe_criteria,frequency,frequency}', '{message,subscribe_request,0,locale}']),
    ('sp.dci_unsubscribe', jsonb_set(pg_temp.env('unsubscribe', 'fz-3', jsonb_build_array(:'sub_register'), 'subscription_codes'),
                                     '{message,timestamp}', to_jsonb(pg_temp.now_ts())),
     ARRAY['{message,subscription_codes}', '{message,subscription_codes,0}', '{message,timestamp}', '{message,timesstamp}']),
    ('sp.dci_txn_status', jsonb_build_object(
        'header', jsonb_build_object('message_id', 'fz-4', 'message_ts', pg_temp.now_ts(), 'action', 'txn-status', 'sender_id', 'spmis.test', 'total_count', 1),
        'message', jsonb_build_object('transaction_id', 'txn-fz', 'txnstatus_request', jsonb_build_object('reference_id', 'f', 'txn_type', 'search',
            'attribute_type', 'reference_id_list', 'attribute_value', '["hills"]'::jsonb))),
     ARRAY['{message,txnstatus_request}', '{message,txnstatus_request,reference_id}', '{message,txnstatus_request,txn_type}',
           '{message,txnstatus_request,attribute_type}', '{message,txnstatus_request,attribute_value}', '{message,txnstatus_request,attribute_value,0}']);
GRANT SELECT ON base, hostile TO PUBLIC;
SET ROLE sp_test_dci_client;
SELECT b.fn, count(*) AS calls, count(*) FILTER (WHERE o = 'answered') AS answered,
       string_agg(DISTINCT o, '; ') FILTER (WHERE o <> 'answered') AS exceptions
FROM base b, unnest(b.paths) p, hostile h, LATERAL pg_temp.outcome(b.fn, jsonb_set(b.request, p::text[], h.v)) o
GROUP BY b.fn ORDER BY b.fn;
-- and the untouched requests are answered as expected
SELECT b.fn, adv.summary FROM base b, LATERAL (SELECT CASE b.fn
    WHEN 'sp.dci_search' THEN (SELECT string_agg(ref || ':' || status || ':' || coalesce(total::text, ''), ' ' ORDER BY ref) FROM pg_temp.items(sp.dci_search(b.request)))
    WHEN 'sp.dci_subscribe' THEN pg_temp.sub_items(sp.dci_subscribe(b.request))
    WHEN 'sp.dci_unsubscribe' THEN sp.dci_unsubscribe(b.request) #>> '{message,status}'
    ELSE pg_temp.head(sp.dci_txn_status(b.request)) END AS summary) adv
ORDER BY b.fn, adv.summary;
RESET ROLE;

-- revoking a client ends its subscriptions and removes their outbox
-- consumer; its role cannot serve another client
SELECT count(*) AS live_subscriptions, (SELECT count(*) FROM sp.outbox_consumer WHERE name = sp_internal.dci_consumer_name('sp_test_dci_client')) AS consumer
FROM sp.dci_subscription WHERE caller_role = 'sp_test_dci_client' AND unsubscribed_at IS NULL;
SELECT sp.revoke_api_client('spmis.test') ->> 'sender_id' AS revoked;
SELECT count(*) AS live_subscriptions, (SELECT count(*) FROM sp.outbox_consumer WHERE name = sp_internal.dci_consumer_name('sp_test_dci_client')) AS consumer
FROM sp.dci_subscription WHERE caller_role = 'sp_test_dci_client' AND unsubscribed_at IS NULL;
SELECT sp.register_api_client('new.test', repeat('n3w', 12), 'sp_test_dci_client');

DELETE FROM sp.outbox_consumer WHERE name IN (SELECT outbox_consumer FROM sp.dci_subscription WHERE caller_role LIKE 'sp_test_dci%');
DROP OWNED BY sp_test_dci_reg, sp_test_dci_ana, sp_test_dci_int, sp_test_dci_none, sp_test_dci_client, sp_test_dci_client2;
DROP ROLE sp_test_dci_reg, sp_test_dci_ana, sp_test_dci_int, sp_test_dci_none, sp_test_dci_client, sp_test_dci_client2;
