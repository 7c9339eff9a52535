-- Row-level security: every table that holds personal or household data shows
-- a role only the rows of the areas in its scope (sql/17_area_scope.sql).
--
-- Roles only read these tables (writes go through SECURITY DEFINER functions,
-- which run as the owner and check scopes themselves), so the policies are
-- FOR SELECT.  Each policy reduces to "household in a visible area": the
-- caller's areas are computed once per query (PostgreSQL runs the uncorrelated
-- IN (SELECT ...) once and hashes it), and other tables point at households,
-- whose own policy then applies.  The table owner and superusers are not
-- subject to these policies (no FORCE): the API functions depend on it.
--
-- Each policy starts with "(SELECT sp_internal.has_national_scope()) OR":
-- one test per query, true for national readers, so that the area hash and,
-- on tables that point at households, the hash of every visible household are
-- never built for them (a point read of one household's enrolments by a
-- national caseworker went from 31 ms to 1 ms at 60,000 households).
--
-- The function is called in the FROM clause of the sub-select, not in its
-- target list: "IN (SELECT sp_internal.visible_areas())" plans as a
-- ProjectSet, which keeps the whole query out of parallel plans, so a scoped
-- role's scan ran on one core where the owner's used several (2.1x the
-- owner's time over a million persons).  As a function scan the hashed
-- sub-plan is parallel safe and each worker probes it.

ALTER TABLE sp.household ENABLE ROW LEVEL SECURITY;
CREATE POLICY household_in_scope ON sp.household FOR SELECT
    USING ((SELECT sp_internal.has_national_scope())
           OR admin_area_code IN (SELECT v.code FROM sp_internal.visible_areas() v (code)));

ALTER TABLE sp.household_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY household_history_in_scope ON sp.household_history FOR SELECT
    USING ((SELECT sp_internal.has_national_scope())
           OR household_id IN (SELECT h.household_id FROM sp.household h));

ALTER TABLE sp.person ENABLE ROW LEVEL SECURITY;
-- persons carry their household's area (sp.person.admin_area_code), so this
-- is the same cheap test as for households, without a join
CREATE POLICY person_in_scope ON sp.person FOR SELECT
    USING ((SELECT sp_internal.has_national_scope())
           OR admin_area_code IN (SELECT v.code FROM sp_internal.visible_areas() v (code)));

ALTER TABLE sp.person_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY person_history_in_scope ON sp.person_history FOR SELECT
    USING ((SELECT sp_internal.has_national_scope())
           OR household_id IN (SELECT h.household_id FROM sp.household h));

ALTER TABLE sp.registration_submission ENABLE ROW LEVEL SECURITY;
CREATE POLICY registration_submission_in_scope ON sp.registration_submission FOR SELECT
    USING ((SELECT sp_internal.has_national_scope())
           OR household_id IN (SELECT h.household_id FROM sp.household h));

-- Offline form submissions (sql/80_odk.sql): of households in scope, or the
-- reader's own (a conflict about an edit of a submission never received has
-- no household).
ALTER TABLE sp.form_submission ENABLE ROW LEVEL SECURITY;
CREATE POLICY form_submission_in_scope ON sp.form_submission FOR SELECT
    USING ((SELECT sp_internal.has_national_scope())
           OR received_by = (SELECT sp_internal.caller()::text)
           OR household_id IN (SELECT h.household_id FROM sp.household h));

-- Rejected documents never became households: the uploader sees its own, and
-- others see those naming an area in their scope.
ALTER TABLE sp.import_error ENABLE ROW LEVEL SECURITY;
CREATE POLICY import_error_in_scope ON sp.import_error FOR SELECT
    USING ((SELECT sp_internal.has_national_scope())
           OR received_by = sp_internal.caller()
           OR (document ->> 'admin_area_code') IN (SELECT v.code FROM sp_internal.visible_areas() v (code)));

ALTER TABLE sp.registration_duplicate ENABLE ROW LEVEL SECURITY;
CREATE POLICY registration_duplicate_in_scope ON sp.registration_duplicate FOR SELECT
    USING ((SELECT sp_internal.has_national_scope())
           OR (person_id IN (SELECT p.person_id FROM sp.person p)
               AND candidate_person_id IN (SELECT p.person_id FROM sp.person p)));

ALTER TABLE sp.person_cluster ENABLE ROW LEVEL SECURITY;
CREATE POLICY person_cluster_in_scope ON sp.person_cluster FOR SELECT
    USING ((SELECT sp_internal.has_national_scope())
           OR person_id IN (SELECT p.person_id FROM sp.person p));

-- A pair is shown only to those who may see both persons: a reviewer
-- decides with both records in front of them.
ALTER TABLE sp.match_review ENABLE ROW LEVEL SECURITY;
CREATE POLICY match_review_in_scope ON sp.match_review FOR SELECT
    USING ((SELECT sp_internal.has_national_scope())
           OR (person_id IN (SELECT p.person_id FROM sp.person p)
               AND other_person_id IN (SELECT p.person_id FROM sp.person p)));

ALTER TABLE sp.person_merge ENABLE ROW LEVEL SECURITY;
CREATE POLICY person_merge_in_scope ON sp.person_merge FOR SELECT
    USING ((SELECT sp_internal.has_national_scope())
           OR (survivor_id IN (SELECT p.person_id FROM sp.person p)
               AND merged_id IN (SELECT p.person_id FROM sp.person p)));

ALTER TABLE sp.assessment ENABLE ROW LEVEL SECURITY;
CREATE POLICY assessment_in_scope ON sp.assessment FOR SELECT
    USING ((SELECT sp_internal.has_national_scope())
           OR household_id IN (SELECT h.household_id FROM sp.household h));

ALTER TABLE sp.mpi_assessment ENABLE ROW LEVEL SECURITY;
CREATE POLICY mpi_assessment_in_scope ON sp.mpi_assessment FOR SELECT
    USING ((SELECT sp_internal.has_national_scope())
           OR household_id IN (SELECT h.household_id FROM sp.household h));

ALTER TABLE sp.eligibility_decision ENABLE ROW LEVEL SECURITY;
CREATE POLICY eligibility_decision_in_scope ON sp.eligibility_decision FOR SELECT
    USING ((SELECT sp_internal.has_national_scope())
           OR household_id IN (SELECT h.household_id FROM sp.household h));

ALTER TABLE sp.eligibility_review ENABLE ROW LEVEL SECURITY;
CREATE POLICY eligibility_review_in_scope ON sp.eligibility_review FOR SELECT
    USING ((SELECT sp_internal.has_national_scope())
           OR household_id IN (SELECT h.household_id FROM sp.household h));

ALTER TABLE sp.enrolment ENABLE ROW LEVEL SECURITY;
CREATE POLICY enrolment_in_scope ON sp.enrolment FOR SELECT
    USING ((SELECT sp_internal.has_national_scope())
           OR household_id IN (SELECT h.household_id FROM sp.household h));

ALTER TABLE sp.enrolment_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY enrolment_history_in_scope ON sp.enrolment_history FOR SELECT
    USING ((SELECT sp_internal.has_national_scope())
           OR household_id IN (SELECT h.household_id FROM sp.household h));

ALTER TABLE sp.consent ENABLE ROW LEVEL SECURITY;
CREATE POLICY consent_in_scope ON sp.consent FOR SELECT
    USING ((SELECT sp_internal.has_national_scope())
           OR person_id IN (SELECT p.person_id FROM sp.person p));

-- Grievances (sql/62_grievance.sql): seen by the officers of the area that
-- handles the case and, unless its category is confidential (misconduct), of
-- the area it concerns; events, messages and reassessments follow their case.
ALTER TABLE sp.grievance ENABLE ROW LEVEL SECURITY;
CREATE POLICY grievance_in_scope ON sp.grievance FOR SELECT
    USING ((SELECT sp_internal.has_national_scope())
           OR responsible_area_code IN (SELECT v.code FROM sp_internal.visible_areas() v (code))
           OR (NOT confidential AND admin_area_code IN (SELECT v.code FROM sp_internal.visible_areas() v (code))));
ALTER TABLE sp.grievance_event ENABLE ROW LEVEL SECURITY;
CREATE POLICY grievance_event_in_scope ON sp.grievance_event FOR SELECT
    USING ((SELECT sp_internal.has_national_scope()) OR grievance_id IN (SELECT g.grievance_id FROM sp.grievance g));
ALTER TABLE sp.grievance_message ENABLE ROW LEVEL SECURITY;
CREATE POLICY grievance_message_in_scope ON sp.grievance_message FOR SELECT
    USING ((SELECT sp_internal.has_national_scope()) OR grievance_id IN (SELECT g.grievance_id FROM sp.grievance g));
ALTER TABLE sp.grievance_reassessment ENABLE ROW LEVEL SECURITY;
CREATE POLICY grievance_reassessment_in_scope ON sp.grievance_reassessment FOR SELECT
    USING ((SELECT sp_internal.has_national_scope()) OR grievance_id IN (SELECT g.grievance_id FROM sp.grievance g));

-- Civil-registration events (sql/63_crvs.sql): seen with the household they
-- were applied to; in review, by the area the event was reported in (none:
-- national reviewers only).
ALTER TABLE sp.crvs_event ENABLE ROW LEVEL SECURITY;
CREATE POLICY crvs_event_in_scope ON sp.crvs_event FOR SELECT
    USING ((SELECT sp_internal.has_national_scope())
           OR household_id IN (SELECT h.household_id FROM sp.household h)
           OR (household_id IS NULL AND admin_area_code IN (SELECT v.code FROM sp_internal.visible_areas() v (code))));

-- External beneficiaries (sql/73_ibr.sql): a linked row is seen with its
-- person; an unlinked one by the area the ministry gave, and an ambiguous one
-- also by any of its candidates (its reviewers); else by national readers
-- only.  The same for their history.
ALTER TABLE sp.external_beneficiary ENABLE ROW LEVEL SECURITY;
CREATE POLICY external_beneficiary_in_scope ON sp.external_beneficiary FOR SELECT
    USING ((SELECT sp_internal.has_national_scope())
           OR CASE WHEN person_id IS NOT NULL THEN person_id IN (SELECT p.person_id FROM sp.person p)
                   WHEN admin_area_code IN (SELECT v.code FROM sp_internal.visible_areas() v (code)) THEN true
                   WHEN link_status = 'ambiguous' THEN
                       EXISTS (SELECT 1 FROM jsonb_array_elements(candidates) c
                               WHERE (c ->> 'person_id')::bigint IN (SELECT p.person_id FROM sp.person p))
                   ELSE false END);
ALTER TABLE sp.external_beneficiary_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY external_beneficiary_history_in_scope ON sp.external_beneficiary_history FOR SELECT
    USING ((SELECT sp_internal.has_national_scope())
           OR CASE WHEN person_id IS NOT NULL THEN person_id IN (SELECT p.person_id FROM sp.person p)
                   WHEN admin_area_code IN (SELECT v.code FROM sp_internal.visible_areas() v (code)) THEN true
                   WHEN link_status = 'ambiguous' THEN
                       EXISTS (SELECT 1 FROM jsonb_array_elements(candidates) c
                               WHERE (c ->> 'person_id')::bigint IN (SELECT p.person_id FROM sp.person p))
                   ELSE false END);

-- The outbox (sql/78_outbox.sql): events of the reader's areas (consumers
-- claim through sp.outbox_claim, which applies the same scope).
ALTER TABLE sp.outbox_event ENABLE ROW LEVEL SECURITY;
CREATE POLICY outbox_event_in_scope ON sp.outbox_event FOR SELECT
    USING ((SELECT sp_internal.has_national_scope()) OR admin_area_code IN (SELECT v.code FROM sp_internal.visible_areas() v (code)));

-- Conditionality (sql/64_conditionality.sql): reports and steps are household data.
ALTER TABLE sp.compliance_report ENABLE ROW LEVEL SECURITY;
CREATE POLICY compliance_report_in_scope ON sp.compliance_report FOR SELECT
    USING ((SELECT sp_internal.has_national_scope()) OR household_id IN (SELECT h.household_id FROM sp.household h));
ALTER TABLE sp.compliance_step ENABLE ROW LEVEL SECURITY;
CREATE POLICY compliance_step_in_scope ON sp.compliance_step FOR SELECT
    USING ((SELECT sp_internal.has_national_scope()) OR household_id IN (SELECT h.household_id FROM sp.household h));

-- Case management (sql/65_cases.sql): household data.
ALTER TABLE sp.change_request ENABLE ROW LEVEL SECURITY;
CREATE POLICY change_request_in_scope ON sp.change_request FOR SELECT
    USING ((SELECT sp_internal.has_national_scope()) OR household_id IN (SELECT h.household_id FROM sp.household h));
ALTER TABLE sp.service_case ENABLE ROW LEVEL SECURITY;
CREATE POLICY service_case_in_scope ON sp.service_case FOR SELECT
    USING ((SELECT sp_internal.has_national_scope()) OR household_id IN (SELECT h.household_id FROM sp.household h));
ALTER TABLE sp.referral ENABLE ROW LEVEL SECURITY;
CREATE POLICY referral_in_scope ON sp.referral FOR SELECT
    USING ((SELECT sp_internal.has_national_scope()) OR household_id IN (SELECT h.household_id FROM sp.household h));
ALTER TABLE sp.case_event ENABLE ROW LEVEL SECURITY;
CREATE POLICY case_event_in_scope ON sp.case_event FOR SELECT
    USING ((SELECT sp_internal.has_national_scope()) OR household_id IN (SELECT h.household_id FROM sp.household h));

-- Views over these tables run with the reader's rights, so the policies
-- apply through them too.
ALTER VIEW sp.current_assessment SET (security_invoker = true);
ALTER VIEW sp.current_mpi_assessment SET (security_invoker = true);
ALTER VIEW sp.enrolment_summary SET (security_invoker = true);
ALTER VIEW sp.current_consent SET (security_invoker = true);

-- Views that de-identify (sp.person_deidentified, sp.household_profile) run
-- with the owner's rights, so that their readers need no access to names or
-- birth dates; they filter by the reader's scope themselves and are security
-- barriers, so that no function of the reader sees rows outside it.

-- The audit trail is national oversight: a caller with national scope sees
-- every record; anyone else only the records of its own accesses (the
-- records name persons of every area).  sp.verify_audit_chain() runs as the
-- owner and checks the whole chain whoever calls it.
ALTER TABLE sp.audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_log_national_or_own ON sp.audit_log FOR SELECT
    USING ((SELECT sp_internal.has_national_scope()) OR acting_role = sp_internal.caller());

-- Payments (sql/60_payments.sql): who was paid what is household data.
ALTER TABLE sp.payment ENABLE ROW LEVEL SECURITY;
CREATE POLICY payment_in_scope ON sp.payment FOR SELECT
    USING ((SELECT sp_internal.has_national_scope())
           OR household_id IN (SELECT h.household_id FROM sp.household h));

ALTER TABLE sp.payment_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY payment_history_in_scope ON sp.payment_history FOR SELECT
    USING ((SELECT sp_internal.has_national_scope())
           OR household_id IN (SELECT h.household_id FROM sp.household h));

ALTER TABLE sp.payment_exclusion ENABLE ROW LEVEL SECURITY;
CREATE POLICY payment_exclusion_in_scope ON sp.payment_exclusion FOR SELECT
    USING ((SELECT sp_internal.has_national_scope())
           OR household_id IN (SELECT h.household_id FROM sp.household h));

-- Disbursement batches and reconciliations (sql/61_disbursement.sql) describe
-- whole cycles: national scope only.
ALTER TABLE sp.disbursement_batch ENABLE ROW LEVEL SECURITY;
CREATE POLICY disbursement_batch_national ON sp.disbursement_batch FOR SELECT
    USING ((SELECT sp_internal.has_national_scope()));
ALTER TABLE sp.payment_reconciliation ENABLE ROW LEVEL SECURITY;
CREATE POLICY payment_reconciliation_national ON sp.payment_reconciliation FOR SELECT
    USING ((SELECT sp_internal.has_national_scope()));
ALTER TABLE sp.payment_reconciliation_issue ENABLE ROW LEVEL SECURITY;
CREATE POLICY payment_reconciliation_issue_national ON sp.payment_reconciliation_issue FOR SELECT
    USING ((SELECT sp_internal.has_national_scope()));

-- Shock responses (sql/71_shock.sql): the decisions and top-ups name
-- households; the shocks and responses themselves are counts and footprints.
ALTER TABLE sp.shock_decision ENABLE ROW LEVEL SECURITY;
CREATE POLICY shock_decision_in_scope ON sp.shock_decision FOR SELECT
    USING ((SELECT sp_internal.has_national_scope())
           OR household_id IN (SELECT h.household_id FROM sp.household h));
ALTER TABLE sp.shock_top_up ENABLE ROW LEVEL SECURITY;
CREATE POLICY shock_top_up_in_scope ON sp.shock_top_up FOR SELECT
    USING ((SELECT sp_internal.has_national_scope())
           OR household_id IN (SELECT h.household_id FROM sp.household h));
-- a response's counts of households by decision can be small: national scope only
ALTER TABLE sp.shock_response ENABLE ROW LEVEL SECURITY;
CREATE POLICY shock_response_national ON sp.shock_response FOR SELECT
    USING ((SELECT sp_internal.has_national_scope()));
