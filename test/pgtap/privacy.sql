-- Privacy: consent records; what analysts see (de-identified views, small-cell suppression),
-- who may change the privacy settings, and retention (sp.apply_retention):
-- pseudonymisation of closed records and their history, per-variable
-- retention, rejected documents, and what is held back or kept.
BEGIN;
SELECT plan(54);

SET LOCAL client_min_messages = warning;
INSERT INTO sp.admin_area (code, parent_code, level, name) VALUES
    ('PV', NULL, 0, 'Privland'), ('PV01', 'PV', 1, 'Region'), ('PV0101', 'PV01', 2, 'District'),
    ('PV010101', 'PV0101', 3, 'Big ward'), ('PV010102', 'PV0101', 3, 'Small ward');
INSERT INTO sp.variable (code, label, entity, value_type) VALUES
    ('pv_landmark', 'Nearest landmark', 'household', 'text'),
    ('pv_clan', 'Clan', 'household', 'integer'),
    ('pv_condition', 'Chronic condition', 'person', 'boolean');
INSERT INTO sp.variable_policy (code, purpose, identifying) VALUES ('pv_clan', 'Targeting of clan-based programmes', true);
INSERT INTO sp.variable_policy (code, purpose, retention) VALUES ('pv_condition', 'Disability grant eligibility', '30 days');

-- 12 households in the big ward, 3 in the small one
SELECT sp.import_registrations(jsonb_agg(jsonb_build_object(
    'submission_id', gen_random_uuid(), 'admin_area_code', CASE WHEN i <= 12 THEN 'PV010101' ELSE 'PV010102' END,
    'location', jsonb_build_object('lat', 1 + i / 100.0, 'lon', 2),
    'attributes', jsonb_build_object('rooms', 1 + i % 3, 'pv_landmark', 'blue mosque', 'pv_clan', 7),
    'members', jsonb_build_array(
        jsonb_build_object('given_name', 'Amina' || i, 'family_name', 'Warsame', 'birth_date', '1980-05-17', 'sex', 'F',
                           'relationship_to_head', 'head', 'national_id', 'PV-' || i, 'phone', '+25261000' || lpad(i::text, 4, '0'),
                           'attributes', jsonb_build_object('pv_condition', true)),
        jsonb_build_object('given_name', 'Child' || i, 'family_name', 'Warsame', 'birth_date', '2018-02-03', 'sex', 'M',
                           'relationship_to_head', 'child')))))
FROM generate_series(1, 15) i;
CREATE TEMP TABLE pv_hh AS
SELECT h.household_id, row_number() OVER (ORDER BY h.household_id) AS i FROM sp.household h WHERE h.admin_area_code LIKE 'PV%';
GRANT SELECT ON pv_hh TO PUBLIC;

CREATE ROLE pv_analyst IN ROLE sp_analyst;
CREATE ROLE pv_officer IN ROLE sp_programme_officer;
CREATE ROLE pv_region_admin IN ROLE sp_admin;
CREATE ROLE pv_admin IN ROLE sp_admin;
SELECT sp.grant_area_scope(r, 'PV') FROM unnest(ARRAY['pv_analyst', 'pv_officer']) r;
SELECT sp.grant_area_scope('pv_region_admin', 'PV01');
SELECT sp.grant_area_scope('pv_admin', code) FROM sp.admin_area WHERE parent_code IS NULL;

-- 1-3: analysts read no household table column but the key
SET LOCAL ROLE pv_analyst;
SELECT throws_ok('SELECT location FROM sp.household', '42501', NULL, 'an analyst cannot read household locations');
SELECT throws_ok('SELECT attributes, admin_area_code FROM sp.household', '42501', NULL,
                 'an analyst cannot read household attributes or exact areas');
SELECT throws_ok('SELECT admin_area_code FROM sp.enrolment_summary', '42501', NULL,
                 'an analyst cannot read exact per-ward counts (sp.enrolment_summary)');

-- 4-8: the de-identified views
SELECT results_eq('SELECT DISTINCT admin_area_code FROM sp.household_deidentified', $$VALUES ('PV0101')$$,
                  'de-identified households show the district (level 2), not the ward');
SELECT results_eq('SELECT DISTINCT admin_area_code FROM sp.person_deidentified', $$VALUES ('PV0101')$$,
                  'de-identified persons show the district, not the ward');
SELECT is((SELECT array_agg(DISTINCT k ORDER BY k) FROM sp.household_deidentified, jsonb_object_keys(attributes) k),
          ARRAY['rooms'], 'de-identified attributes leave out text variables and identifying ones');
SELECT is((SELECT count(*)::int FROM sp.household_deidentified WHERE household_size = 2), 15,
          'member-derived variables are there');
SELECT is((SELECT count(*)::int FROM sp.person_deidentified WHERE birth_year = 1980 AND sex = 'F'), 15,
          'de-identified persons keep birth year and sex');
SELECT is((SELECT count(*)::int FROM sp.person_deidentified
           WHERE age_years IS DISTINCT FROM extract(year FROM current_date)::int - birth_year), 0,
          'the age shown is the age reached this year (from the birth year), not one that reveals the birth date');
SET LOCAL enable_seqscan = off;
SET LOCAL enable_hashjoin = off;
SET LOCAL enable_mergejoin = off;
SELECT ok((SELECT array_agg(household_id) = array_agg(household_id ORDER BY household_id) FROM (SELECT household_id FROM sp.household_deidentified) x)
          AND (SELECT array_agg(person_id) = array_agg(person_id ORDER BY person_id) FROM (SELECT person_id FROM sp.person_deidentified) x),
          'de-identified rows come in id order whatever the plan (an area-ordered scan would give the exact area back)');
RESET enable_seqscan;
RESET enable_hashjoin;
RESET enable_mergejoin;
SELECT throws_ok('SELECT quota_area FROM sp.enrolment', '42501', NULL, 'an analyst cannot read quota areas (exact areas) of enrolments');
SELECT throws_ok('SELECT failed_conditions FROM sp.eligibility_decision', '42501', NULL,
                 'nor the failed conditions of decisions (they name areas and identifying variables)');
SELECT throws_ok('SELECT reason FROM sp.enrolment_history', '42501', NULL, 'nor the free-text reasons staff write');
RESET ROLE;

-- 9-12: who changes the privacy settings
SET LOCAL ROLE pv_analyst;
SELECT throws_ok($$INSERT INTO sp.privacy_setting (name, value) VALUES ('min_cell_size', 1)$$, '42501', NULL,
                 'an analyst cannot lower the suppression threshold');
RESET ROLE;
SET LOCAL ROLE pv_region_admin;
SELECT throws_ok($$INSERT INTO sp.privacy_setting (name, value) VALUES ('deidentified_area_level', 3)$$, '42501',
                 'changing privacy settings needs national scope', 'an administrator of one region cannot change them');
RESET ROLE;
SET LOCAL ROLE pv_admin;
SELECT throws_ok($$INSERT INTO sp.privacy_setting (name, value) VALUES ('min_cell_size', 0)$$, '23514', NULL,
                 'a threshold below 1 is refused');
INSERT INTO sp.privacy_setting (name, value) VALUES ('deidentified_area_level', 1);
RESET ROLE;
SET LOCAL ROLE pv_analyst;
SELECT results_eq('SELECT DISTINCT admin_area_code FROM sp.household_deidentified', $$VALUES ('PV01')$$,
                  'a national administrator coarsens the de-identified area to the region');
RESET ROLE;
DELETE FROM sp.privacy_setting WHERE name = 'deidentified_area_level';

-- 13-16: small cells in aggregates
SELECT sp.create_pmt_model('pv_pmt', '{"intercept": 0, "terms": [{"variable": "rooms", "coefficient": 1}], "cutoffs": [{"value": 10}]}');
SELECT sp.activate_pmt_model('pv_pmt', 1);
SELECT sp.score_households('pv_pmt', 'PV');
INSERT INTO sp.programme (name, title, benefit_type, rule, ranking)
VALUES ('pv_grant', 'Grant', 'cash', '{"all": [{"area": "PV"}, {"pmt": {"model": "pv_pmt", "below_cutoff": true}}]}', '{"pmt": "pv_pmt"}');
SET LOCAL ROLE pv_officer;
SELECT sp.determine_eligibility('pv_grant');
RESET ROLE;
SET LOCAL ROLE pv_analyst;
SELECT throws_ok($$SELECT * FROM sp.programme_summary('pv_grant', 3)$$, '42501', 'aggregates below area level 2 are not available to role pv_analyst',
                 'an analyst gets no aggregate below the de-identified level');
RESET ROLE;
-- the suppression tests below look at wards: the de-identified level is lowered to them
INSERT INTO sp.privacy_setting (name, value) VALUES ('deidentified_area_level', 3);
SET LOCAL ROLE pv_officer;
SELECT results_eq($$SELECT area_code, eligible FROM sp.programme_summary('pv_grant', 3)$$,
                  $$VALUES ('PV010101', 12::bigint), ('PV010102', 3::bigint)$$,
                  'a programme officer (who reads exact household areas) sees exact counts');
RESET ROLE;
SET LOCAL ROLE pv_analyst;
SELECT results_eq($$SELECT area_code, eligible, enrolled FROM sp.programme_summary('pv_grant', 3)$$,
                  $$VALUES ('PV010101', 12::bigint, 0::bigint), ('PV010102', NULL, 0)$$,
                  'an analyst sees a count below 10 as NULL (zero stays zero)');
RESET ROLE;
SELECT sp.create_mpi_model('pv_mpi', '{"k": 0.5, "dimensions": [{"name": "living", "indicators": [
    {"name": "rooms", "deprived_if": {"variable": "rooms", "op": "<", "value": 3}}]}]}');
SELECT sp.activate_mpi_model('pv_mpi', 1);
SELECT sp.mpi_assess_households('pv_mpi', 'PV');
SET LOCAL ROLE pv_analyst;
SELECT results_eq($$SELECT area_code, households, poor_households, h IS NULL, a IS NULL, m0 IS NULL FROM sp.mpi_area_summary('pv_mpi', 3)$$,
                  $$VALUES ('PV010101', 12::bigint, NULL::bigint, true, true, true), ('PV010102', NULL, NULL, true, true, true)$$,
                  'MPI aggregates: small counts, counts whose complement is small (4 non-poor of 12) and the ratios they reveal are NULL for an analyst');
RESET ROLE;
INSERT INTO sp.privacy_setting (name, value) VALUES ('min_cell_size', 3);
SET LOCAL ROLE pv_analyst;
SELECT results_eq($$SELECT area_code, eligible FROM sp.programme_summary('pv_grant', 3)$$,
                  $$VALUES ('PV010101', 12::bigint), ('PV010102', 3::bigint)$$,
                  'the threshold follows the privacy setting');
RESET ROLE;
DELETE FROM sp.privacy_setting WHERE name = 'deidentified_area_level';

-- 17-20: retention needs a national administrator; nothing happens without a period
SET LOCAL ROLE pv_analyst;
SELECT throws_ok('SELECT sp.apply_retention()', '42501', NULL, 'an analyst cannot apply retention');
RESET ROLE;
SET LOCAL ROLE pv_region_admin;
SELECT throws_ok('SELECT sp.apply_retention()', '42501', 'applying retention needs national scope',
                 'an administrator of one region cannot apply retention');
RESET ROLE;
SET LOCAL ROLE pv_admin;
SELECT throws_ok($$SET sp_registry.applying_retention = on$$, '42501', NULL,
                 'no role can raise the flag that lets retention edit history');
SELECT is(sp.apply_retention() -> 'persons_pseudonymised', '0', 'no closed-record retention period set: nobody is pseudonymised');
RESET ROLE;

-- Closed records, made old: household 13 inactive (with its members); a
-- deceased head in household 1 (active); household 14 inactive but still
-- enrolled (held); the backdating below is what time would do.
SELECT sp.set_household_status((SELECT household_id FROM pv_hh WHERE i = 13), 'inactive', 'moved abroad');
SELECT sp.set_household_status((SELECT household_id FROM pv_hh WHERE i = 14), 'inactive', 'moved abroad');
SELECT sp.set_enrolment_state((SELECT enrolment_id FROM sp.enrolment WHERE programme = 'pv_grant'
                                AND household_id = (SELECT household_id FROM pv_hh WHERE i = 14)), 'enrolled', 'still paid');
SELECT sp.set_person_status((SELECT min(p.person_id) FROM sp.person p JOIN pv_hh USING (household_id) WHERE i = 1), 'deceased', 'death certificate');
SET LOCAL session_replication_role = replica;
UPDATE sp.household SET updated_at = now() - interval '60 days' WHERE household_id IN (SELECT household_id FROM pv_hh WHERE i IN (13, 14));
UPDATE sp.person SET updated_at = now() - interval '60 days'
WHERE household_id IN (SELECT household_id FROM pv_hh WHERE i IN (13, 14)) OR status = 'deceased' AND admin_area_code LIKE 'PV%';
-- pv_condition values of households 2 and 3 were last surveyed 60 days ago (and once changed since registration)
UPDATE sp.person SET updated_at = now() - interval '60 days'
WHERE household_id IN (SELECT household_id FROM pv_hh WHERE i IN (2, 3)) AND relationship_to_head = 'head';
UPDATE sp.person_history SET updated_at = now() - interval '90 days' WHERE admin_area_code LIKE 'PV%';
-- household 5 was last surveyed 90 days ago: two of its variables are past retention at once
UPDATE sp.household SET updated_at = now() - interval '90 days' WHERE household_id = (SELECT household_id FROM pv_hh WHERE i = 5);
INSERT INTO sp.import_error (sqlstate, message, document, received_at)
VALUES ('22007', 'old rejected document', '{"members": [{"given_name": "Old"}]}', now() - interval '400 days'),
       ('22007', 'new rejected document', '{"members": [{"given_name": "New"}]}', now());
RESET session_replication_role;
CREATE TEMP TABLE pv_target AS
SELECT p.person_id, p.household_id FROM sp.person p JOIN pv_hh USING (household_id)
WHERE i = 13 OR p.status = 'deceased';
GRANT SELECT ON pv_target TO PUBLIC;

SET LOCAL ROLE pv_admin;
INSERT INTO sp.privacy_setting (name, value) VALUES ('closed_record_retention_days', 30), ('import_error_retention_days', 365);
UPDATE sp.variable_policy SET retention = '60 days' WHERE code = 'pv_clan';
INSERT INTO sp.variable_policy (code, purpose, retention) VALUES ('rooms', 'PMT', '30 days');

-- 21-22: a dry run counts and changes nothing
SELECT is(sp.apply_retention(true) - 'closed_record_retention_days' - 'import_error_retention_days' - 'dry_run',
          '{"households_pseudonymised": 1, "persons_pseudonymised": 3, "households_held_by_open_enrolments": 1,
            "persons_held_by_open_enrolments": 0, "variable_values_removed": {"pv_clan": 1, "pv_condition": 5, "rooms": 3}, "import_errors_deleted": 1}'::jsonb,
          'a dry run counts: household 13 and its 2 members, the deceased head; household 14 held by its enrolment; stale values');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM sp.person WHERE person_id IN (SELECT person_id FROM pv_target) AND given_name IS NOT NULL), 3,
          'and changes nothing');

-- 23-30: the real run
SET LOCAL ROLE pv_admin;
SELECT is((sp.apply_retention() ->> 'persons_pseudonymised')::int, 3, 'retention pseudonymises the three persons');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM sp.person p WHERE p.person_id IN (SELECT person_id FROM pv_target)
             AND p.given_name IS NULL AND p.family_name IS NULL AND p.national_id_hash IS NULL AND p.phone_enc IS NULL
             AND p.birth_date_precision = 'year' AND p.pseudonymised_at IS NOT NULL), 3,
          'names, identifiers and phone are gone; the birth date is reduced to the year');
SELECT is((SELECT count(*)::int FROM sp.person_history h WHERE h.person_id IN (SELECT person_id FROM pv_target)
             AND (h.given_name IS NOT NULL OR h.national_id_enc IS NOT NULL OR h.birth_date_precision = 'day')), 0,
          'and gone from their history too');
SELECT ok((SELECT count(*) FROM sp.person_history h WHERE h.person_id IN (SELECT person_id FROM pv_target)
           AND h.change_reason LIKE 'retention: record closed%') = 3, 'the history records that retention changed them');
SELECT is((SELECT count(*)::int FROM sp.person p WHERE p.person_id IN (SELECT person_id FROM pv_target)
             AND p.sex IS NOT NULL AND p.status IN ('active', 'deceased')), 3, 'sex and status stay (statistics)');
SELECT is((SELECT count(*) FROM sp.find_person_by_national_id('PV-13', 'privacy test: pseudonymised ID')), 0::bigint,
          'a pseudonymised person is no longer found by national ID');
SELECT results_eq($$SELECT location IS NULL, attributes ? 'pv_clan', attributes ? 'rooms', pseudonymised_at IS NOT NULL
                    FROM sp.household WHERE household_id IN (SELECT household_id FROM pv_hh WHERE i IN (13, 14)) ORDER BY household_id$$,
                  $$VALUES (true, false, false, true), (false, true, false, false)$$,
                  'the closed household loses its location and identifying attributes; the enrolled one is held (and both lose stale rooms)');
SELECT results_eq($$SELECT attributes ? 'rooms', attributes ? 'pv_clan', updated_at < now() - interval '80 days'
                    FROM sp.household WHERE household_id = (SELECT household_id FROM pv_hh WHERE i = 5)$$,
                  $$VALUES (false, false, true)$$,
                  'two stale values of one household go in one run, and removing them does not make the record look freshly surveyed');
SELECT is((SELECT count(*)::int FROM sp.person_history h WHERE h.person_id IN (SELECT person_id FROM pv_target)
             AND h.change_reason NOT LIKE 'retention:%' AND h.change_reason <> 'removed by retention'), 0,
          'the reasons staff wrote about pseudonymised persons are removed too');
SELECT is((SELECT count(*)::int FROM sp.enrolment e WHERE e.household_id = (SELECT household_id FROM pv_hh WHERE i = 13)
             AND e.reason <> 'removed by retention'), 0, 'and the reasons of their enrolments');
SELECT is((SELECT count(*)::int FROM sp.person WHERE household_id = (SELECT household_id FROM pv_hh WHERE i = 14) AND given_name IS NOT NULL), 2,
          'members of a household with an open enrolment keep their names');

-- 31-32: per-variable retention, in live rows and history
SELECT results_eq($$SELECT i::int, p.attributes ? 'pv_condition' FROM sp.person p JOIN pv_hh USING (household_id)
                    WHERE relationship_to_head = 'head' AND i IN (2, 3, 4) ORDER BY i$$,
                  $$VALUES (2, false), (3, false), (4, true)$$,
                  'a condition last surveyed longer ago than its retention is removed; a recent one stays');
SELECT is((SELECT count(*)::int FROM sp.person_history h WHERE h.attributes ? 'pv_condition' AND h.updated_at < now() - interval '30 days'), 0,
          'and no old value of it is left in history');

-- 33-34: rejected documents; the run is recorded, and a second run does nothing
SELECT results_eq($$SELECT message FROM sp.import_error WHERE message LIKE '% rejected document'$$, $$VALUES ('new rejected document')$$,
                  'rejected documents older than their retention are deleted');
SET LOCAL ROLE pv_admin;
SELECT is((SELECT (r ->> 'persons_pseudonymised')::int + (r ->> 'import_errors_deleted')::int
                  + (SELECT coalesce(sum(v::text::int), 0)::int FROM jsonb_each(r -> 'variable_values_removed') x (k, v)) FROM sp.apply_retention() r)
          + (SELECT count(*)::int FROM sp.audit_log WHERE action = 'retention' AND acting_role = 'pv_admin')
          + (SELECT count(*)::int FROM sp.retention_run WHERE run_by = 'pv_admin'), 2,
          'the run is in sp.retention_run and the audit log; running it again changes nothing');
RESET ROLE;

-- 35-44: consent
CREATE ROLE pv_registrar IN ROLE sp_registrar;
CREATE ROLE pv_other_registrar IN ROLE sp_registrar;
SELECT sp.grant_area_scope('pv_registrar', 'PV');
INSERT INTO sp.admin_area (code, parent_code, level, name) VALUES ('PW', NULL, 0, 'Elsewhere');
SELECT sp.grant_area_scope('pv_other_registrar', 'PW');
SET LOCAL ROLE pv_registrar;
CREATE TEMP TABLE pv_reg AS SELECT sp.register_household('{"admin_area_code": "PV010102", "members": [
    {"given_name": "Hodan", "relationship_to_head": "head", "consent": {"data_sharing": true, "contact": false}},
    {"given_name": "Ayaan", "relationship_to_head": "child"}]}') AS r;
RESET ROLE;
CREATE TEMP TABLE pv_c AS SELECT (r -> 'person_ids' ->> 0)::bigint AS head, (r -> 'person_ids' ->> 1)::bigint AS child FROM pv_reg;
GRANT SELECT ON pv_c TO PUBLIC;
SELECT results_eq($$SELECT purpose, granted, source, recorded_by FROM sp.consent WHERE person_id = (SELECT head FROM pv_c) ORDER BY purpose$$,
                  $$VALUES ('contact', false, 'registration', 'pv_registrar'), ('data_sharing', true, 'registration', 'pv_registrar')$$,
                  'consent in a registration document is recorded per purpose, with who recorded it');
SELECT results_eq($$SELECT sp_internal.has_consent(head, 'data_sharing'), sp_internal.has_consent(head, 'contact'),
                           sp_internal.has_consent(head, 'research'), sp_internal.has_consent(child, 'data_sharing') FROM pv_c$$,
                  $$VALUES (true, false, false, false)$$,
                  'has_consent: granted, refused, never asked (no), nobody asked for the child (no)');
SET LOCAL ROLE pv_registrar;
SELECT throws_ok($$SELECT sp.register_household('{"admin_area_code": "PV010102", "members": [
    {"given_name": "X", "relationship_to_head": "head", "consent": {"data_sharing": "yes"}}]}')$$,
    '22023', 'members[0].consent.data_sharing: expected true or false', 'a consent that is not a boolean is refused, naming the field');
SELECT throws_ok($$SELECT sp.register_household('{"admin_area_code": "PV010102", "members": [
    {"given_name": "X", "relationship_to_head": "head", "consent": {"marketing": true}}]}')$$,
    '22023', NULL, 'an unknown consent purpose is refused');
SELECT is((sp.record_consent((SELECT head FROM pv_c), 'data_sharing', false, 'phone call', 'withdrew consent')).granted, false,
          'a registrar records a withdrawal');
SELECT throws_ok($$SELECT sp.record_consent((SELECT head FROM pv_c), 'research', true, 'form', NULL, current_date - 1)$$,
                 '22023', NULL, 'a consent that ended yesterday is refused');
SELECT sp.update_person((SELECT child FROM pv_c), '{"consent": {"research": true}}', 'guardian signed the research form');
SELECT results_eq($$SELECT purpose, in_force, source FROM sp.current_consent WHERE person_id = (SELECT child FROM pv_c)$$,
                  $$VALUES ('research', true, 'correction')$$, 'a correction can record consent too');
RESET ROLE;
SELECT is(sp_internal.has_consent((SELECT head FROM pv_c), 'data_sharing'), false, 'after a withdrawal there is no consent');
SET LOCAL ROLE pv_other_registrar;
SELECT throws_ok($$SELECT sp.record_consent((SELECT head FROM pv_c), 'contact', true, 'form')$$, 'P0002', NULL,
                 'a registrar of another area cannot record consent for this person (not found)');
RESET ROLE;
SELECT throws_ok($$UPDATE sp.consent SET granted = true WHERE person_id = (SELECT head FROM pv_c)$$, '23001', NULL,
                 'consent records are append-only, even for a superuser');
SELECT sp.record_consent((SELECT child FROM pv_c), 'contact', true, 'form', NULL, (now() AT TIME ZONE 'UTC')::date);
SET LOCAL TimeZone = 'Pacific/Kiritimati';
SELECT ok(sp_internal.has_consent((SELECT child FROM pv_c), 'contact'),
          'a consent valid until today (UTC) holds whatever time zone the session chose');
RESET TimeZone;

SELECT * FROM finish();
ROLLBACK;
