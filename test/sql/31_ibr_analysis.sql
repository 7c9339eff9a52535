-- Overlaps, gaps, duplicates and incidence (issue 14), on a country built
-- by hand so that every figure is known: 40 households, one person each
-- with national ID OV-<i>, rooms = ((i - 1) % 10) + 1, so that the PMT score
-- (= rooms) puts household i in decile rooms; regions OV01 (i = 1..28) and
-- OV02 (i = 29..40).  Benefits: the registry's cash (household) for rooms
-- 1-3; school meals (external, 1 USD a day) for rooms 2 and 5; seeds
-- (external, 60 USD a year) for rooms 3 and 9.
\set SHOW_CONTEXT never
\set VERBOSITY terse

INSERT INTO sp.admin_area (code, parent_code, level, name) VALUES
    ('OV', NULL, 0, 'Overland'), ('OV01', 'OV', 1, 'North'), ('OV02', 'OV', 1, 'South');
CREATE TEMP TABLE ovh (i int, household_id bigint, person_id bigint);
INSERT INTO ovh (i, household_id)
SELECT i, (sp.register_household(jsonb_build_object('admin_area_code', CASE WHEN i <= 28 THEN 'OV01' ELSE 'OV02' END,
           'attributes', jsonb_build_object('rooms', ((i - 1) % 10) + 1, 'dwelling_type', 'hut', 'monthly_income', 100),
           'members', jsonb_build_array(jsonb_build_object('given_name', 'Person', 'family_name', 'Number' || i, 'national_id', 'OV-' || i,
                                                           'relationship_to_head', 'head')))) ->> 'household_id')::bigint
FROM generate_series(1, 40) i;
UPDATE ovh SET person_id = p.person_id FROM sp.person p WHERE p.household_id = ovh.household_id;
SELECT count(*) AS households, count(DISTINCT person_id) AS persons FROM ovh;

-- PMT: score = rooms, poor below 4.5
SELECT sp.create_pmt_model('ov_pmt', '{"intercept": 0, "terms": [{"variable": "rooms", "coefficient": 1}], "cutoffs": [{"value": 4.5}]}') IS NOT NULL AS pmt;
SELECT sp.activate_pmt_model('ov_pmt', 1);
SELECT sp.score_households('ov_pmt', 'OV') AS scored;
-- the registry's cash for rooms 1-3 (enrolled); the elderly grant's rule finds rooms 4, nobody enrolled yet
INSERT INTO sp.programme (name, title, benefit_type, rule) VALUES
    ('ov_cash', 'Overland cash', 'cash', '{"all": [{"area": "OV"}, {"variable": "rooms", "op": "<=", "value": 3}]}'),
    ('ov_elderly', 'Overland elderly grant', 'cash', '{"all": [{"area": "OV"}, {"variable": "rooms", "op": "=", "value": 4}]}');
SELECT sp.determine_eligibility('ov_cash') ->> 'eligible' AS cash_eligible, sp.enrol('ov_cash') ->> 'newly_enrolled' AS cash_enrolled,
       sp.determine_eligibility('ov_elderly') ->> 'eligible' AS elderly_eligible;
-- other ministries: meals, seeds, a lunch for person 5 (in kind again)
INSERT INTO sp.external_programme (name, title, owner_ministry, benefit_type, frequency, amount, currency) VALUES
    ('ov_meals', 'School meals', 'Ministry of Education', 'in_kind', 'daily', 1, 'USD'),
    ('ov_seeds', 'Seed vouchers', 'Ministry of Agriculture', 'voucher', 'annual', 60, 'USD'),
    ('ov_lunch', 'Lunch club', 'Ministry of Health', 'in_kind', 'one_off', 3, 'USD');
SELECT r -> 'linking' AS meals FROM sp.import_external_beneficiaries('ov_meals',
    (SELECT jsonb_agg(jsonb_build_object('source_record_id', 'M' || i, 'national_id', 'OV-' || i) ORDER BY i)
     FROM generate_series(1, 40) i WHERE ((i - 1) % 10) + 1 IN (2, 5))
    -- person 2 twice on the list, under another record id
    || '[{"source_record_id": "M2-again", "national_id": "OV-2"}]') r;
SELECT r -> 'linking' AS seeds FROM sp.import_external_beneficiaries('ov_seeds',
    (SELECT jsonb_agg(jsonb_build_object('source_record_id', 'S' || i, 'national_id', 'OV-' || i) ORDER BY i)
     FROM generate_series(1, 40) i WHERE ((i - 1) % 10) + 1 IN (3, 9))) r;
SELECT r -> 'linking' AS lunch FROM sp.import_external_beneficiaries('ov_lunch', '[{"source_record_id": "L5", "national_id": "OV-5"}]') r;

-- overlaps, by hand (meals counted once for household 2, listed twice):
--   North: {} 14, {ov_cash} 3, {ov_cash, ov_meals} 3, {ov_cash, ov_seeds} 3, {ov_meals} 2, {ov_lunch, ov_meals} 1, {ov_seeds} 2
--   South: {} 6, {ov_cash} 1, {ov_cash, ov_meals} 1, {ov_cash, ov_seeds} 1, {ov_meals} 1, {ov_seeds} 2
SELECT area_code, programmes, households, suppressed FROM sp.programme_overlap(1) WHERE area_code LIKE 'OV%';
SELECT programmes, households FROM sp.programme_overlap(0) WHERE area_code = 'OV';

-- gaps: the elderly grant's rule (rooms 4) and PMT (rooms 1-4, poor) -
-- rooms 1-3 receive cash, so the four households with 4 rooms
SELECT o.i, g.by_rule, g.by_pmt, g.by_mpi, g.pmt_score FROM sp.coverage_gaps('ov_elderly') g JOIN ovh o USING (household_id) ORDER BY o.i;
SELECT area_code, eligible_by_rule, eligible_by_pmt, eligible_by_mpi, receiving_nothing, suppressed
FROM sp.coverage_gap_summary('ov_elderly', 1) WHERE area_code LIKE 'OV%';
SELECT sp.coverage_gaps('nope');
SELECT * FROM sp.coverage_gap_summary('ov_elderly', 11);

-- duplicates: person 2 twice on the meals list; person 5 in kind twice
-- (meals and lunch); persons 1 and 11, put in one cluster by a deduplication
-- run, both receive cash; a list row linked to a person merged since
INSERT INTO sp.dedup_run (model, threshold, review_threshold, finished_at, result) VALUES ('person', 0.9, 0.5, now(), '{}');
INSERT INTO sp.person_cluster (run_id, cluster_id, person_id)
SELECT (SELECT max(run_id) FROM sp.dedup_run), min(person_id) OVER (), person_id FROM ovh WHERE i IN (1, 11);
SELECT (sp.register_household('{"admin_area_code": "OV01", "members": [{"given_name": "Person", "family_name": "Number7", "relationship_to_head": "head"}]}')
        ->> 'household_id')::bigint AS dup7_household \gset
SELECT person_id AS dup7 FROM sp.person WHERE household_id = :dup7_household \gset
SELECT person_id AS p7 FROM ovh WHERE i = 7 \gset
SELECT r -> 'linking' ->> 'unmatched' AS unmatched FROM sp.import_external_beneficiaries('ov_lunch',
    '[{"source_record_id": "L5", "national_id": "OV-5"}, {"source_record_id": "L7", "given_name": "Someone", "family_name": "Unknown"}]') r;
SELECT sp.review_external_link(external_beneficiary_id, :dup7, 'the same family name, found by the field team') ->> 'link_status' AS linked
FROM sp.external_beneficiary WHERE source_record_id = 'L7';
SELECT sp.merge_persons(:p7, :dup7, 'registered twice') IS NOT NULL AS merged;
SELECT d.kind, d.programme, o.i AS person, d.other_programme, oo.i AS other_person, d.other_person_id = :dup7 AS other_is_the_merged_one,
       regexp_replace(d.detail, '(run|persons|person|into|and) \d+', '\1 <id>', 'g') AS detail
FROM sp.duplicate_beneficiaries() d JOIN ovh o USING (person_id) LEFT JOIN ovh oo ON oo.person_id = d.other_person_id
ORDER BY d.kind, d.programme, o.i;
-- a household registered twice, both receiving the cash: its two members
-- pair up across the two registrations, but it is one finding, not two
-- (in a country of its own: the figures of Overland stay those above)
INSERT INTO sp.admin_area (code, parent_code, level, name) VALUES ('TW', NULL, 0, 'Twinland');
SELECT (sp.register_household('{"admin_area_code": "TW", "members": [{"given_name": "Twin", "family_name": "Alpha", "relationship_to_head": "head"}, {"given_name": "Twin", "family_name": "Beta", "relationship_to_head": "spouse"}]}')
        ->> 'household_id')::bigint AS th1 \gset
SELECT (sp.register_household('{"admin_area_code": "TW", "members": [{"given_name": "Twin", "family_name": "Alpha", "relationship_to_head": "head"}, {"given_name": "Twin", "family_name": "Beta", "relationship_to_head": "spouse"}]}')
        ->> 'household_id')::bigint AS th2 \gset
INSERT INTO sp.enrolment (programme, household_id, state, reason) VALUES ('ov_cash', :th1, 'enrolled', 'test'), ('ov_cash', :th2, 'enrolled', 'test');
INSERT INTO sp.person_cluster (run_id, cluster_id, person_id)
SELECT (SELECT max(run_id) FROM sp.dedup_run), min(p.person_id) OVER (PARTITION BY p.family_name), p.person_id
FROM sp.person p WHERE p.household_id IN (:th1, :th2);
SELECT d.kind, d.programme, d.household_id = :th1 AS first_household, regexp_replace(d.detail, '\d+', '<n>', 'g') AS detail
FROM sp.duplicate_beneficiaries() d WHERE d.household_id IN (:th1, :th2);
UPDATE sp.enrolment SET state = 'exited', reason = 'test over' WHERE household_id IN (:th1, :th2);

-- incidence under ov_pmt (deciles = rooms): North's 28 households 3 a
-- decile but 2 in deciles 9 and 10; value per month: meals 30.44 USD a
-- row (deciles 2 and 5; person 2's two rows both count: what the lists say
-- is given), seeds 5 (deciles 3 and 9), the one-off lunch nothing, the
-- registry's cash not paid yet
SELECT area_code, decile, households, beneficiary_households, monthly_value, share_of_value, suppressed
FROM sp.benefit_incidence(1, 'ov_pmt') WHERE area_code LIKE 'OV%';
-- how much reaches the poorest 20 % of the country
SELECT sum((share_of_value ->> 'USD')::numeric) FILTER (WHERE decile <= 2) AS poorest_fifth_share
FROM sp.benefit_incidence(0, 'ov_pmt') WHERE area_code = 'OV';
SELECT sp.benefit_incidence(1, 'nope');

-- analysts: counts from 1 to 9 withheld (min_cell_size 10), and no published
-- count gives one back: per area, the combinations add up to the area's
-- households (published by coverage_by_area); per combination, the areas to
-- the country's; and per area, the combinations with the same registry
-- programmes add up to the households the analyst counts from the
-- enrolments they read (so a 0 beside a small count may be withheld too)
CREATE ROLE sp_test_ov_analyst IN ROLE sp_analyst;
SELECT sp.grant_area_scope('sp_test_ov_analyst', 'OV') ->> 'admin_area_code' AS scope;
SET ROLE sp_test_ov_analyst;
CREATE TEMP TABLE ov_pub AS
SELECT 1 AS level, area_code, programmes, households, suppressed FROM sp.programme_overlap(1) WHERE area_code LIKE 'OV%'
UNION ALL SELECT 0, area_code, programmes, households, suppressed FROM sp.programme_overlap(0) WHERE area_code = 'OV';
SELECT level, area_code, programmes, households, suppressed FROM ov_pub ORDER BY level, area_code, programmes;
SELECT count(*) FILTER (WHERE households BETWEEN 1 AND 9) AS small_cells_shown FROM ov_pub;
-- within an area: none withheld, or at least two adding up to 10 or more (true counts, from the owner's view below)
RESET ROLE;
CREATE TEMP TABLE ov_true AS
SELECT 1 AS level, area_code, programmes, households FROM sp.programme_overlap(1) WHERE area_code LIKE 'OV%'
UNION ALL SELECT 0, area_code, programmes, households FROM sp.programme_overlap(0) WHERE area_code = 'OV';
SELECT count(*) AS areas_breaking_the_rule FROM (
    SELECT p.level, p.area_code FROM ov_pub p JOIN ov_true t USING (level, area_code, programmes)
    GROUP BY p.level, p.area_code
    HAVING count(*) FILTER (WHERE p.suppressed AND t.households > 0) = 1
        OR (count(*) FILTER (WHERE p.suppressed AND t.households > 0) > 1 AND sum(t.households) FILTER (WHERE p.suppressed) < 10)) x;
SELECT count(*) AS combinations_breaking_the_rule FROM (
    SELECT p.programmes FROM ov_pub p JOIN ov_true t USING (level, area_code, programmes)
    WHERE p.level = 1
    GROUP BY p.programmes
    HAVING (bool_or((SELECT q.suppressed FROM ov_pub q WHERE q.level = 0 AND q.programmes = p.programmes)) IS NOT TRUE
            AND (count(*) FILTER (WHERE p.suppressed AND t.households > 0) = 1
                 OR (count(*) FILTER (WHERE p.suppressed AND t.households > 0) > 1 AND sum(t.households) FILTER (WHERE p.suppressed) < 10)))) x;
-- the households of each area by the registry's programmes they receive
-- (what the analyst counts): none of the groups gives a withheld count back
-- (where the group's own total is below 10, the analyst knows that sum
-- anyway: then at least two counts are withheld)
SELECT count(*) AS registry_groups_breaking_the_rule FROM (
    SELECT p.level, p.area_code, ARRAY(SELECT u FROM unnest(p.programmes) u WHERE u IN (SELECT name FROM sp.programme) ORDER BY u) AS rpart
    FROM ov_pub p JOIN ov_true t USING (level, area_code, programmes)
    GROUP BY 1, 2, 3
    HAVING count(*) FILTER (WHERE p.suppressed) = 1
        OR (count(*) FILTER (WHERE p.suppressed) > 1 AND sum(t.households) FILTER (WHERE p.suppressed) < least(10, sum(t.households)))) x;
SELECT count(DISTINCT (p.level, p.area_code, ARRAY(SELECT u FROM unnest(p.programmes) u WHERE u IN (SELECT name FROM sp.programme) ORDER BY u)))
       AS registry_groups_checked FROM ov_pub p;
SET ROLE sp_test_ov_analyst;
SELECT count(*) FILTER (WHERE households BETWEEN 1 AND 9 OR beneficiary_households BETWEEN 1 AND 9) AS small_deciles_shown,
       count(*) FILTER (WHERE suppressed) > 0 AS some_withheld
FROM sp.benefit_incidence(1, 'ov_pmt') WHERE area_code LIKE 'OV%';
-- nor by difference: a decile's households less those receiving are those
-- receiving nothing, a count like any other
SELECT count(*) FILTER (WHERE households - beneficiary_households BETWEEN 1 AND 9) AS small_differences_shown,
       count(*) FILTER (WHERE households IS NOT NULL) AS deciles_shown
FROM sp.benefit_incidence(1, 'ov_pmt') WHERE area_code LIKE 'OV%';
SELECT count(*) FILTER (WHERE receiving_nothing BETWEEN 1 AND 9) AS small_gaps_shown,
       count(*) FILTER (WHERE receiving_nothing - eligible_by_rule BETWEEN 1 AND 9 OR receiving_nothing - eligible_by_pmt BETWEEN 1 AND 9
                        OR receiving_nothing - eligible_by_mpi BETWEEN 1 AND 9) AS small_differences_shown
FROM sp.coverage_gap_summary('ov_elderly', 1) WHERE area_code LIKE 'OV%';
-- no household lists, no level below the de-identified one
SELECT count(*) FROM sp.coverage_gaps('ov_elderly');
SELECT count(*) FROM sp.duplicate_beneficiaries();
SELECT count(*) FROM sp.programme_overlap(3);
RESET ROLE;
DROP TABLE ov_pub;
DROP OWNED BY sp_test_ov_analyst;
DROP ROLE sp_test_ov_analyst;
