-- Privileges of the shipped roles, and pg_dump configuration.
--
-- Registry data lives in tables created by the extension: without
-- pg_extension_config_dump, pg_dump would save the schema but not the rows.

SELECT pg_catalog.pg_extension_config_dump('sp.admin_area', '');
SELECT pg_catalog.pg_extension_config_dump('sp.variable', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('sp.relationship_type', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('sp.household', '');
SELECT pg_catalog.pg_extension_config_dump('sp.person', '');
SELECT pg_catalog.pg_extension_config_dump('sp.household_history', '');
SELECT pg_catalog.pg_extension_config_dump('sp.person_history', '');
SELECT pg_catalog.pg_extension_config_dump('sp.pii_access_log', '');
SELECT pg_catalog.pg_extension_config_dump('sp_internal.pii_key', '');
SELECT pg_catalog.pg_extension_config_dump('sp.import_batch', '');
SELECT pg_catalog.pg_extension_config_dump('sp.registration_submission', '');
SELECT pg_catalog.pg_extension_config_dump('sp.import_error', '');
SELECT pg_catalog.pg_extension_config_dump('sp.linkage_model', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('sp.linkage_training', '');
SELECT pg_catalog.pg_extension_config_dump('sp.dedup_run', '');
SELECT pg_catalog.pg_extension_config_dump('sp.person_cluster', '');
SELECT pg_catalog.pg_extension_config_dump('sp.match_review', '');
SELECT pg_catalog.pg_extension_config_dump('sp.person_merge', '');
SELECT pg_catalog.pg_extension_config_dump('sp.registration_duplicate', '');
SELECT pg_catalog.pg_extension_config_dump('sp.pmt_model', '');
SELECT pg_catalog.pg_extension_config_dump('sp.assessment', '');
SELECT pg_catalog.pg_extension_config_dump('sp.mpi_model', '');
SELECT pg_catalog.pg_extension_config_dump('sp.mpi_assessment', '');
SELECT pg_catalog.pg_extension_config_dump('sp.programme', '');
SELECT pg_catalog.pg_extension_config_dump('sp.programme_history', '');
SELECT pg_catalog.pg_extension_config_dump('sp.programme_quota', '');
SELECT pg_catalog.pg_extension_config_dump('sp.programme_quota_history', '');
SELECT pg_catalog.pg_extension_config_dump('sp.eligibility_run', '');
SELECT pg_catalog.pg_extension_config_dump('sp.eligibility_decision', '');
SELECT pg_catalog.pg_extension_config_dump('sp.eligibility_review', '');
SELECT pg_catalog.pg_extension_config_dump('sp.enrolment', '');
SELECT pg_catalog.pg_extension_config_dump('sp.enrolment_history', '');
SELECT pg_catalog.pg_extension_config_dump('sp_internal.merge_enrolment', '');
-- Identity sequences, one call per statement (each call updates pg_extension).
SELECT pg_catalog.pg_extension_config_dump('sp.household_household_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sp.person_person_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sp.household_history_history_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sp.person_history_history_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sp.pii_access_log_log_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sp.import_batch_batch_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sp.import_error_error_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sp.linkage_training_training_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sp.dedup_run_run_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sp.match_review_review_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sp.person_merge_merge_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sp.assessment_assessment_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sp.mpi_assessment_mpi_assessment_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sp.programme_history_history_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sp.programme_quota_history_history_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sp.eligibility_run_run_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sp.eligibility_review_review_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sp.enrolment_enrolment_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sp.enrolment_history_history_id_seq', '');

-- Nothing is granted to PUBLIC beyond what PostgreSQL grants by default on
-- functions; PII functions had EXECUTE revoked where they are defined.
REVOKE ALL ON ALL TABLES IN SCHEMA sp FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA sp_internal FROM PUBLIC;

-- Analysts: catalogues, areas, households and de-identified persons.
GRANT SELECT ON sp.admin_area, sp.variable, sp.relationship_type, sp.household,
                sp.household_history, sp.person_deidentified, sp.import_batch
    TO sp_analyst;

-- Registrars: register and maintain households and persons.  They read
-- persons without the encrypted identifiers and blind indexes: with the
-- blind index in hand, sp_internal.protect_identifiers (which they need to
-- write) would let them look persons up by ID without the audit log.
GRANT SELECT ON sp.admin_area, sp.variable, sp.relationship_type, sp.household,
                sp.household_history, sp.person_deidentified,
                sp.registration_submission, sp.import_batch, sp.import_error
    TO sp_registrar;
GRANT SELECT (person_id, household_id, given_name, family_name, other_names, birth_date, birth_date_precision,
              sex, relationship_to_head, attributes, status, merged_into, registered_at, registered_by,
              updated_at, updated_by, version)
    ON sp.person TO sp_registrar;
GRANT SELECT (person_id, household_id, given_name, family_name, other_names, birth_date, birth_date_precision,
              sex, relationship_to_head, attributes, status, merged_into, registered_at, registered_by,
              updated_at, updated_by, version, operation, changed_at, changed_by, change_reason, history_id)
    ON sp.person_history TO sp_registrar;
GRANT INSERT, UPDATE ON sp.household, sp.person TO sp_registrar;
GRANT INSERT ON sp.household_history, sp.person_history, sp.registration_submission,
                sp.import_batch, sp.import_error TO sp_registrar;
GRANT UPDATE ON sp.import_batch TO sp_registrar;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA sp TO sp_registrar;
GRANT EXECUTE ON FUNCTION sp_internal.protect_identifiers(bigint[], jsonb[]), sp_internal.blind_index(text, text)
    TO sp_registrar;
GRANT EXECUTE ON FUNCTION sp.find_person_by_national_id(text, text) TO sp_registrar;

-- PII readers: decrypt identifiers (audited).
GRANT EXECUTE ON FUNCTION sp_internal.read_pii(bigint, text, text), sp.person_national_id(bigint, text),
                          sp.person_phone(bigint, text)
    TO sp_pii_reader;

-- Admins: everything registrars and analysts can do, plus the catalogues.
DO $members$
BEGIN
    -- memberships are cluster-wide and may survive an earlier DROP EXTENSION
    IF NOT pg_catalog.pg_has_role('sp_admin', 'sp_registrar', 'MEMBER') THEN
        GRANT sp_registrar TO sp_admin;
    END IF;
    IF NOT pg_catalog.pg_has_role('sp_admin', 'sp_analyst', 'MEMBER') THEN
        GRANT sp_analyst TO sp_admin;
    END IF;
END
$members$;
GRANT INSERT, UPDATE ON sp.admin_area, sp.variable, sp.relationship_type TO sp_admin;
GRANT SELECT ON sp.pii_access_log TO sp_admin;
GRANT SELECT ON sp.linkage_model, sp.linkage_training TO sp_analyst, sp_registrar;
GRANT INSERT, UPDATE ON sp.linkage_model TO sp_admin;
GRANT INSERT ON sp.linkage_training TO sp_admin;
GRANT USAGE ON SEQUENCE sp.linkage_training_training_id_seq TO sp_admin;

-- Deduplication is an admin task (it reads the blind indexes); registrars
-- see and decide the review queue.
GRANT SELECT ON sp.person, sp.person_history, sp_internal.person_linkage_input TO sp_admin;
GRANT SELECT ON sp.dedup_run, sp.person_cluster, sp.match_review, sp.person_merge TO sp_registrar, sp_analyst;
GRANT INSERT, UPDATE ON sp.dedup_run, sp.match_review TO sp_admin;
GRANT INSERT ON sp.person_cluster TO sp_admin;
GRANT UPDATE ON sp.match_review TO sp_registrar;
GRANT INSERT, UPDATE ON sp.person_merge TO sp_registrar;
GRANT USAGE ON SEQUENCE sp.dedup_run_run_id_seq, sp.match_review_review_id_seq TO sp_admin;
GRANT USAGE ON SEQUENCE sp.person_merge_merge_id_seq TO sp_registrar;
REVOKE ALL ON FUNCTION sp.deduplicate_persons(text, float8, float8) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sp.deduplicate_persons(text, float8, float8) TO sp_admin;
-- the duplicate check at registration compares blind indexes as the owner
GRANT EXECUTE ON FUNCTION sp_internal.check_new_persons(bigint[]) TO sp_registrar;
GRANT SELECT ON sp.registration_duplicate TO sp_registrar;
GRANT SELECT ON sp.registration_duplicate TO sp_analyst;

-- Targeting: analysts read models and assessments; admins manage models and run scoring.
GRANT SELECT ON sp.pmt_model, sp.assessment, sp.current_assessment TO sp_analyst, sp_registrar;
GRANT INSERT, UPDATE ON sp.pmt_model TO sp_admin;
GRANT INSERT ON sp.assessment TO sp_admin, sp_registrar;
GRANT USAGE ON SEQUENCE sp.assessment_assessment_id_seq TO sp_admin, sp_registrar;

-- Multidimensional poverty: as PMT.
GRANT SELECT ON sp.mpi_model, sp.mpi_assessment, sp.current_mpi_assessment, sp.household_profile, sp.admin_area_ancestor
    TO sp_analyst, sp_registrar;
GRANT INSERT, UPDATE ON sp.mpi_model TO sp_admin;
GRANT INSERT ON sp.mpi_assessment TO sp_admin;
GRANT USAGE ON SEQUENCE sp.mpi_assessment_mpi_assessment_id_seq TO sp_admin;

-- Programmes: admins define programmes and quotas and run eligibility and
-- enrolment; registrars (caseworkers) decide reviews, suspend, reinstate and
-- exit enrolments; analysts read everything.
GRANT SELECT ON sp.programme, sp.programme_history, sp.programme_quota, sp.programme_quota_history,
                sp.eligibility_run, sp.eligibility_decision, sp.eligibility_review, sp.enrolment,
                sp.enrolment_history, sp.enrolment_summary
    TO sp_analyst, sp_registrar;
GRANT INSERT, UPDATE ON sp.programme TO sp_admin;
GRANT INSERT ON sp.programme_history TO sp_admin;
GRANT INSERT, UPDATE, DELETE ON sp.programme_quota TO sp_admin;
GRANT INSERT ON sp.programme_quota_history TO sp_admin;
GRANT INSERT, UPDATE ON sp.eligibility_run TO sp_admin;
GRANT INSERT ON sp.eligibility_decision TO sp_admin;
GRANT INSERT ON sp.eligibility_review TO sp_admin;
GRANT UPDATE ON sp.eligibility_review TO sp_registrar;
GRANT INSERT, UPDATE ON sp.enrolment TO sp_registrar;
GRANT INSERT ON sp.enrolment_history TO sp_registrar;
GRANT SELECT, INSERT ON sp_internal.merge_enrolment TO sp_registrar;
GRANT USAGE ON SEQUENCE sp.programme_history_history_id_seq, sp.programme_quota_history_history_id_seq,
                        sp.eligibility_run_run_id_seq, sp.eligibility_review_review_id_seq
    TO sp_admin;
GRANT USAGE ON SEQUENCE sp.enrolment_enrolment_id_seq, sp.enrolment_history_history_id_seq TO sp_registrar;
