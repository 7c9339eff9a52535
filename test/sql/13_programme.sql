-- Programmes: validated rules, eligibility with the conditions that excluded
-- each unit, quotas and waitlists in rank order, the enrolment lifecycle and
-- its history, borderline review, appeals, recertification, person merges.
\set SHOW_CONTEXT never
\set VERBOSITY terse

INSERT INTO sp.admin_area (code, parent_code, level, name) VALUES
    ('PG', NULL, 0, 'Programme land'), ('PG01', 'PG', 1, 'Hills'), ('PG02', 'PG', 1, 'Plains'),
    ('PG0101', 'PG01', 2, 'Upper hills');
CREATE FUNCTION pg_temp.born(years int) RETURNS text LANGUAGE sql AS
$$ SELECT to_char(current_date - make_interval(years => years, days => 10), 'YYYY-MM-DD') $$;
-- a household whose head is called label, with rooms and an optional child
CREATE FUNCTION pg_temp.hh(label text, area text, rooms int, child boolean, head_age int DEFAULT 40) RETURNS bigint LANGUAGE sql AS $$
    SELECT (sp.register_household(jsonb_build_object('admin_area_code', area, 'attributes', jsonb_build_object('rooms', rooms),
        'members', jsonb_build_array(jsonb_build_object('given_name', label, 'relationship_to_head', 'head', 'birth_date', pg_temp.born(head_age)))
                   || CASE WHEN child THEN jsonb_build_array(jsonb_build_object('given_name', label || '-child', 'relationship_to_head', 'child',
                                                                                 'birth_date', pg_temp.born(6))) ELSE '[]' END)) ->> 'household_id')::bigint
$$;
SELECT pg_temp.hh('A1', 'PG01', 1, true) AS a1, pg_temp.hh('A2', 'PG01', 2, false) AS a2, pg_temp.hh('A3', 'PG0101', 3, true) AS a3,
       pg_temp.hh('A4', 'PG01', 3, true) AS a4, pg_temp.hh('A5', 'PG01', 5, true) AS a5,
       pg_temp.hh('B1', 'PG02', 2, true) AS b1, pg_temp.hh('B2', 'PG02', 3, true) AS b2, pg_temp.hh('B3', 'PG02', 4, true) AS b3 \gset
CREATE TEMP VIEW lab AS
SELECT h.household_id, p.given_name AS label FROM sp.household h
JOIN sp.person p ON p.household_id = h.household_id AND p.relationship_to_head = 'head' WHERE h.admin_area_code LIKE 'PG%';

-- a PMT whose score is the number of rooms; below 4 is poor
SELECT sp.create_pmt_model('rooms_pmt', '{"intercept": 0, "terms": [{"variable": "rooms", "coefficient": 1}], "cutoffs": [{"value": 4}]}');
SELECT sp.activate_pmt_model('rooms_pmt', 1);
SELECT sp.score_households('rooms_pmt', 'PG') AS assessed;

-- invalid programmes are refused, naming the part of the rule at fault
INSERT INTO sp.programme (name, title, benefit_type, rule) VALUES ('bad', 'Bad', 'cash', '{"all": [{"pmt": {"model": "nope", "below_cutoff": true}}]}');
INSERT INTO sp.programme (name, title, benefit_type, rule) VALUES ('bad', 'Bad', 'cash', '{"person": {"age": {"min": 65}}}');
INSERT INTO sp.programme (name, title, benefit_type, rule) VALUES ('bad', 'Bad', 'cash', '{"area": ["PG09"]}');
INSERT INTO sp.programme (name, title, benefit_type, rule) VALUES ('bad', 'Bad', 'cash', '{"programme": "nope"}');
INSERT INTO sp.programme (name, title, benefit_type, rule) VALUES ('bad', 'Bad', 'cash', '{"all": [{"variable": "rooms", "op": "<"}]}');
INSERT INTO sp.programme (name, title, benefit_type, rule) VALUES ('bad', 'Bad', 'cash', '{"any": [{"variable": "rooms", "op": "<", "value": "two"}]}');
INSERT INTO sp.programme (name, title, benefit_type, rule) VALUES ('bad', 'Bad', 'cash', '{"members": {"variable": "rooms", "value": 1}}');
INSERT INTO sp.programme (name, title, benefit_type, rule) VALUES ('bad', 'Bad', 'cash', '"SELECT true"');
INSERT INTO sp.programme (name, title, benefit_type, rule, ranking) VALUES ('bad', 'Bad', 'cash', '{"area": "PG"}', '{"pmt": "nope"}');
INSERT INTO sp.programme (name, title, benefit_type, rule, review_margin) VALUES ('bad', 'Bad', 'cash', '{"area": "PG"}', 1);
INSERT INTO sp.programme (name, title, benefit_type, rule) VALUES ('bad', 'Bad', 'vouchers', '{"area": "PG"}');
SELECT count(*) AS bad_programmes FROM sp.programme WHERE name = 'bad';

-- a child grant: poor by the PMT, with a child, in PG; borderline within 0.5 of the cut-off
INSERT INTO sp.programme (name, title, benefit_type, rule, ranking, review_margin, recertify_months)
VALUES ('child_grant', 'Child grant', 'cash',
        '{"all": [{"area": "PG"}, {"pmt": {"model": "rooms_pmt", "below_cutoff": true}}, {"members": {"age": {"max": 17}}, "min": 1}]}',
        '{"pmt": "rooms_pmt"}', 0.5, 12);
-- quotas: 2 in the hills (PG01 and the areas below it), 5 in the plains
INSERT INTO sp.programme_quota (programme, area_code, quota) VALUES ('child_grant', 'PG01', 2), ('child_grant', 'PG02', 5);

SELECT sp.determine_eligibility('child_grant') - 'run_id' - 'units' - 'ineligible' - 'excluded_by' AS determined;
-- every decision is recorded; the ineligible ones with the conditions that excluded them
SELECT l.label, d.eligible, d.failed_conditions, d.rank_score, d.borderline
FROM sp.eligibility_decision d JOIN lab l USING (household_id) WHERE d.programme = 'child_grant' ORDER BY l.label;
SELECT l.label, r.kind, r.eligible, r.detail ->> 'rank_score' AS score, r.status
FROM sp.eligibility_review r JOIN lab l USING (household_id) ORDER BY l.label;

-- enrolment by rank (lowest score first; ties by registration) within quotas
SELECT sp.enrol('child_grant') AS enrolled;
SELECT l.label, e.state, e.quota_area, e.waitlist_position, e.reason, e.recertification_due = (current_date + interval '12 months')::date AS due_in_a_year
FROM sp.enrolment e JOIN lab l USING (household_id) WHERE e.programme = 'child_grant' ORDER BY l.label;
-- a second run changes nothing
SELECT sp.determine_eligibility('child_grant') - 'run_id' - 'units' - 'ineligible' - 'excluded_by' AS determined_again;
SELECT sp.enrol('child_grant') -> 'newly_enrolled' AS newly_enrolled_again;

-- the reviewer includes the borderline household B3; it is enrolled in the plains' free places
SELECT sp.review_eligibility((SELECT review_id FROM sp.eligibility_review WHERE household_id = :b3), 'include',
                             'home visit: the fourth room is a shop') AS decided;
SELECT sp.review_eligibility((SELECT review_id FROM sp.eligibility_review WHERE household_id = :b3), 'exclude', 'again');
SELECT sp.enrol('child_grant') -> 'newly_enrolled' AS newly_enrolled_after_review;
-- the next automated run leaves the reviewer's decision alone
SELECT sp.determine_eligibility('child_grant') ->> 'exited' AS exited;
SELECT state, override_review_id IS NOT NULL AS overridden FROM sp.enrolment WHERE household_id = :b3;

-- lifecycle: suspension keeps the place; an exit frees it for the first on the waitlist
SELECT enrolment_id AS ea1 FROM sp.enrolment WHERE household_id = :a1 \gset
SELECT state, reason FROM sp.set_enrolment_state(:ea1, 'suspended', 'child not seen at the clinic for 6 months');
SELECT sp.enrol('child_grant') -> 'newly_enrolled' AS enrolled_while_suspended;
SELECT state, reason FROM sp.set_enrolment_state(:ea1, 'enrolled', 'clinic visit recorded');
SELECT state, reason FROM sp.set_enrolment_state(:ea1, 'exited', 'moved out of the country');
SELECT sp.enrol('child_grant') -> 'newly_enrolled' AS enrolled_after_exit;
SELECT l.label, e.state, e.reason FROM sp.enrolment e JOIN lab l USING (household_id) WHERE l.label = 'A4';

-- illegal transitions and bad calls are refused; nothing changes
SELECT sp.set_enrolment_state(:ea1, 'enrolled', 'came back');
SELECT sp.set_enrolment_state((SELECT enrolment_id FROM sp.enrolment WHERE household_id = :a3), 'eligible', 'x');
SELECT sp.set_enrolment_state((SELECT enrolment_id FROM sp.enrolment WHERE household_id = :a3), 'waitlisted', 'x');
SELECT sp.set_enrolment_state((SELECT enrolment_id FROM sp.enrolment WHERE household_id = :a3), 'paused', 'x');
SELECT sp.set_enrolment_state((SELECT enrolment_id FROM sp.enrolment WHERE household_id = :a3), 'suspended', ' ');
SELECT sp.set_enrolment_state(-1, 'suspended', 'x');
UPDATE sp.enrolment SET state = 'eligible' WHERE household_id = :a3;
UPDATE sp.enrolment SET household_id = :a5 WHERE household_id = :a3;
INSERT INTO sp.enrolment (programme, household_id, state, reason) VALUES ('child_grant', :a3, 'enrolled', 'twice');
INSERT INTO sp.enrolment (programme, household_id, state, reason) VALUES ('child_grant', :a5, 'suspended', 'x');
DELETE FROM sp.enrolment WHERE household_id = :a3;
UPDATE sp.enrolment_history SET reason = 'x';
-- the full history of A1
SELECT from_state, to_state, reason FROM sp.enrolment_history WHERE enrolment_id = :ea1 ORDER BY history_id;

-- an appeal: a home visit finds A5 has 2 rooms, not 5; reassessment makes it eligible; the hills are full
SELECT sp.update_household(:a5, '{"attributes": {"rooms": 2}}', 'appeal 2026/17: home visit') ->> 'version' AS a5_version;
SELECT score, below_cutoff, reason FROM sp.reassess_household(:a5, 'appeal 2026/17: home visit', 'rooms_pmt');
SELECT * FROM sp.reassess_household(-1, 'appeal', 'rooms_pmt');
SELECT * FROM sp.reassess_household(:a5, 'appeal', 'no_such_model');
SELECT * FROM sp.reassess_household(:a5, ' ', 'rooms_pmt');
-- (A1, exited by a caseworker, is not re-opened by the automated run)
SELECT sp.determine_eligibility('child_grant') - 'run_id' - 'units' - 'ineligible' - 'excluded_by' AS determined;
SELECT sp.enrol('child_grant') -> 'by_quota_area' AS by_quota_area;
-- A1 comes back: a caseworker re-opens its enrolment by hand; it joins the waitlist by rank
SELECT state, reason FROM sp.open_enrolment('child_grant', :a1, NULL, 'returned from abroad');
SELECT sp.open_enrolment('child_grant', :a1, NULL, 'twice');
SELECT sp.open_enrolment('child_grant', :a1, NULL, NULL);
SELECT sp.enrol('child_grant') ->> 'waitlisted' AS waitlisted;
SELECT l.label, e.state, e.waitlist_position FROM sp.enrolment e JOIN lab l USING (household_id)
WHERE e.state = 'waitlisted' ORDER BY e.waitlist_position;

-- an enrolled household that no longer qualifies is not dropped: it goes to review
SELECT sp.update_household(:a3, '{"attributes": {"rooms": 6}}', 'annual update: extension built') ->> 'version' AS a3_version;
SELECT score FROM sp.reassess_household(:a3, 'annual update', 'rooms_pmt');
SELECT sp.determine_eligibility('child_grant') - 'run_id' - 'units' - 'ineligible' - 'excluded_by' AS determined;
SELECT l.label, r.kind, r.detail -> 'failed_conditions' AS failed FROM sp.eligibility_review r JOIN lab l USING (household_id)
WHERE r.status = 'pending' ORDER BY l.label;
SELECT state FROM sp.enrolment WHERE household_id = :a3;
SELECT sp.review_eligibility((SELECT review_id FROM sp.eligibility_review WHERE household_id = :a3 AND status = 'pending'),
                             'exclude', 'confirmed on visit') ->> 'action' AS action;
SELECT state, reason FROM sp.enrolment WHERE household_id = :a3;

-- recertification: those still eligible get a new date, the others wait for a reviewer
UPDATE sp.enrolment SET recertification_due = current_date - 1 WHERE programme = 'child_grant' AND state = 'enrolled';
SELECT sp.update_household(:b2, '{"attributes": {"rooms": 5}}', 'annual update') ->> 'version' AS b2_version;
SELECT score FROM sp.reassess_household(:b2, 'annual update', 'rooms_pmt');
SELECT sp.recertify('child_grant') - 'run_id' AS recertified;
SELECT l.label, e.state, e.recertification_due >= current_date AS current FROM sp.enrolment e JOIN lab l USING (household_id)
WHERE e.programme = 'child_grant' AND e.state = 'enrolled' ORDER BY l.label;
SELECT l.label, r.kind FROM sp.eligibility_review r JOIN lab l USING (household_id) WHERE r.status = 'pending' ORDER BY l.label;

-- summary by area and the programme's own history
SELECT * FROM sp.programme_summary('child_grant', 1) WHERE area_code LIKE 'PG%';
BEGIN;
SELECT sp_internal.begin_change('quota raised by the ministry') IS NOT NULL AS reason_set;
UPDATE sp.programme_quota SET quota = 3 WHERE programme = 'child_grant' AND area_code = 'PG01';
UPDATE sp.programme SET review_margin = 1 WHERE name = 'child_grant';
COMMIT;
UPDATE sp.programme SET review_margin = 1 WHERE name = 'child_grant';
SELECT name, version, review_margin, change_reason FROM sp.programme_history;
SELECT area_code, old_quota, new_quota, change_reason FROM sp.programme_quota_history ORDER BY history_id;
SELECT version FROM sp.programme WHERE name = 'child_grant';
DELETE FROM sp.programme WHERE name = 'child_grant';
UPDATE sp.programme SET target_unit = 'person' WHERE name = 'child_grant';

-- a person programme: a pension for people aged 65+, not for households in the child grant
SELECT pg_temp.hh('C1', 'PG02', 2, false, 70) AS c1, pg_temp.hh('C2', 'PG02', 2, false, 70) AS c2,
       pg_temp.hh('C3', 'PG02', 2, false, 50) AS c3 \gset
INSERT INTO sp.programme (name, title, benefit_type, target_unit, rule)
VALUES ('pension', 'Social pension', 'cash', 'person',
        '{"all": [{"area": "PG"}, {"person": {"age": {"min": 65}}}, {"not": {"programme": "child_grant"}}]}');
SELECT sp.determine_eligibility('pension') ->> 'eligible' AS eligible, sp.enrol('pension') ->> 'newly_enrolled' AS enrolled;
SELECT l.label, e.state FROM sp.enrolment e JOIN lab l USING (household_id) WHERE e.programme = 'pension' ORDER BY l.label;
INSERT INTO sp.enrolment (programme, household_id, state, reason) VALUES ('pension', :c3, 'eligible', 'no person given');
SELECT person_id AS p1 FROM sp.person WHERE household_id = :c1 \gset
SELECT person_id AS p2 FROM sp.person WHERE household_id = :c2 \gset
SELECT person_id AS p3 FROM sp.person WHERE household_id = :c3 \gset
-- C2 is C1 registered twice: the duplicate's pension ends, the survivor keeps its own; undo restores it
SELECT sp.merge_persons(:p1, :p2, 'same national ID') ->> 'survivor_id' = :'p1' AS merged;
SELECT person_id = :p2 AS is_p2, state, regexp_replace(reason, '[0-9]+', 'N', 'g') AS reason FROM sp.enrolment WHERE programme = 'pension' ORDER BY enrolment_id;
SELECT sp.unmerge_person(:p2, 'different people after all') ->> 'status' AS unmerged;
SELECT person_id = :p2 AS is_p2, state, regexp_replace(reason, '[0-9]+', 'N', 'g') AS reason FROM sp.enrolment WHERE programme = 'pension' ORDER BY enrolment_id;
-- a survivor without a pension takes over the duplicate's enrolment; undo moves it back
SELECT sp.merge_persons(:p3, :p2, 'test: merge into a person without a pension') ->> 'merged_id' = :'p2' AS merged;
SELECT person_id = :p3 AS moved_to_p3, household_id = :c3 AS household_follows, state, regexp_replace(reason, '[0-9]+', 'N', 'g') AS reason
FROM sp.enrolment WHERE programme = 'pension' AND state <> 'exited' AND person_id IN (:p2, :p3);
SELECT sp.unmerge_person(:p2, 'undo the test') ->> 'status' AS unmerged;
SELECT person_id = :p2 AS back_to_p2, household_id = :c2 AS household_back, state
FROM sp.enrolment WHERE programme = 'pension' AND state <> 'exited' AND person_id IN (:p2, :p3);
