-- Case management (issue 12): change requests to registry data decided by a
-- second person, and cases with notes, assignment and referrals to other
-- services.
--
-- A change request records who asked (the family member, on which channel),
-- what should change, the evidence seen and why; a caseworker who did not
-- make the request approves it, and it is applied through sp.update_household
-- or sp.update_person as a new version of the record, or rejects it with a
-- reason.  A case follows a household through a difficulty (a child out of
-- school, a disability, a protection concern): notes, an officer, referrals
-- to health, education, child protection and the like, and their outcome.

-- ------------------------------------------------------------------------
-- Change requests
-- ------------------------------------------------------------------------

CREATE TABLE sp.change_request (
    request_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    household_id      bigint NOT NULL REFERENCES sp.household (household_id),
    person_id         bigint REFERENCES sp.person (person_id),
    patch             jsonb NOT NULL,
    target_version    integer NOT NULL,
    reason            text NOT NULL CHECK (length(reason) BETWEEN 1 AND 1000),
    evidence          jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(evidence) = 'array'),
    asked_by          bigint REFERENCES sp.person (person_id),
    channel           text NOT NULL CHECK (channel IN ('walk_in', 'phone', 'sms', 'web', 'home_visit', 'community', 'grievance')),
    grievance_id      bigint REFERENCES sp.grievance (grievance_id),
    status            text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected', 'withdrawn')),
    requested_at      timestamptz NOT NULL DEFAULT now(),
    requested_by      text NOT NULL DEFAULT sp_internal.caller(),
    requested_session text NOT NULL DEFAULT session_user,
    decided_at        timestamptz,
    decided_by        text,
    decision_reason   text CHECK (length(decision_reason) <= 1000),
    applied_version   integer,
    CHECK ((status = 'pending') = (decided_at IS NULL)),
    CHECK (status <> 'approved' OR applied_version IS NOT NULL),
    CHECK (decided_by IS NULL OR decided_by <> requested_by)
);
CREATE INDEX change_request_household_idx ON sp.change_request (household_id);
CREATE INDEX change_request_pending_idx ON sp.change_request (requested_at) WHERE status = 'pending';
COMMENT ON TABLE sp.change_request IS 'Requests to change registered data: the household or person, the patch (as sp.update_household or sp.update_person take it), the version it was asked against, why, the evidence seen, who asked and on which channel; decided by a second person (approved: applied as a new version, applied_version; rejected or withdrawn with a reason). Never deleted.';
COMMENT ON COLUMN sp.change_request.evidence IS 'Documents seen: [{"type": "birth_certificate", "reference": "BC 2019/4471"}, ...]. References, not copies.';
COMMENT ON COLUMN sp.change_request.target_version IS 'The version of the household or person when the change was asked: approving fails (40001) if the record changed since, so that nobody approves a change against data they have not seen.';
CREATE TRIGGER change_request_no_delete BEFORE DELETE ON sp.change_request
    FOR EACH ROW EXECUTE FUNCTION sp_internal.forbid_delete();

CREATE FUNCTION sp_internal.change_request_guard()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'pending' AND NOT sp_internal.loading_rows(TG_RELID) THEN
            RAISE EXCEPTION 'a change request starts as pending' USING ERRCODE = 'check_violation', COLUMN = 'status';
        END IF;
        RETURN NEW;
    END IF;
    IF OLD.status <> 'pending' THEN
        RAISE EXCEPTION 'change request % was % and is final', OLD.request_id, OLD.status USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF (NEW.household_id, NEW.person_id, NEW.patch, NEW.target_version, NEW.reason, NEW.evidence, NEW.asked_by, NEW.channel,
        NEW.grievance_id, NEW.requested_at, NEW.requested_by, NEW.requested_session)
       IS DISTINCT FROM (OLD.household_id, OLD.person_id, OLD.patch, OLD.target_version, OLD.reason, OLD.evidence, OLD.asked_by, OLD.channel,
        OLD.grievance_id, OLD.requested_at, OLD.requested_by, OLD.requested_session) THEN
        RAISE EXCEPTION 'change request % keeps what was asked, by whom and when', OLD.request_id USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION sp_internal.change_request_guard() IS 'Trigger: a change request keeps what was asked; it is decided once.';
CREATE TRIGGER change_request_guard BEFORE INSERT OR UPDATE ON sp.change_request
    FOR EACH ROW EXECUTE FUNCTION sp_internal.change_request_guard();

-- Applies a patch through the update API; with dry_run, in a subtransaction
-- that is rolled back, so that a request is validated exactly as it will be applied.
CREATE FUNCTION sp_internal.apply_change(p_household_id bigint, p_person_id bigint, p_patch jsonb, p_reason text,
                                         p_version integer, dry_run boolean)
    RETURNS integer
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v integer;
BEGIN
    IF NOT dry_run THEN
        IF p_person_id IS NULL THEN
            RETURN (sp.update_household(p_household_id, p_patch, p_reason, p_version) ->> 'version')::integer;
        END IF;
        RETURN (sp.update_person(p_person_id, p_patch, p_reason, p_version) ->> 'version')::integer;
    END IF;
    BEGIN
        IF p_person_id IS NULL THEN
            v := (sp.update_household(p_household_id, p_patch, p_reason, p_version) ->> 'version')::integer;
        ELSE
            v := (sp.update_person(p_person_id, p_patch, p_reason, p_version) ->> 'version')::integer;
        END IF;
        RAISE EXCEPTION USING ERRCODE = 'P0099', MESSAGE = 'dry run';
    EXCEPTION WHEN SQLSTATE 'P0099' THEN
        NULL;
    END;
    RETURN v;
END
$$;
COMMENT ON FUNCTION sp_internal.apply_change(bigint, bigint, jsonb, text, integer, boolean) IS 'Applies a change through sp.update_household / sp.update_person and returns the new version; with dry_run, validates it the same way and rolls it back.';
REVOKE ALL ON FUNCTION sp_internal.apply_change(bigint, bigint, jsonb, text, integer, boolean) FROM PUBLIC;

CREATE FUNCTION sp.request_change(doc jsonb)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k text;
    v_household bigint;
    v_person bigint;
    v_asked bigint;
    v_grievance bigint;
    v_version integer;
    v_reason text;
    x sp.change_request;
BEGIN
    IF doc IS NULL OR jsonb_typeof(doc) <> 'object' THEN
        RAISE EXCEPTION 'a change request is a JSON object' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT key INTO k FROM jsonb_object_keys(doc) key
    WHERE key NOT IN ('household_id', 'person_id', 'patch', 'reason', 'evidence', 'asked_by', 'channel', 'grievance_id') ORDER BY key LIMIT 1;
    IF k IS NOT NULL THEN
        RAISE EXCEPTION 'unknown field "%" in a change request', left(k, 64) USING ERRCODE = 'invalid_parameter_value', COLUMN = left(k, 64);
    END IF;
    v_household := sp_internal.doc_id(doc, 'household_id');
    v_person := sp_internal.doc_id(doc, 'person_id');
    v_asked := sp_internal.doc_id(doc, 'asked_by');
    v_grievance := sp_internal.doc_id(doc, 'grievance_id');
    IF (v_household IS NULL) = (v_person IS NULL) THEN
        RAISE EXCEPTION 'a change request names a household_id or a person_id' USING ERRCODE = 'invalid_parameter_value', COLUMN = 'household_id';
    END IF;
    IF jsonb_typeof(doc -> 'patch') IS DISTINCT FROM 'object' OR doc -> 'patch' = '{}' THEN
        RAISE EXCEPTION 'patch is a non-empty JSON object (as sp.update_household or sp.update_person take it)'
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'patch';
    END IF;
    v_reason := btrim(doc ->> 'reason');
    IF jsonb_typeof(doc -> 'reason') IS DISTINCT FROM 'string' OR v_reason = '' OR length(v_reason) > 1000 THEN
        RAISE EXCEPTION 'reason is required, at most 1000 characters' USING ERRCODE = 'invalid_parameter_value', COLUMN = 'reason';
    END IF;
    IF doc ? 'evidence' AND (jsonb_typeof(doc -> 'evidence') <> 'array' OR jsonb_array_length(doc -> 'evidence') > 20
                             OR EXISTS (SELECT 1 FROM jsonb_array_elements(doc -> 'evidence') e
                                        WHERE jsonb_typeof(e) <> 'object' OR jsonb_typeof(e -> 'type') IS DISTINCT FROM 'string'
                                           OR length(e ->> 'type') NOT BETWEEN 1 AND 100 OR length(coalesce(e ->> 'reference', '')) > 200
                                           OR EXISTS (SELECT 1 FROM jsonb_object_keys(e) ek WHERE ek NOT IN ('type', 'reference')))) THEN
        RAISE EXCEPTION 'evidence is an array of at most 20 {type, reference} objects' USING ERRCODE = 'invalid_parameter_value', COLUMN = 'evidence';
    END IF;
    IF doc ->> 'channel' IS NULL OR doc ->> 'channel' NOT IN ('walk_in', 'phone', 'sms', 'web', 'home_visit', 'community', 'grievance') THEN
        RAISE EXCEPTION 'channel must be walk_in, phone, sms, web, home_visit, community or grievance' USING ERRCODE = 'invalid_parameter_value',
            COLUMN = 'channel';
    END IF;
    -- the target, in the caller's scope, and the version the change is asked against
    IF v_person IS NOT NULL THEN
        v_household := sp_internal.person_household_in_scope(v_person);
        SELECT p.version INTO v_version FROM sp.person p WHERE p.person_id = v_person;
    ELSE
        PERFORM sp_internal.household_area_in_scope(v_household);
        SELECT h.version INTO v_version FROM sp.household h WHERE h.household_id = v_household;
    END IF;
    IF v_asked IS NOT NULL THEN
        PERFORM sp_internal.person_household_in_scope(v_asked);
    END IF;
    IF v_grievance IS NOT NULL THEN
        PERFORM sp_internal.grievance_in_scope(v_grievance, false);
    END IF;
    -- validated now exactly as it will be applied
    PERFORM sp_internal.apply_change(v_household, v_person, doc -> 'patch', 'change request (validation)', v_version, true);
    INSERT INTO sp.change_request (household_id, person_id, patch, target_version, reason, evidence, asked_by, channel, grievance_id)
    VALUES (v_household, v_person, doc -> 'patch', v_version, v_reason, coalesce(doc -> 'evidence', '[]'), v_asked, doc ->> 'channel', v_grievance)
    RETURNING * INTO x;
    IF v_grievance IS NOT NULL THEN
        INSERT INTO sp.grievance_event (grievance_id, event, from_status, to_status, escalation_level, responsible_area_code, assigned_to, detail)
        SELECT g.grievance_id, 'note', g.status, g.status, g.escalation_level, g.responsible_area_code, g.assigned_to,
               format('change request %s opened', x.request_id)
        FROM sp.grievance g WHERE g.grievance_id = v_grievance;
    END IF;
    RETURN jsonb_build_object('request_id', x.request_id, 'status', x.status, 'household_id', x.household_id, 'person_id', x.person_id,
                              'target_version', x.target_version);
END
$$;
COMMENT ON FUNCTION sp.request_change(jsonb) IS 'Records a request to change registered data: {household_id | person_id, patch (as sp.update_household / sp.update_person take it), reason, evidence: [{type, reference}], asked_by (the person who asked), channel, grievance_id (a data-correction grievance)}. The patch is validated as it will be applied (the same errors, nothing changed); a second person decides it with sp.decide_change_request.';

CREATE FUNCTION sp.decide_change_request(request_id bigint, decision text, reason text)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    x sp.change_request;
    v integer;
    me text := sp_internal.caller();
BEGIN
    PERFORM sp_internal.require_reason(decide_change_request.reason, 'A decision on a change request records why.');
    IF decision IS NULL OR decision NOT IN ('approve', 'reject', 'withdraw') THEN
        RAISE EXCEPTION 'decision must be approve, reject or withdraw' USING ERRCODE = 'invalid_parameter_value', COLUMN = 'decision';
    END IF;
    SELECT * INTO x FROM sp.change_request r WHERE r.request_id = decide_change_request.request_id;
    IF NOT FOUND OR NOT sp_internal.household_in_scope(x.household_id) THEN
        PERFORM sp_internal.raise_not_found('change request', decide_change_request.request_id);
    END IF;
    SELECT * INTO x FROM sp.change_request r WHERE r.request_id = decide_change_request.request_id FOR UPDATE;
    IF x.status <> 'pending' THEN
        RAISE EXCEPTION 'change request % was % and is final', x.request_id, x.status USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF decision = 'withdraw' THEN
        -- only whoever asked for it takes it back
        IF x.requested_by <> me THEN
            RAISE EXCEPTION 'change request % is withdrawn by whoever made it', x.request_id USING ERRCODE = 'insufficient_privilege';
        END IF;
        UPDATE sp.change_request r SET status = 'withdrawn', decided_at = now(), decided_by = NULL, decision_reason = decide_change_request.reason
        WHERE r.request_id = x.request_id;
        RETURN jsonb_build_object('request_id', x.request_id, 'status', 'withdrawn');
    END IF;
    -- a caseworker decides; four eyes: not the role that asked, nor the same
    -- login through another role
    IF NOT pg_catalog.pg_has_role(sp_internal.caller_oid(), 'sp_caseworker', 'USAGE') THEN
        RAISE EXCEPTION 'change requests are decided by caseworkers' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF x.requested_by = me
       OR (x.requested_session = session_user AND NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = session_user)) THEN
        RAISE EXCEPTION 'change request % was made by this role or from this login, which cannot also decide it', x.request_id
            USING ERRCODE = 'insufficient_privilege', DETAIL = 'A second person decides every change request (four eyes).';
    END IF;
    IF decision = 'reject' THEN
        UPDATE sp.change_request r SET status = 'rejected', decided_at = now(), decided_by = me, decision_reason = decide_change_request.reason
        WHERE r.request_id = x.request_id;
        RETURN jsonb_build_object('request_id', x.request_id, 'status', 'rejected');
    END IF;
    -- applied as a new version, against the version that was asked about
    v := sp_internal.apply_change(x.household_id, x.person_id, x.patch,
                                  left(format('change request %s: %s (approved: %s)', x.request_id, x.reason, decide_change_request.reason), 1000),
                                  x.target_version, false);
    UPDATE sp.change_request r SET status = 'approved', decided_at = now(), decided_by = me, decision_reason = decide_change_request.reason, applied_version = v
    WHERE r.request_id = x.request_id;
    RETURN jsonb_build_object('request_id', x.request_id, 'status', 'approved', 'applied_version', v);
END
$$;
COMMENT ON FUNCTION sp.decide_change_request(bigint, text, text) IS 'Decides a pending change request with a reason: approve (applied through sp.update_household / sp.update_person as a new version; 40001 if the record changed since it was asked), reject, or withdraw (only by whoever made it). Whoever made it, by role or login, cannot approve or reject it (42501).';

-- ------------------------------------------------------------------------
-- Cases and referrals
-- ------------------------------------------------------------------------

CREATE TABLE sp.service_case (
    case_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    household_id bigint NOT NULL REFERENCES sp.household (household_id),
    person_id    bigint REFERENCES sp.person (person_id),
    kind         text NOT NULL CHECK (kind IN ('protection', 'disability', 'education', 'health', 'livelihood', 'follow_up', 'other')),
    summary      text NOT NULL CHECK (length(summary) BETWEEN 1 AND 2000),
    status       text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'in_progress', 'closed')),
    assigned_to  text,
    grievance_id bigint REFERENCES sp.grievance (grievance_id),
    opened_at    timestamptz NOT NULL DEFAULT now(),
    opened_by    text NOT NULL DEFAULT sp_internal.caller(),
    closed_at    timestamptz,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    version      integer NOT NULL DEFAULT 1,
    CHECK ((status = 'closed') = (closed_at IS NOT NULL))
);
CREATE INDEX service_case_household_idx ON sp.service_case (household_id);
CREATE INDEX service_case_open_idx ON sp.service_case (assigned_to) WHERE status <> 'closed';
COMMENT ON TABLE sp.service_case IS 'A case a caseworker follows for a household (or one of its members): kind, summary, status open -> in_progress -> closed (and reopened), the officer, and its referrals to other services. Every change, note and referral is in sp.case_event. Never deleted.';

CREATE TABLE sp.referral (
    referral_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id      bigint NOT NULL REFERENCES sp.service_case (case_id),
    household_id bigint NOT NULL REFERENCES sp.household (household_id),
    service      text NOT NULL CHECK (service IN ('health', 'education', 'child_protection', 'disability', 'employment', 'legal',
                                                   'psychosocial', 'nutrition', 'housing', 'other')),
    provider     text NOT NULL CHECK (length(provider) BETWEEN 1 AND 200),
    note         text CHECK (length(note) <= 2000),
    status       text NOT NULL DEFAULT 'sent' CHECK (status IN ('sent', 'accepted', 'declined', 'completed')),
    outcome      text CHECK (length(outcome) <= 2000),
    sent_at      timestamptz NOT NULL DEFAULT now(),
    sent_by      text NOT NULL DEFAULT sp_internal.caller(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (status NOT IN ('declined', 'completed') OR outcome IS NOT NULL)
);
CREATE INDEX referral_case_idx ON sp.referral (case_id);
CREATE INDEX referral_household_idx ON sp.referral (household_id);
COMMENT ON TABLE sp.referral IS 'A referral of a case to another service (health, education, child protection...) and provider: sent -> accepted -> completed, or declined, with the outcome. Every change is in sp.case_event. Never deleted.';

CREATE TABLE sp.case_event (
    event_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id      bigint NOT NULL REFERENCES sp.service_case (case_id),
    household_id bigint NOT NULL,
    event        text NOT NULL CHECK (event IN ('opened', 'status', 'assigned', 'note', 'referred', 'referral')),
    referral_id  bigint REFERENCES sp.referral (referral_id),
    detail       text,
    happened_at  timestamptz NOT NULL DEFAULT now(),
    happened_by  text NOT NULL DEFAULT sp_internal.caller()
);
CREATE INDEX case_event_idx ON sp.case_event (case_id, event_id);
CREATE INDEX case_event_household_idx ON sp.case_event (household_id);
COMMENT ON TABLE sp.case_event IS 'Everything that happened in every case: opening, status changes, assignment, notes, referrals and their progress, with who and when. Append-only.';
CREATE TRIGGER case_event_append_only BEFORE UPDATE OR DELETE ON sp.case_event
    FOR EACH ROW EXECUTE FUNCTION sp_internal.history_is_append_only();
CREATE TRIGGER service_case_no_delete BEFORE DELETE ON sp.service_case
    FOR EACH ROW EXECUTE FUNCTION sp_internal.forbid_delete();
CREATE TRIGGER referral_no_delete BEFORE DELETE ON sp.referral
    FOR EACH ROW EXECUTE FUNCTION sp_internal.forbid_delete();

CREATE FUNCTION sp_internal.service_case_guard()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF sp_internal.loading_rows(TG_RELID) THEN
            RETURN NEW;
        END IF;
        IF NEW.status <> 'open' THEN
            RAISE EXCEPTION 'a case starts open' USING ERRCODE = 'check_violation', COLUMN = 'status';
        END IF;
        RETURN NEW;
    END IF;
    IF (NEW.household_id, NEW.person_id, NEW.kind, NEW.opened_at, NEW.opened_by, NEW.grievance_id)
       IS DISTINCT FROM (OLD.household_id, OLD.person_id, OLD.kind, OLD.opened_at, OLD.opened_by, OLD.grievance_id) THEN
        RAISE EXCEPTION 'case % keeps whom it is about, its kind and its opening', OLD.case_id USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF NEW.status <> OLD.status AND NOT ((OLD.status = 'open' AND NEW.status IN ('in_progress', 'closed'))
                                         OR (OLD.status = 'in_progress' AND NEW.status = 'closed')
                                         OR (OLD.status = 'closed' AND NEW.status = 'open')) THEN
        RAISE EXCEPTION 'case % cannot go from % to %', OLD.case_id, OLD.status, NEW.status
            USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = 'Allowed: open -> in_progress -> closed; open -> closed; closed -> open (reopened).';
    END IF;
    NEW.closed_at := CASE WHEN NEW.status <> 'closed' THEN NULL WHEN OLD.status = 'closed' THEN OLD.closed_at ELSE now() END;
    NEW.version := OLD.version + 1;
    NEW.updated_at := now();
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION sp_internal.service_case_guard() IS 'Trigger: a case keeps whom it is about; its status goes open -> in_progress -> closed, open -> closed, closed -> open.';
CREATE TRIGGER service_case_guard BEFORE INSERT OR UPDATE ON sp.service_case
    FOR EACH ROW EXECUTE FUNCTION sp_internal.service_case_guard();

CREATE FUNCTION sp_internal.service_case_log()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    why text := nullif(current_setting('sp_registry.change_reason', true), '');
BEGIN
    IF sp_internal.loading_rows(TG_RELID) THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO sp.case_event (case_id, household_id, event, detail) VALUES (NEW.case_id, NEW.household_id, 'opened', NEW.kind || ': ' || NEW.summary);
        RETURN NULL;
    END IF;
    IF NEW.status <> OLD.status THEN
        INSERT INTO sp.case_event (case_id, household_id, event, detail)
        VALUES (NEW.case_id, NEW.household_id, 'status', format('%s -> %s%s', OLD.status, NEW.status, coalesce(': ' || why, '')));
    END IF;
    IF NEW.assigned_to IS DISTINCT FROM OLD.assigned_to THEN
        INSERT INTO sp.case_event (case_id, household_id, event, detail)
        VALUES (NEW.case_id, NEW.household_id, 'assigned', coalesce('to ' || NEW.assigned_to, 'unassigned') || coalesce(': ' || why, ''));
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION sp_internal.service_case_log() IS 'Trigger: writes the opening, every status change and assignment of a case to sp.case_event.';
CREATE TRIGGER service_case_log AFTER INSERT OR UPDATE ON sp.service_case
    FOR EACH ROW EXECUTE FUNCTION sp_internal.service_case_log();

CREATE FUNCTION sp_internal.referral_guard()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NOT sp_internal.loading_rows(TG_RELID) THEN
            IF NEW.status <> 'sent' THEN
                RAISE EXCEPTION 'a referral starts as sent' USING ERRCODE = 'check_violation', COLUMN = 'status';
            END IF;
            INSERT INTO sp.case_event (case_id, household_id, event, referral_id, detail)
            VALUES (NEW.case_id, NEW.household_id, 'referred', NEW.referral_id, format('to %s (%s)%s', NEW.provider, NEW.service, coalesce(': ' || NEW.note, '')));
        END IF;
        RETURN NEW;
    END IF;
    IF (NEW.case_id, NEW.household_id, NEW.service, NEW.provider, NEW.note, NEW.sent_at, NEW.sent_by)
       IS DISTINCT FROM (OLD.case_id, OLD.household_id, OLD.service, OLD.provider, OLD.note, OLD.sent_at, OLD.sent_by) THEN
        RAISE EXCEPTION 'referral % keeps where it was sent, by whom and when', OLD.referral_id USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF NEW.status <> OLD.status AND NOT ((OLD.status = 'sent' AND NEW.status IN ('accepted', 'declined'))
                                         OR (OLD.status = 'accepted' AND NEW.status IN ('completed', 'declined'))) THEN
        RAISE EXCEPTION 'referral % cannot go from % to %', OLD.referral_id, OLD.status, NEW.status
            USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = 'Allowed: sent -> accepted -> completed; sent or accepted -> declined.';
    END IF;
    NEW.updated_at := now();
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION sp_internal.referral_guard() IS 'Trigger: a referral keeps where it was sent; its status goes sent -> accepted -> completed, sent or accepted -> declined; a new referral is written to sp.case_event.';
-- AFTER INSERT (the event names the referral), BEFORE UPDATE
CREATE TRIGGER referral_guard_update BEFORE UPDATE ON sp.referral
    FOR EACH ROW EXECUTE FUNCTION sp_internal.referral_guard();
CREATE TRIGGER referral_guard_insert AFTER INSERT ON sp.referral
    FOR EACH ROW EXECUTE FUNCTION sp_internal.referral_guard();

-- A case of the caller's areas, locked.
CREATE FUNCTION sp_internal.case_in_scope(p_case_id bigint)
    RETURNS sp.service_case
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c sp.service_case;
BEGIN
    SELECT * INTO c FROM sp.service_case x WHERE x.case_id = p_case_id;
    IF NOT FOUND OR NOT sp_internal.household_in_scope(c.household_id) THEN
        PERFORM sp_internal.raise_not_found('case', p_case_id);
    END IF;
    SELECT * INTO c FROM sp.service_case x WHERE x.case_id = p_case_id FOR UPDATE;
    RETURN c;
END
$$;
COMMENT ON FUNCTION sp_internal.case_in_scope(bigint) IS 'The case, locked, when its household is in the caller''s scope (checked before any lock is waited for); no_data_found otherwise, one message for missing and out of scope.';

CREATE FUNCTION sp.open_case(household_id bigint, kind text, summary text, person_id bigint DEFAULT NULL, grievance_id bigint DEFAULT NULL)
    RETURNS sp.service_case
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    x sp.service_case;
BEGIN
    IF kind IS NULL OR kind NOT IN ('protection', 'disability', 'education', 'health', 'livelihood', 'follow_up', 'other') THEN
        RAISE EXCEPTION 'kind must be protection, disability, education, health, livelihood, follow_up or other'
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'kind';
    END IF;
    IF summary IS NULL OR btrim(summary) = '' OR length(summary) > 2000 THEN
        RAISE EXCEPTION 'summary is required, at most 2000 characters' USING ERRCODE = 'invalid_parameter_value', COLUMN = 'summary';
    END IF;
    PERFORM sp_internal.household_area_in_scope(open_case.household_id);
    IF open_case.person_id IS NOT NULL AND sp_internal.person_household_in_scope(open_case.person_id) IS DISTINCT FROM open_case.household_id THEN
        RAISE EXCEPTION 'person % is not a member of household %', open_case.person_id, open_case.household_id
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'person_id';
    END IF;
    IF open_case.grievance_id IS NOT NULL THEN
        PERFORM sp_internal.grievance_in_scope(open_case.grievance_id, false);
    END IF;
    INSERT INTO sp.service_case (household_id, person_id, kind, summary, assigned_to, grievance_id)
    VALUES (open_case.household_id, open_case.person_id, open_case.kind, btrim(open_case.summary), sp_internal.caller(), open_case.grievance_id)
    RETURNING * INTO x;
    RETURN x;
END
$$;
COMMENT ON FUNCTION sp.open_case(bigint, text, text, bigint, bigint) IS 'Opens a case for a household of the caller''s areas (and optionally one member, or a grievance it comes from), assigned to the caseworker who opens it.';

CREATE FUNCTION sp.update_case(case_id bigint, status text DEFAULT NULL, assigned_to text DEFAULT NULL, note text DEFAULT NULL)
    RETURNS sp.service_case
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    c sp.service_case;
BEGIN
    IF status IS NULL AND assigned_to IS NULL AND note IS NULL THEN
        RAISE EXCEPTION 'nothing to change: give a status, an officer or a note' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF note IS NOT NULL AND (btrim(note) = '' OR length(note) > 2000) THEN
        RAISE EXCEPTION 'a note has 1 to 2000 characters' USING ERRCODE = 'invalid_parameter_value', COLUMN = 'note';
    END IF;
    IF status IS NOT NULL AND status NOT IN ('open', 'in_progress', 'closed') THEN
        RAISE EXCEPTION 'status must be open, in_progress or closed' USING ERRCODE = 'invalid_parameter_value', COLUMN = 'status';
    END IF;
    IF status IN ('closed', 'open') AND note IS NULL THEN
        RAISE EXCEPTION 'closing or reopening a case needs a note saying why' USING ERRCODE = 'invalid_parameter_value', COLUMN = 'note';
    END IF;
    c := sp_internal.case_in_scope(case_id);
    IF assigned_to IS NOT NULL AND (NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = assigned_to AND NOT r.rolsuper)
                                    OR NOT pg_catalog.pg_has_role(assigned_to, 'sp_caseworker', 'USAGE')
                                    OR NOT sp_internal.role_covers_area(assigned_to, (SELECT h.admin_area_code FROM sp.household h WHERE h.household_id = c.household_id))) THEN
        RAISE EXCEPTION 'role "%" is not a caseworker of the household''s area', left(assigned_to, 64)
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'assigned_to';
    END IF;
    IF status IS NOT NULL AND status = c.status THEN
        RAISE EXCEPTION 'case % is already %', c.case_id, status USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    PERFORM set_config('sp_registry.change_reason', coalesce(btrim(note), ''), true);
    UPDATE sp.service_case x SET status = coalesce(update_case.status, x.status), assigned_to = coalesce(update_case.assigned_to, x.assigned_to)
    WHERE x.case_id = c.case_id RETURNING * INTO c;
    PERFORM set_config('sp_registry.change_reason', '', true);
    -- a note on its own is a note; with a change it is that change's reason
    IF note IS NOT NULL AND status IS NULL AND assigned_to IS NULL THEN
        INSERT INTO sp.case_event (case_id, household_id, event, detail) VALUES (c.case_id, c.household_id, 'note', btrim(note));
    END IF;
    RETURN c;
END
$$;
COMMENT ON FUNCTION sp.update_case(bigint, text, text, text) IS 'Moves a case on (status open, in_progress, closed: closing and reopening need a note), reassigns it to a caseworker of the household''s area, or adds a note. Each is an event of the case.';

CREATE FUNCTION sp.refer_case(case_id bigint, service text, provider text, note text DEFAULT NULL)
    RETURNS sp.referral
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c sp.service_case;
    x sp.referral;
BEGIN
    IF service IS NULL OR service NOT IN ('health', 'education', 'child_protection', 'disability', 'employment', 'legal',
                                          'psychosocial', 'nutrition', 'housing', 'other') THEN
        RAISE EXCEPTION 'service must be health, education, child_protection, disability, employment, legal, psychosocial, nutrition, housing or other'
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'service';
    END IF;
    IF provider IS NULL OR btrim(provider) = '' OR length(provider) > 200 THEN
        RAISE EXCEPTION 'provider is required, at most 200 characters' USING ERRCODE = 'invalid_parameter_value', COLUMN = 'provider';
    END IF;
    IF note IS NOT NULL AND length(note) > 2000 THEN
        RAISE EXCEPTION 'note longer than 2000 characters' USING ERRCODE = 'string_data_right_truncation', COLUMN = 'note';
    END IF;
    c := sp_internal.case_in_scope(case_id);
    IF c.status = 'closed' THEN
        RAISE EXCEPTION 'case % is closed: reopen it first', c.case_id USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    INSERT INTO sp.referral (case_id, household_id, service, provider, note)
    VALUES (c.case_id, c.household_id, refer_case.service, btrim(refer_case.provider), nullif(btrim(refer_case.note), ''))
    RETURNING * INTO x;
    RETURN x;
END
$$;
COMMENT ON FUNCTION sp.refer_case(bigint, text, text, text) IS 'Refers an open case to a service and provider (health, education, child protection, ...), with a note; an event of the case.';

CREATE FUNCTION sp.update_referral(referral_id bigint, status text, outcome text DEFAULT NULL)
    RETURNS sp.referral
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    x sp.referral;
BEGIN
    IF status IS NULL OR status NOT IN ('accepted', 'declined', 'completed') THEN
        RAISE EXCEPTION 'status must be accepted, declined or completed' USING ERRCODE = 'invalid_parameter_value', COLUMN = 'status';
    END IF;
    IF status IN ('declined', 'completed') AND (outcome IS NULL OR btrim(outcome) = '') THEN
        RAISE EXCEPTION 'a referral % says what came of it (outcome)', status USING ERRCODE = 'invalid_parameter_value', COLUMN = 'outcome';
    END IF;
    IF outcome IS NOT NULL AND length(outcome) > 2000 THEN
        RAISE EXCEPTION 'outcome longer than 2000 characters' USING ERRCODE = 'string_data_right_truncation', COLUMN = 'outcome';
    END IF;
    SELECT * INTO x FROM sp.referral r WHERE r.referral_id = update_referral.referral_id;
    IF NOT FOUND OR NOT sp_internal.household_in_scope(x.household_id) THEN
        PERFORM sp_internal.raise_not_found('referral', referral_id);
    END IF;
    PERFORM sp_internal.case_in_scope(x.case_id);
    SELECT * INTO x FROM sp.referral r WHERE r.referral_id = update_referral.referral_id FOR UPDATE;
    UPDATE sp.referral r SET status = update_referral.status, outcome = coalesce(nullif(btrim(update_referral.outcome), ''), r.outcome)
    WHERE r.referral_id = x.referral_id RETURNING * INTO x;
    INSERT INTO sp.case_event (case_id, household_id, event, referral_id, detail)
    VALUES (x.case_id, x.household_id, 'referral', x.referral_id, format('%s: %s', x.status, coalesce(x.outcome, 'no outcome yet')));
    RETURN x;
END
$$;
COMMENT ON FUNCTION sp.update_referral(bigint, text, text) IS 'Records what became of a referral: accepted, declined or completed (these two with an outcome); an event of its case.';
