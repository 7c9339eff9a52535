-- Privileges of the shipped roles, and pg_dump configuration.
--
-- Registry data lives in tables created by the extension: without
-- pg_extension_config_dump, pg_dump would save the schema but not the rows.

SELECT pg_catalog.pg_extension_config_dump('sp.admin_area', '');
SELECT pg_catalog.pg_extension_config_dump('sp.area_scope', '');
SELECT pg_catalog.pg_extension_config_dump('sp.variable', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('sp.relationship_type', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('sp.privacy_setting', '');
SELECT pg_catalog.pg_extension_config_dump('sp.variable_policy', '');
SELECT pg_catalog.pg_extension_config_dump('sp.retention_run', '');
SELECT pg_catalog.pg_extension_config_dump('sp.household', '');
SELECT pg_catalog.pg_extension_config_dump('sp.person', '');
SELECT pg_catalog.pg_extension_config_dump('sp.consent', '');
SELECT pg_catalog.pg_extension_config_dump('sp.household_history', '');
SELECT pg_catalog.pg_extension_config_dump('sp.person_history', '');
SELECT pg_catalog.pg_extension_config_dump('sp_internal.pii_key', '');
SELECT pg_catalog.pg_extension_config_dump('sp.import_batch', '');
SELECT pg_catalog.pg_extension_config_dump('sp.registration_submission', '');
SELECT pg_catalog.pg_extension_config_dump('sp.import_error', '');
SELECT pg_catalog.pg_extension_config_dump('sp.linkage_model', 'WHERE NOT builtin OR params IS NOT NULL');
SELECT pg_catalog.pg_extension_config_dump('sp.linkage_training', '');
SELECT pg_catalog.pg_extension_config_dump('sp_internal.linkage_term_frequency', '');
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
SELECT pg_catalog.pg_extension_config_dump('sp.grievance_category', '');
SELECT pg_catalog.pg_extension_config_dump('sp.grievance_category_history', '');
SELECT pg_catalog.pg_extension_config_dump('sp.grievance', '');
SELECT pg_catalog.pg_extension_config_dump('sp.grievance_event', '');
SELECT pg_catalog.pg_extension_config_dump('sp.grievance_message', '');
SELECT pg_catalog.pg_extension_config_dump('sp.grievance_reassessment', '');
SELECT pg_catalog.pg_extension_config_dump('sp.crvs_source', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('sp.crvs_event', '');
SELECT pg_catalog.pg_extension_config_dump('sp.programme_conditionality', '');
SELECT pg_catalog.pg_extension_config_dump('sp.programme_conditionality_history', '');
SELECT pg_catalog.pg_extension_config_dump('sp.compliance_report', '');
SELECT pg_catalog.pg_extension_config_dump('sp.compliance_step', '');
SELECT pg_catalog.pg_extension_config_dump('sp.change_request', '');
SELECT pg_catalog.pg_extension_config_dump('sp.service_case', '');
SELECT pg_catalog.pg_extension_config_dump('sp.referral', '');
SELECT pg_catalog.pg_extension_config_dump('sp.case_event', '');
-- Identity sequences, one call per statement (each call updates pg_extension).
SELECT pg_catalog.pg_extension_config_dump('sp.area_scope_scope_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sp.household_household_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sp.person_person_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sp.household_history_history_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sp.person_history_history_id_seq', '');
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
SELECT pg_catalog.pg_extension_config_dump('sp.payment_provider', '');
SELECT pg_catalog.pg_extension_config_dump('sp.programme_entitlement', '');
SELECT pg_catalog.pg_extension_config_dump('sp.programme_entitlement_history', '');
SELECT pg_catalog.pg_extension_config_dump('sp.payment_cycle', '');
SELECT pg_catalog.pg_extension_config_dump('sp.payment_cycle_history', '');
SELECT pg_catalog.pg_extension_config_dump('sp.payment', '');
SELECT pg_catalog.pg_extension_config_dump('sp.payment_history', '');
SELECT pg_catalog.pg_extension_config_dump('sp.payment_exclusion', '');
SELECT pg_catalog.pg_extension_config_dump('sp.programme_entitlement_history_history_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sp.crvs_event_crvs_event_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sp.programme_conditionality_history_history_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sp.compliance_report_report_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sp.change_request_request_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sp.service_case_case_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sp.referral_referral_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sp.case_event_event_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sp.grievance_category_history_history_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sp.grievance_grievance_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sp.grievance_event_event_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sp.grievance_message_message_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sp.payment_cycle_cycle_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sp.payment_cycle_history_history_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sp.payment_payment_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sp.payment_history_history_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sp.disbursement_batch', '');
SELECT pg_catalog.pg_extension_config_dump('sp.payment_reconciliation', '');
SELECT pg_catalog.pg_extension_config_dump('sp.payment_reconciliation_issue', '');
SELECT pg_catalog.pg_extension_config_dump('sp.disbursement_batch_batch_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sp.payment_reconciliation_reconciliation_id_seq', '');

-- Least privilege.  Nothing is granted to PUBLIC.  Roles read tables (rows
-- filtered by area scope, sql/85_row_security.sql; columns by the grants
-- below) and change registry, targeting and audit tables only by calling the
-- SECURITY DEFINER functions of their job, which check scope, validate and
-- stamp who and when.  Configuration (areas, catalogue, models, programmes
-- and quotas) is written directly by the role that owns it, through column
-- grants that leave out the who/when columns: their defaults and triggers
-- set them.  docs/security.md has the role matrix (generated from these
-- grants by test/sql/17_role_matrix.sql).
REVOKE ALL ON ALL TABLES IN SCHEMA sp FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA sp_internal FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA sp FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA sp FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA sp_internal FROM PUBLIC;

-- Role hierarchy: an administrator can do what registrars, caseworkers,
-- programme officers and analysts can.  Memberships are cluster-wide and may
-- survive an earlier DROP EXTENSION.
DO $members$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['sp_registrar', 'sp_caseworker', 'sp_programme_officer', 'sp_analyst'] LOOP
        IF NOT pg_catalog.pg_has_role('sp_admin', r, 'MEMBER') THEN
            EXECUTE pg_catalog.format('GRANT %I TO sp_admin', r);
        END IF;
    END LOOP;
END
$members$;

-- Everyone: reference data, pure functions, and the helpers that row-level
-- security and the scoped views call as the reader (which read the reader's
-- own area scopes: row-level security on sp.area_scope shows each role the
-- scopes it holds, administrators and auditors all of them).
GRANT SELECT ON sp.admin_area, sp.variable, sp.relationship_type, sp.admin_area_ancestor, sp.my_area_scope, sp.area_scope
    TO sp_admin, sp_registrar, sp_caseworker, sp_programme_officer, sp_payment_officer, sp_grievance_officer,
       sp_analyst, sp_auditor, sp_pii_reader, sp_integration;
GRANT EXECUTE ON FUNCTION
    sp.parse_birth_date(text), sp.normalize_national_id(text), sp.normalize_phone(text),
    sp.normalize_name(text), sp.name_key(text), sp.jaro(text, text), sp.jaro_winkler(text, text),
    sp.levenshtein(text, text), sp.damerau_levenshtein(text, text), sp.validate_attributes(jsonb, text),
    sp.admin_area_subtree(text),
    sp_internal.caller(), sp_internal.caller_oid(), sp_internal.caller_area_paths(), sp_internal.visible_areas(),
    sp_internal.has_national_scope(),
    sp_internal.is_uuid(text), sp_internal.attributes_problem(jsonb, text, text, boolean),
    sp_internal.privacy_setting(text), sp_internal.withheld_variables(text)
    TO sp_admin, sp_registrar, sp_caseworker, sp_programme_officer, sp_payment_officer, sp_grievance_officer,
       sp_analyst, sp_auditor, sp_pii_reader, sp_integration;

-- Reading the registry.  Names and birth dates: the roles that serve people
-- (registrars, caseworkers, payment and grievance officers, integrations).
-- Encrypted identifiers and blind indexes: nobody (lookups go through
-- sp.find_person_by_national_id, which audits them).
DO $person_columns$
DECLARE
    cols text := 'person_id, household_id, given_name, family_name, other_names, birth_date, birth_date_precision, '
                 'sex, relationship_to_head, attributes, status, merged_into, registered_at, registered_by, '
                 'updated_at, updated_by, version, pseudonymised_at';
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['sp_registrar', 'sp_caseworker', 'sp_payment_officer', 'sp_grievance_officer', 'sp_auditor'] LOOP
        EXECUTE pg_catalog.format('GRANT SELECT (%s) ON sp.person TO %I', cols, r);
        EXECUTE pg_catalog.format('GRANT SELECT (%s, operation, changed_at, changed_by, change_reason, history_id) ON sp.person_history TO %I', cols, r);
    END LOOP;
END
$person_columns$;
GRANT SELECT ON sp.household, sp.household_history
    TO sp_registrar, sp_caseworker, sp_payment_officer, sp_grievance_officer, sp_auditor;
-- Row-level security policies read sp.household and sp.person with the
-- reader's rights ("household_id IN (SELECT h.household_id FROM sp.household
-- h)"): a role that reads a table whose policy looks there needs the key
-- columns, or every read fails with "permission denied for table household".
GRANT SELECT (household_id, admin_area_code) ON sp.household TO sp_programme_officer, sp_integration;
-- Analysts read the de-identified views (sql/84_deidentified.sql): of the
-- tables, only the keys that row-level security needs (which households and
-- persons are in scope), never an exact area, a location or an attribute.
GRANT SELECT (household_id) ON sp.household TO sp_analyst;
GRANT SELECT (person_id, household_id) ON sp.person TO sp_analyst;
GRANT SELECT ON sp.person_deidentified, sp.household_deidentified
    TO sp_registrar, sp_caseworker, sp_programme_officer, sp_payment_officer, sp_grievance_officer, sp_analyst, sp_auditor;
GRANT SELECT ON sp.household_profile
    TO sp_registrar, sp_caseworker, sp_programme_officer, sp_payment_officer, sp_grievance_officer, sp_auditor;
GRANT SELECT (submission_id, household_id, person_ids, source, device_time, received_at, received_by, batch_id)
    ON sp.registration_submission TO sp_registrar, sp_caseworker, sp_integration, sp_auditor;
GRANT SELECT ON sp.import_batch TO sp_registrar, sp_integration, sp_analyst, sp_auditor;
GRANT SELECT ON sp.import_error TO sp_registrar, sp_integration, sp_auditor;

-- Registration and upkeep of the registry.
GRANT EXECUTE ON FUNCTION sp.register_household(jsonb), sp.import_registrations(jsonb)
    TO sp_registrar, sp_integration;
GRANT EXECUTE ON FUNCTION sp.update_household(bigint, jsonb, text, integer), sp.set_household_status(bigint, text, text),
                          sp.update_person(bigint, jsonb, text, integer), sp.set_person_status(bigint, text, text),
                          sp.add_member(bigint, jsonb)
    TO sp_registrar, sp_caseworker;
GRANT EXECUTE ON FUNCTION sp.find_person_by_national_id(text, text) TO sp_registrar, sp_caseworker;

-- Personal identifiers: decryption, audited.
GRANT EXECUTE ON FUNCTION sp.person_national_id(bigint, text), sp.person_phone(bigint, text),
                          sp_internal.read_pii(bigint, text, text)
    TO sp_pii_reader;

-- Linkage and deduplication.  Models are configuration (admins); matching
-- runs with the caller's rights on relations the caller can read; the
-- registry's own dedup run and the review queue go through the API.
GRANT SELECT ON sp.linkage_model, sp.linkage_training, sp.dedup_run, sp.person_cluster, sp.match_review,
                sp.person_merge, sp.registration_duplicate
    TO sp_registrar, sp_caseworker, sp_auditor;
GRANT SELECT ON sp.linkage_model, sp.linkage_training, sp.dedup_run, sp.person_cluster, sp.registration_duplicate
    TO sp_analyst;
-- analysts: no free-text reasons (staff write names and places into them) and
-- no staff names
GRANT SELECT (review_id, run_id, person_id, other_person_id, match_probability, match_weight, status, decided_at)
    ON sp.match_review TO sp_analyst;
GRANT SELECT (merge_id, survivor_id, merged_id, merged_status, review_id, merged_at, undone_at)
    ON sp.person_merge TO sp_analyst;
-- training (sp.train_linkage_model) runs with the caller's rights on the source it is given
GRANT UPDATE (params, trained_at) ON sp.linkage_model TO sp_admin;
GRANT INSERT (model, source, right_source, params) ON sp.linkage_training TO sp_admin;
GRANT EXECUTE ON FUNCTION sp_internal.estimate_on_registry(text) TO sp_admin;  -- training on the registry, read as the owner
GRANT EXECUTE ON FUNCTION sp.match_pairs(text, regclass, regclass, float8), sp.explain_match(text, regclass, bigint, regclass, bigint),
                          sp.linkage_candidates(text, regclass, regclass)
    TO sp_admin, sp_analyst;
GRANT EXECUTE ON FUNCTION sp_internal.store_term_frequencies(text, jsonb) TO sp_admin;
GRANT EXECUTE ON FUNCTION sp.create_linkage_model(text, jsonb, text), sp.train_linkage_model(text, regclass, regclass, regclass),
                          sp.deduplicate_persons(text, float8, float8, float8)
    TO sp_admin;
GRANT EXECUTE ON FUNCTION sp_internal.validate_linkage_spec(jsonb), sp_internal.estimate_linkage_params(text, regclass, regclass, regclass, regclass)
    TO sp_admin;
GRANT EXECUTE ON FUNCTION sp.review_match(bigint, text, text), sp.merge_persons(bigint, bigint, text, bigint),
                          sp.unmerge_person(bigint, text)
    TO sp_registrar, sp_caseworker;

-- Assessment: models are configuration (admins); results are written by the API.
GRANT SELECT ON sp.pmt_model, sp.assessment, sp.current_assessment, sp.mpi_model, sp.mpi_assessment,
                sp.current_mpi_assessment
    TO sp_registrar, sp_caseworker, sp_programme_officer, sp_grievance_officer, sp_analyst, sp_auditor;
GRANT EXECUTE ON FUNCTION sp.create_pmt_model(text, jsonb, text, date), sp.activate_pmt_model(text, integer),
                          sp.create_mpi_model(text, jsonb, text, date), sp.activate_mpi_model(text, integer),
                          sp.score_households(text, text), sp.mpi_assess_households(text, text, text)
    TO sp_admin;
GRANT EXECUTE ON FUNCTION sp.reassess_household(bigint, text, text) TO sp_caseworker, sp_grievance_officer;
-- pmt_score and pmt_explain read households and members with the caller's
-- rights (names and birth dates included): not for programme officers, who
-- read scores in sp.current_assessment and the MPI through sp.mpi_household.
GRANT EXECUTE ON FUNCTION sp.pmt_score(text, bigint), sp.pmt_explain(text, bigint)
    TO sp_registrar, sp_caseworker, sp_grievance_officer;
GRANT EXECUTE ON FUNCTION sp.mpi_household(text, bigint)
    TO sp_registrar, sp_caseworker, sp_programme_officer, sp_grievance_officer;
GRANT EXECUTE ON FUNCTION sp.mpi_area_summary(text, integer) TO sp_programme_officer, sp_analyst, sp_admin;

-- Programmes: definitions and quotas are configuration (programme officers);
-- eligibility, enrolment and recertification runs need national scope;
-- caseworkers decide reviews and move enrolments of their areas.
GRANT SELECT ON sp.programme, sp.programme_history, sp.programme_quota, sp.programme_quota_history,
                sp.eligibility_run, sp.eligibility_decision, sp.eligibility_review, sp.enrolment,
                sp.enrolment_history
    TO sp_registrar, sp_caseworker, sp_programme_officer, sp_payment_officer, sp_grievance_officer, sp_auditor;
-- Analysts: the columns that say nothing of a household's exact area or of
-- the identifying variables a rule may test (failed conditions name area and
-- variable conditions, quota areas and waitlist positions are per exact area,
-- run summaries count per area, reasons are free text).
GRANT SELECT ON sp.programme, sp.programme_history, sp.programme_quota, sp.programme_quota_history TO sp_analyst;
GRANT SELECT (run_id, programme, kind, programme_version, rule, ranking, models, started_at)
    ON sp.eligibility_run TO sp_analyst;
GRANT SELECT (run_id, programme, household_id, person_id, eligible, rank_score, cutoff, borderline)
    ON sp.eligibility_decision TO sp_analyst;
GRANT SELECT (review_id, programme, household_id, person_id, run_id, kind, eligible, status, created_at, decided_at)
    ON sp.eligibility_review TO sp_analyst;
GRANT SELECT (enrolment_id, programme, household_id, person_id, state, rank_score, eligible_since, enrolled_at,
              recertification_due, exited_at, exited_by_rule, run_id, version)
    ON sp.enrolment TO sp_analyst;
GRANT SELECT (history_id, enrolment_id, programme, household_id, person_id, from_state, to_state,
              recertification_due, changed_at)
    ON sp.enrolment_history TO sp_analyst;
-- exact counts per ward: analysts read them through sp.programme_summary, which
-- suppresses small cells
GRANT SELECT ON sp.enrolment_summary
    TO sp_registrar, sp_caseworker, sp_programme_officer, sp_payment_officer, sp_grievance_officer, sp_auditor;
GRANT INSERT (name, title, benefit_type, target_unit, rule, ranking, review_margin, recertify_months, start_date,
              end_date, status, description),
      UPDATE (title, benefit_type, target_unit, rule, ranking, review_margin, recertify_months, start_date,
              end_date, status, description)
    ON sp.programme TO sp_programme_officer;
GRANT INSERT (programme, area_code, quota), UPDATE (quota), DELETE ON sp.programme_quota TO sp_programme_officer;
GRANT EXECUTE ON FUNCTION sp.determine_eligibility(text), sp.enrol(text), sp.recertify(text)
    TO sp_programme_officer;
GRANT EXECUTE ON FUNCTION sp.programme_summary(text, integer) TO sp_programme_officer, sp_analyst;
GRANT EXECUTE ON FUNCTION sp.set_enrolment_state(bigint, text, text), sp.open_enrolment(text, bigint, bigint, text),
                          sp.review_eligibility(bigint, text, text)
    TO sp_caseworker, sp_programme_officer;

-- Payments (sql/60_payments.sql): providers are national configuration
-- (administrators); what a programme pays is set by programme officers; payment
-- officers run cycles, and approve only lists they did not generate.
GRANT SELECT ON sp.payment_provider, sp.programme_entitlement, sp.programme_entitlement_history
    TO sp_admin, sp_programme_officer, sp_payment_officer, sp_grievance_officer, sp_auditor;
GRANT INSERT (name, title, fa_type, payer_fa, currency, batch_size, sender_id, receiver_id, active, description),
      UPDATE (title, payer_fa, batch_size, sender_id, receiver_id, active, description)
    ON sp.payment_provider TO sp_admin;
GRANT SELECT ON sp.payment_cycle, sp.payment_cycle_history, sp.payment, sp.payment_history, sp.payment_exclusion
    TO sp_programme_officer, sp_payment_officer, sp_grievance_officer, sp_auditor;
GRANT EXECUTE ON FUNCTION sp.set_entitlement(text, jsonb, text, text) TO sp_programme_officer;
GRANT EXECUTE ON FUNCTION sp.create_payment_cycle(text, date, date), sp.generate_payment_list(bigint),
                          sp.approve_payment_cycle(bigint, text, integer), sp.cancel_payment(bigint, text),
                          sp.disburse_request(bigint, text), sp.disburse_request(bigint, text, integer),
                          sp.payment_file(bigint, text), sp.reconcile_payments(bigint, text, jsonb),
                          sp.close_payment_cycle(bigint, text), sp.reissue_payment(bigint, bigint, text),
                          sp.reverse_payment(bigint, text)
    TO sp_payment_officer;
GRANT SELECT ON sp.disbursement_batch, sp.payment_reconciliation, sp.payment_reconciliation_issue
    TO sp_admin, sp_payment_officer, sp_auditor;

-- Grievances (sql/62_grievance.sql): the roles that meet people receive
-- complaints; grievance officers handle them; caseworkers follow them (and
-- reassess after appeals); categories are national configuration.
GRANT SELECT ON sp.grievance_category, sp.grievance_category_history
    TO sp_admin, sp_registrar, sp_caseworker, sp_programme_officer, sp_payment_officer, sp_grievance_officer,
       sp_auditor, sp_integration;
GRANT SELECT ON sp.grievance, sp.grievance_event, sp.grievance_message, sp.grievance_reassessment, sp.overdue_grievances
    TO sp_caseworker, sp_grievance_officer, sp_auditor;
GRANT EXECUTE ON FUNCTION sp.set_grievance_category(text, text, interval, interval, interval, boolean, text, boolean) TO sp_admin;
GRANT EXECUTE ON FUNCTION sp.submit_grievance(jsonb)
    TO sp_registrar, sp_caseworker, sp_payment_officer, sp_grievance_officer, sp_integration;
GRANT EXECUTE ON FUNCTION sp.set_grievance_status(bigint, text, text, integer), sp.assign_grievance(bigint, text, text),
                          sp.record_grievance_message(bigint, text, text, text), sp.escalate_overdue_grievances(),
                          sp.reassess_for_grievance(bigint, text)
    TO sp_grievance_officer;
GRANT EXECUTE ON FUNCTION sp.add_grievance_note(bigint, text) TO sp_caseworker, sp_grievance_officer;
-- the overdue view computes each case's deadline as its reader
GRANT EXECUTE ON FUNCTION sp_internal.grievance_deadline(sp.grievance) TO sp_caseworker, sp_grievance_officer, sp_auditor;

-- Civil-registration events (sql/63_crvs.sql): the CRVS interface (an
-- integration) and caseworkers apply them; caseworkers decide the doubtful ones.
GRANT SELECT ON sp.crvs_event TO sp_caseworker, sp_auditor;
GRANT SELECT ON sp.crvs_source TO sp_admin, sp_caseworker, sp_auditor, sp_integration;
GRANT INSERT (source, role_name, title), UPDATE (role_name, title) ON sp.crvs_source TO sp_admin;
GRANT EXECUTE ON FUNCTION sp.apply_crvs_event(jsonb) TO sp_integration, sp_caseworker;
GRANT EXECUTE ON FUNCTION sp.resolve_crvs_event(bigint, bigint, text) TO sp_caseworker;

-- Conditionality (sql/64_conditionality.sql): programme officers set and
-- apply the conditions; education and health feeds come through integrations
-- (or caseworkers); those who serve families read what was reported and done.
GRANT SELECT ON sp.programme_conditionality, sp.programme_conditionality_history
    TO sp_admin, sp_caseworker, sp_programme_officer, sp_payment_officer, sp_grievance_officer, sp_auditor, sp_integration;
GRANT SELECT ON sp.compliance_report, sp.compliance_step
    TO sp_caseworker, sp_programme_officer, sp_payment_officer, sp_grievance_officer, sp_auditor;
GRANT EXECUTE ON FUNCTION sp.set_conditionality(text, jsonb, text), sp.apply_conditionality(bigint) TO sp_programme_officer;
GRANT EXECUTE ON FUNCTION sp.record_compliance(jsonb) TO sp_integration, sp_caseworker;

-- Case management (sql/65_cases.sql): whoever meets a family asks for a
-- correction; caseworkers decide them (never their own) and follow cases.
GRANT SELECT ON sp.change_request TO sp_registrar, sp_caseworker, sp_grievance_officer, sp_auditor;
GRANT SELECT ON sp.service_case, sp.referral, sp.case_event TO sp_caseworker, sp_grievance_officer, sp_auditor;
GRANT EXECUTE ON FUNCTION sp.request_change(jsonb), sp.decide_change_request(bigint, text, text)
    TO sp_registrar, sp_caseworker, sp_grievance_officer, sp_integration;
GRANT EXECUTE ON FUNCTION sp.open_case(bigint, text, text, bigint, bigint), sp.update_case(bigint, text, text, text),
                          sp.refer_case(bigint, text, text, text), sp.update_referral(bigint, text, text)
    TO sp_caseworker;

-- Areas, catalogue and scopes: administrators.
GRANT INSERT (code, parent_code, level, name, names, valid_from, valid_to, geom),
      UPDATE (parent_code, level, name, names, valid_from, valid_to, geom)
    ON sp.admin_area TO sp_admin;
GRANT INSERT (code, label, entity, value_type, categories, min_value, max_value, required, unit, description),
      UPDATE (label, categories, min_value, max_value, required, unit, description)
    ON sp.variable TO sp_admin;
GRANT INSERT (code, label), UPDATE (label) ON sp.relationship_type TO sp_admin;
-- Privacy settings and the catalogue's privacy policy (sql/17_disclosure.sql):
-- everyone reads them; administrators with national scope change them.
GRANT SELECT ON sp.privacy_setting, sp.variable_policy
    TO sp_admin, sp_registrar, sp_caseworker, sp_programme_officer, sp_payment_officer, sp_grievance_officer,
       sp_analyst, sp_auditor, sp_pii_reader, sp_integration;
GRANT INSERT (name, value), UPDATE (value), DELETE ON sp.privacy_setting TO sp_admin;
GRANT INSERT (code, purpose, retention, identifying), UPDATE (purpose, retention, identifying), DELETE
    ON sp.variable_policy TO sp_admin;
GRANT SELECT ON sp.retention_run TO sp_admin, sp_auditor;
-- Consent (sql/19_consent.sql): the roles that serve people record and read it.
GRANT SELECT ON sp.consent, sp.current_consent
    TO sp_registrar, sp_caseworker, sp_payment_officer, sp_grievance_officer, sp_auditor;
GRANT EXECUTE ON FUNCTION sp.record_consent(bigint, text, boolean, text, text, date)
    TO sp_registrar, sp_caseworker, sp_integration;
GRANT EXECUTE ON FUNCTION sp.apply_retention(boolean) TO sp_admin;
GRANT EXECUTE ON FUNCTION sp.grant_area_scope(text, text), sp.revoke_area_scope(text, text) TO sp_admin;
-- Key rotation (sql/16_key_rotation.sql): administrators only.
GRANT EXECUTE ON FUNCTION sp.rotate_keys(text, integer, boolean) TO sp_admin;

-- Geo-targeting (sql/70_geo.sql): boundaries are public knowledge; the
-- household functions run as the caller, under row-level security.
SELECT pg_catalog.pg_extension_config_dump('sp.boundary_import', '');
SELECT pg_catalog.pg_extension_config_dump('sp.admin_area_boundary', '');
SELECT pg_catalog.pg_extension_config_dump('sp.admin_area_part', '');
SELECT pg_catalog.pg_extension_config_dump('sp.boundary_import_import_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sp.admin_area_part_part_id_seq', '');
GRANT SELECT ON sp.boundary_import, sp.admin_area_boundary, sp.admin_area_part
    TO sp_admin, sp_registrar, sp_caseworker, sp_programme_officer, sp_payment_officer, sp_grievance_officer,
       sp_analyst, sp_auditor, sp_integration, sp_pii_reader;
GRANT EXECUTE ON FUNCTION sp.area_at_point(geometry, integer)
    TO sp_admin, sp_registrar, sp_caseworker, sp_programme_officer, sp_payment_officer, sp_grievance_officer,
       sp_analyst, sp_auditor, sp_integration, sp_pii_reader;
GRANT EXECUTE ON FUNCTION sp.import_admin_areas(jsonb, integer, text, jsonb) TO sp_admin;
GRANT EXECUTE ON FUNCTION sp.households_in_footprint(geometry, float8), sp.household_area_mismatches(text),
                          sp_internal.check_footprint(geometry, float8)
    TO sp_registrar, sp_caseworker, sp_payment_officer, sp_grievance_officer, sp_auditor;

-- Shock responses (sql/71_shock.sql): programme officers decide them.
SELECT pg_catalog.pg_extension_config_dump('sp.shock_event', '');
SELECT pg_catalog.pg_extension_config_dump('sp.shock_response', '');
SELECT pg_catalog.pg_extension_config_dump('sp.shock_decision', '');
SELECT pg_catalog.pg_extension_config_dump('sp.shock_top_up', '');
SELECT pg_catalog.pg_extension_config_dump('sp.shock_event_event_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sp.shock_response_response_id_seq', '');
GRANT SELECT ON sp.shock_event, sp.shock_response
    TO sp_admin, sp_programme_officer, sp_payment_officer, sp_caseworker, sp_grievance_officer, sp_analyst, sp_auditor;
GRANT SELECT ON sp.shock_decision, sp.shock_top_up
    TO sp_admin, sp_programme_officer, sp_payment_officer, sp_caseworker, sp_grievance_officer, sp_auditor;
GRANT EXECUTE ON FUNCTION sp.declare_shock(jsonb), sp.close_shock(bigint, text),
                          sp.shock_response(bigint, text, text, numeric, integer, date), sp.end_temporary_enrolments()
    TO sp_programme_officer;

-- Coverage (sql/72_coverage.sql): suppressed aggregates, for the staff who
-- plan programmes and for analysts.
GRANT EXECUTE ON FUNCTION sp.coverage_by_area(text, integer, text), sp.coverage_geojson(text, integer, text),
                          sp.coverage_mvt(text, integer, integer, integer), sp.coverage_map_html(text, integer, text, text)
    TO sp_admin, sp_programme_officer, sp_payment_officer, sp_analyst, sp_auditor;
GRANT EXECUTE ON FUNCTION sp.reassign_households(text, text) TO sp_registrar;

-- The integrated beneficiary registry (sql/73_ibr.sql): external programmes
-- are configuration (programme officers); their lists come from other
-- ministries' systems (integrations) or data managers (registrars), with
-- national scope; caseworkers and registrars decide the links in review.
SELECT pg_catalog.pg_extension_config_dump('sp.external_programme', '');
SELECT pg_catalog.pg_extension_config_dump('sp.external_programme_history', '');
SELECT pg_catalog.pg_extension_config_dump('sp.external_import', '');
SELECT pg_catalog.pg_extension_config_dump('sp.external_beneficiary', '');
SELECT pg_catalog.pg_extension_config_dump('sp.external_beneficiary_history', '');
SELECT pg_catalog.pg_extension_config_dump('sp.external_programme_history_history_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sp.external_import_import_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sp.external_beneficiary_external_beneficiary_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sp.external_beneficiary_history_history_id_seq', '');
GRANT SELECT ON sp.external_programme, sp.external_programme_history
    TO sp_registrar, sp_caseworker, sp_programme_officer, sp_payment_officer, sp_grievance_officer, sp_analyst, sp_auditor, sp_integration;
GRANT INSERT (name, title, owner_ministry, benefit_type, frequency, amount, currency, target_unit, importer_role, status, description),
      UPDATE (title, owner_ministry, benefit_type, frequency, amount, currency, importer_role, status, description)
    ON sp.external_programme TO sp_programme_officer;
GRANT SELECT ON sp.external_import TO sp_registrar, sp_programme_officer, sp_integration, sp_auditor;
-- not the blind indexes of identifiers (none may be read on sp.person either)
DO $external_columns$
DECLARE
    cols text := 'external_beneficiary_id, programme, source_record_id, given_name, family_name, other_names, birth_date, '
                 'birth_date_precision, sex, admin_area_code, household_ref, benefit_start, benefit_end, amount, currency, status, '
                 'ended_at, end_reason, link_status, person_id, linked_by, link_probability, link_note, linked_at, '
                 'import_id, first_imported_at, updated_at, updated_by, version';
BEGIN
    EXECUTE pg_catalog.format('GRANT SELECT (%s) ON sp.external_beneficiary TO sp_registrar, sp_caseworker, sp_auditor', cols);
    EXECUTE pg_catalog.format('GRANT SELECT (%s, history_id, operation, changed_at, changed_by, change_reason) ON sp.external_beneficiary_history
                               TO sp_registrar, sp_caseworker, sp_auditor', cols);
END
$external_columns$;
GRANT EXECUTE ON FUNCTION sp.import_external_beneficiaries(text, jsonb, boolean) TO sp_integration, sp_registrar;
GRANT EXECUTE ON FUNCTION sp.relink_external_beneficiaries(text) TO sp_registrar;
GRANT EXECUTE ON FUNCTION sp.review_external_link(bigint, bigint, text) TO sp_registrar, sp_caseworker;
-- (candidates only through the queue, filtered to the reader's scope: not a readable column)
GRANT EXECUTE ON FUNCTION sp.external_review_queue(text) TO sp_registrar, sp_caseworker, sp_auditor;
GRANT SELECT ON sp.benefits_by_person, sp.benefits_by_household
    TO sp_registrar, sp_caseworker, sp_programme_officer, sp_payment_officer, sp_grievance_officer, sp_auditor;
-- who receives what, across programmes (sql/74_ibr_analysis.sql): the
-- aggregates for those who read coverage (suppressed for analysts); the
-- lists of households and persons for those who follow them up
GRANT EXECUTE ON FUNCTION sp.programme_overlap(integer), sp.benefit_incidence(integer, text), sp.coverage_gap_summary(text, integer)
    TO sp_programme_officer, sp_payment_officer, sp_analyst, sp_auditor;
GRANT EXECUTE ON FUNCTION sp.coverage_gaps(text) TO sp_registrar, sp_caseworker, sp_programme_officer, sp_auditor;
GRANT EXECUTE ON FUNCTION sp.duplicate_beneficiaries() TO sp_registrar, sp_caseworker, sp_programme_officer, sp_payment_officer, sp_auditor;
-- monitoring (sql/75_monitoring.sql): the KPI views for the roles that read
-- what they count (row-level security applies); the report, suppressed for
-- analysts, for those who run and watch the programmes
GRANT EXECUTE ON FUNCTION sp.monitoring_report(date, date, integer)
    TO sp_programme_officer, sp_payment_officer, sp_grievance_officer, sp_analyst, sp_auditor;
GRANT SELECT ON sp.kpi_registrations TO sp_registrar, sp_caseworker, sp_payment_officer, sp_grievance_officer, sp_auditor;
GRANT SELECT ON sp.kpi_assessment, sp.kpi_enrolment, sp_internal.household_poverty, sp_internal.enrolment_status
    TO sp_registrar, sp_caseworker, sp_grievance_officer, sp_auditor;
GRANT SELECT ON sp.kpi_payment_success TO sp_programme_officer, sp_payment_officer, sp_grievance_officer, sp_auditor;
GRANT SELECT ON sp.kpi_grievance_sla TO sp_caseworker, sp_grievance_officer, sp_auditor;
GRANT SELECT ON sp.kpi_time_to_first_payment, sp_internal.first_payment TO sp_admin, sp_payment_officer, sp_grievance_officer, sp_auditor;

-- the outbox (sql/78_outbox.sql): consumers claim and acknowledge; the
-- events and consumers are read by administrators and auditors
GRANT SELECT ON sp.outbox_event, sp.outbox_consumer TO sp_admin, sp_auditor;
GRANT EXECUTE ON FUNCTION sp.outbox_claim(text, integer), sp.outbox_ack(text, bigint[]) TO sp_integration, sp_admin;
GRANT EXECUTE ON FUNCTION sp.create_outbox_consumer(text, name, text[], interval, text), sp.prune_outbox(interval) TO sp_admin;
GRANT EXECUTE ON FUNCTION sp.outbox_backlog() TO sp_admin, sp_auditor;
-- (saved by pg_dump with the rest: a restored registry keeps its outbox and consumers' positions)
SELECT pg_catalog.pg_extension_config_dump('sp.outbox_event', '');
SELECT pg_catalog.pg_extension_config_dump('sp.outbox_consumer', '');
SELECT pg_catalog.pg_extension_config_dump('sp_internal.outbox_delivery', '');
SELECT pg_catalog.pg_extension_config_dump('sp.outbox_event_event_id_seq', '');

-- the DCI API (sql/79_dci.sql): every role that reads households may search
-- and subscribe (what it gets follows its own grants and scope); clients,
-- their history and subscriptions are read by administrators and auditors
-- (never the token hashes)
GRANT EXECUTE ON FUNCTION sp.dci_search(jsonb, text), sp.dci_subscribe(jsonb, text), sp.dci_unsubscribe(jsonb, text),
    sp.dci_txn_status(jsonb, text), sp.dci_notify_claim(integer), sp.dci_notify_ack(bigint[])
    TO sp_admin, sp_registrar, sp_caseworker, sp_programme_officer, sp_payment_officer, sp_grievance_officer, sp_analyst,
       sp_auditor, sp_integration;
GRANT EXECUTE ON FUNCTION sp.register_api_client(text, text, name, text[], text), sp.revoke_api_client(text),
    sp.prune_dci_messages(interval) TO sp_admin;
-- the HTTP gateway checks tokens and finds the clients to notify; it acts
-- as each client's role (granted to sp_gateway by sp.register_api_client)
GRANT EXECUTE ON FUNCTION sp.api_client_authenticate(bytea), sp.dci_subscribers() TO sp_gateway;
GRANT SELECT (sender_id, client_role, callback_prefixes, description, created_at, created_by, revoked_at, revoked_by)
    ON sp.api_client TO sp_admin, sp_auditor;
GRANT SELECT ON sp.api_client_history, sp.dci_subscription TO sp_admin, sp_auditor;
GRANT SELECT ON sp.dci_attribute
    TO sp_admin, sp_registrar, sp_caseworker, sp_programme_officer, sp_payment_officer, sp_grievance_officer, sp_analyst,
       sp_auditor, sp_integration;
GRANT INSERT (attribute_name, variable_code, description), UPDATE (attribute_name, variable_code, description), DELETE
    ON sp.dci_attribute TO sp_admin;
SELECT pg_catalog.pg_extension_config_dump('sp.api_client', '');
SELECT pg_catalog.pg_extension_config_dump('sp.api_client_history', '');
SELECT pg_catalog.pg_extension_config_dump('sp.api_client_history_history_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sp.dci_attribute', '');
SELECT pg_catalog.pg_extension_config_dump('sp.dci_subscription', '');
SELECT pg_catalog.pg_extension_config_dump('sp_internal.dci_message', '');
SELECT pg_catalog.pg_extension_config_dump('sp_internal.dci_message_message_no_seq', '');

-- offline form sync (sql/80_odk.sql): registrars and integrations submit
-- forms (edits need the right to update: registrars, caseworkers);
-- administrators set mappings
GRANT EXECUTE ON FUNCTION sp.submit_form(text, jsonb) TO sp_registrar, sp_caseworker, sp_integration;
GRANT EXECUTE ON FUNCTION sp.set_form_mapping(text, jsonb, text) TO sp_admin;
GRANT SELECT ON sp.form_mapping, sp.form_mapping_history TO sp_admin, sp_registrar, sp_caseworker, sp_integration, sp_auditor;
GRANT SELECT ON sp.form_submission TO sp_admin, sp_auditor;
SELECT pg_catalog.pg_extension_config_dump('sp.form_mapping', '');
SELECT pg_catalog.pg_extension_config_dump('sp.form_mapping_history', '');
SELECT pg_catalog.pg_extension_config_dump('sp.form_mapping_history_history_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sp.form_submission', '');
