-- Targeting: the enrolment state machine, quota and ranking invariants,
-- rule documents that try to smuggle SQL, and who may do what.
BEGIN;
SELECT plan(16);

INSERT INTO sp.admin_area (code, parent_code, level, name) VALUES
    ('TG', NULL, 0, 'Targetland'), ('TG01', 'TG', 1, 'One'), ('TG02', 'TG', 1, 'Two'), ('TG03', 'TG', 1, 'Three');
-- 60 households with a child, rooms 1..6, in three regions
SELECT sp.import_registrations(jsonb_agg(jsonb_build_object(
    'submission_id', gen_random_uuid(), 'admin_area_code', 'TG0' || (1 + i % 3),
    'attributes', jsonb_build_object('rooms', 1 + (i * 7) % 6),
    'members', jsonb_build_array(jsonb_build_object('given_name', 'H' || i, 'relationship_to_head', 'head'),
                                 jsonb_build_object('given_name', 'C' || i, 'relationship_to_head', 'child',
                                                    'birth_date', to_char(current_date - 2000, 'YYYY-MM-DD'))))))
FROM generate_series(1, 60) i;
SELECT sp.create_pmt_model('tg_rooms', '{"intercept": 0, "terms": [{"variable": "rooms", "coefficient": 1}], "cutoffs": [{"value": 5}]}');
SELECT sp.activate_pmt_model('tg_rooms', 1);
SELECT sp.score_households('tg_rooms', 'TG');
INSERT INTO sp.programme (name, title, benefit_type, rule, ranking)
VALUES ('tg_grant', 'Grant', 'cash', '{"all": [{"area": "TG"}, {"pmt": {"model": "tg_rooms", "below_cutoff": true}}]}', '{"pmt": "tg_rooms"}');
INSERT INTO sp.programme_quota (programme, area_code, quota) VALUES ('tg_grant', 'TG01', 5), ('tg_grant', 'TG02', 0), ('tg_grant', 'TG03', 100);

-- 1-2: the documented state machine, and the trigger enforces exactly it
SELECT results_eq(
    $$SELECT f, t FROM unnest(ARRAY['eligible', 'waitlisted', 'enrolled', 'suspended', 'exited']) f,
                       unnest(ARRAY['eligible', 'waitlisted', 'enrolled', 'suspended', 'exited']) t
      WHERE f <> t AND sp_internal.enrolment_transition_allowed(f, t) ORDER BY 1, 2$$,
    $$VALUES ('eligible', 'enrolled'), ('eligible', 'exited'), ('eligible', 'waitlisted'),
             ('enrolled', 'exited'), ('enrolled', 'suspended'), ('suspended', 'enrolled'), ('suspended', 'exited'),
             ('waitlisted', 'enrolled'), ('waitlisted', 'exited')$$,
    'the enrolment lifecycle allows exactly the documented transitions');

CREATE TEMP TABLE tried (f text, t text, ok boolean);
DO $$
DECLARE
    f text;
    t text;
    e bigint;
    ok boolean;
    hh bigint := (SELECT min(household_id) FROM sp.household WHERE admin_area_code = 'TG01');
BEGIN
    FOREACH f IN ARRAY ARRAY['eligible', 'waitlisted', 'enrolled', 'suspended', 'exited'] LOOP
        FOREACH t IN ARRAY ARRAY['eligible', 'waitlisted', 'enrolled', 'suspended', 'exited'] LOOP
            CONTINUE WHEN f = t;
            BEGIN
                -- bring a fresh enrolment into state f the legal way, then try t
                INSERT INTO sp.enrolment (programme, household_id, state, reason, waitlist_position)
                VALUES ('tg_grant', hh, CASE WHEN f = 'waitlisted' THEN 'waitlisted' ELSE 'eligible' END, 'tap',
                        CASE WHEN f = 'waitlisted' THEN 1 END)
                RETURNING enrolment_id INTO e;
                IF f IN ('enrolled', 'suspended') THEN UPDATE sp.enrolment SET state = 'enrolled' WHERE enrolment_id = e; END IF;
                IF f = 'suspended' THEN UPDATE sp.enrolment SET state = 'suspended' WHERE enrolment_id = e; END IF;
                IF f = 'exited' THEN UPDATE sp.enrolment SET state = 'exited' WHERE enrolment_id = e; END IF;
                BEGIN
                    UPDATE sp.enrolment SET state = t, waitlist_position = CASE WHEN t = 'waitlisted' THEN 1 END
                    WHERE enrolment_id = e;
                    ok := true;
                EXCEPTION WHEN object_not_in_prerequisite_state THEN
                    ok := false;
                END;
                RAISE EXCEPTION 'roll back' USING ERRCODE = 'P0001';
            EXCEPTION WHEN raise_exception THEN
                INSERT INTO tried VALUES (f, t, ok);
            END;
        END LOOP;
    END LOOP;
END
$$;
SELECT is_empty($$SELECT * FROM tried WHERE ok <> sp_internal.enrolment_transition_allowed(f, t)$$,
                'the trigger accepts and refuses exactly what the state machine says (20 pairs tried)');
SELECT is((SELECT count(*)::int FROM tried), 20, 'all 20 transitions were tried');

-- 4-7: quotas and ranking
SELECT sp.determine_eligibility('tg_grant') AS d \gset
SELECT sp.enrol('tg_grant') AS e \gset
SELECT is_empty($$
    SELECT q.area_code FROM sp.programme_quota q
    WHERE q.programme = 'tg_grant'
      AND q.quota < (SELECT count(*) FROM sp.enrolment x WHERE x.programme = 'tg_grant' AND x.quota_area = q.area_code
                                                          AND x.state IN ('enrolled', 'suspended'))
$$, 'no quota area has more units enrolled than its quota');
SELECT is_empty($$
    SELECT w.enrolment_id FROM sp.enrolment w JOIN sp.enrolment x
      ON x.programme = w.programme AND x.quota_area = w.quota_area AND x.state = 'enrolled'
    WHERE w.programme = 'tg_grant' AND w.state = 'waitlisted' AND w.rank_score < x.rank_score
$$, 'nobody waitlisted has a lower (poorer) score than anybody enrolled in the same area');
SELECT results_eq($$
    SELECT w.quota_area, array_agg(w.waitlist_position ORDER BY w.rank_score, w.household_id)
    FROM sp.enrolment w WHERE w.programme = 'tg_grant' AND w.state = 'waitlisted' GROUP BY 1 ORDER BY 1$$,
    $$SELECT w.quota_area, array_agg(w.n ORDER BY w.n)
      FROM (SELECT quota_area, row_number() OVER (PARTITION BY quota_area)::int AS n FROM sp.enrolment
            WHERE programme = 'tg_grant' AND state = 'waitlisted') w GROUP BY 1 ORDER BY 1$$,
    'waitlist positions are 1, 2, 3, ... in rank order within each area');
SELECT is((SELECT count(*)::int FROM sp.enrolment WHERE programme = 'tg_grant' AND quota_area = 'TG02' AND state = 'enrolled'), 0,
          'a quota of 0 enrols nobody');

-- 8: every unit has exactly one decision per run, ineligible ones with a reason
SELECT is((SELECT count(*)::int FROM sp.eligibility_decision d WHERE d.run_id = (:'d'::jsonb ->> 'run_id')::bigint
           AND (d.eligible = (cardinality(d.failed_conditions) > 0))), 0,
          'eligible decisions list no failed condition, ineligible ones at least one');

-- 9-11: values that look like SQL stay values
INSERT INTO sp.variable (code, label, entity, value_type) VALUES ('tg_note', 'Note', 'household', 'text');
SELECT throws_ok($$INSERT INTO sp.programme (name, title, benefit_type, rule)
                   VALUES ('tg_evil', 'x', 'cash', '{"variable": "rooms) OR (true", "value": 1}')$$,
                 '22023', NULL, 'a variable name that is SQL is refused');
SELECT throws_ok($$INSERT INTO sp.programme (name, title, benefit_type, rule)
                   VALUES ('tg_evil', 'x', 'cash', '{"variable": "rooms", "op": "< 0 OR true OR 1 >", "value": 1}')$$,
                 '22023', NULL, 'an operator that is SQL is refused');
INSERT INTO sp.programme (name, title, benefit_type, rule)
VALUES ('tg_quote', 'x', 'cash', '{"all": [{"area": "TG"}, {"variable": "tg_note", "value": "x'' OR ''a'' = ''a"}]}');
SELECT is((sp.determine_eligibility('tg_quote') ->> 'eligible')::int, 0, 'a text value with quotes is compared literally');

-- 12-16: who may do what
CREATE ROLE tap_tg_analyst IN ROLE sp_analyst;
CREATE ROLE tap_tg_caseworker IN ROLE sp_caseworker;
SELECT sp.grant_area_scope('tap_tg_analyst', 'TG') IS NOT NULL AS scoped;
SELECT sp.grant_area_scope('tap_tg_caseworker', 'TG') IS NOT NULL AS scoped;
SELECT min(enrolment_id) AS tg_enrolment FROM sp.enrolment WHERE programme = 'tg_grant' AND state = 'enrolled' \gset
SET LOCAL ROLE tap_tg_analyst;
SELECT lives_ok('SELECT count(*) FROM sp.enrolment JOIN sp.eligibility_decision USING (household_id)',
                'analysts read enrolments and decisions');
SELECT throws_ok($$SELECT sp.determine_eligibility('tg_grant')$$, '42501', NULL, 'analysts cannot run eligibility');
RESET ROLE;
SET LOCAL ROLE tap_tg_caseworker;
SELECT lives_ok(format($$SELECT sp.set_enrolment_state(%s, 'suspended', 'tap: missed visits')$$, :'tg_enrolment'),
                'caseworkers suspend enrolments');
SELECT throws_ok($$INSERT INTO sp.programme (name, title, benefit_type, rule) VALUES ('tg_x', 'x', 'cash', '{"area": "TG"}')$$,
                 '42501', NULL, 'caseworkers cannot create programmes');
SELECT throws_ok($$UPDATE sp.programme_quota SET quota = 1000$$, '42501', NULL, 'caseworkers cannot change quotas');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
