-- Adversarial suite, part 4: SQL injection through every text and jsonb
-- argument of the public API (and the documents roles write directly:
-- programme rules).  Each payload tries to run nextval() on a canary
-- sequence (sequences are not rolled back, so a payload that ran even inside
-- a failed statement leaves a trace), to break out of quotes, dollar quotes,
-- identifiers, format() specifiers and comments, or is simply awkward
-- (backslashes, newlines, right-to-left marks, 100,000 characters, NUL
-- escapes in JSON).  Nothing may execute, data must stay data, and every
-- error must carry a proper SQLSTATE (no syntax error, no unknown object, no
-- internal error).
BEGIN;
SELECT plan(8);
\ir adversarial_setup.psql

CREATE SEQUENCE adv_evil.canary;
GRANT ALL ON SEQUENCE adv_evil.canary TO PUBLIC;
-- a free-text household variable, so that rule documents can carry strings
INSERT INTO sp.variable (code, label, entity, value_type) VALUES ('adv_note', 'Note', 'household', 'text');

CREATE TEMP TABLE payload (n integer PRIMARY KEY, p text NOT NULL);
INSERT INTO payload VALUES
    (1, $p$'); SELECT nextval('adv_evil.canary'); --$p$),
    (2, $p$' || (SELECT nextval('adv_evil.canary')) || '$p$),
    (3, $p$$$; SELECT nextval('adv_evil.canary'); $$$p$),
    (4, $p$"; SELECT nextval('adv_evil.canary'); --$p$),
    (5, $p$\'; SELECT nextval(''adv_evil.canary''); --$p$),
    (6, $p$%s%I%L%1$s%%$p$),
    (7, $p$x') OR (SELECT nextval('adv_evil.canary')) > 0 OR ('x$p$),
    (8, $p$XA01' OR '1'='1$p$),
    (9, E'a"b\\c\nd\te\u202Ef'),
    (10, $p$$body$ SELECT nextval('adv_evil.canary') $body$$p$),
    (11, $p$*/ SELECT nextval('adv_evil.canary'); /*$p$),
    (12, $p$XA01/../XA02$p$),
    (13, $p$x") FROM pg_roles; SELECT nextval('adv_evil.canary'); --$p$),
    (14, repeat('A', 100000));

-- Where a payload goes: {P} is replaced by the payload as an SQL literal
-- (the API receives it as data, which is the point).
CREATE TEMP TABLE target (t text PRIMARY KEY, run_as text NOT NULL, sql text NOT NULL);
INSERT INTO target VALUES
    ('register_household given_name', 'adv_registrar', $$SELECT sp.register_household(jsonb_build_object('admin_area_code', 'XA01', 'members', jsonb_build_array(jsonb_build_object('given_name', {P}, 'family_name', {P}, 'other_names', {P}, 'relationship_to_head', 'head'))))$$),
    ('register_household admin_area_code', 'adv_registrar', $$SELECT sp.register_household(jsonb_build_object('admin_area_code', {P}, 'members', jsonb_build_array(jsonb_build_object('given_name', 'x', 'relationship_to_head', 'head'))))$$),
    ('register_household attribute key', 'adv_registrar', $$SELECT sp.register_household(jsonb_build_object('admin_area_code', 'XA01', 'attributes', jsonb_build_object({P}, 1), 'members', jsonb_build_array(jsonb_build_object('given_name', 'x', 'relationship_to_head', 'head'))))$$),
    ('register_household attribute value', 'adv_registrar', $$SELECT sp.register_household(jsonb_build_object('admin_area_code', 'XA01', 'attributes', jsonb_build_object('dwelling_type', {P}, 'adv_note', {P}), 'members', jsonb_build_array(jsonb_build_object('given_name', 'x', 'relationship_to_head', 'head'))))$$),
    ('register_household document key', 'adv_registrar', $$SELECT sp.register_household(jsonb_build_object({P}, 1, 'admin_area_code', 'XA01', 'members', jsonb_build_array(jsonb_build_object('given_name', 'x', 'relationship_to_head', 'head'))))$$),
    ('register_household member key', 'adv_registrar', $$SELECT sp.register_household(jsonb_build_object('admin_area_code', 'XA01', 'members', jsonb_build_array(jsonb_build_object({P}, 'x', 'given_name', 'x', 'relationship_to_head', 'head'))))$$),
    ('register_household member fields', 'adv_registrar', $$SELECT sp.register_household(jsonb_build_object('admin_area_code', 'XA01', 'source', {P}, 'members', jsonb_build_array(jsonb_build_object('given_name', 'x', 'relationship_to_head', {P}, 'sex', {P}, 'birth_date', {P}, 'national_id', {P}, 'phone', {P}))))$$),
    ('register_household submission_id', 'adv_registrar', $$SELECT sp.register_household(jsonb_build_object('submission_id', {P}, 'device_time', {P}, 'admin_area_code', 'XA01', 'members', jsonb_build_array(jsonb_build_object('given_name', 'x', 'relationship_to_head', 'head'))))$$),
    ('import_registrations', 'adv_integration', $$SELECT sp.import_registrations(jsonb_build_array(jsonb_build_object('submission_id', gen_random_uuid(), 'admin_area_code', 'XA01', 'source', {P}, 'members', jsonb_build_array(jsonb_build_object('given_name', {P}, 'relationship_to_head', 'head'))), jsonb_build_object('submission_id', {P}, 'admin_area_code', {P}, {P}, {P})))$$),
    ('update_household', 'adv_registrar', $$SELECT sp.update_household({h1}, jsonb_build_object('attributes', jsonb_build_object('adv_note', {P})), {P})$$),
    ('update_household key', 'adv_registrar', $$SELECT sp.update_household({h1}, jsonb_build_object({P}, 1, 'attributes', jsonb_build_object({P}, {P})), 'x')$$),
    ('update_household area', 'adv_registrar', $$SELECT sp.update_household({h1}, jsonb_build_object('admin_area_code', {P}), 'x')$$),
    ('update_person', 'adv_registrar', $$SELECT sp.update_person({p1}, jsonb_build_object('given_name', {P}, 'other_names', {P}), {P})$$),
    ('update_person key', 'adv_registrar', $$SELECT sp.update_person({p1}, jsonb_build_object({P}, {P}), 'x')$$),
    ('set_household_status', 'adv_caseworker', $$SELECT sp.set_household_status({h1}, {P}, {P})$$),
    ('set_household_status reason', 'adv_caseworker', $$SELECT sp.set_household_status({h1}, 'inactive', {P})$$),
    ('set_person_status', 'adv_caseworker', $$SELECT sp.set_person_status({p1b}, {P}, {P})$$),
    ('add_member', 'adv_registrar', $$SELECT sp.add_member({h1}, jsonb_build_object('given_name', {P}, 'relationship_to_head', 'child', {P}, {P}))$$),
    ('record_consent', 'adv_registrar', $$SELECT sp.record_consent({p1}, {P}, true, {P}, {P})$$),
    ('record_consent source', 'adv_registrar', $$SELECT sp.record_consent({p1}, 'contact', true, {P}, {P})$$),
    ('register_household consent', 'adv_registrar', $$SELECT sp.register_household(jsonb_build_object('admin_area_code', 'XA01', 'members', jsonb_build_array(jsonb_build_object('given_name', 'x', 'relationship_to_head', 'head', 'consent', jsonb_build_object({P}, true, 'contact', {P})))))$$),
    ('find_person_by_national_id', 'adv_registrar', $$SELECT count(*) FROM sp.find_person_by_national_id({P}, {P})$$),
    ('find_person_by_national_id purpose', 'adv_registrar', $$SELECT count(*) FROM sp.find_person_by_national_id('XN-0001', {P})$$),
    ('person_national_id', 'adv_pii_reader', $$SELECT sp.person_national_id({p1}, {P})$$),
    ('read_pii field', 'adv_pii_reader', $$SELECT sp_internal.read_pii({p1}, {P}, {P})$$),
    ('merge_persons', 'adv_registrar', $$SELECT sp.merge_persons({p1}, {p4}, {P})$$),
    ('unmerge_person', 'adv_registrar', $$SELECT sp.unmerge_person({p4}, {P})$$),
    ('review_match', 'adv_registrar', $$SELECT sp.review_match({mr1}, {P}, {P})$$),
    ('review_match reason', 'adv_registrar', $$SELECT sp.review_match({mr1}, 'reject', {P})$$),
    ('create_linkage_model', 'adv_national', $$SELECT sp.create_linkage_model({P}, '{"comparisons": [{"name": "given_name", "column": "given_name", "method": "exact"}], "blocking": [["given_name"]]}', {P})$$),
    ('create_linkage_model spec', 'adv_national', $$SELECT sp.create_linkage_model('adv_inj', jsonb_build_object('comparisons', jsonb_build_array(jsonb_build_object('name', {P}, 'column', {P}, 'method', 'exact')), 'blocking', jsonb_build_array(jsonb_build_array({P}))), 'x')$$),
    ('create_linkage_model spec column', 'adv_national', $$SELECT sp.create_linkage_model('adv_inj', jsonb_build_object('comparisons', jsonb_build_array(jsonb_build_object('name', 'c', 'column', {P}, 'method', 'exact')), 'blocking', jsonb_build_array(jsonb_build_array('c'))), 'x')$$),
    ('train_linkage_model', 'adv_national', $$SELECT sp.train_linkage_model({P}, 'sp_internal.person_linkage_input')$$),
    ('deduplicate_persons', 'adv_national', $$SELECT sp.deduplicate_persons({P})$$),
    ('match_pairs', 'adv_analyst', $$SELECT count(*) FROM sp.match_pairs({P}, 'adv_lab.linkage_input')$$),
    ('explain_match', 'adv_analyst', $$SELECT count(*) FROM sp.explain_match({P}, 'adv_lab.linkage_input', {p1}, 'adv_lab.linkage_input', {p4})$$),
    ('linkage_candidates', 'adv_analyst', $$SELECT sp.linkage_candidates({P}, 'adv_lab.linkage_input')$$),
    ('create_pmt_model', 'adv_national', $$SELECT sp.create_pmt_model({P}, '{"intercept": 0, "terms": [{"variable": "rooms", "coefficient": 1}]}', {P})$$),
    ('create_pmt_model spec', 'adv_national', $$SELECT sp.create_pmt_model('xa_pmt', jsonb_build_object('intercept', 0, 'terms', jsonb_build_array(jsonb_build_object('variable', {P}, 'coefficient', 1, {P}, {P}))), 'x')$$),
    ('activate_pmt_model', 'adv_national', $$SELECT sp.activate_pmt_model({P}, 1)$$),
    ('create_mpi_model', 'adv_national', $$SELECT sp.create_mpi_model({P}, '{"dimensions": [{"name": "d", "indicators": [{"name": "i", "deprived_if": {"variable": "rooms", "op": "<", "value": 2}}]}]}', {P})$$),
    ('create_mpi_model spec', 'adv_national', $$SELECT sp.create_mpi_model('xa_mpi', jsonb_build_object('dimensions', jsonb_build_array(jsonb_build_object('name', {P}, 'indicators', jsonb_build_array(jsonb_build_object('name', 'i', 'deprived_if', jsonb_build_object('variable', 'adv_note', 'op', '=', 'value', {P}))))))) $$),
    ('create_mpi_model spec names', 'adv_national', $$SELECT sp.create_mpi_model('xa_mpi', jsonb_build_object('missing', {P}, 'dimensions', jsonb_build_array(jsonb_build_object('name', 'd', 'indicators', jsonb_build_array(jsonb_build_object('name', {P}, 'missing', {P}, 'deprived_if', jsonb_build_object('variable', {P}, 'op', {P}, 'value', 1))))))) $$),
    ('activate_mpi_model', 'adv_national', $$SELECT sp.activate_mpi_model({P}, 1)$$),
    ('score_households', 'adv_admin', $$SELECT sp.score_households({P}, {P})$$),
    ('score_households area', 'adv_national', $$SELECT sp.score_households('xa_pmt', {P})$$),
    ('mpi_assess_households', 'adv_admin', $$SELECT sp.mpi_assess_households({P}, {P}, {P})$$),
    ('mpi_assess_households reason', 'adv_admin', $$SELECT sp.mpi_assess_households('xa_mpi', 'XA01', {P})$$),
    ('reassess_household', 'adv_caseworker', $$SELECT count(*) FROM sp.reassess_household({h1}, {P}, {P})$$),
    ('reassess_household reason', 'adv_caseworker', $$SELECT count(*) FROM sp.reassess_household({h1}, {P})$$),
    ('pmt_score', 'adv_caseworker', $$SELECT sp.pmt_score({P}, {h1})$$),
    ('pmt_explain', 'adv_caseworker', $$SELECT count(*) FROM sp.pmt_explain({P}, {h1})$$),
    ('mpi_household', 'adv_caseworker', $$SELECT count(*) FROM sp.mpi_household({P}, {h1})$$),
    ('mpi_area_summary', 'adv_analyst', $$SELECT count(*) FROM sp.mpi_area_summary({P}, 1)$$),
    ('determine_eligibility', 'adv_national', $$SELECT sp.determine_eligibility({P})$$),
    ('enrol', 'adv_national', $$SELECT sp.enrol({P})$$),
    ('recertify', 'adv_national', $$SELECT sp.recertify({P})$$),
    ('programme_summary', 'adv_analyst', $$SELECT count(*) FROM sp.programme_summary({P}, 1)$$),
    ('set_enrolment_state', 'adv_caseworker', $$SELECT sp.set_enrolment_state({e1}, {P}, {P})$$),
    ('set_enrolment_state reason', 'adv_caseworker', $$SELECT sp.set_enrolment_state({e1}, 'suspended', {P})$$),
    ('open_enrolment', 'adv_caseworker', $$SELECT sp.open_enrolment({P}, {h5}, NULL, {P})$$),
    ('open_enrolment reason', 'adv_caseworker', $$SELECT sp.open_enrolment('xa_grant', {h5}, NULL, {P})$$),
    ('review_eligibility', 'adv_caseworker', $$SELECT sp.review_eligibility({er1}, {P}, {P})$$),
    ('review_eligibility reason', 'adv_caseworker', $$SELECT sp.review_eligibility({er1}, 'include', {P})$$),
    ('grant_area_scope', 'adv_admin', $$SELECT sp.grant_area_scope({P}, {P})$$),
    ('grant_area_scope area', 'adv_admin', $$SELECT sp.grant_area_scope('adv_noscope', {P})$$),
    ('revoke_area_scope', 'adv_admin', $$SELECT sp.revoke_area_scope({P}, {P})$$),
    ('validate_attributes', 'adv_analyst', $$SELECT sp.validate_attributes(jsonb_build_object({P}, {P}), {P})$$),
    ('admin_area_subtree', 'adv_analyst', $$SELECT count(*) FROM sp.admin_area_subtree({P})$$),
    ('programme rule and run', 'adv_national', $$SELECT adv_lab.programme_run({P})$$);

-- A programme whose rule carries the payload in every string the rule
-- language has, written directly (as programme officers do) and run.
CREATE FUNCTION adv_lab.programme_run(p text) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sp.programme (name, title, benefit_type, rule, description)
    VALUES ('adv_inj', p, 'cash', jsonb_build_object('all', jsonb_build_array(
                jsonb_build_object('variable', 'adv_note', 'op', '=', 'value', p),
                jsonb_build_object('variable', 'adv_note', 'in', jsonb_build_array(p, 'x')),
                jsonb_build_object('members', jsonb_build_object('variable', 'education_level', 'op', '<>', 'value', 'none'), 'min', 0),
                jsonb_build_object('not', jsonb_build_object('variable', 'adv_note', 'op', '<>', 'value', p)))), p);
    RETURN sp.determine_eligibility('adv_inj');
END
$$;
CREATE FUNCTION adv_lab.programme_try(p text) RETURNS text LANGUAGE sql AS $$
    SELECT adv_lab.outcome('adv_national', NULL, format('INSERT INTO sp.programme (name, title, benefit_type, rule) VALUES (%L, %L, ''cash'', %L) RETURNING name',
                                                       p, p, jsonb_build_object('any', jsonb_build_array(
                                                           jsonb_build_object('area', p), jsonb_build_object('programme', p),
                                                           jsonb_build_object('pmt', jsonb_build_object('model', p, 'below_cutoff', true)),
                                                           jsonb_build_object('variable', p, 'value', 1), jsonb_build_object(p, p)))))
$$;

UPDATE target SET sql = adv_lab.expand(sql);
CREATE TEMP TABLE attempt AS
SELECT t.t, y.n, adv_lab.outcome(t.run_as, NULL, replace(t.sql, '{P}', quote_literal(y.p))) AS outcome
FROM target t CROSS JOIN payload y;
INSERT INTO attempt SELECT 'programme direct write', y.n, adv_lab.programme_try(y.p) FROM payload y;
-- NUL escapes: a JSON document with \u0000 is refused before any function sees it
INSERT INTO attempt SELECT 'NUL escape', 0, adv_lab.outcome('adv_registrar', NULL,
    $q$SELECT sp.register_household('{"admin_area_code": "XA01", "members": [{"given_name": "a\u0000b", "relationship_to_head": "head"}]}')$q$);
INSERT INTO attempt SELECT 'NUL escape key', 0, adv_lab.outcome('adv_registrar', NULL,
    $q$SELECT sp.update_household(1, '{"attributes": {"a\u0000": 1}}', 'x')$q$);

-- 1-2
SELECT is((SELECT is_called FROM adv_evil.canary), false, 'no payload ever ran: the canary sequence was never advanced');
SELECT is_empty($$
    SELECT t, n, left(outcome, 200) FROM attempt
    WHERE outcome ~ '^(42601|42P01|42883|42703|42P02|42804|42725|XX...|P0004):'
$$, 'no payload caused a syntax error, an unknown object or parameter, a type clash or an internal error');
-- 3
SELECT is_empty($$
    SELECT t, n, left(outcome, 200) FROM attempt WHERE outcome !~ '^(ok|[0-9A-Z]{5}):'
$$, 'every attempt either succeeded or failed with a SQLSTATE');
-- 4: data stays data
CREATE FUNCTION adv_lab.register_and_read(doc jsonb) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    pid bigint := (sp.register_household(doc) -> 'person_ids' ->> 0)::bigint;
BEGIN
    RETURN (SELECT p.given_name || '|' || p.family_name FROM sp.person p WHERE p.person_id = pid);
END
$$;
SELECT is_empty($$
    SELECT y.n, o FROM payload y, LATERAL adv_lab.outcome('adv_registrar', NULL, format('SELECT adv_lab.register_and_read(%L)',
        jsonb_build_object('admin_area_code', 'XA01', 'members', jsonb_build_array(
            jsonb_build_object('given_name', y.p, 'family_name', y.p, 'relationship_to_head', 'head'))))) o
    WHERE y.p = btrim(y.p) AND length(y.p) <= 200 AND y.p !~ '[[:cntrl:]]' AND o <> 'ok:' || y.p || '|' || y.p
$$, 'a payload in a name is stored exactly as given');
-- 5: injection through rule documents, run by an eligibility determination
SELECT is_empty($$
    SELECT n, outcome FROM attempt WHERE t = 'programme rule and run' AND outcome NOT LIKE 'ok:%' AND n <> 14
$$, 'rule documents carrying payloads compile to literals and run (the payload is only compared with)');
-- 6: long inputs are refused or stored, and never echoed back in full
SELECT is_empty($$
    SELECT t, length(outcome) FROM attempt WHERE n = 14 AND outcome NOT LIKE 'ok:%' AND length(outcome) > 2000
      AND t NOT IN ('train_linkage_model', 'match_pairs', 'explain_match', 'pmt_score', 'pmt_explain')
$$, 'an error about a 100,000-character argument does not echo it');
SELECT is_empty($$
    SELECT t, length(outcome) FROM attempt WHERE n = 14 AND outcome NOT LIKE 'ok:%' AND length(outcome) > 2000
$$, 'not even the C functions that look up a model by name');
-- 8
SELECT cmp_ok((SELECT count(*)::int FROM attempt), '=', (SELECT count(*)::int * 14 + 14 + 2 FROM target),
              'every target was attacked with every payload');

SELECT * FROM finish();
ROLLBACK;
