-- Adversarial suite, part 2: cross-area.  Every shipped role scoped to XA01
-- attacks the XA02 rows: direct reads of every table and view, joins,
-- functions, aggregates, leaky functions in WHERE clauses, EXPLAIN, error
-- messages, and every API function that changes something.
BEGIN;
SELECT plan(26);
\ir adversarial_setup.psql

CREATE TEMP TABLE shipped (role text PRIMARY KEY);
INSERT INTO shipped SELECT 'adv_' || r FROM unnest(ARRAY['admin', 'registrar', 'caseworker', 'programme_officer',
    'payment_officer', 'grievance_officer', 'analyst', 'auditor', 'pii_reader', 'integration']) r;
GRANT SELECT ON shipped TO PUBLIC;

-- For each role and each table or view of personal or household data it can
-- read: a count of the XA02 rows it sees, on every key column it can read.
CREATE TEMP VIEW leak_probe AS
SELECT s.role, c.oid::regclass::text AS relation,
       format('SELECT count(*) FROM %s WHERE %s', c.oid::regclass, string_agg(
           CASE WHEN a.attname = 'household_id' THEN format('household_id = ANY (%L::bigint[])', ARRAY[:h2, :h3])
                WHEN a.attname IN ('person_id', 'candidate_person_id', 'other_person_id', 'survivor_id', 'merged_id', 'merged_into')
                    THEN format('%I = ANY (%L::bigint[])', a.attname, ARRAY[:p2, :p2b, :p3])
                WHEN a.attname = 'person_ids' THEN format('person_ids && %L::bigint[]', ARRAY[:p2, :p2b, :p3])
                WHEN a.attname IN ('admin_area_code', 'quota_area') THEN format('%I LIKE ''XA02%%''', a.attname)
                WHEN a.attname = 'document' THEN 'document ->> ''admin_area_code'' LIKE ''XA02%'''
                WHEN a.attname = 'grievance_id' THEN format('grievance_id = %s', :gr2)
                END, ' OR ')) AS probe
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
CROSS JOIN shipped s
WHERE n.nspname IN ('sp', 'sp_internal')
  AND (c.relkind = 'r' AND c.relrowsecurity OR c.relkind = 'v' AND c.oid <> 'sp.admin_area_ancestor'::regclass)
  AND a.attname IN ('household_id', 'person_id', 'candidate_person_id', 'other_person_id', 'survivor_id', 'merged_id',
                    'merged_into', 'person_ids', 'admin_area_code', 'quota_area', 'document', 'grievance_id')
  AND has_column_privilege(s.role, c.oid, a.attnum, 'SELECT')
GROUP BY s.role, c.oid;

-- 1-3: direct reads
SELECT is_empty($$
    SELECT role, relation, o FROM leak_probe, LATERAL adv_lab.outcome(role, NULL, probe) o WHERE o <> 'ok:0'
$$, 'no XA01 role sees an XA02 row in any table or view, on any key it can read');
SELECT cmp_ok((SELECT count(DISTINCT relation)::int FROM leak_probe), '=', 57,
              'the probe covers every table and view of household and person data');
SELECT is(adv_lab.outcome('adv_registrar', NULL, format(
              'SELECT array_agg(household_id ORDER BY household_id) FROM sp.household')),
          'ok:' || ARRAY[:h1, :h4, :h5]::text, 'an XA01 registrar sees exactly the XA01 households');

-- 4: scopes: own only; no scope, nothing
SELECT results_eq($$
    SELECT adv_lab.outcome('adv_registrar', NULL, 'SELECT array_agg(role_name || ''@'' || admin_area_code) FROM sp.area_scope')
    UNION ALL SELECT adv_lab.outcome('adv_noscope', NULL, 'SELECT count(*) FROM sp.household')
    UNION ALL SELECT adv_lab.outcome('adv_noscope', NULL, 'SELECT count(*) FROM sp.person_deidentified')
    UNION ALL SELECT adv_lab.outcome('adv_national', NULL, 'SELECT count(*) FROM sp.household')
$$, $$VALUES ('ok:{adv_registrar@XA01}'), ('ok:0'), ('ok:0'), ('ok:5')$$,
   'a role reads its own scopes; without a scope it sees nothing; national scope sees everything');

-- 5: a join across the scoped tables and views
SELECT is(adv_lab.outcome('adv_caseworker', NULL,
    'SELECT count(*) FROM sp.person_deidentified d JOIN sp.household h USING (household_id)
     JOIN sp.enrolment e USING (household_id) JOIN sp.eligibility_decision x USING (household_id)
     JOIN sp.household_profile hp USING (household_id) WHERE h.admin_area_code NOT LIKE ''XA01%'''),
    'ok:0', 'joins of scoped tables and views add no row outside the scope');

-- 6-7: leaky functions in WHERE clauses never see out-of-scope values
CREATE TABLE adv_evil.seen (relation text, value text);
GRANT ALL ON adv_evil.seen TO PUBLIC;
CREATE FUNCTION adv_evil.leak(relation text, VARIADIC v text[]) RETURNS boolean
    LANGUAGE plpgsql COST 0.0000001 AS $$
BEGIN
    INSERT INTO adv_evil.seen SELECT relation, x FROM unnest(v) x;
    RAISE NOTICE 'saw %', v;
    RETURN true;
END
$$;
SET client_min_messages = warning;
\o /dev/null
SET LOCAL ROLE adv_analyst;
SELECT count(*) FROM sp.person_deidentified
    WHERE adv_evil.leak('person_deidentified', 'p:' || person_id, 'h:' || household_id, 'x:' || attributes::text, 'a:' || admin_area_code);
SELECT count(*) FROM sp.household_deidentified
    WHERE adv_evil.leak('household_deidentified', 'h:' || household_id, 'x:' || attributes::text, 'a:' || admin_area_code, 'x:' || household_size);
SELECT count(*) FROM sp.household WHERE adv_evil.leak('household', 'h:' || household_id);
SELECT count(*) FROM sp.person WHERE adv_evil.leak('person', 'p:' || person_id, 'h:' || household_id);
SELECT count(*) FROM sp.current_assessment WHERE adv_evil.leak('current_assessment', 'h:' || household_id);
SELECT count(*) FROM sp.match_review WHERE adv_evil.leak('match_review', 'p:' || person_id, 'p:' || other_person_id);
RESET ROLE;
SET LOCAL ROLE adv_registrar;
SELECT count(*) FROM sp.person WHERE adv_evil.leak('person', 'x:' || given_name, 'x:' || family_name, 'x:' || birth_date, 'h:' || household_id);
SELECT count(*) FROM sp.person_history WHERE adv_evil.leak('person_history', 'x:' || given_name, 'h:' || household_id);
SELECT count(*) FROM sp.enrolment_summary WHERE adv_evil.leak('enrolment_summary', 'a:' || admin_area_code);
RESET ROLE;
\o
RESET client_min_messages;
SELECT is_empty(format($$
    SELECT * FROM adv_evil.seen
    WHERE value IN ('h:' || %s, 'h:' || %s, 'p:' || %s, 'p:' || %s, 'p:' || %s, 'x:Sara', 'x:Sam', 'x:Secret', 'x:1975-08-09')
       OR value LIKE 'a:XA02%%' OR value LIKE '%%tent%%'
$$, :h2, :h3, :p2, :p2b, :p3), 'a function in the WHERE clause of a scoped view or table never sees an XA02 value');
SELECT cmp_ok((SELECT count(DISTINCT relation)::int FROM adv_evil.seen), '=', 8,
              '(and it did run on the rows in scope)');

-- 8-10: EXPLAIN.  Plans show estimates; run, the rows they return are those in
-- scope.  The counts of the nodes inside a plan are another matter: a scan
-- reports the rows it read before the scope filter ("Rows Removed by
-- Filter") and an owner's-rights view reads the whole table below its
-- barrier, so EXPLAIN ANALYZE counts rows outside the scope that match
-- leakproof conditions (=, <, on ids, areas, dates).  That is how PostgreSQL
-- row-level security works; table sizes are public anyway (pg_class).  Kept
-- as a TODO so the residual stays visible.
CREATE FUNCTION pg_temp.plan_rows(run_as text, query text, OUT top float8, OUT deepest_max float8)
    LANGUAGE plpgsql AS $$
DECLARE
    p jsonb;
BEGIN
    PERFORM set_config('role', run_as, true);
    EXECUTE 'EXPLAIN (ANALYZE, FORMAT JSON, TIMING OFF, SUMMARY OFF) ' || query INTO p;
    PERFORM set_config('role', 'none', true);
    top := (p -> 0 -> 'Plan' ->> 'Actual Rows')::float8;
    SELECT max((x ->> 'Actual Rows')::float8) INTO deepest_max
    FROM jsonb_path_query(p, 'strict $.**') x WHERE jsonb_typeof(x) = 'object' AND x ? 'Actual Rows';
END
$$;
SELECT results_eq($$
    SELECT (pg_temp.plan_rows(r, q)).top FROM (VALUES
        ('adv_analyst', 'SELECT person_id FROM sp.person_deidentified'),
        ('adv_analyst', 'SELECT household_id FROM sp.household_deidentified'),
        ('adv_analyst', 'SELECT household_id FROM sp.household'),
        ('adv_registrar', 'SELECT person_id, given_name FROM sp.person'),
        ('adv_analyst', 'SELECT household_id FROM sp.current_assessment'),
        ('adv_registrar', 'SELECT household_id FROM sp.household WHERE admin_area_code = ''XA0201''')) v (r, q)
$$, $$VALUES (4::float8), (3), (3), (4), (2), (0)$$,
   'EXPLAIN ANALYZE: the rows a plan returns are the rows in scope');
SELECT unialike(
    (SELECT string_agg(adv_lab.outcome(r, NULL, 'EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM ' || v), E'\n')
     FROM (VALUES ('adv_analyst', 'sp.person_deidentified'), ('adv_analyst', 'sp.household_deidentified'),
                  ('adv_registrar', 'sp.household_profile'), ('adv_registrar', 'sp.household')) x (r, v)),
    '%XA02%', 'EXPLAIN VERBOSE shows no value of the registry');
SELECT todo('EXPLAIN ANALYZE node counts include out-of-scope rows (PostgreSQL row-level security; see the comment above)', 1);
SELECT cmp_ok((SELECT max((pg_temp.plan_rows(r, q)).deepest_max) FROM (VALUES
                   ('adv_analyst', 'SELECT person_id FROM sp.person_deidentified'),
                   ('adv_registrar', 'SELECT household_id FROM sp.household WHERE admin_area_code = ''XA0201''')) x (r, q)),
              '<=', 3::float8, 'no node of a plan counts more rows than the scope holds');

-- 11: statistics: the planner's histograms and common values of scoped tables
-- are not shown to roles subject to their policies
ANALYZE sp.person;
ANALYZE sp.household;
SELECT is(adv_lab.outcome('adv_registrar', NULL,
          'SELECT count(*) FROM pg_stats WHERE schemaname = ''sp'' AND tablename IN (''person'', ''household'')'),
          'ok:0', 'pg_stats shows a scoped role no statistics of households and persons');

-- 12-13: functions that read one household or person: the same answer for an
-- XA02 id as for an id that does not exist
CREATE TEMP TABLE probe_pair (what text, run_as text, xa02 text, missing text);
INSERT INTO probe_pair VALUES
    ('pmt_score', 'adv_caseworker', format('SELECT sp.pmt_score(''xa_pmt'', %s)', :h2), format('SELECT sp.pmt_score(''xa_pmt'', %s)', :nx)),
    ('pmt_explain', 'adv_grievance_officer', format('SELECT count(*) FROM sp.pmt_explain(''xa_pmt'', %s)', :h2), format('SELECT count(*) FROM sp.pmt_explain(''xa_pmt'', %s)', :nx)),
    ('mpi_household', 'adv_programme_officer', format('SELECT count(*) FROM sp.mpi_household(''xa_mpi'', %s)', :h2), format('SELECT count(*) FROM sp.mpi_household(''xa_mpi'', %s)', :nx)),
    ('explain_match', 'adv_analyst', format('SELECT count(*) FROM sp.explain_match(''person'', ''adv_lab.linkage_input'', %s, ''adv_lab.linkage_input'', %s)', :p2, :p1),
                                     format('SELECT count(*) FROM sp.explain_match(''person'', ''adv_lab.linkage_input'', %s, ''adv_lab.linkage_input'', %s)', :nx, :p1)),
    ('update_household', 'adv_registrar', format('SELECT sp.update_household(%s, ''{"attributes": {"rooms": 9}}'', ''attack'')', :h2),
                                          format('SELECT sp.update_household(%s, ''{"attributes": {"rooms": 9}}'', ''attack'')', :nx)),
    ('set_household_status', 'adv_caseworker', format('SELECT sp.set_household_status(%s, ''inactive'', ''attack'')', :h2),
                                               format('SELECT sp.set_household_status(%s, ''inactive'', ''attack'')', :nx)),
    ('update_person', 'adv_registrar', format('SELECT sp.update_person(%s, ''{"given_name": "X"}'', ''attack'')', :p2),
                                       format('SELECT sp.update_person(%s, ''{"given_name": "X"}'', ''attack'')', :nx)),
    ('set_person_status', 'adv_caseworker', format('SELECT sp.set_person_status(%s, ''deceased'', ''attack'')', :p2),
                                            format('SELECT sp.set_person_status(%s, ''deceased'', ''attack'')', :nx)),
    ('add_member', 'adv_registrar', format('SELECT sp.add_member(%s, ''{"given_name": "X", "relationship_to_head": "child"}'')', :h2),
                                    format('SELECT sp.add_member(%s, ''{"given_name": "X", "relationship_to_head": "child"}'')', :nx)),
    ('merge_persons (merged)', 'adv_registrar', format('SELECT sp.merge_persons(%s, %s, ''attack'')', :p1, :p2),
                                                format('SELECT sp.merge_persons(%s, %s, ''attack'')', :p1, :nx)),
    ('merge_persons (survivor)', 'adv_registrar', format('SELECT sp.merge_persons(%s, %s, ''attack'')', :p2, :p1),
                                                  format('SELECT sp.merge_persons(%s, %s, ''attack'')', :nx, :p1)),
    ('unmerge_person', 'adv_caseworker', format('SELECT sp.unmerge_person(%s, ''attack'')', :p2), format('SELECT sp.unmerge_person(%s, ''attack'')', :nx)),
    ('review_match', 'adv_registrar', format('SELECT sp.review_match(%s, ''reject'', ''attack'')', :mr2),
                                      format('SELECT sp.review_match(%s, ''reject'', ''attack'')', :nx)),
    ('reassess_household', 'adv_grievance_officer', format('SELECT count(*) FROM sp.reassess_household(%s, ''attack'')', :h2),
                                                    format('SELECT count(*) FROM sp.reassess_household(%s, ''attack'')', :nx)),
    ('set_enrolment_state', 'adv_caseworker', format('SELECT sp.set_enrolment_state(%s, ''exited'', ''attack'')', :e2),
                                              format('SELECT sp.set_enrolment_state(%s, ''exited'', ''attack'')', :nx)),
    ('open_enrolment', 'adv_programme_officer', format('SELECT sp.open_enrolment(''xa_grant'', %s, NULL, ''attack'')', :h2),
                                                format('SELECT sp.open_enrolment(''xa_grant'', %s, NULL, ''attack'')', :nx)),
    ('open_enrolment (person)', 'adv_caseworker', format('SELECT sp.open_enrolment(''xa_grant'', %s, %s, ''attack'')', :h5, :p2),
                                                  format('SELECT sp.open_enrolment(''xa_grant'', %s, %s, ''attack'')', :h5, :nx)),
    ('review_eligibility', 'adv_caseworker', format('SELECT sp.review_eligibility(%s, ''exclude'', ''attack'')', :er2),
                                             format('SELECT sp.review_eligibility(%s, ''exclude'', ''attack'')', :nx)),
    ('cancel_payment', 'adv_payment_officer', format('SELECT sp.cancel_payment(%s, ''attack'')', :pay2),
                                              format('SELECT sp.cancel_payment(%s, ''attack'')', :nx)),
    ('set_grievance_status', 'adv_grievance_officer', format('SELECT sp.set_grievance_status(%s, ''acknowledged'')', :gr2),
                                                      format('SELECT sp.set_grievance_status(%s, ''acknowledged'')', :nx)),
    ('assign_grievance', 'adv_grievance_officer', format('SELECT sp.assign_grievance(%s, ''adv_grievance_officer'', ''attack'')', :gr2),
                                                  format('SELECT sp.assign_grievance(%s, ''adv_grievance_officer'', ''attack'')', :nx)),
    ('add_grievance_note', 'adv_grievance_officer', format('SELECT sp.add_grievance_note(%s, ''attack'')', :gr2),
                                                    format('SELECT sp.add_grievance_note(%s, ''attack'')', :nx)),
    ('record_grievance_message', 'adv_grievance_officer', format('SELECT sp.record_grievance_message(%s, ''web'', ''update'', ''attack'')', :gr2),
                                                          format('SELECT sp.record_grievance_message(%s, ''web'', ''update'', ''attack'')', :nx)),
    ('reassess_for_grievance', 'adv_grievance_officer', format('SELECT sp.reassess_for_grievance(%s, ''attack'')', :gr2),
                                                        format('SELECT sp.reassess_for_grievance(%s, ''attack'')', :nx)),
    ('submit_grievance (household)', 'adv_integration',
     format('SELECT sp.submit_grievance(''{"channel": "web", "category": "other", "anonymous": true, "household_id": %s, "description": "attack"}'')', :h2),
     format('SELECT sp.submit_grievance(''{"channel": "web", "category": "other", "anonymous": true, "household_id": %s, "description": "attack"}'')', :nx)),
    ('submit_grievance (complainant)', 'adv_integration',
     format('SELECT sp.submit_grievance(''{"channel": "web", "category": "other", "complainant_person_id": %s, "description": "attack"}'')', :p2),
     format('SELECT sp.submit_grievance(''{"channel": "web", "category": "other", "complainant_person_id": %s, "description": "attack"}'')', :nx)),
    ('decide_change_request', 'adv_caseworker', format('SELECT sp.decide_change_request(%s, ''reject'', ''attack'')', :cr2),
                                                format('SELECT sp.decide_change_request(%s, ''reject'', ''attack'')', :nx)),
    ('request_change', 'adv_registrar', format('SELECT sp.request_change(''{"household_id": %s, "patch": {"attributes": {"rooms": 1}}, "reason": "attack", "channel": "web"}'')', :h2),
                                        format('SELECT sp.request_change(''{"household_id": %s, "patch": {"attributes": {"rooms": 1}}, "reason": "attack", "channel": "web"}'')', :nx)),
    ('open_case', 'adv_caseworker', format('SELECT sp.open_case(%s, ''other'', ''attack'')', :h2), format('SELECT sp.open_case(%s, ''other'', ''attack'')', :nx)),
    ('update_case', 'adv_caseworker', format('SELECT sp.update_case(%s, NULL, NULL, ''attack'')', :ca2), format('SELECT sp.update_case(%s, NULL, NULL, ''attack'')', :nx)),
    ('refer_case', 'adv_caseworker', format('SELECT sp.refer_case(%s, ''other'', ''attack'')', :ca2), format('SELECT sp.refer_case(%s, ''other'', ''attack'')', :nx)),
    ('update_referral', 'adv_caseworker', format('SELECT sp.update_referral(%s, ''declined'', ''attack'')', :rf2),
                                          format('SELECT sp.update_referral(%s, ''declined'', ''attack'')', :nx)),
    ('resolve_crvs_event', 'adv_caseworker', format('SELECT sp.resolve_crvs_event(%s, NULL, ''attack'')', :cv2),
                                             format('SELECT sp.resolve_crvs_event(%s, NULL, ''attack'')', :nx)),
    ('review_external_link (row)', 'adv_caseworker', format('SELECT sp.review_external_link(%s, NULL, ''attack'')', :xb2),
                                                     format('SELECT sp.review_external_link(%s, NULL, ''attack'')', :nx)),
    ('review_external_link (person)', 'adv_caseworker', format('SELECT sp.review_external_link(%s, %s, ''attack'')', :xb1, :p2),
                                                        format('SELECT sp.review_external_link(%s, %s, ''attack'')', :xb1, :nx)),
    ('submit_grievance (payment)', 'adv_integration',
     format('SELECT sp.submit_grievance(''{"channel": "web", "category": "payment", "anonymous": true, "payment_id": %s, "description": "attack"}'')', :pay2),
     format('SELECT sp.submit_grievance(''{"channel": "web", "category": "payment", "anonymous": true, "payment_id": %s, "description": "attack"}'')', :nx));
SELECT is_empty($$
    SELECT what, a, b FROM probe_pair,
           LATERAL (SELECT regexp_replace(adv_lab.outcome(run_as, NULL, xa02), '\d+', 'N', 'g') AS a,
                           regexp_replace(adv_lab.outcome(run_as, NULL, missing), '\d+', 'N', 'g') AS b) o
    WHERE a IS DISTINCT FROM b OR a LIKE 'ok:%'
$$, 'reads and changes of an XA02 household, person, review or enrolment fail exactly like those of a missing one');
SELECT cmp_ok((SELECT count(*)::int FROM probe_pair), '=', 36, '(every API function that takes an id is probed)');
-- a death reported with the ID of someone of another area waits for review
-- exactly like one with an ID nobody has
SELECT is(regexp_replace(adv_lab.outcome('adv_integration', NULL,
              'SELECT sp.apply_crvs_event(''{"event_id": "attack", "type": "death", "date": "2026-11-01", "person": {"national_id": "XS-0002"}}'')'),
              '\d+', 'N', 'g'),
          regexp_replace(adv_lab.outcome('adv_integration', NULL,
              'SELECT sp.apply_crvs_event(''{"event_id": "attack", "type": "death", "date": "2026-11-01", "person": {"national_id": "XX-NOBODY"}}'')'),
              '\d+', 'N', 'g'),
          'a civil-registration event about a person outside the caller''s areas is answered as if nobody had the ID');
-- an XA01 officer's escalation run leaves the overdue XA02 case where it is
SELECT is(adv_lab.outcome('adv_grievance_officer', NULL, 'SELECT sp.escalate_overdue_grievances()'), 'ok:0',
          'an escalation run moves only the cases of the caller''s areas');

-- 14-15: registration in, and moves to, an area outside the scope
CREATE TEMP TABLE outside (n serial, r text, q text);
INSERT INTO outside (r, q) VALUES
    ('adv_registrar', 'SELECT sp.register_household(''{"admin_area_code": "XA0201", "members": [{"given_name": "X", "relationship_to_head": "head"}]}'')'),
    ('adv_integration', 'SELECT sp.register_household(''{"admin_area_code": "XA02", "members": [{"given_name": "X", "relationship_to_head": "head"}]}'')'),
    ('adv_noscope', 'SELECT sp.register_household(''{"admin_area_code": "XA01", "members": [{"given_name": "X", "relationship_to_head": "head"}]}'')'),
    ('adv_registrar', 'SELECT sp.import_registrations(''[{"submission_id": "00000000-0000-0000-0000-0000000000c1", "admin_area_code": "XA0201", "members": [{"given_name": "X", "relationship_to_head": "head"}]}]'') -> ''errors'' -> 0 ->> ''sqlstate'''),
    ('adv_registrar', format('SELECT sp.update_household(%s, ''{"admin_area_code": "XA0201"}'', ''move'')', :h1)),
    ('adv_caseworker', format('SELECT sp.update_household(%s, ''{"admin_area_code": "XA"}'', ''move'')', :h1)),
    ('adv_admin', 'SELECT sp.score_households(''xa_pmt'', ''XA02'')'),
    ('adv_admin', 'SELECT sp.mpi_assess_households(''xa_mpi'', ''XA0201'')'),
    ('adv_admin', 'SELECT sp.grant_area_scope(''adv_registrar'', ''XA02'')'),
    ('adv_admin', 'SELECT sp.revoke_area_scope(''adv_national'', ''XA'')');
SELECT results_eq($$SELECT left(adv_lab.outcome(r, NULL, q), 5) FROM outside ORDER BY n$$,
   $$VALUES ('42501'), ('42501'), ('42501'), ('ok:42'), ('42501'), ('42501'), ('42501'), ('42501'), ('42501'), ('42501')$$,
   'registering, importing, moving, scoring and granting scopes outside one''s scope: 42501');
SELECT results_eq($$
    SELECT left(adv_lab.outcome(r, NULL, q), 5) FROM (VALUES
        ('adv_admin', 'SELECT sp.deduplicate_persons()'),
        ('adv_admin', 'SELECT sp.score_households(''xa_pmt'')'),
        ('adv_admin', 'SELECT sp.mpi_assess_households(''xa_mpi'')'),
        ('adv_programme_officer', 'SELECT sp.determine_eligibility(''xa_grant'')'),
        ('adv_programme_officer', 'SELECT sp.enrol(''xa_grant'')'),
        ('adv_programme_officer', 'SELECT sp.recertify(''xa_grant'')'),
        ('adv_payment_officer', 'SELECT sp.create_payment_cycle(''xa_grant'', ''2027-01-01'', ''2027-01-31'')'),
        ('adv_payment_officer', adv_lab.expand('SELECT sp.generate_payment_list({cy})')),
        ('adv_payment_officer', adv_lab.expand('SELECT sp.approve_payment_cycle({cy}, ''attack'')'))) v (r, q)
$$, $$VALUES ('42501'), ('42501'), ('42501'), ('42501'), ('42501'), ('42501'), ('42501'), ('42501'), ('42501')$$,
   'runs over the whole country need national scope');

-- 16-18: aggregates count the caller's scope only
SELECT is(adv_lab.outcome('adv_analyst', NULL, 'SELECT array_agg(t) FROM sp.mpi_area_summary(''xa_mpi'', 0) t'),
          adv_lab.outcome('adv_analyst', NULL, 'SELECT array_agg(ROW(''XA'', ''Adversaria'', t.households, t.persons, t.poor_households, t.poor_persons, t.excluded_households, t.h, t.a, t.m0)) FROM sp.mpi_area_summary(''xa_mpi'', 1) t'),
          'the national MPI of an XA01 analyst is the MPI of XA01');
SELECT is(adv_lab.outcome('adv_programme_officer', NULL, 'SELECT array_agg(area_code || '':'' || enrolled) FROM sp.programme_summary(''xa_grant'', 1)'),
          'ok:{XA01:2}', 'programme summaries count the enrolments of the caller''s scope only');
SELECT is(adv_lab.outcome('adv_analyst', NULL, format(
              'SELECT count(*) FROM sp.match_pairs(''person'', ''adv_lab.linkage_input'') m
               WHERE m.left_id = ANY (%L::bigint[]) OR m.right_id = ANY (%L::bigint[])', ARRAY[:p2, :p2b, :p3], ARRAY[:p2, :p2b, :p3])),
          'ok:0', 'match_pairs on a scoped view pairs persons of the caller''s scope only');

-- 19: duplicate flags at registration do not name persons outside the scope (the
-- duplicate check scores against the registrar's scope only)
SELECT is(adv_lab.outcome('adv_registrar', NULL, format(
    'SELECT jsonb_path_query_array(sp.register_household(''{"admin_area_code": "XA01", "members": [{"given_name": "Sara",
       "family_name": "Secret", "relationship_to_head": "head", "sex": "F", "birth_date": "1975-08-09", "national_id": "XS-0002"}]}''),
       ''$.possible_duplicates[*].registered_person_id'') @> ANY (%L::jsonb[])', ARRAY[:p2, :p3]::text[]::jsonb[])),
    'ok:false',
    'the duplicate flags of a registration never name a person outside the scope');

-- 20: a registrar's SECURITY DEFINER function, run by a national administrator,
-- reads with the registrar's scope, not the administrator's
GRANT CREATE ON SCHEMA adv_evil TO adv_registrar;
SET LOCAL ROLE adv_registrar;
CREATE TABLE adv_evil.loot (household_id bigint);
GRANT INSERT ON adv_evil.loot TO PUBLIC;
CREATE FUNCTION adv_evil.harmless() RETURNS integer LANGUAGE sql SECURITY DEFINER
    AS $$ INSERT INTO adv_evil.loot SELECT household_id FROM sp.household; SELECT 1 $$;
RESET ROLE;
SET LOCAL ROLE adv_national;
SELECT adv_evil.harmless() \g /dev/null
RESET ROLE;
SELECT is_empty(format('SELECT * FROM adv_evil.loot WHERE household_id IN (%s, %s)', :h2, :h3),
                'an ordinary role''s definer function does not borrow the area scope of whoever calls it');

-- 21-23: findings in code owned by another change (sql/13_pii.sql): lookups
-- and decryption are not scoped.  TODO until that change lands.
SELECT is(adv_lab.outcome('adv_registrar', NULL, 'SELECT count(*) FROM sp.find_person_by_national_id(''XS-0002'', ''attack'')'),
          'ok:0', 'a lookup by national ID finds no person outside the scope');
SELECT is(regexp_replace(adv_lab.outcome('adv_pii_reader', NULL, format('SELECT sp.person_national_id(%s, ''attack'')', :p2)), '\d+', 'N', 'g'),
          regexp_replace(adv_lab.outcome('adv_pii_reader', NULL, format('SELECT sp.person_national_id(%s, ''attack'')', :nx)), '\d+', 'N', 'g'),
          'decrypting the national ID of a person outside the scope fails like a missing person');
SELECT is(regexp_replace(adv_lab.outcome('adv_pii_reader', NULL, format('SELECT sp.person_phone(%s, ''attack'')', :p2)), '\d+', 'N', 'g'),
          regexp_replace(adv_lab.outcome('adv_pii_reader', NULL, format('SELECT sp.person_phone(%s, ''attack'')', :nx)), '\d+', 'N', 'g'),
          'decrypting the phone of a person outside the scope fails like a missing person');

-- DCI search: by id, predicate and expression, as groups and members, an
-- XA01 role gets no XA02 record back
CREATE TEMP TABLE dci_probe AS
SELECT s.role, o FROM shipped s,
LATERAL adv_lab.outcome(s.role, NULL, format(
    'SELECT coalesce(sum(jsonb_array_length(i #> ''{data,reg_records}'')), 0) FROM jsonb_array_elements(sp.dci_search(adv_lab.dci_envelope(''search'', ''search_request'', %L::jsonb)) #> ''{message,search_response}'') i',
    format('[{"reference_id": "h2", "timestamp": "2026-01-01T00:00:00Z", "search_criteria": {"query_type": "idtype-value", "query": {"type": "HouseholdID", "value": "%s"}}},
             {"reference_id": "h3", "timestamp": "2026-01-01T00:00:00Z", "search_criteria": {"query_type": "idtype-value", "query": {"type": "HouseholdID", "value": "%s"}}},
             {"reference_id": "p2", "timestamp": "2026-01-01T00:00:00Z", "search_criteria": {"query_type": "idtype-value", "response_entity": "Member", "query": {"type": "PersonID", "value": "%s"}}},
             {"reference_id": "area", "timestamp": "2026-01-01T00:00:00Z", "search_criteria": {"query_type": "predicate", "query": [{"seq_num": 1, "expression1": {"attribute_name": "area", "operator": "eq", "attribute_value": "XA02"}}]}},
             {"reference_id": "not-mine", "timestamp": "2026-01-01T00:00:00Z", "search_criteria": {"query_type": "predicate", "response_entity": "Member", "query": [{"seq_num": 1, "expression1": {"attribute_name": "area", "operator": "eq", "attribute_value": "XA01"}, "condition": "not"}]}},
             {"reference_id": "expr", "timestamp": "2026-01-01T00:00:00Z", "search_criteria": {"query_type": "expression", "query": {"type": "NoSql", "value": {"expression": {"collection": "Group", "query": {"$or": [{"area": "XA02"}, {"household_id": {"$in": [%s, %s]}}]}}}}}}]',
           :h2, :h3, :p2, :h2, :h3))) o
WHERE has_function_privilege(s.role, 'sp.dci_search(jsonb,text)', 'EXECUTE');
SELECT is_empty($$SELECT role, o FROM dci_probe WHERE o <> 'ok:0'$$,
                'DCI searches of every kind by an XA01 role return no XA02 record');

SELECT * FROM finish();
ROLLBACK;
