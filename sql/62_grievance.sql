-- Grievances and appeals (issue 12).
--
-- A complaint is received on a channel, acknowledged, reviewed by a
-- grievance officer of its area, resolved or rejected, and closed once the
-- complainant has been told the outcome.  Each category has service levels
-- (time to acknowledge, to resolve, and the time each higher level gets after
-- an escalation); sp.escalate_overdue_grievances, scheduled with pg_cron,
-- moves a case that missed its deadline to the area above.  An appeal against
-- exclusion reassesses the household and keeps the outcome with the case.
--
-- Every change of a grievance is an event in sp.grievance_event, written by a
-- trigger, so no function added later can change a case without a trace.

-- ------------------------------------------------------------------------
-- Categories and their service levels
-- ------------------------------------------------------------------------

CREATE TABLE sp.grievance_category (
    code               text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]{1,39}$'),
    title              text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    acknowledge_within interval NOT NULL CHECK (acknowledge_within > interval '0'),
    resolve_within     interval NOT NULL,
    escalate_within    interval NOT NULL CHECK (escalate_within > interval '0'),
    confidential       boolean NOT NULL DEFAULT false,
    active             boolean NOT NULL DEFAULT true,
    updated_at         timestamptz NOT NULL DEFAULT now(),
    updated_by         text NOT NULL DEFAULT sp_internal.caller(),
    CHECK (resolve_within >= acknowledge_within)
);
COMMENT ON TABLE sp.grievance_category IS 'Kinds of grievance and their service levels: how long until a case must be acknowledged and resolved, and how long each higher level gets after an escalation. A confidential category (misconduct) is handled from the area above the one it concerns and is hidden from that area''s officers. Each grievance keeps the service levels it was received under. Changed with sp.set_grievance_category; every change is in sp.grievance_category_history.';
COMMENT ON COLUMN sp.grievance_category.escalate_within IS 'After an escalation, the time the next level has before the case escalates again.';
COMMENT ON COLUMN sp.grievance_category.confidential IS 'Cases start one level up (the officers of the area concerned may be the subject) and only officers of their responsible area see them.';

CREATE TABLE sp.grievance_category_history (
    history_id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code               text NOT NULL REFERENCES sp.grievance_category (code),
    title              text NOT NULL,
    acknowledge_within interval NOT NULL,
    resolve_within     interval NOT NULL,
    escalate_within    interval NOT NULL,
    confidential       boolean NOT NULL,
    active             boolean NOT NULL,
    reason             text,
    changed_at         timestamptz NOT NULL DEFAULT now(),
    changed_by         text NOT NULL DEFAULT sp_internal.caller()
);
COMMENT ON TABLE sp.grievance_category_history IS 'Every version of every grievance category set after installation (the shipped defaults are in docs/grievances.md), with why, who and when. Append-only.';
CREATE TRIGGER grievance_category_history_append_only BEFORE UPDATE OR DELETE ON sp.grievance_category_history
    FOR EACH ROW EXECUTE FUNCTION sp_internal.history_is_append_only();
CREATE TRIGGER grievance_category_no_delete BEFORE DELETE ON sp.grievance_category
    FOR EACH ROW EXECUTE FUNCTION sp_internal.forbid_delete();

CREATE FUNCTION sp_internal.grievance_category_log()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- a restore loads the history saved with the rows
    IF sp_internal.loading_rows(TG_RELID) THEN
        RETURN NULL;
    END IF;
    INSERT INTO sp.grievance_category_history (code, title, acknowledge_within, resolve_within, escalate_within,
                                               confidential, active, reason)
    VALUES (NEW.code, NEW.title, NEW.acknowledge_within, NEW.resolve_within, NEW.escalate_within, NEW.confidential,
            NEW.active, nullif(current_setting('sp_registry.change_reason', true), ''));
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION sp_internal.grievance_category_log() IS 'Trigger: records every version of a grievance category written after installation in sp.grievance_category_history.';

-- The shipped categories (docs/grievances.md).  They are created by CREATE
-- EXTENSION, before the history trigger: their later versions are registry
-- data, which pg_dump saves (sql/90_grants.sql), and a restore, which finds
-- the shipped row already installed, puts the saved version into it.
INSERT INTO sp.grievance_category (code, title, acknowledge_within, resolve_within, escalate_within, confidential) VALUES
    ('exclusion', 'Left out of a programme, or its assessment disputed (an appeal)', '3 days', '30 days', '14 days', false),
    ('payment', 'Payment not received, short, late or taken by someone else', '2 days', '14 days', '7 days', false),
    ('data_correction', 'Registered data is wrong or out of date', '3 days', '30 days', '14 days', false),
    ('misconduct', 'Misconduct of staff or agents: fraud, bribes, abuse', '1 day', '30 days', '14 days', true),
    ('other', 'Anything else: information, service quality', '5 days', '45 days', '14 days', false);

CREATE TRIGGER grievance_category_log AFTER INSERT OR UPDATE ON sp.grievance_category
    FOR EACH ROW EXECUTE FUNCTION sp_internal.grievance_category_log();

CREATE FUNCTION sp_internal.grievance_category_restore()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF sp_internal.loading_rows(TG_RELID) AND EXISTS (SELECT 1 FROM sp.grievance_category c WHERE c.code = NEW.code) THEN
        UPDATE sp.grievance_category c
        SET title = NEW.title, acknowledge_within = NEW.acknowledge_within, resolve_within = NEW.resolve_within,
            escalate_within = NEW.escalate_within, confidential = NEW.confidential, active = NEW.active,
            updated_at = NEW.updated_at, updated_by = NEW.updated_by
        WHERE c.code = NEW.code;
        RETURN NULL;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION sp_internal.grievance_category_restore() IS 'Trigger: a restore (sp_internal.loading_rows) of a shipped grievance category updates the installed row with the saved version.';
CREATE TRIGGER grievance_category_restore BEFORE INSERT ON sp.grievance_category
    FOR EACH ROW EXECUTE FUNCTION sp_internal.grievance_category_restore();

CREATE FUNCTION sp.set_grievance_category(code text, title text, acknowledge_within interval, resolve_within interval,
                                          escalate_within interval, confidential boolean, reason text,
                                          active boolean DEFAULT true)
    RETURNS sp.grievance_category
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    previous text;
    x sp.grievance_category;
BEGIN
    PERFORM sp_internal.require_national_scope('Setting a grievance category');
    previous := sp_internal.begin_change(reason);
    IF code IS NULL OR code !~ '^[a-z][a-z0-9_]{1,39}$' THEN
        RAISE EXCEPTION 'a grievance category code is 2 to 40 lower-case letters, digits or _, starting with a letter'
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'code';
    END IF;
    IF title IS NULL OR length(title) NOT BETWEEN 1 AND 200 THEN
        RAISE EXCEPTION 'a grievance category needs a title of 1 to 200 characters' USING ERRCODE = 'invalid_parameter_value', COLUMN = 'title';
    END IF;
    IF acknowledge_within IS NULL OR acknowledge_within <= interval '0' THEN
        RAISE EXCEPTION 'acknowledge_within must be a positive interval' USING ERRCODE = 'invalid_parameter_value', COLUMN = 'acknowledge_within';
    END IF;
    IF resolve_within IS NULL OR resolve_within < acknowledge_within THEN
        RAISE EXCEPTION 'resolve_within must be at least acknowledge_within' USING ERRCODE = 'invalid_parameter_value', COLUMN = 'resolve_within';
    END IF;
    IF escalate_within IS NULL OR escalate_within <= interval '0' THEN
        RAISE EXCEPTION 'escalate_within must be a positive interval' USING ERRCODE = 'invalid_parameter_value', COLUMN = 'escalate_within';
    END IF;
    IF confidential IS NULL OR active IS NULL THEN
        RAISE EXCEPTION 'confidential and active are true or false' USING ERRCODE = 'null_value_not_allowed', COLUMN = 'confidential';
    END IF;
    INSERT INTO sp.grievance_category AS c (code, title, acknowledge_within, resolve_within, escalate_within, confidential, active)
    VALUES (set_grievance_category.code, set_grievance_category.title, set_grievance_category.acknowledge_within,
            set_grievance_category.resolve_within, set_grievance_category.escalate_within,
            set_grievance_category.confidential, set_grievance_category.active)
    ON CONFLICT ON CONSTRAINT grievance_category_pkey DO UPDATE
    SET title = excluded.title, acknowledge_within = excluded.acknowledge_within, resolve_within = excluded.resolve_within,
        escalate_within = excluded.escalate_within, confidential = excluded.confidential, active = excluded.active,
        updated_at = now(), updated_by = sp_internal.caller()
    RETURNING * INTO x;
    PERFORM sp_internal.end_change(previous);
    RETURN x;
END
$$;
COMMENT ON FUNCTION sp.set_grievance_category(text, text, interval, interval, interval, boolean, text, boolean) IS 'Creates or changes a grievance category and its service levels, with a reason (national scope). Cases already received keep the service levels they were received under; an inactive category takes no new cases.';

-- ------------------------------------------------------------------------
-- Grievances
-- ------------------------------------------------------------------------

CREATE TABLE sp.grievance (
    grievance_id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel               text NOT NULL CHECK (channel IN ('phone', 'sms', 'web', 'walk_in', 'community')),
    external_id           text CHECK (length(external_id) BETWEEN 1 AND 200),
    category              text NOT NULL REFERENCES sp.grievance_category (code),
    confidential          boolean NOT NULL,
    anonymous             boolean NOT NULL DEFAULT false,
    complainant_person_id bigint REFERENCES sp.person (person_id),
    person_id             bigint REFERENCES sp.person (person_id),
    household_id          bigint REFERENCES sp.household (household_id),
    programme             text REFERENCES sp.programme (name),
    payment_id            bigint REFERENCES sp.payment (payment_id),
    admin_area_code       text NOT NULL REFERENCES sp.admin_area (code),
    responsible_area_code text NOT NULL REFERENCES sp.admin_area (code),
    escalation_level      integer NOT NULL DEFAULT 0 CHECK (escalation_level >= 0),
    description           text NOT NULL CHECK (length(description) BETWEEN 1 AND 4000),
    status                text NOT NULL DEFAULT 'received'
                          CHECK (status IN ('received', 'acknowledged', 'in_review', 'resolved', 'rejected', 'closed')),
    assigned_to           text,
    resolution            text CHECK (length(resolution) <= 2000),
    received_at           timestamptz NOT NULL,
    acknowledge_due       timestamptz NOT NULL,
    resolve_due           timestamptz NOT NULL,
    escalate_within       interval NOT NULL,
    acknowledged_at       timestamptz,
    resolved_at           timestamptz,
    escalated_at          timestamptz,
    reopened_at           timestamptz,
    closed_at             timestamptz,
    recorded_at           timestamptz NOT NULL DEFAULT now(),
    recorded_by           text NOT NULL DEFAULT sp_internal.caller(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    updated_by            text NOT NULL DEFAULT sp_internal.caller(),
    version               integer NOT NULL DEFAULT 1,
    UNIQUE (channel, external_id),
    CHECK (anonymous = (complainant_person_id IS NULL)),
    CHECK (status NOT IN ('resolved', 'rejected', 'closed') OR resolution IS NOT NULL)
);
CREATE INDEX grievance_responsible_idx ON sp.grievance (responsible_area_code, status);
CREATE INDEX grievance_area_idx ON sp.grievance (admin_area_code);
CREATE INDEX grievance_household_idx ON sp.grievance (household_id) WHERE household_id IS NOT NULL;
CREATE INDEX grievance_complainant_idx ON sp.grievance (complainant_person_id) WHERE complainant_person_id IS NOT NULL;
CREATE INDEX grievance_open_idx ON sp.grievance (received_at) WHERE status IN ('received', 'acknowledged', 'in_review');
COMMENT ON TABLE sp.grievance IS 'A complaint or appeal: channel, category, what it is about (a person, household, programme or payment, all optional), who complained (a registered person, or nobody when anonymous), the area it concerns and the area responsible for it now. Status: received -> acknowledged -> in_review -> resolved | rejected -> closed; a resolved or rejected case can be reopened (back to in_review) until it is closed. Submitted with sp.submit_grievance, changed only through the API; every change is an event in sp.grievance_event.';
COMMENT ON COLUMN sp.grievance.external_id IS 'The channel''s own id of the complaint (SMS id, web form id): submitting it again returns the same grievance.';
COMMENT ON COLUMN sp.grievance.complainant_person_id IS 'The registered person who complained, who is told the outcome; NULL for an anonymous complaint. People not yet registered are registered on demand, or complain anonymously and follow their case by its number.';
COMMENT ON COLUMN sp.grievance.responsible_area_code IS 'The area whose officers handle the case: the area concerned, or an area above it after escalations (or from the start, for a confidential category).';
COMMENT ON COLUMN sp.grievance.received_at IS 'When the complaint was made (a paper register may be entered days later); service levels run from it. recorded_at is when it was entered.';
COMMENT ON COLUMN sp.grievance.escalate_within IS 'The category''s escalate_within when the case was received.';

CREATE TABLE sp.grievance_event (
    event_id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    grievance_id     bigint NOT NULL REFERENCES sp.grievance (grievance_id),
    event            text NOT NULL CHECK (event IN ('received', 'acknowledged', 'review_started', 'reopened', 'resolved',
                                                    'rejected', 'closed', 'assigned', 'escalated', 'note', 'message',
                                                    'reassessed')),
    from_status      text,
    to_status        text NOT NULL,
    escalation_level integer NOT NULL,
    responsible_area_code text NOT NULL,
    assigned_to      text,
    detail           text,
    happened_at      timestamptz NOT NULL DEFAULT now(),
    happened_by      text NOT NULL DEFAULT sp_internal.caller()
);
CREATE INDEX grievance_event_idx ON sp.grievance_event (grievance_id, event_id);
COMMENT ON TABLE sp.grievance_event IS 'Everything that happened to every grievance: receipt, each status change, assignment, escalation, note, message to the complainant and reassessment, with who and when. Append-only.';
CREATE TRIGGER grievance_event_append_only BEFORE UPDATE OR DELETE ON sp.grievance_event
    FOR EACH ROW EXECUTE FUNCTION sp_internal.history_is_append_only();

CREATE TABLE sp.grievance_message (
    message_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    grievance_id bigint NOT NULL REFERENCES sp.grievance (grievance_id),
    kind         text NOT NULL CHECK (kind IN ('acknowledgement', 'update', 'outcome')),
    channel      text NOT NULL CHECK (channel IN ('sms', 'phone', 'letter', 'in_person', 'web')),
    to_person_id bigint REFERENCES sp.person (person_id),
    body         text NOT NULL CHECK (length(body) BETWEEN 1 AND 1000),
    sent_at      timestamptz NOT NULL DEFAULT now(),
    sent_by      text NOT NULL DEFAULT sp_internal.caller()
);
CREATE INDEX grievance_message_idx ON sp.grievance_message (grievance_id, message_id);
COMMENT ON TABLE sp.grievance_message IS 'What the complainant was told, word for word, when and how: the acknowledgement, updates and the outcome. A case is closed only once the outcome was told. Append-only.';
CREATE TRIGGER grievance_message_append_only BEFORE UPDATE OR DELETE ON sp.grievance_message
    FOR EACH ROW EXECUTE FUNCTION sp_internal.history_is_append_only();

CREATE TABLE sp.grievance_reassessment (
    grievance_id   bigint NOT NULL REFERENCES sp.grievance (grievance_id),
    assessment_id  bigint NOT NULL REFERENCES sp.assessment (assessment_id),
    household_id   bigint NOT NULL,
    model          text NOT NULL,
    previous_score float8,
    previous_below_cutoff boolean,
    score          float8 NOT NULL,
    below_cutoff   boolean,
    PRIMARY KEY (grievance_id, assessment_id)
);
CREATE INDEX grievance_reassessment_household_idx ON sp.grievance_reassessment (household_id);
COMMENT ON TABLE sp.grievance_reassessment IS 'The reassessments an appeal opened (sp.reassess_for_grievance): for each PMT model, the score and verdict before and after. Append-only.';
CREATE TRIGGER grievance_reassessment_append_only BEFORE UPDATE OR DELETE ON sp.grievance_reassessment
    FOR EACH ROW EXECUTE FUNCTION sp_internal.history_is_append_only();

-- The states a case is open in, and the deadline it is held to now.
CREATE FUNCTION sp_internal.grievance_deadline(g sp.grievance)
    RETURNS timestamptz
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN g.status NOT IN ('received', 'acknowledged', 'in_review') THEN NULL
                ELSE greatest(CASE WHEN g.status = 'received' THEN g.acknowledge_due ELSE g.resolve_due END,
                              g.escalated_at + g.escalate_within, g.reopened_at + g.escalate_within) END
$$;
COMMENT ON FUNCTION sp_internal.grievance_deadline(sp.grievance) IS 'When an open case escalates: its acknowledgement or resolution deadline, or escalate_within after its last escalation or reopening, whichever is later. NULL once resolved, rejected or closed.';

CREATE FUNCTION sp_internal.grievance_guard()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' AND sp_internal.loading_rows(TG_RELID) THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'received' OR NEW.assigned_to IS NOT NULL OR NEW.resolution IS NOT NULL THEN
            RAISE EXCEPTION 'a new grievance starts as received, unassigned' USING ERRCODE = 'check_violation', COLUMN = 'status';
        END IF;
        RETURN NEW;
    END IF;
    IF (NEW.channel, NEW.external_id, NEW.category, NEW.confidential, NEW.anonymous, NEW.complainant_person_id,
        NEW.person_id, NEW.household_id, NEW.programme, NEW.payment_id, NEW.admin_area_code, NEW.description,
        NEW.received_at, NEW.acknowledge_due, NEW.resolve_due, NEW.escalate_within, NEW.recorded_at, NEW.recorded_by)
       IS DISTINCT FROM
       (OLD.channel, OLD.external_id, OLD.category, OLD.confidential, OLD.anonymous, OLD.complainant_person_id,
        OLD.person_id, OLD.household_id, OLD.programme, OLD.payment_id, OLD.admin_area_code, OLD.description,
        OLD.received_at, OLD.acknowledge_due, OLD.resolve_due, OLD.escalate_within, OLD.recorded_at, OLD.recorded_by) THEN
        RAISE EXCEPTION 'grievance % keeps what was complained about, by whom and when', OLD.grievance_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'Only its status, assignment, escalation and resolution change; a correction is a note.';
    END IF;
    IF NEW.status <> OLD.status THEN
        IF NOT ((OLD.status = 'received' AND NEW.status = 'acknowledged')
             OR (OLD.status = 'acknowledged' AND NEW.status = 'in_review')
             OR (OLD.status = 'in_review' AND NEW.status IN ('resolved', 'rejected'))
             OR (OLD.status IN ('resolved', 'rejected') AND NEW.status IN ('in_review', 'closed'))) THEN
            RAISE EXCEPTION 'grievance % cannot go from % to %', OLD.grievance_id, OLD.status, NEW.status
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      DETAIL = 'Allowed: received -> acknowledged -> in_review -> resolved or rejected -> closed; resolved or rejected -> in_review (reopened).';
        END IF;
        IF NEW.status = 'in_review' AND NEW.assigned_to IS NULL THEN
            RAISE EXCEPTION 'grievance % is reviewed by an assigned officer', OLD.grievance_id
                USING ERRCODE = 'object_not_in_prerequisite_state', COLUMN = 'assigned_to';
        END IF;
        IF NEW.status IN ('resolved', 'rejected') AND (NEW.resolution IS NULL OR btrim(NEW.resolution) = '') THEN
            RAISE EXCEPTION 'grievance % needs a resolution: what was decided and why', OLD.grievance_id
                USING ERRCODE = 'not_null_violation', COLUMN = 'resolution';
        END IF;
        IF NEW.status = 'closed' AND NOT EXISTS (
               SELECT 1 FROM sp.grievance_message m
               WHERE m.grievance_id = OLD.grievance_id AND m.kind = 'outcome' AND m.sent_at >= OLD.resolved_at) THEN
            RAISE EXCEPTION 'grievance % is closed once the complainant has been told the outcome', OLD.grievance_id
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'Record what was told with sp.record_grievance_message(grievance_id, channel, ''outcome'', text).';
        END IF;
        NEW.acknowledged_at := CASE WHEN NEW.status = 'acknowledged' THEN now() ELSE OLD.acknowledged_at END;
        NEW.resolved_at := CASE WHEN NEW.status IN ('resolved', 'rejected') THEN now() ELSE OLD.resolved_at END;
        NEW.closed_at := CASE WHEN NEW.status = 'closed' THEN now() ELSE OLD.closed_at END;
        -- a reopened case gets escalate_within from now, not its old deadline
        NEW.reopened_at := CASE WHEN NEW.status = 'in_review' AND OLD.status IN ('resolved', 'rejected') THEN now() ELSE OLD.reopened_at END;
    ELSIF (NEW.acknowledged_at, NEW.resolved_at, NEW.closed_at, NEW.reopened_at)
          IS DISTINCT FROM (OLD.acknowledged_at, OLD.resolved_at, OLD.closed_at, OLD.reopened_at) THEN
        RAISE EXCEPTION 'grievance % stamps its times when its status changes', OLD.grievance_id
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF NEW.escalation_level <> OLD.escalation_level OR NEW.responsible_area_code <> OLD.responsible_area_code THEN
        IF NEW.escalation_level <> OLD.escalation_level + 1
           OR NEW.responsible_area_code IS DISTINCT FROM (SELECT a.parent_code FROM sp.admin_area a WHERE a.code = OLD.responsible_area_code)
           OR OLD.status NOT IN ('received', 'acknowledged', 'in_review') THEN
            RAISE EXCEPTION 'grievance % escalates one level at a time, to the area above, while it is open', OLD.grievance_id
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
        NEW.escalated_at := now();
    ELSIF NEW.escalated_at IS DISTINCT FROM OLD.escalated_at THEN
        RAISE EXCEPTION 'grievance % stamps its escalation time when it escalates', OLD.grievance_id
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF NEW.resolution IS DISTINCT FROM OLD.resolution AND NEW.status NOT IN ('resolved', 'rejected') THEN
        RAISE EXCEPTION 'grievance %: a resolution is given when it is resolved or rejected', OLD.grievance_id
            USING ERRCODE = 'object_not_in_prerequisite_state', COLUMN = 'resolution';
    END IF;
    IF NEW.status = 'closed' AND (NEW.assigned_to IS DISTINCT FROM OLD.assigned_to) THEN
        RAISE EXCEPTION 'grievance % is closed' , OLD.grievance_id USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    NEW.version := OLD.version + 1;
    NEW.updated_at := now();
    NEW.updated_by := sp_internal.caller();
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION sp_internal.grievance_guard() IS 'Trigger: a grievance keeps what, who and when; its status follows received -> acknowledged -> in_review -> resolved | rejected -> closed (reopen: resolved | rejected -> in_review); review needs an assigned officer, a decision a resolution, closing a recorded outcome message; escalation goes one level up to the parent area while open.';
CREATE TRIGGER grievance_guard BEFORE INSERT OR UPDATE ON sp.grievance
    FOR EACH ROW EXECUTE FUNCTION sp_internal.grievance_guard();
CREATE TRIGGER grievance_no_delete BEFORE DELETE ON sp.grievance
    FOR EACH ROW EXECUTE FUNCTION sp_internal.forbid_delete();

CREATE FUNCTION sp_internal.grievance_log()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    why text := nullif(current_setting('sp_registry.change_reason', true), '');
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF sp_internal.loading_rows(TG_RELID) THEN
            RETURN NULL;
        END IF;
        INSERT INTO sp.grievance_event (grievance_id, event, from_status, to_status, escalation_level, responsible_area_code, detail)
        VALUES (NEW.grievance_id, 'received', NULL, NEW.status, NEW.escalation_level, NEW.responsible_area_code,
                format('by %s (%s); acknowledge by %s, resolve by %s', NEW.channel, NEW.category,
                       to_char(NEW.acknowledge_due AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"'),
                       to_char(NEW.resolve_due AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"')));
        RETURN NULL;
    END IF;
    IF NEW.escalation_level <> OLD.escalation_level THEN
        INSERT INTO sp.grievance_event (grievance_id, event, from_status, to_status, escalation_level, responsible_area_code,
                                        assigned_to, detail)
        VALUES (NEW.grievance_id, 'escalated', OLD.status, NEW.status, NEW.escalation_level, NEW.responsible_area_code,
                NEW.assigned_to,
                format('to level %s (area %s): %s was due %s', NEW.escalation_level, NEW.responsible_area_code,
                       CASE WHEN sp_internal.grievance_deadline(OLD) = OLD.reopened_at + OLD.escalate_within THEN 'action after the reopening'
                            WHEN sp_internal.grievance_deadline(OLD) = OLD.escalated_at + OLD.escalate_within THEN 'action after the previous escalation'
                            WHEN OLD.status = 'received' THEN 'acknowledgement'
                            ELSE 'resolution' END,
                       to_char(sp_internal.grievance_deadline(OLD) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"')));
    END IF;
    IF NEW.assigned_to IS DISTINCT FROM OLD.assigned_to AND NEW.escalation_level = OLD.escalation_level THEN
        INSERT INTO sp.grievance_event (grievance_id, event, from_status, to_status, escalation_level, responsible_area_code,
                                        assigned_to, detail)
        VALUES (NEW.grievance_id, 'assigned', OLD.status, NEW.status, NEW.escalation_level, NEW.responsible_area_code,
                NEW.assigned_to, coalesce(why, CASE WHEN NEW.assigned_to IS NULL THEN 'unassigned' ELSE 'assigned to ' || NEW.assigned_to END));
    END IF;
    IF NEW.status <> OLD.status THEN
        INSERT INTO sp.grievance_event (grievance_id, event, from_status, to_status, escalation_level, responsible_area_code,
                                        assigned_to, detail)
        VALUES (NEW.grievance_id,
                CASE WHEN NEW.status = 'in_review' AND OLD.status = 'acknowledged' THEN 'review_started'
                     WHEN NEW.status = 'in_review' THEN 'reopened'
                     ELSE NEW.status END,
                OLD.status, NEW.status, NEW.escalation_level, NEW.responsible_area_code, NEW.assigned_to,
                CASE WHEN NEW.status IN ('resolved', 'rejected') THEN NEW.resolution ELSE why END);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION sp_internal.grievance_log() IS 'Trigger: writes the events of every new grievance and every change (status, assignment, escalation) to sp.grievance_event.';
CREATE TRIGGER grievance_log AFTER INSERT OR UPDATE ON sp.grievance
    FOR EACH ROW EXECUTE FUNCTION sp_internal.grievance_log();

-- ------------------------------------------------------------------------
-- Scope
-- ------------------------------------------------------------------------

-- A case is seen by the officers of its responsible area, and, unless its
-- category is confidential, by those of the area it concerns.  It is acted on
-- by the officers of its responsible area (acting), or, for notes, by anyone
-- who sees it.  The same error whether it is missing or out of scope.
CREATE FUNCTION sp_internal.grievance_in_scope(p_grievance_id bigint, acting boolean)
    RETURNS sp.grievance
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    g sp.grievance;
BEGIN
    -- the scope is checked on the row as it is before any lock is waited
    -- for, so that a case being changed outside the scope answers like a
    -- missing one; then, to act, the row is locked and checked again
    SELECT * INTO g FROM sp.grievance x WHERE x.grievance_id = p_grievance_id;
    IF NOT FOUND OR NOT (sp_internal.area_in_scope(g.responsible_area_code)
                         OR (NOT g.confidential AND sp_internal.area_in_scope(g.admin_area_code))) THEN
        PERFORM sp_internal.raise_not_found('grievance', p_grievance_id);
    END IF;
    IF acting THEN
        SELECT * INTO g FROM sp.grievance x WHERE x.grievance_id = p_grievance_id FOR UPDATE;
    END IF;
    IF acting AND NOT sp_internal.area_in_scope(g.responsible_area_code) THEN
        RAISE EXCEPTION 'grievance % is handled by the officers of area "%"', g.grievance_id, g.responsible_area_code
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = format('It was escalated to level %s; officers of area "%s" may add notes.', g.escalation_level, g.admin_area_code);
    END IF;
    RETURN g;
END
$$;
COMMENT ON FUNCTION sp_internal.grievance_in_scope(bigint, boolean) IS 'The grievance if the caller sees it (its responsible area, or the area it concerns unless confidential), checked before any lock is waited for; when acting, locked, and the caller must cover its responsible area. Raises no_data_found otherwise, one message for missing and out of scope.';

-- Whether a role (with the roles it holds) has a scope covering an area.
CREATE FUNCTION sp_internal.role_covers_area(p_role text, p_code text)
    RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT r.rolsuper OR EXISTS (
        SELECT 1 FROM sp.area_scope s
        JOIN pg_catalog.pg_roles g ON g.rolname = s.role_name
        JOIN sp.admin_area a ON a.code = s.admin_area_code
        JOIN sp.admin_area t ON t.code = p_code
        WHERE s.revoked_at IS NULL AND pg_catalog.pg_has_role(r.oid, g.oid, 'USAGE') AND starts_with(t.path, a.path))
    FROM pg_catalog.pg_roles r WHERE r.rolname = p_role
$$;
COMMENT ON FUNCTION sp_internal.role_covers_area(text, text) IS 'True when the role (by its own scopes and those of the roles it holds) covers the area; NULL when there is no such role. Called by the owner: reads every scope.';
REVOKE ALL ON FUNCTION sp_internal.role_covers_area(text, text) FROM PUBLIC;

-- ------------------------------------------------------------------------
-- The API
-- ------------------------------------------------------------------------

-- An optional id field of a document: a positive integer, or NULL.
CREATE FUNCTION sp_internal.doc_id(doc jsonb, field text)
    RETURNS bigint
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v jsonb := doc -> field;
BEGIN
    IF v IS NULL OR v = 'null'::jsonb THEN
        RETURN NULL;
    END IF;
    IF jsonb_typeof(v) <> 'number' OR (v #>> '{}') !~ '^[0-9]{1,18}$' OR (v #>> '{}')::bigint < 1 THEN
        RAISE EXCEPTION '% must be a positive whole number', field USING ERRCODE = 'invalid_parameter_value', COLUMN = field;
    END IF;
    RETURN (v #>> '{}')::bigint;
END
$$;
COMMENT ON FUNCTION sp_internal.doc_id(jsonb, text) IS 'The field of a document as a positive bigint id (NULL when absent or null); raises 22023 naming the field otherwise.';

CREATE FUNCTION sp.submit_grievance(doc jsonb)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k text;
    cat sp.grievance_category;
    v_channel text;
    v_external text;
    v_description text;
    v_anonymous boolean;
    v_complainant bigint;
    v_person bigint;
    v_household bigint;
    v_programme text;
    v_payment bigint;
    v_area text;
    v_responsible text;
    v_received timestamptz;
    v_confidential boolean;
    other sp.grievance;
    x sp.grievance;
    hh bigint;
    hh_area text;
    pay sp.payment;
BEGIN
    IF doc IS NULL OR jsonb_typeof(doc) <> 'object' THEN
        RAISE EXCEPTION 'a grievance is a JSON object' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT key INTO k FROM jsonb_object_keys(doc) key
    WHERE key NOT IN ('channel', 'external_id', 'category', 'description', 'anonymous', 'complainant_person_id',
                      'person_id', 'household_id', 'programme', 'payment_id', 'admin_area_code', 'received_at')
    ORDER BY key LIMIT 1;
    IF k IS NOT NULL THEN
        RAISE EXCEPTION 'unknown field "%" in a grievance', left(k, 64) USING ERRCODE = 'invalid_parameter_value', COLUMN = left(k, 64),
            HINT = 'Fields: channel, category, description, anonymous, complainant_person_id, person_id, household_id, programme, payment_id, admin_area_code, received_at, external_id.';
    END IF;
    FOREACH k IN ARRAY ARRAY['channel', 'external_id', 'category', 'description', 'programme', 'admin_area_code', 'received_at'] LOOP
        IF doc ? k AND jsonb_typeof(doc -> k) NOT IN ('string', 'null') THEN
            RAISE EXCEPTION '% must be a string', k USING ERRCODE = 'invalid_parameter_value', COLUMN = k;
        END IF;
    END LOOP;
    v_channel := doc ->> 'channel';
    IF v_channel IS NULL OR v_channel NOT IN ('phone', 'sms', 'web', 'walk_in', 'community') THEN
        RAISE EXCEPTION 'channel must be one of phone, sms, web, walk_in, community' USING ERRCODE = 'invalid_parameter_value', COLUMN = 'channel';
    END IF;
    v_external := doc ->> 'external_id';
    IF v_external IS NOT NULL AND length(v_external) NOT BETWEEN 1 AND 200 THEN
        RAISE EXCEPTION 'external_id has 1 to 200 characters' USING ERRCODE = 'invalid_parameter_value', COLUMN = 'external_id';
    END IF;
    SELECT * INTO cat FROM sp.grievance_category c WHERE c.code = doc ->> 'category';
    IF NOT FOUND OR NOT cat.active THEN
        RAISE EXCEPTION 'category must be an active grievance category' USING ERRCODE = 'invalid_parameter_value', COLUMN = 'category',
            DETAIL = format('Active categories: %s.', (SELECT string_agg(c.code, ', ' ORDER BY c.code) FROM sp.grievance_category c WHERE c.active));
    END IF;
    v_description := btrim(doc ->> 'description');
    IF v_description IS NULL OR v_description = '' OR length(v_description) > 4000 THEN
        RAISE EXCEPTION 'description is required, at most 4000 characters' USING ERRCODE = 'invalid_parameter_value', COLUMN = 'description';
    END IF;
    IF doc ? 'anonymous' AND jsonb_typeof(doc -> 'anonymous') <> 'boolean' THEN
        RAISE EXCEPTION 'anonymous must be true or false' USING ERRCODE = 'invalid_parameter_value', COLUMN = 'anonymous';
    END IF;
    v_anonymous := coalesce((doc ->> 'anonymous')::boolean, false);
    v_complainant := sp_internal.doc_id(doc, 'complainant_person_id');
    IF v_anonymous AND v_complainant IS NOT NULL THEN
        RAISE EXCEPTION 'an anonymous grievance names no complainant' USING ERRCODE = 'invalid_parameter_value', COLUMN = 'complainant_person_id';
    END IF;
    IF NOT v_anonymous AND v_complainant IS NULL THEN
        RAISE EXCEPTION 'complainant_person_id is required unless the grievance is anonymous' USING ERRCODE = 'invalid_parameter_value',
            COLUMN = 'complainant_person_id',
            HINT = 'A complainant who is not registered is registered on demand (sp.register_household), or complains anonymously and follows the case by its number.';
    END IF;
    v_person := sp_internal.doc_id(doc, 'person_id');
    v_household := sp_internal.doc_id(doc, 'household_id');
    v_payment := sp_internal.doc_id(doc, 'payment_id');
    v_programme := doc ->> 'programme';
    v_area := doc ->> 'admin_area_code';
    IF doc ? 'received_at' AND doc ->> 'received_at' IS NOT NULL THEN
        BEGIN
            v_received := (doc ->> 'received_at')::timestamptz;
        EXCEPTION WHEN OTHERS THEN
            RAISE EXCEPTION 'received_at is not a timestamp' USING ERRCODE = 'invalid_datetime_format', COLUMN = 'received_at';
        END;
        IF NOT isfinite(v_received) OR v_received > now() + interval '10 minutes' OR v_received < now() - interval '90 days' THEN
            RAISE EXCEPTION 'received_at must be within the last 90 days and not in the future' USING ERRCODE = 'invalid_parameter_value',
                COLUMN = 'received_at';
        END IF;
        v_received := least(v_received, now());
    ELSE
        v_received := now();
    END IF;

    -- what the case is about, and the area it concerns
    IF v_payment IS NOT NULL THEN
        SELECT * INTO pay FROM sp.payment p WHERE p.payment_id = v_payment;
        IF NOT FOUND OR NOT sp_internal.area_in_scope((SELECT h.admin_area_code FROM sp.household h WHERE h.household_id = pay.household_id)) THEN
            PERFORM sp_internal.raise_not_found('payment', v_payment);
        END IF;
        IF v_household IS NOT NULL AND v_household <> pay.household_id THEN
            RAISE EXCEPTION 'payment % was made to household %, not %', v_payment, pay.household_id, v_household
                USING ERRCODE = 'invalid_parameter_value', COLUMN = 'household_id';
        END IF;
        IF v_programme IS NOT NULL AND v_programme <> pay.programme THEN
            RAISE EXCEPTION 'payment % is of programme "%"', v_payment, pay.programme USING ERRCODE = 'invalid_parameter_value', COLUMN = 'programme';
        END IF;
        v_household := pay.household_id;
        v_programme := pay.programme;
    END IF;
    IF v_person IS NOT NULL THEN
        hh := sp_internal.person_household_in_scope(v_person);
        IF v_household IS NOT NULL AND v_household <> hh THEN
            RAISE EXCEPTION 'person % is a member of household %, not %', v_person, hh, v_household
                USING ERRCODE = 'invalid_parameter_value', COLUMN = 'household_id';
        END IF;
        v_household := hh;
    END IF;
    IF v_programme IS NOT NULL AND NOT EXISTS (SELECT 1 FROM sp.programme g WHERE g.name = v_programme) THEN
        RAISE EXCEPTION 'programme "%" does not exist', left(v_programme, 64) USING ERRCODE = 'invalid_parameter_value', COLUMN = 'programme';
    END IF;
    IF v_complainant IS NOT NULL THEN
        hh := sp_internal.person_household_in_scope(v_complainant);
        IF v_household IS NULL AND v_area IS NULL THEN
            v_area := (SELECT h.admin_area_code FROM sp.household h WHERE h.household_id = hh);
        END IF;
    END IF;
    IF v_household IS NOT NULL THEN
        -- the scope first: only a household the caller may see is compared
        hh_area := sp_internal.household_area_in_scope(v_household);
        IF v_area IS NOT NULL AND v_area <> hh_area THEN
            RAISE EXCEPTION 'household % is registered in another area than "%"', v_household, left(v_area, 64)
                USING ERRCODE = 'invalid_parameter_value', COLUMN = 'admin_area_code',
                      HINT = 'Leave admin_area_code out: a grievance about a household concerns the household''s area.';
        END IF;
        v_area := hh_area;
    END IF;
    IF v_area IS NULL THEN
        RAISE EXCEPTION 'admin_area_code is required when the grievance names no household, person, payment or complainant'
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'admin_area_code';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM sp.admin_area a WHERE a.code = v_area) THEN
        RAISE EXCEPTION 'admin area "%" does not exist', left(v_area, 64) USING ERRCODE = 'invalid_parameter_value', COLUMN = 'admin_area_code';
    END IF;
    PERFORM sp_internal.require_area_scope(v_area, 'Receiving a grievance');
    -- a confidential case is handled from the area above
    v_confidential := cat.confidential;
    v_responsible := CASE WHEN v_confidential THEN coalesce((SELECT a.parent_code FROM sp.admin_area a WHERE a.code = v_area), v_area)
                          ELSE v_area END;

    IF v_external IS NOT NULL THEN
        SELECT * INTO other FROM sp.grievance g WHERE g.channel = v_channel AND g.external_id = v_external;
    END IF;
    IF other.grievance_id IS NULL THEN
        BEGIN
            INSERT INTO sp.grievance (channel, external_id, category, confidential, anonymous, complainant_person_id, person_id,
                                      household_id, programme, payment_id, admin_area_code, responsible_area_code,
                                      escalation_level, description, received_at, acknowledge_due, resolve_due, escalate_within)
            VALUES (v_channel, v_external, cat.code, v_confidential, v_anonymous, v_complainant, v_person, v_household,
                    v_programme, v_payment, v_area, v_responsible, CASE WHEN v_responsible <> v_area THEN 1 ELSE 0 END,
                    v_description, v_received, v_received + cat.acknowledge_within, v_received + cat.resolve_within,
                    cat.escalate_within)
            RETURNING * INTO x;
            RETURN jsonb_build_object('grievance_id', x.grievance_id, 'status', x.status, 'replayed', false,
                                      'responsible_area_code', x.responsible_area_code,
                                      'acknowledge_due', x.acknowledge_due, 'resolve_due', x.resolve_due);
        EXCEPTION WHEN unique_violation THEN
            -- the same submission from another session, committed meanwhile
            SELECT * INTO other FROM sp.grievance g WHERE g.channel = v_channel AND g.external_id = v_external;
            IF other.grievance_id IS NULL THEN
                -- committed after this transaction's snapshot (repeatable read)
                RAISE EXCEPTION 'external_id "%" of channel % was received by another session meanwhile', left(v_external, 64), v_channel
                    USING ERRCODE = 'serialization_failure', HINT = 'Retry the transaction: the replay then returns that grievance.';
            END IF;
        END;
    END IF;
    -- a replay: the same complaint gets the same case, a different one is refused
    IF (other.category, other.description, other.anonymous, other.complainant_person_id, other.admin_area_code)
       IS DISTINCT FROM (cat.code, v_description, v_anonymous, v_complainant, v_area) THEN
        RAISE EXCEPTION 'external_id "%" of channel % was already used for another grievance', left(v_external, 64), v_channel
            USING ERRCODE = 'unique_violation', COLUMN = 'external_id';
    END IF;
    RETURN jsonb_build_object('grievance_id', other.grievance_id, 'status', other.status, 'replayed', true,
                              'responsible_area_code', other.responsible_area_code,
                              'acknowledge_due', other.acknowledge_due, 'resolve_due', other.resolve_due);
END
$$;
COMMENT ON FUNCTION sp.submit_grievance(jsonb) IS 'Receives a complaint or appeal: {channel, category, description, anonymous | complainant_person_id, and optionally person_id, household_id, programme, payment_id (what it is about), admin_area_code (when nothing else gives the area), received_at (when it was made, up to 90 days back), external_id (the channel''s id: a replay returns the same case)}. Derives the household and area from what it names, checks the caller''s scope, stamps the category''s service levels, and returns {grievance_id, status, replayed, responsible_area_code, acknowledge_due, resolve_due}.';

CREATE FUNCTION sp.set_grievance_status(grievance_id bigint, status text, note text DEFAULT NULL,
                                        expected_version integer DEFAULT NULL)
    RETURNS sp.grievance
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    g sp.grievance;
    previous text := current_setting('sp_registry.change_reason', true);
    me text := sp_internal.caller();
BEGIN
    IF status IS NULL OR status NOT IN ('acknowledged', 'in_review', 'resolved', 'rejected', 'closed') THEN
        RAISE EXCEPTION 'status must be acknowledged, in_review, resolved, rejected or closed' USING ERRCODE = 'invalid_parameter_value',
            COLUMN = 'status';
    END IF;
    IF note IS NOT NULL AND length(note) > 2000 THEN
        RAISE EXCEPTION 'note longer than 2000 characters' USING ERRCODE = 'string_data_right_truncation', COLUMN = 'note';
    END IF;
    IF status IN ('resolved', 'rejected') AND (note IS NULL OR btrim(note) = '') THEN
        RAISE EXCEPTION 'a grievance is % with a note saying what was decided and why', status
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'note';
    END IF;
    g := sp_internal.grievance_in_scope(grievance_id, true);
    PERFORM sp_internal.check_version('grievance', g.grievance_id, g.version, expected_version);
    IF g.status = status THEN
        RAISE EXCEPTION 'grievance % is already %', g.grievance_id, status USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF status = 'in_review' AND g.status IN ('resolved', 'rejected') AND (note IS NULL OR btrim(note) = '') THEN
        RAISE EXCEPTION 'reopening grievance % needs a note saying why', g.grievance_id
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'note';
    END IF;
    IF status = 'in_review' AND g.assigned_to IS NULL
       AND NOT coalesce(pg_catalog.pg_has_role(sp_internal.caller_oid(), 'sp_grievance_officer', 'USAGE'), false) THEN
        RAISE EXCEPTION 'grievance % has no officer: assign one with sp.assign_grievance', g.grievance_id
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    PERFORM set_config('sp_registry.change_reason', coalesce(btrim(note), ''), true);
    UPDATE sp.grievance x
    SET status = set_grievance_status.status,
        -- whoever starts the review of an unassigned case takes it
        assigned_to = CASE WHEN set_grievance_status.status = 'in_review' THEN coalesce(x.assigned_to, me) ELSE x.assigned_to END,
        resolution = CASE WHEN set_grievance_status.status IN ('resolved', 'rejected') THEN btrim(note) ELSE x.resolution END
    WHERE x.grievance_id = g.grievance_id
    RETURNING * INTO g;
    PERFORM set_config('sp_registry.change_reason', coalesce(previous, ''), true);
    RETURN g;
END
$$;
COMMENT ON FUNCTION sp.set_grievance_status(bigint, text, text, integer) IS 'Moves a grievance on: acknowledged, in_review (an unassigned case is taken by the grievance officer who starts the review; reopening a decided case needs a note), resolved or rejected (the note is the resolution), closed (once the outcome was told). Only officers of its responsible area; expected_version guards against a change made meanwhile.';

CREATE FUNCTION sp.assign_grievance(grievance_id bigint, officer text, reason text)
    RETURNS sp.grievance
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    g sp.grievance;
    previous text;
BEGIN
    previous := sp_internal.begin_change(reason);
    g := sp_internal.grievance_in_scope(grievance_id, true);
    IF g.status NOT IN ('received', 'acknowledged', 'in_review') THEN
        RAISE EXCEPTION 'grievance % is %: only an open case is assigned', g.grievance_id, g.status
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    -- a person of the grievance team: not a superuser (who holds every role)
    IF officer IS NULL OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = officer AND NOT r.rolsuper)
       OR NOT pg_catalog.pg_has_role(officer, 'sp_grievance_officer', 'USAGE') THEN
        RAISE EXCEPTION 'role "%" is not a grievance officer', left(officer, 64) USING ERRCODE = 'invalid_parameter_value', COLUMN = 'officer';
    END IF;
    IF NOT sp_internal.role_covers_area(officer, g.responsible_area_code) THEN
        RAISE EXCEPTION 'role "%" has no scope on area "%", which handles grievance %', officer, g.responsible_area_code, g.grievance_id
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'officer';
    END IF;
    UPDATE sp.grievance x SET assigned_to = officer WHERE x.grievance_id = g.grievance_id RETURNING * INTO g;
    PERFORM sp_internal.end_change(previous);
    RETURN g;
END
$$;
COMMENT ON FUNCTION sp.assign_grievance(bigint, text, text) IS 'Assigns an open grievance to a grievance officer whose area scope covers the case''s responsible area, with a reason. Only officers of the responsible area assign.';

CREATE FUNCTION sp.add_grievance_note(grievance_id bigint, note text)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    g sp.grievance;
    id bigint;
BEGIN
    IF note IS NULL OR btrim(note) = '' OR length(note) > 2000 THEN
        RAISE EXCEPTION 'a note has 1 to 2000 characters' USING ERRCODE = 'invalid_parameter_value', COLUMN = 'note';
    END IF;
    g := sp_internal.grievance_in_scope(grievance_id, false);
    INSERT INTO sp.grievance_event (grievance_id, event, from_status, to_status, escalation_level, responsible_area_code, assigned_to, detail)
    VALUES (g.grievance_id, 'note', g.status, g.status, g.escalation_level, g.responsible_area_code, g.assigned_to, btrim(note))
    RETURNING event_id INTO id;
    RETURN id;
END
$$;
COMMENT ON FUNCTION sp.add_grievance_note(bigint, text) IS 'Adds a note to a grievance''s events (a call made, a visit, a correction of what was recorded); anyone who sees the case may. Returns the event id.';

CREATE FUNCTION sp.record_grievance_message(grievance_id bigint, channel text, kind text, body text)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    g sp.grievance;
    id bigint;
    phone bytea;
BEGIN
    IF channel IS NULL OR channel NOT IN ('sms', 'phone', 'letter', 'in_person', 'web') THEN
        RAISE EXCEPTION 'channel must be sms, phone, letter, in_person or web' USING ERRCODE = 'invalid_parameter_value', COLUMN = 'channel';
    END IF;
    IF kind IS NULL OR kind NOT IN ('acknowledgement', 'update', 'outcome') THEN
        RAISE EXCEPTION 'kind must be acknowledgement, update or outcome' USING ERRCODE = 'invalid_parameter_value', COLUMN = 'kind';
    END IF;
    IF body IS NULL OR btrim(body) = '' OR length(body) > 1000 THEN
        RAISE EXCEPTION 'a message has 1 to 1000 characters' USING ERRCODE = 'invalid_parameter_value', COLUMN = 'body';
    END IF;
    g := sp_internal.grievance_in_scope(grievance_id, true);
    IF kind = 'outcome' AND g.status NOT IN ('resolved', 'rejected') THEN
        RAISE EXCEPTION 'grievance % is %: its outcome is told once it is resolved or rejected', g.grievance_id, g.status
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF g.status = 'closed' THEN
        RAISE EXCEPTION 'grievance % is closed', g.grievance_id USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF g.anonymous AND channel IN ('sms', 'phone', 'letter') THEN
        RAISE EXCEPTION 'grievance % is anonymous: there is no one to send it to', g.grievance_id
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'channel',
                  HINT = 'An anonymous complainant is told in person or on the web, by the case number.';
    END IF;
    IF NOT g.anonymous AND channel IN ('sms', 'phone') THEN
        SELECT p.phone_enc INTO phone FROM sp.person p WHERE p.person_id = g.complainant_person_id;
        IF phone IS NULL THEN
            RAISE EXCEPTION 'the complainant of grievance % has no registered phone', g.grievance_id
                USING ERRCODE = 'invalid_parameter_value', COLUMN = 'channel';
        END IF;
    END IF;
    INSERT INTO sp.grievance_message (grievance_id, kind, channel, to_person_id, body)
    VALUES (g.grievance_id, kind, channel, g.complainant_person_id, btrim(body))
    RETURNING message_id INTO id;
    INSERT INTO sp.grievance_event (grievance_id, event, from_status, to_status, escalation_level, responsible_area_code, assigned_to, detail)
    VALUES (g.grievance_id, 'message', g.status, g.status, g.escalation_level, g.responsible_area_code, g.assigned_to,
            format('%s by %s (message %s)', kind, channel, id));
    RETURN id;
END
$$;
COMMENT ON FUNCTION sp.record_grievance_message(bigint, text, text, text) IS 'Records what the complainant was told (acknowledgement, update, or the outcome of a resolved or rejected case), by which channel, word for word. An anonymous complainant is told in person or on the web; by SMS or phone only a complainant with a registered phone. Returns the message id.';

CREATE FUNCTION sp.escalate_overdue_grievances()
    RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n integer;
    stuck integer;
BEGIN
    -- overdue open cases whose responsible area is in the caller's scope and
    -- has an area above it; the row lock waits for an officer's change in
    -- flight, and the condition is checked again on the row it leaves
    WITH due AS (
        SELECT g.grievance_id, a.parent_code
        FROM sp.grievance g
        JOIN sp.admin_area a ON a.code = g.responsible_area_code
        WHERE g.status IN ('received', 'acknowledged', 'in_review')
          AND sp_internal.grievance_deadline(g) < now()
          AND a.parent_code IS NOT NULL
          AND g.responsible_area_code IN (SELECT v.code FROM sp_internal.visible_areas() v (code))
        ORDER BY g.grievance_id
        -- a case an officer is changing right now is left to the next run
        FOR UPDATE OF g SKIP LOCKED)
    UPDATE sp.grievance g
    SET escalation_level = g.escalation_level + 1, responsible_area_code = d.parent_code,
        assigned_to = CASE WHEN sp_internal.role_covers_area(g.assigned_to, d.parent_code) THEN g.assigned_to END
    FROM due d
    WHERE g.grievance_id = d.grievance_id AND sp_internal.grievance_deadline(g) < now();
    GET DIAGNOSTICS n = ROW_COUNT;
    SELECT count(*) INTO stuck
    FROM sp.grievance g JOIN sp.admin_area a ON a.code = g.responsible_area_code
    WHERE g.status IN ('received', 'acknowledged', 'in_review') AND sp_internal.grievance_deadline(g) < now()
      AND a.parent_code IS NULL
      AND g.responsible_area_code IN (SELECT v.code FROM sp_internal.visible_areas() v (code));
    IF stuck > 0 THEN
        RAISE NOTICE '% overdue grievances are at the highest level and cannot be escalated further', stuck
            USING HINT = 'They are listed in sp.overdue_grievances.';
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION sp.escalate_overdue_grievances() IS 'Moves every open grievance past its deadline (acknowledgement, resolution, or escalate_within after its last escalation) whose responsible area is in the caller''s scope up one level, to the area above; the officer keeps the case only if his scope covers that area. Returns how many moved; cases already at the top are reported in a notice. Schedule it with pg_cron (docs/grievances.md).';

CREATE VIEW sp.overdue_grievances WITH (security_invoker = true) AS
SELECT g.grievance_id, g.category, g.status, g.escalation_level, g.responsible_area_code, g.admin_area_code, g.assigned_to,
       g.received_at, sp_internal.grievance_deadline(g) AS deadline, now() - sp_internal.grievance_deadline(g) AS overdue_by
FROM sp.grievance g
WHERE g.status IN ('received', 'acknowledged', 'in_review') AND sp_internal.grievance_deadline(g) < now();
COMMENT ON VIEW sp.overdue_grievances IS 'Open grievances past their deadline, with how long overdue: what the next sp.escalate_overdue_grievances moves up (or, at the top level, what is left for national officers). Rows follow the reader''s scope.';

CREATE FUNCTION sp.reassess_for_grievance(grievance_id bigint, reason text)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    g sp.grievance;
    a sp.assessment;
    prev record;
    results jsonb := '[]';
BEGIN
    PERFORM sp_internal.require_reason(reason, 'An appeal''s reassessment records why (what the home visit found, what was disputed).');
    g := sp_internal.grievance_in_scope(grievance_id, true);
    IF g.category <> 'exclusion' THEN
        RAISE EXCEPTION 'grievance % is about %: only an appeal against exclusion reassesses the household', g.grievance_id, g.category
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF g.household_id IS NULL THEN
        RAISE EXCEPTION 'grievance % names no household to reassess', g.grievance_id USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF g.status <> 'in_review' THEN
        RAISE EXCEPTION 'grievance % is %: a reassessment is part of its review', g.grievance_id, g.status
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    FOR a IN SELECT * FROM sp.reassess_household(g.household_id, left(format('appeal, grievance %s: %s', g.grievance_id, reason), 1000)) LOOP
        SELECT s.score, s.below_cutoff INTO prev
        FROM sp.assessment s
        WHERE s.household_id = a.household_id AND s.model = a.model AND s.assessment_id < a.assessment_id
        ORDER BY s.assessment_id DESC LIMIT 1;
        INSERT INTO sp.grievance_reassessment (grievance_id, assessment_id, household_id, model, previous_score, previous_below_cutoff,
                                               score, below_cutoff)
        VALUES (g.grievance_id, a.assessment_id, a.household_id, a.model, prev.score, prev.below_cutoff, a.score, a.below_cutoff);
        results := results || jsonb_build_object('model', a.model, 'assessment_id', a.assessment_id,
                                                 'previous_score', prev.score, 'previous_below_cutoff', prev.below_cutoff,
                                                 'score', a.score, 'below_cutoff', a.below_cutoff);
    END LOOP;
    IF jsonb_array_length(results) = 0 THEN
        RAISE EXCEPTION 'no active PMT model to reassess household % with', g.household_id USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    INSERT INTO sp.grievance_event (grievance_id, event, from_status, to_status, escalation_level, responsible_area_code, assigned_to, detail)
    SELECT g.grievance_id, 'reassessed', g.status, g.status, g.escalation_level, g.responsible_area_code, g.assigned_to,
           string_agg(format('%s: %s -> %s (%s)', r ->> 'model',
                             coalesce(round((r ->> 'previous_score')::numeric, 2)::text, 'not assessed'),
                             round((r ->> 'score')::numeric, 2),
                             CASE WHEN (r ->> 'below_cutoff')::boolean THEN 'below the cut-off' ELSE 'not below the cut-off' END),
                      '; ' ORDER BY r ->> 'model')
    FROM jsonb_array_elements(results) r;
    RETURN jsonb_build_object('grievance_id', g.grievance_id, 'household_id', g.household_id, 'assessments', results);
END
$$;
COMMENT ON FUNCTION sp.reassess_for_grievance(bigint, text) IS 'An appeal against exclusion (category exclusion, in review, naming a household): reassesses the household with every active PMT model (sp.reassess_household) and keeps each score and verdict, before and after, with the grievance (sp.grievance_reassessment) and in its events. Eligibility follows at the programme''s next run or review.';
