-- Adversarial suite, part 1: who may do what.  The role x object matrix is
-- written down below as data: a grant that is added, widened or removed
-- fails this test until the matrix is updated, on purpose, in the same
-- commit.  Then: nothing for PUBLIC, nothing for a role outside the shipped
-- ones, every table with household or person data under row-level security,
-- every granted object usable by the roles it is granted to (no "permission
-- denied for table" from inside), and every API function refused at its
-- boundary with 42501 to the roles it is not granted to.
BEGIN;
SELECT plan(13);
\ir adversarial_setup.psql

CREATE TEMP TABLE shipped (role text PRIMARY KEY);
INSERT INTO shipped VALUES ('sp_admin'), ('sp_registrar'), ('sp_caseworker'), ('sp_programme_officer'),
    ('sp_payment_officer'), ('sp_grievance_officer'), ('sp_analyst'), ('sp_auditor'), ('sp_pii_reader'), ('sp_integration'), ('sp_gateway');

-- Effective privileges (membership included: sp_admin holds the registrar,
-- caseworker, programme officer and analyst roles) on every table, view and
-- sequence of sp and sp_internal: privilege, or privilege(columns) when only
-- some columns are granted; roles without the sp_ prefix, sorted.
CREATE TEMP VIEW table_matrix AS
WITH o AS (SELECT c.oid, c.oid::regclass::text AS name, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname IN ('sp', 'sp_internal') AND c.relkind IN ('r', 'v', 'm', 'S', 'f', 'p')),
p(priv) AS (SELECT unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER', 'USAGE'])),
a AS (
    SELECT o.name, s.role, CASE
        WHEN o.relkind = 'S' THEN CASE WHEN p.priv IN ('SELECT', 'UPDATE', 'USAGE') AND has_sequence_privilege(s.role, o.oid, p.priv) THEN p.priv END
        WHEN p.priv = 'USAGE' THEN NULL
        WHEN has_table_privilege(s.role, o.oid, p.priv) THEN p.priv
        WHEN p.priv IN ('SELECT', 'INSERT', 'UPDATE', 'REFERENCES') AND has_any_column_privilege(s.role, o.oid, p.priv) THEN
            p.priv || '(' || (SELECT string_agg(at.attname, ',' ORDER BY at.attnum) FROM pg_attribute at
                              WHERE at.attrelid = o.oid AND at.attnum > 0 AND NOT at.attisdropped
                                AND has_column_privilege(s.role, o.oid, at.attnum, p.priv)) || ')'
        END AS privilege
    FROM o CROSS JOIN shipped s CROSS JOIN p)
SELECT name, privilege, string_agg(substr(role, 4), ' ' ORDER BY role) AS roles
FROM a WHERE privilege IS NOT NULL GROUP BY name, privilege;

SELECT set_eq('SELECT name, privilege, roles FROM table_matrix', $$VALUES
    ('sp.admin_area', 'INSERT(code,parent_code,level,name,valid_from,valid_to,geom,names)', 'admin'),
    ('sp.admin_area', 'SELECT', 'admin analyst auditor caseworker grievance_officer integration payment_officer pii_reader programme_officer registrar'),
    ('sp.admin_area', 'UPDATE(parent_code,level,name,valid_from,valid_to,geom,names)', 'admin'),
    ('sp.admin_area_boundary', 'SELECT', 'admin analyst auditor caseworker grievance_officer integration payment_officer pii_reader programme_officer registrar'),
    ('sp.admin_area_part', 'SELECT', 'admin analyst auditor caseworker grievance_officer integration payment_officer pii_reader programme_officer registrar'),
    ('sp.boundary_import', 'SELECT', 'admin analyst auditor caseworker grievance_officer integration payment_officer pii_reader programme_officer registrar'),
    ('sp.shock_event', 'SELECT', 'admin analyst auditor caseworker grievance_officer payment_officer programme_officer'),
    ('sp.shock_response', 'SELECT', 'admin analyst auditor caseworker grievance_officer payment_officer programme_officer'),
    ('sp.shock_decision', 'SELECT', 'admin auditor caseworker grievance_officer payment_officer programme_officer'),
    ('sp.shock_top_up', 'SELECT', 'admin auditor caseworker grievance_officer payment_officer programme_officer'),
    ('sp.admin_area_ancestor', 'SELECT', 'admin analyst auditor caseworker grievance_officer integration payment_officer pii_reader programme_officer registrar'),
    ('sp.area_scope', 'SELECT', 'admin analyst auditor caseworker grievance_officer integration payment_officer pii_reader programme_officer registrar'),
    ('sp.assessment', 'SELECT', 'admin analyst auditor caseworker grievance_officer programme_officer registrar'),
    ('sp.match_review', 'SELECT(review_id,run_id,person_id,other_person_id,match_probability,match_weight,status,decided_at)', 'analyst'),
    ('sp.eligibility_run', 'SELECT(run_id,programme,kind,programme_version,rule,ranking,models,started_at)', 'analyst'),
    ('sp.person_merge', 'SELECT(merge_id,survivor_id,merged_id,merged_status,review_id,merged_at,undone_at)', 'analyst'),
    ('sp.eligibility_review', 'SELECT(review_id,programme,household_id,person_id,run_id,kind,eligible,status,created_at,decided_at)', 'analyst'),
    ('sp.enrolment_history', 'SELECT(history_id,enrolment_id,programme,household_id,person_id,from_state,to_state,recertification_due,changed_at)', 'analyst'),
    ('sp.enrolment', 'SELECT(enrolment_id,programme,household_id,person_id,state,rank_score,eligible_since,enrolled_at,recertification_due,exited_at,exited_by_rule,run_id,version)', 'analyst'),
    ('sp.eligibility_decision', 'SELECT(run_id,programme,household_id,person_id,eligible,rank_score,cutoff,borderline)', 'analyst'),
    ('sp.consent', 'SELECT', 'admin auditor caseworker grievance_officer payment_officer registrar'),
    ('sp.current_consent', 'SELECT', 'admin auditor caseworker grievance_officer payment_officer registrar'),
    ('sp.current_assessment', 'SELECT', 'admin analyst auditor caseworker grievance_officer programme_officer registrar'),
    ('sp.current_mpi_assessment', 'SELECT', 'admin analyst auditor caseworker grievance_officer programme_officer registrar'),
    ('sp.dedup_run', 'SELECT', 'admin analyst auditor caseworker registrar'),
    ('sp.eligibility_decision', 'SELECT', 'admin auditor caseworker grievance_officer payment_officer programme_officer registrar'),
    ('sp.eligibility_review', 'SELECT', 'admin auditor caseworker grievance_officer payment_officer programme_officer registrar'),
    ('sp.eligibility_run', 'SELECT', 'admin auditor caseworker grievance_officer payment_officer programme_officer registrar'),
    ('sp.enrolment', 'SELECT', 'admin auditor caseworker grievance_officer payment_officer programme_officer registrar'),
    ('sp.enrolment_history', 'SELECT', 'admin auditor caseworker grievance_officer payment_officer programme_officer registrar'),
    ('sp.enrolment_summary', 'SELECT', 'admin auditor caseworker grievance_officer payment_officer programme_officer registrar'),
    ('sp.household', 'SELECT', 'admin auditor caseworker grievance_officer payment_officer registrar'),
    ('sp.household', 'SELECT(household_id)', 'analyst'),
    ('sp.household', 'SELECT(household_id,admin_area_code)', 'integration programme_officer'),
    ('sp.household_deidentified', 'SELECT', 'admin analyst auditor caseworker grievance_officer payment_officer programme_officer registrar'),
    ('sp.household_history', 'SELECT', 'admin auditor caseworker grievance_officer payment_officer registrar'),
    ('sp.household_profile', 'SELECT', 'admin auditor caseworker grievance_officer payment_officer programme_officer registrar'),
    ('sp.import_batch', 'SELECT', 'admin analyst auditor integration registrar'),
    ('sp.import_error', 'SELECT', 'admin auditor integration registrar'),
    ('sp.audit_log', 'SELECT', 'admin auditor'),
    ('sp.pii_access_log', 'SELECT', 'auditor'),
    ('sp.linkage_model', 'SELECT', 'admin analyst auditor caseworker registrar'),
    ('sp.linkage_model', 'UPDATE(params,trained_at)', 'admin'),
    ('sp.linkage_training', 'INSERT(model,source,right_source,params)', 'admin'),
    ('sp.linkage_training', 'SELECT', 'admin analyst auditor caseworker registrar'),
    ('sp.match_review', 'SELECT', 'admin auditor caseworker registrar'),
    ('sp.mpi_assessment', 'SELECT', 'admin analyst auditor caseworker grievance_officer programme_officer registrar'),
    ('sp.mpi_model', 'SELECT', 'admin analyst auditor caseworker grievance_officer programme_officer registrar'),
    ('sp.my_area_scope', 'SELECT', 'admin analyst auditor caseworker grievance_officer integration payment_officer pii_reader programme_officer registrar'),
    ('sp.person', 'SELECT(person_id,household_id)', 'analyst'),
    ('sp.person', 'SELECT(person_id,household_id,given_name,family_name,other_names,birth_date,birth_date_precision,sex,relationship_to_head,attributes,status,merged_into,registered_at,registered_by,updated_at,updated_by,version,pseudonymised_at)', 'admin auditor caseworker grievance_officer payment_officer registrar'),
    ('sp.person_cluster', 'SELECT', 'admin analyst auditor caseworker registrar'),
    ('sp.person_deidentified', 'SELECT', 'admin analyst auditor caseworker grievance_officer payment_officer programme_officer registrar'),
    ('sp.privacy_setting', 'SELECT', 'admin analyst auditor caseworker grievance_officer integration payment_officer pii_reader programme_officer registrar'),
    ('sp.privacy_setting', 'INSERT(name,value)', 'admin'),
    ('sp.privacy_setting', 'UPDATE(value)', 'admin'),
    ('sp.privacy_setting', 'DELETE', 'admin'),
    ('sp.variable_policy', 'SELECT', 'admin analyst auditor caseworker grievance_officer integration payment_officer pii_reader programme_officer registrar'),
    ('sp.variable_policy', 'INSERT(code,purpose,retention,identifying)', 'admin'),
    ('sp.variable_policy', 'UPDATE(purpose,retention,identifying)', 'admin'),
    ('sp.variable_policy', 'DELETE', 'admin'),
    ('sp.person_history', 'SELECT(person_id,household_id,given_name,family_name,other_names,birth_date,birth_date_precision,sex,relationship_to_head,attributes,status,merged_into,registered_at,registered_by,updated_at,updated_by,version,pseudonymised_at,operation,changed_at,changed_by,change_reason,history_id)', 'admin auditor caseworker grievance_officer payment_officer registrar'),
    ('sp.person_merge', 'SELECT', 'admin auditor caseworker registrar'),
    ('sp.pmt_model', 'SELECT', 'admin analyst auditor caseworker grievance_officer programme_officer registrar'),
    ('sp.programme', 'INSERT(name,title,benefit_type,target_unit,rule,ranking,review_margin,recertify_months,start_date,end_date,status,description)', 'admin programme_officer'),
    ('sp.programme', 'SELECT', 'admin analyst auditor caseworker grievance_officer payment_officer programme_officer registrar'),
    ('sp.programme', 'UPDATE(title,benefit_type,target_unit,rule,ranking,review_margin,recertify_months,start_date,end_date,status,description)', 'admin programme_officer'),
    ('sp.disbursement_batch', 'SELECT', 'admin auditor payment_officer'),
    ('sp.crvs_event', 'SELECT', 'admin auditor caseworker'),
    ('sp.change_request', 'SELECT', 'admin auditor caseworker grievance_officer registrar'),
    ('sp.service_case', 'SELECT', 'admin auditor caseworker grievance_officer'),
    ('sp.referral', 'SELECT', 'admin auditor caseworker grievance_officer'),
    ('sp.case_event', 'SELECT', 'admin auditor caseworker grievance_officer'),
    ('sp.crvs_source', 'SELECT', 'admin auditor caseworker integration'),
    ('sp.crvs_source', 'INSERT(source,role_name,title)', 'admin'),
    ('sp.crvs_source', 'UPDATE(role_name,title)', 'admin'),
    ('sp.programme_conditionality', 'SELECT', 'admin auditor caseworker grievance_officer integration payment_officer programme_officer'),
    ('sp.programme_conditionality_history', 'SELECT', 'admin auditor caseworker grievance_officer integration payment_officer programme_officer'),
    ('sp.compliance_report', 'SELECT', 'admin auditor caseworker grievance_officer payment_officer programme_officer'),
    ('sp.compliance_step', 'SELECT', 'admin auditor caseworker grievance_officer payment_officer programme_officer'),
    ('sp.grievance', 'SELECT', 'admin auditor caseworker grievance_officer'),
    ('sp.grievance_event', 'SELECT', 'admin auditor caseworker grievance_officer'),
    ('sp.grievance_message', 'SELECT', 'admin auditor caseworker grievance_officer'),
    ('sp.grievance_reassessment', 'SELECT', 'admin auditor caseworker grievance_officer'),
    ('sp.overdue_grievances', 'SELECT', 'admin auditor caseworker grievance_officer'),
    ('sp.grievance_category', 'SELECT', 'admin auditor caseworker grievance_officer integration payment_officer programme_officer registrar'),
    ('sp.grievance_category_history', 'SELECT', 'admin auditor caseworker grievance_officer integration payment_officer programme_officer registrar'),
    ('sp.payment', 'SELECT', 'admin auditor grievance_officer payment_officer programme_officer'),
    ('sp.payment_reconciliation', 'SELECT', 'admin auditor payment_officer'),
    ('sp.payment_reconciliation_issue', 'SELECT', 'admin auditor payment_officer'),
    ('sp.payment_cycle', 'SELECT', 'admin auditor grievance_officer payment_officer programme_officer'),
    ('sp.payment_cycle_history', 'SELECT', 'admin auditor grievance_officer payment_officer programme_officer'),
    ('sp.payment_exclusion', 'SELECT', 'admin auditor grievance_officer payment_officer programme_officer'),
    ('sp.payment_history', 'SELECT', 'admin auditor grievance_officer payment_officer programme_officer'),
    ('sp.payment_provider', 'INSERT(name,title,fa_type,payer_fa,currency,batch_size,sender_id,receiver_id,active,description)', 'admin'),
    ('sp.payment_provider', 'SELECT', 'admin auditor grievance_officer payment_officer programme_officer'),
    ('sp.payment_provider', 'UPDATE(title,payer_fa,batch_size,sender_id,receiver_id,active,description)', 'admin'),
    ('sp.programme_entitlement', 'SELECT', 'admin auditor grievance_officer payment_officer programme_officer'),
    ('sp.programme_entitlement_history', 'SELECT', 'admin auditor grievance_officer payment_officer programme_officer'),
    ('sp.programme_history', 'SELECT', 'admin analyst auditor caseworker grievance_officer payment_officer programme_officer registrar'),
    ('sp.programme_quota', 'DELETE', 'admin programme_officer'),
    ('sp.programme_quota', 'INSERT(programme,area_code,quota)', 'admin programme_officer'),
    ('sp.programme_quota', 'SELECT', 'admin analyst auditor caseworker grievance_officer payment_officer programme_officer registrar'),
    ('sp.programme_quota', 'UPDATE(quota)', 'admin programme_officer'),
    ('sp.programme_quota_history', 'SELECT', 'admin analyst auditor caseworker grievance_officer payment_officer programme_officer registrar'),
    ('sp.registration_duplicate', 'SELECT', 'admin analyst auditor caseworker registrar'),
    ('sp.registration_submission', 'SELECT(submission_id,household_id,person_ids,source,device_time,received_at,received_by,batch_id)', 'admin auditor caseworker integration registrar'),
    ('sp.relationship_type', 'INSERT(code,label)', 'admin'),
    ('sp.retention_run', 'SELECT', 'admin auditor'),
    ('sp.relationship_type', 'SELECT', 'admin analyst auditor caseworker grievance_officer integration payment_officer pii_reader programme_officer registrar'),
    ('sp.relationship_type', 'UPDATE(label)', 'admin'),
    ('sp.variable', 'INSERT(code,label,entity,value_type,categories,min_value,max_value,required,unit,description)', 'admin'),
    ('sp.variable', 'SELECT', 'admin analyst auditor caseworker grievance_officer integration payment_officer pii_reader programme_officer registrar'),
    ('sp.variable', 'UPDATE(label,categories,min_value,max_value,required,unit,description)', 'admin'),
    ('sp.external_programme', 'SELECT', 'admin analyst auditor caseworker grievance_officer integration payment_officer programme_officer registrar'),
    ('sp.external_programme_history', 'SELECT', 'admin analyst auditor caseworker grievance_officer integration payment_officer programme_officer registrar'),
    ('sp.external_programme', 'INSERT(name,title,owner_ministry,benefit_type,frequency,amount,currency,target_unit,importer_role,status,description)', 'admin programme_officer'),
    ('sp.external_programme', 'UPDATE(title,owner_ministry,benefit_type,frequency,amount,currency,importer_role,status,description)', 'admin programme_officer'),
    ('sp.external_import', 'SELECT', 'admin auditor integration programme_officer registrar'),
    ('sp.external_beneficiary', 'SELECT(external_beneficiary_id,programme,source_record_id,given_name,family_name,other_names,birth_date,birth_date_precision,sex,admin_area_code,household_ref,benefit_start,benefit_end,amount,currency,status,ended_at,end_reason,link_status,person_id,linked_by,link_probability,link_note,linked_at,import_id,first_imported_at,updated_at,updated_by,version)', 'admin auditor caseworker registrar'),
    ('sp.external_beneficiary_history', 'SELECT(external_beneficiary_id,programme,source_record_id,given_name,family_name,other_names,birth_date,birth_date_precision,sex,admin_area_code,household_ref,benefit_start,benefit_end,amount,currency,status,ended_at,end_reason,link_status,person_id,linked_by,link_probability,link_note,linked_at,import_id,first_imported_at,updated_at,updated_by,version,history_id,operation,changed_at,changed_by,change_reason)', 'admin auditor caseworker registrar'),
    ('sp.outbox_event', 'SELECT', 'admin auditor'),
    ('sp.form_mapping', 'SELECT', 'admin auditor caseworker integration registrar'),
    ('sp.form_mapping_history', 'SELECT', 'admin auditor caseworker integration registrar'),
    ('sp.form_submission', 'SELECT', 'admin auditor'),
    ('sp.api_client', 'SELECT(sender_id,client_role,callback_prefixes,description,created_at,created_by,revoked_at,revoked_by)', 'admin auditor'),
    ('sp.api_client_history', 'SELECT', 'admin auditor'),
    ('sp.dci_subscription', 'SELECT', 'admin auditor'),
    ('sp.dci_attribute', 'SELECT', 'admin analyst auditor caseworker grievance_officer integration payment_officer programme_officer registrar'),
    ('sp.dci_attribute', 'INSERT(attribute_name,variable_code,description)', 'admin'),
    ('sp.dci_attribute', 'UPDATE(attribute_name,variable_code,description)', 'admin'),
    ('sp.dci_attribute', 'DELETE', 'admin'),
    ('sp.outbox_consumer', 'SELECT', 'admin auditor'),
    ('sp.benefits_by_person', 'SELECT', 'admin auditor caseworker grievance_officer payment_officer programme_officer registrar'),
    ('sp.benefits_by_household', 'SELECT', 'admin auditor caseworker grievance_officer payment_officer programme_officer registrar'),
    ('sp.kpi_registrations', 'SELECT', 'admin auditor caseworker grievance_officer payment_officer registrar'),
    ('sp.kpi_assessment', 'SELECT', 'admin auditor caseworker grievance_officer registrar'),
    ('sp.kpi_enrolment', 'SELECT', 'admin auditor caseworker grievance_officer registrar'),
    ('sp_internal.household_poverty', 'SELECT', 'admin auditor caseworker grievance_officer registrar'),
    ('sp_internal.enrolment_status', 'SELECT', 'admin auditor caseworker grievance_officer registrar'),
    ('sp_internal.first_payment', 'SELECT', 'admin auditor grievance_officer payment_officer'),
    ('sp.kpi_payment_success', 'SELECT', 'admin auditor grievance_officer payment_officer programme_officer'),
    ('sp.kpi_grievance_sla', 'SELECT', 'admin auditor caseworker grievance_officer'),
    ('sp.kpi_time_to_first_payment', 'SELECT', 'admin auditor grievance_officer payment_officer')
$$, 'role x table matrix: exactly the documented privileges on every table, view and sequence');

CREATE TEMP VIEW function_matrix AS
SELECT p.oid::regprocedure::text AS name, string_agg(substr(s.role, 4), ' ' ORDER BY s.role) AS roles
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN shipped s ON has_function_privilege(s.role, p.oid, 'EXECUTE')
WHERE n.nspname IN ('sp', 'sp_internal')
GROUP BY 1;

SELECT set_eq('SELECT name, roles FROM function_matrix', $$VALUES
    ('sp.activate_mpi_model(text,integer)', 'admin'),
    ('sp.import_external_beneficiaries(text,jsonb,boolean)', 'admin integration registrar'),
    ('sp.relink_external_beneficiaries(text)', 'admin registrar'),
    ('sp.review_external_link(bigint,bigint,text)', 'admin caseworker registrar'),
    ('sp.external_review_queue(text)', 'admin auditor caseworker registrar'),
    ('sp.create_outbox_consumer(text,name,text[],interval,text)', 'admin'),
    ('sp.outbox_claim(text,integer)', 'admin integration'),
    ('sp.outbox_ack(text,bigint[])', 'admin integration'),
    ('sp.prune_outbox(interval)', 'admin'),
    ('sp.outbox_backlog()', 'admin auditor'),
    ('sp.dci_search(jsonb,text)', 'admin analyst auditor caseworker grievance_officer integration payment_officer programme_officer registrar'),
    ('sp.dci_subscribe(jsonb,text)', 'admin analyst auditor caseworker grievance_officer integration payment_officer programme_officer registrar'),
    ('sp.dci_unsubscribe(jsonb,text)', 'admin analyst auditor caseworker grievance_officer integration payment_officer programme_officer registrar'),
    ('sp.dci_txn_status(jsonb,text)', 'admin analyst auditor caseworker grievance_officer integration payment_officer programme_officer registrar'),
    ('sp.dci_notify_claim(integer)', 'admin analyst auditor caseworker grievance_officer integration payment_officer programme_officer registrar'),
    ('sp.dci_notify_ack(bigint[])', 'admin analyst auditor caseworker grievance_officer integration payment_officer programme_officer registrar'),
    ('sp.api_client_authenticate(bytea)', 'gateway'),
    ('sp.dci_subscribers()', 'gateway'),
    ('sp.submit_form(text,jsonb)', 'admin caseworker integration registrar'),
    ('sp.set_form_mapping(text,jsonb,text)', 'admin'),
    ('sp.register_api_client(text,text,name,text[],text)', 'admin'),
    ('sp.revoke_api_client(text)', 'admin'),
    ('sp.prune_dci_messages(interval)', 'admin'),
    ('sp.programme_overlap(integer)', 'admin analyst auditor payment_officer programme_officer'),
    ('sp.benefit_incidence(integer,text)', 'admin analyst auditor payment_officer programme_officer'),
    ('sp.coverage_gap_summary(text,integer)', 'admin analyst auditor payment_officer programme_officer'),
    ('sp.coverage_gaps(text)', 'admin auditor caseworker programme_officer registrar'),
    ('sp.duplicate_beneficiaries()', 'admin auditor caseworker payment_officer programme_officer registrar'),
    ('sp.monitoring_report(date,date,integer)', 'admin analyst auditor grievance_officer payment_officer programme_officer'),
    ('sp.area_at_point(geometry,integer)', 'admin analyst auditor caseworker grievance_officer integration payment_officer pii_reader programme_officer registrar'),
    ('sp.import_admin_areas(jsonb,integer,text,jsonb)', 'admin'),
    ('sp.households_in_footprint(geometry,double precision)', 'admin auditor caseworker grievance_officer payment_officer registrar'),
    ('sp.household_area_mismatches(text)', 'admin auditor caseworker grievance_officer payment_officer registrar'),
    ('sp_internal.check_footprint(geometry,double precision)', 'admin auditor caseworker grievance_officer payment_officer registrar'),
    ('sp.declare_shock(jsonb)', 'admin programme_officer'),
    ('sp.close_shock(bigint,text)', 'admin programme_officer'),
    ('sp.shock_response(bigint,text,text,numeric,integer,date)', 'admin programme_officer'),
    ('sp.end_temporary_enrolments()', 'admin programme_officer'),
    ('sp.reassign_households(text,text)', 'admin registrar'),
    ('sp.coverage_by_area(text,integer,text)', 'admin analyst auditor payment_officer programme_officer'),
    ('sp.coverage_geojson(text,integer,text)', 'admin analyst auditor payment_officer programme_officer'),
    ('sp.coverage_mvt(text,integer,integer,integer)', 'admin analyst auditor payment_officer programme_officer'),
    ('sp.coverage_map_html(text,integer,text,text)', 'admin analyst auditor payment_officer programme_officer'),
    ('sp.approve_payment_cycle(bigint,text,integer)', 'payment_officer'),
    ('sp.cancel_payment(bigint,text)', 'payment_officer'),
    ('sp.close_payment_cycle(bigint,text)', 'payment_officer'),
    ('sp.apply_crvs_event(jsonb)', 'admin caseworker integration'),
    ('sp.request_change(jsonb)', 'admin caseworker grievance_officer integration registrar'),
    ('sp.decide_change_request(bigint,text,text)', 'admin caseworker grievance_officer integration registrar'),
    ('sp.open_case(bigint,text,text,bigint,bigint)', 'admin caseworker'),
    ('sp.update_case(bigint,text,text,text)', 'admin caseworker'),
    ('sp.refer_case(bigint,text,text,text)', 'admin caseworker'),
    ('sp.update_referral(bigint,text,text)', 'admin caseworker'),
    ('sp.record_compliance(jsonb)', 'admin caseworker integration'),
    ('sp.apply_conditionality(bigint)', 'admin programme_officer'),
    ('sp.set_conditionality(text,jsonb,text)', 'admin programme_officer'),
    ('sp.resolve_crvs_event(bigint,bigint,text)', 'admin caseworker'),
    ('sp.submit_grievance(jsonb)', 'admin caseworker grievance_officer integration payment_officer registrar'),
    ('sp.set_grievance_status(bigint,text,text,integer)', 'grievance_officer'),
    ('sp.assign_grievance(bigint,text,text)', 'grievance_officer'),
    ('sp.record_grievance_message(bigint,text,text,text)', 'grievance_officer'),
    ('sp.escalate_overdue_grievances()', 'grievance_officer'),
    ('sp.reassess_for_grievance(bigint,text)', 'grievance_officer'),
    ('sp.add_grievance_note(bigint,text)', 'admin caseworker grievance_officer'),
    ('sp.set_grievance_category(text,text,interval,interval,interval,boolean,text,boolean)', 'admin'),
    ('sp_internal.grievance_deadline(sp.grievance)', 'admin auditor caseworker grievance_officer'),
    ('sp.disburse_request(bigint,text)', 'payment_officer'),
    ('sp.disburse_request(bigint,text,integer)', 'payment_officer'),
    ('sp.payment_file(bigint,text)', 'payment_officer'),
    ('sp.reconcile_payments(bigint,text,jsonb)', 'payment_officer'),
    ('sp.reissue_payment(bigint,bigint,text)', 'payment_officer'),
    ('sp.reverse_payment(bigint,text)', 'payment_officer'),
    ('sp.create_payment_cycle(text,date,date)', 'payment_officer'),
    ('sp.generate_payment_list(bigint)', 'payment_officer'),
    ('sp.set_entitlement(text,jsonb,text,text)', 'admin programme_officer'),
    ('sp.activate_pmt_model(text,integer)', 'admin'),
    ('sp.add_member(bigint,jsonb)', 'admin caseworker registrar'),
    ('sp.admin_area_subtree(text)', 'admin analyst auditor caseworker grievance_officer integration payment_officer pii_reader programme_officer registrar'),
    ('sp.create_linkage_model(text,jsonb,text)', 'admin'),
    ('sp.create_mpi_model(text,jsonb,text,date)', 'admin'),
    ('sp.create_pmt_model(text,jsonb,text,date)', 'admin'),
    ('sp.damerau_levenshtein(text,text)', 'admin analyst auditor caseworker grievance_officer integration payment_officer pii_reader programme_officer registrar'),
    ('sp.deduplicate_persons(text,double precision,double precision,double precision)', 'admin'),
    ('sp.determine_eligibility(text)', 'admin programme_officer'),
    ('sp.enrol(text)', 'admin programme_officer'),
    ('sp.explain_match(text,regclass,bigint,regclass,bigint)', 'admin analyst'),
    ('sp.find_person_by_national_id(text,text)', 'admin caseworker registrar'),
    ('sp.grant_area_scope(text,text)', 'admin'),
    ('sp.import_registrations(jsonb)', 'admin integration registrar'),
    ('sp.jaro(text,text)', 'admin analyst auditor caseworker grievance_officer integration payment_officer pii_reader programme_officer registrar'),
    ('sp.jaro_winkler(text,text)', 'admin analyst auditor caseworker grievance_officer integration payment_officer pii_reader programme_officer registrar'),
    ('sp.levenshtein(text,text)', 'admin analyst auditor caseworker grievance_officer integration payment_officer pii_reader programme_officer registrar'),
    ('sp.match_pairs(text,regclass,regclass,double precision)', 'admin analyst'),
    ('sp.linkage_candidates(text,regclass,regclass)', 'admin analyst'),
    ('sp.merge_persons(bigint,bigint,text,bigint)', 'admin caseworker registrar'),
    ('sp.mpi_area_summary(text,integer)', 'admin analyst programme_officer'),
    ('sp.mpi_assess_households(text,text,text)', 'admin'),
    ('sp.mpi_household(text,bigint)', 'admin caseworker grievance_officer programme_officer registrar'),
    ('sp.name_key(text)', 'admin analyst auditor caseworker grievance_officer integration payment_officer pii_reader programme_officer registrar'),
    ('sp.normalize_name(text)', 'admin analyst auditor caseworker grievance_officer integration payment_officer pii_reader programme_officer registrar'),
    ('sp.normalize_national_id(text)', 'admin analyst auditor caseworker grievance_officer integration payment_officer pii_reader programme_officer registrar'),
    ('sp.normalize_phone(text)', 'admin analyst auditor caseworker grievance_officer integration payment_officer pii_reader programme_officer registrar'),
    ('sp.open_enrolment(text,bigint,bigint,text)', 'admin caseworker programme_officer'),
    ('sp.parse_birth_date(text)', 'admin analyst auditor caseworker grievance_officer integration payment_officer pii_reader programme_officer registrar'),
    ('sp.person_national_id(bigint,text)', 'pii_reader'),
    ('sp.decrypt_identifiers(bigint[],text)', 'pii_reader'),
    ('sp.verify_audit_chain()', 'admin auditor'),
    ('sp.person_phone(bigint,text)', 'pii_reader'),
    ('sp.pmt_explain(text,bigint)', 'admin caseworker grievance_officer registrar'),
    ('sp.pmt_score(text,bigint)', 'admin caseworker grievance_officer registrar'),
    ('sp.programme_summary(text,integer)', 'admin analyst programme_officer'),
    ('sp.reassess_household(bigint,text,text)', 'admin caseworker grievance_officer'),
    ('sp.record_consent(bigint,text,boolean,text,text,date)', 'admin caseworker integration registrar'),
    ('sp.recertify(text)', 'admin programme_officer'),
    ('sp.register_household(jsonb)', 'admin integration registrar'),
    ('sp.review_eligibility(bigint,text,text)', 'admin caseworker programme_officer'),
    ('sp.review_match(bigint,text,text)', 'admin caseworker registrar'),
    ('sp.revoke_area_scope(text,text)', 'admin'),
    ('sp.score_households(text,text)', 'admin'),
    ('sp.set_enrolment_state(bigint,text,text)', 'admin caseworker programme_officer'),
    ('sp.set_household_status(bigint,text,text)', 'admin caseworker registrar'),
    ('sp.set_person_status(bigint,text,text)', 'admin caseworker registrar'),
    ('sp.train_linkage_model(text,regclass,regclass,regclass)', 'admin'),
    ('sp.unmerge_person(bigint,text)', 'admin caseworker registrar'),
    ('sp.update_household(bigint,jsonb,text,integer)', 'admin caseworker registrar'),
    ('sp.update_person(bigint,jsonb,text,integer)', 'admin caseworker registrar'),
    ('sp.validate_attributes(jsonb,text)', 'admin analyst auditor caseworker grievance_officer integration payment_officer pii_reader programme_officer registrar'),
    ('sp_internal.attributes_problem(jsonb,text,text,boolean)', 'admin analyst auditor caseworker grievance_officer integration payment_officer pii_reader programme_officer registrar'),
    ('sp_internal.caller()', 'admin analyst auditor caseworker grievance_officer integration payment_officer pii_reader programme_officer registrar'),
    ('sp_internal.caller_area_paths()', 'admin analyst auditor caseworker grievance_officer integration payment_officer pii_reader programme_officer registrar'),
    ('sp_internal.caller_oid()', 'admin analyst auditor caseworker grievance_officer integration payment_officer pii_reader programme_officer registrar'),
    ('sp.rotate_keys(text,integer,boolean)', 'admin'),
    ('sp.apply_retention(boolean)', 'admin'),
    ('sp_internal.privacy_setting(text)', 'admin analyst auditor caseworker grievance_officer integration payment_officer pii_reader programme_officer registrar'),
    ('sp_internal.withheld_variables(text)', 'admin analyst auditor caseworker grievance_officer integration payment_officer pii_reader programme_officer registrar'),
    ('sp_internal.has_national_scope()', 'admin analyst auditor caseworker grievance_officer integration payment_officer pii_reader programme_officer registrar'),
    ('sp_internal.estimate_linkage_params(text,regclass,regclass,regclass,regclass)', 'admin'),
    ('sp_internal.estimate_on_registry(text)', 'admin'),
    ('sp_internal.store_term_frequencies(text,jsonb)', 'admin'),
    ('sp_internal.is_uuid(text)', 'admin analyst auditor caseworker grievance_officer integration payment_officer pii_reader programme_officer registrar'),
    ('sp_internal.read_pii(bigint,text,text)', 'pii_reader'),
    ('sp_internal.validate_linkage_spec(jsonb)', 'admin'),
    ('sp_internal.visible_areas()', 'admin analyst auditor caseworker grievance_officer integration payment_officer pii_reader programme_officer registrar')
$$, 'role x function matrix: exactly the documented EXECUTE grants');

SELECT is_empty($$
    SELECT c.oid::regclass FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
           aclexplode(coalesce(c.relacl, acldefault(CASE c.relkind WHEN 'S' THEN 's'::"char" ELSE 'r'::"char" END, c.relowner))) a
    WHERE n.nspname IN ('sp', 'sp_internal') AND a.grantee = 0
$$, 'no table, view or sequence of sp or sp_internal grants anything to PUBLIC');

SELECT is_empty($$
    SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace,
           aclexplode(coalesce(p.proacl, acldefault('f'::"char", p.proowner))) a
    WHERE n.nspname IN ('sp', 'sp_internal') AND a.grantee = 0
$$, 'no function of sp or sp_internal is executable by PUBLIC');

SELECT is_empty($$
    SELECT n.nspname, a.privilege_type, coalesce(r.rolname, 'PUBLIC')
    FROM pg_namespace n, aclexplode(n.nspacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee
    WHERE n.nspname IN ('sp', 'sp_internal') AND a.grantee <> n.nspowner
      AND (a.grantee = 0 OR a.privilege_type <> 'USAGE' OR r.rolname NOT IN (SELECT role FROM shipped))
$$, 'the schemas: USAGE for the shipped roles only, CREATE for nobody but their owner');

SELECT is_empty($$
    SELECT r.rolname FROM pg_roles r
    WHERE r.rolname IN (SELECT role FROM shipped)
      AND (r.rolcanlogin OR r.rolsuper OR r.rolcreaterole OR r.rolcreatedb OR r.rolbypassrls OR r.rolreplication)
$$, 'the shipped roles are NOLOGIN groups without any special attribute');

CREATE ROLE adv_outsider;
SELECT is_empty($$
    SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname IN ('sp', 'sp_internal') AND c.relkind IN ('r', 'v', 'S')
      AND (has_any_column_privilege('adv_outsider', c.oid, 'SELECT') OR has_any_column_privilege('adv_outsider', c.oid, 'INSERT')
           OR has_any_column_privilege('adv_outsider', c.oid, 'UPDATE') OR has_table_privilege('adv_outsider', c.oid, 'DELETE'))
    UNION ALL
    SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname IN ('sp', 'sp_internal') AND has_function_privilege('adv_outsider', p.oid, 'EXECUTE')
$$, 'a role outside the shipped ones can read, change and execute nothing');

-- Row-level security wherever a household or a person is referenced, unless
-- no shipped role can read the table at all.
SELECT is_empty($$
    SELECT DISTINCT c.oid::regclass FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    WHERE n.nspname IN ('sp', 'sp_internal') AND c.relkind = 'r' AND NOT c.relrowsecurity
      AND a.attname IN ('household_id', 'person_id', 'person_ids', 'survivor_id', 'merged_id', 'candidate_person_id',
                        'other_person_id', 'document')
      AND EXISTS (SELECT 1 FROM shipped s WHERE has_any_column_privilege(s.role, c.oid, 'SELECT'))
$$, 'every readable table that holds households, persons or documents has row-level security');

-- Views: security_invoker (the reader's rights, so the policies apply), or
-- one of the scoped owner-rights views, which are security barriers that
-- filter by the reader's scope themselves; or the area tree and the
-- programmes' latest paid cycles (no personal data; the latter granted to
-- no role, read by sp.benefits_by_person).
SELECT set_eq($$
    SELECT c.oid::regclass::text,
           coalesce('security_barrier=true' = ANY (c.reloptions), false),
           pg_get_viewdef(c.oid) ~ 'visible_areas\(\)|caller_area_paths\(\)'
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname IN ('sp', 'sp_internal') AND c.relkind = 'v'
      AND NOT coalesce('security_invoker=true' = ANY (c.reloptions), false)
$$, $$VALUES ('sp.admin_area_ancestor', false, false), ('sp.household_profile', true, true),
             ('sp.household_deidentified', true, true),
             ('sp.my_area_scope', true, true), ('sp.person_deidentified', true, true),
             ('sp_internal.person_linkage_input', true, true), ('sp_internal.person_linkage_input_rotating', true, true),
             ('sp_internal.person_linkage_labelled', true, true), ('sp.benefits_by_person', true, true),
             ('sp_internal.last_sent_cycle', false, false)$$,
   'views run with the reader''s rights, except the scoped security-barrier views (and the area tree, the paid cycles)');

SELECT is_empty($$
    SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname IN ('sp', 'sp_internal') AND p.prosecdef
      AND (p.proconfig IS NULL OR NOT p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp']
           OR EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%' AND c <> 'search_path=pg_catalog, pg_temp')
           OR p.proleakproof OR NOT (SELECT r.rolsuper FROM pg_roles r WHERE r.oid = p.proowner))
$$, 'every SECURITY DEFINER function: search_path = pg_catalog, pg_temp exactly, not leakproof, owned by a superuser');

-- What is granted works for every role it is granted to: calls of every
-- granted function (and direct writes of configuration) as each such role,
-- and a read of every readable table and view (policies read sp.household
-- and sp.person with the reader's rights).
SELECT is_empty($$
    SELECT c.fn, s.role, o.outcome
    FROM adv_lab.calls c CROSS JOIN shipped s
    CROSS JOIN LATERAL (SELECT adv_lab.outcome('adv_' || substr(s.role, 4), NULL, c.sql) AS outcome) o
    WHERE CASE WHEN c.fn LIKE '%(%' THEN has_function_privilege(s.role, c.fn, 'EXECUTE')
               ELSE has_any_column_privilege(s.role, split_part(c.fn, ' ', 2), split_part(c.fn, ' ', 1)) END
      AND o.outcome LIKE '42501:permission denied%'
$$, 'every granted function and configuration write works for every role it is granted to');

SELECT is_empty($$
    SELECT c.oid::regclass, s.role, o.outcome
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace CROSS JOIN shipped s
    CROSS JOIN LATERAL (SELECT a.attname FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                          AND has_column_privilege(s.role, c.oid, a.attnum, 'SELECT') ORDER BY a.attnum LIMIT 1) col
    CROSS JOIN LATERAL (SELECT adv_lab.outcome('adv_' || substr(s.role, 4), NULL,
                                               format('SELECT count(%I) FROM %s', col.attname, c.oid::regclass)) AS outcome) o
    WHERE n.nspname IN ('sp', 'sp_internal') AND c.relkind IN ('r', 'v') AND o.outcome NOT LIKE 'ok:%'
$$, 'every readable table and view can be read by every role it is granted to');

-- Finding 10 of issue 9: a missing privilege is refused at the function's
-- boundary, naming the function, not somewhere inside it.
SELECT is_empty($$
    SELECT c.fn, s.role, o.outcome
    FROM adv_lab.calls c CROSS JOIN shipped s
    CROSS JOIN LATERAL (SELECT adv_lab.outcome('adv_' || substr(s.role, 4), NULL, c.sql) AS outcome) o
    WHERE c.fn LIKE '%(%' AND NOT has_function_privilege(s.role, c.fn, 'EXECUTE')
      AND o.outcome <> '42501:permission denied for function ' || (SELECT p.proname FROM pg_proc p WHERE p.oid = c.fn::regprocedure)
$$, 'every API function refuses the roles it is not granted to with 42501 "permission denied for function"');

SELECT * FROM finish();
ROLLBACK;
