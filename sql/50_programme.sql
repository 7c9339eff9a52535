-- Programmes, eligibility, enrolment with quotas and waitlists, the
-- enrolment lifecycle with history, recertification and human review.

CREATE TABLE sp.programme (
    name             text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$'),
    title            text NOT NULL CHECK (btrim(title) <> ''),
    benefit_type     text NOT NULL CHECK (benefit_type IN ('cash', 'in_kind', 'service')),
    target_unit      text NOT NULL DEFAULT 'household' CHECK (target_unit IN ('household', 'person')),
    rule             jsonb NOT NULL,
    ranking          jsonb,
    review_margin    float8 CHECK (review_margin >= 0),
    recertify_months integer NOT NULL DEFAULT 24 CHECK (recertify_months BETWEEN 1 AND 120),
    start_date       date NOT NULL DEFAULT current_date,
    end_date         date,
    status           text NOT NULL DEFAULT 'active' CHECK (status IN ('draft', 'active', 'closed')),
    description      text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    created_by       text NOT NULL DEFAULT sp_internal.caller(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    updated_by       text NOT NULL DEFAULT sp_internal.caller(),
    version          integer NOT NULL DEFAULT 1,
    CHECK (end_date IS NULL OR end_date >= start_date),
    CHECK (review_margin IS NULL OR ranking IS NOT NULL)
);
COMMENT ON TABLE sp.programme IS 'Social protection programmes: benefit type, target unit (household or person), eligibility rule (a validated condition document, docs/targeting.md), ranking for quotas (lowest PMT score or highest MPI deprivation first), borderline review margin, recertification period, dates. Every change keeps the previous version in sp.programme_history.';
COMMENT ON COLUMN sp.programme.rule IS 'Condition document: household and member variables, PMT/MPI results, areas, other programmes'' enrolments, and for person programmes conditions on the person; compiled to SQL from validated parts only.';
COMMENT ON COLUMN sp.programme.ranking IS '{"pmt": model} ranks by the latest PMT score, lowest first; {"mpi": model} by the latest deprivation score, highest first; NULL: first come, first served.';
COMMENT ON COLUMN sp.programme.review_margin IS 'Units whose ranking score is within this distance of its cut-off (PMT: the assessment''s poverty line; MPI: k) go to the review queue.';

CREATE TABLE sp.programme_history (
    LIKE sp.programme,
    history_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    operation     text NOT NULL,
    changed_at    timestamptz NOT NULL DEFAULT now(),
    changed_by    text NOT NULL DEFAULT sp_internal.caller(),
    change_reason text
);
CREATE INDEX programme_history_name_idx ON sp.programme_history (name, version);
COMMENT ON TABLE sp.programme_history IS 'Every earlier version of every programme, with who changed it, when and why (sp_registry.change_reason). Append-only.';
CREATE TRIGGER programme_history_append_only BEFORE UPDATE OR DELETE ON sp.programme_history
    FOR EACH ROW EXECUTE FUNCTION sp_internal.history_is_append_only();

CREATE TABLE sp.programme_quota (
    programme  text NOT NULL REFERENCES sp.programme (name),
    area_code  text NOT NULL REFERENCES sp.admin_area (code),
    quota      integer NOT NULL CHECK (quota >= 0),
    set_at     timestamptz NOT NULL DEFAULT now(),
    set_by     text NOT NULL DEFAULT sp_internal.caller(),
    PRIMARY KEY (programme, area_code)
);
COMMENT ON TABLE sp.programme_quota IS 'How many units a programme may enrol in an admin area (at any level; a unit counts against the deepest quota area above its household). A programme without quotas enrols every eligible unit. Changes are kept in sp.programme_quota_history.';

CREATE TABLE sp.programme_quota_history (
    history_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    programme   text NOT NULL,
    area_code   text NOT NULL,
    old_quota   integer,
    new_quota   integer,
    changed_at  timestamptz NOT NULL DEFAULT now(),
    changed_by  text NOT NULL DEFAULT sp_internal.caller(),
    change_reason text
);
COMMENT ON TABLE sp.programme_quota_history IS 'Every quota set, changed or removed. Append-only.';
CREATE TRIGGER programme_quota_history_append_only BEFORE UPDATE OR DELETE ON sp.programme_quota_history
    FOR EACH ROW EXECUTE FUNCTION sp_internal.history_is_append_only();

-- Quotas are written directly by programme officers: a quota is set only
-- for an area of the writer's scope, and set_at/set_by always say who set
-- the current value (column grants cover INSERT; an UPDATE would otherwise
-- keep the first setter's name on someone else's number).  SECURITY DEFINER:
-- the scope helpers are not granted to roles.
CREATE FUNCTION sp_internal.programme_quota_guard()
    RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    area text;
BEGIN
    IF TG_OP = 'INSERT' AND sp_internal.loading_rows(TG_RELID) THEN
        RETURN NEW;  -- a restore: the saved row keeps who set it and when
    END IF;
    FOREACH area IN ARRAY ARRAY[CASE WHEN TG_OP <> 'INSERT' THEN OLD.area_code END,
                                CASE WHEN TG_OP <> 'DELETE' THEN NEW.area_code END] LOOP
        IF area IS NOT NULL AND EXISTS (SELECT 1 FROM sp.admin_area a WHERE a.code = area) THEN
            PERFORM sp_internal.require_area_scope(area, 'Setting a quota');
        END IF;
    END LOOP;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    NEW.set_at := now();
    NEW.set_by := sp_internal.caller();
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION sp_internal.programme_quota_guard() IS 'Trigger: quotas only for areas in the writer''s scope; stamps set_at and set_by on every write.';
CREATE TRIGGER programme_quota_guard BEFORE INSERT OR UPDATE OR DELETE ON sp.programme_quota
    FOR EACH ROW EXECUTE FUNCTION sp_internal.programme_quota_guard();

CREATE FUNCTION sp_internal.programme_quota_log()
    RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- a restored quota comes with its restored history
    IF TG_OP = 'INSERT' AND sp_internal.loading_rows(TG_RELID) THEN
        RETURN NULL;
    END IF;
    INSERT INTO sp.programme_quota_history (programme, area_code, old_quota, new_quota, change_reason)
    VALUES (coalesce(NEW.programme, OLD.programme), coalesce(NEW.area_code, OLD.area_code),
            CASE WHEN TG_OP <> 'INSERT' THEN OLD.quota END, CASE WHEN TG_OP <> 'DELETE' THEN NEW.quota END,
            sp_internal.change_reason());
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION sp_internal.programme_quota_log() IS 'Trigger: logs quota changes.';
CREATE TRIGGER programme_quota_log AFTER INSERT OR UPDATE OR DELETE ON sp.programme_quota
    FOR EACH ROW EXECUTE FUNCTION sp_internal.programme_quota_log();

-- The conditions of a rule that are reported when a unit fails: the parts of
-- a top-level "all", or the whole rule.
CREATE FUNCTION sp_internal.programme_conditions(g sp.programme)
    RETURNS TABLE (label text, sql text)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    allowed text[] := ARRAY['members', 'pmt', 'mpi', 'area', 'programme'];
    i integer;
BEGIN
    IF g.target_unit = 'person' THEN
        allowed := allowed || 'person'::text;
    END IF;
    IF jsonb_typeof(g.rule) = 'object' AND g.rule ? 'all' AND jsonb_typeof(g.rule -> 'all') = 'array'
       AND (SELECT count(*) FROM jsonb_object_keys(g.rule)) = 1 AND jsonb_array_length(g.rule -> 'all') > 0 THEN
        FOR i IN 0 .. jsonb_array_length(g.rule -> 'all') - 1 LOOP
            label := format('rule.all[%s] %s', i, g.rule -> 'all' -> i);
            sql := sp_internal.rule_sql(g.rule -> 'all' -> i, format('rule.all[%s]', i), 'household', 'hp', allowed);
            RETURN NEXT;
        END LOOP;
    ELSE
        label := format('rule %s', g.rule);
        sql := sp_internal.rule_sql(g.rule, 'rule', 'household', 'hp', allowed);
        RETURN NEXT;
    END IF;
END
$$;
COMMENT ON FUNCTION sp_internal.programme_conditions(sp.programme) IS 'Compiles a programme rule into the conditions reported when a unit fails them.';

CREATE FUNCTION sp_internal.programme_validate(g sp.programme)
    RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k text;
BEGIN
    PERFORM sp_internal.programme_conditions(g);
    IF g.ranking IS NOT NULL THEN
        IF jsonb_typeof(g.ranking) <> 'object' OR (SELECT count(*) FROM jsonb_object_keys(g.ranking)) <> 1
           OR NOT (g.ranking ? 'pmt' OR g.ranking ? 'mpi') THEN
            RAISE EXCEPTION 'invalid ranking of programme "%"', g.name
                USING ERRCODE = 'invalid_parameter_value', COLUMN = 'ranking',
                      DETAIL = 'Expected {"pmt": "model"} or {"mpi": "model"}.';
        END IF;
        k := CASE WHEN g.ranking ? 'pmt' THEN 'pmt' ELSE 'mpi' END;
        IF k = 'pmt' AND NOT EXISTS (SELECT 1 FROM sp.pmt_model m WHERE m.name = g.ranking ->> 'pmt')
           OR k = 'mpi' AND NOT EXISTS (SELECT 1 FROM sp.mpi_model m WHERE m.name = g.ranking ->> 'mpi') THEN
            RAISE EXCEPTION 'invalid ranking of programme "%"', g.name
                USING ERRCODE = 'invalid_parameter_value', COLUMN = 'ranking',
                      DETAIL = format('There is no %s model "%s".', upper(k), g.ranking ->> k);
        END IF;
    END IF;
END
$$;
COMMENT ON FUNCTION sp_internal.programme_validate(sp.programme) IS 'Validates a programme''s rule and ranking; raises 22023 naming the faulty part.';

CREATE FUNCTION sp_internal.programme_guard()
    RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- a programme's rule decides who is enrolled in every region: defining
    -- or changing one needs national scope, like running it
    PERFORM sp_internal.require_national_scope('defining or changing a programme');
    IF TG_OP = 'UPDATE' THEN
        IF NEW.name <> OLD.name OR NEW.target_unit <> OLD.target_unit THEN
            RAISE EXCEPTION 'the name and target unit of programme "%" cannot change', OLD.name
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      DETAIL = 'Enrolments refer to them; create a new programme instead.';
        END IF;
        IF OLD.status = 'closed' AND NEW.status <> 'closed' THEN
            RAISE EXCEPTION 'programme "%" is closed', OLD.name USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
        IF NEW IS NOT DISTINCT FROM OLD THEN
            RETURN NEW;
        END IF;
        INSERT INTO sp.programme_history (name, title, benefit_type, target_unit, rule, ranking, review_margin, recertify_months, start_date, end_date, status, description, created_at, created_by, updated_at, updated_by, version, operation, change_reason)
        SELECT o.name, o.title, o.benefit_type, o.target_unit, o.rule, o.ranking, o.review_margin, o.recertify_months, o.start_date, o.end_date, o.status, o.description, o.created_at, o.created_by, o.updated_at, o.updated_by, o.version, 'UPDATE',
               sp_internal.change_reason()
        FROM (SELECT OLD.*) o;
        NEW.version := OLD.version + 1;
        NEW.updated_at := now();
        NEW.updated_by := sp_internal.caller();
    END IF;
    -- a restored programme was validated when written; the models and
    -- programmes its rule names may be restored after it (sp_internal.verify_integrity)
    IF (TG_OP = 'INSERT' AND NOT sp_internal.loading_rows(TG_RELID))
       OR (TG_OP = 'UPDATE' AND (NEW.rule IS DISTINCT FROM OLD.rule OR NEW.ranking IS DISTINCT FROM OLD.ranking)) THEN
        PERFORM sp_internal.programme_validate(NEW);
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION sp_internal.programme_guard() IS 'Trigger: needs national scope; validates rules and rankings, keeps every earlier version in sp.programme_history.';
CREATE TRIGGER programme_guard BEFORE INSERT OR UPDATE ON sp.programme
    FOR EACH ROW EXECUTE FUNCTION sp_internal.programme_guard();
CREATE TRIGGER programme_no_delete BEFORE DELETE ON sp.programme
    FOR EACH ROW EXECUTE FUNCTION sp_internal.forbid_delete();

CREATE TABLE sp.eligibility_run (
    run_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    programme   text NOT NULL REFERENCES sp.programme (name),
    kind        text NOT NULL CHECK (kind IN ('eligibility', 'recertification')),
    programme_version integer NOT NULL,
    rule        jsonb NOT NULL,
    ranking     jsonb,
    models      jsonb NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    run_by      text NOT NULL DEFAULT sp_internal.caller(),
    summary     jsonb
);
COMMENT ON TABLE sp.eligibility_run IS 'Every eligibility determination and recertification: the rule and ranking as they were, the active PMT/MPI model versions, who ran it, and the counts.';

CREATE TABLE sp.eligibility_decision (
    run_id       bigint NOT NULL,
    programme    text NOT NULL,
    household_id bigint NOT NULL,
    person_id    bigint,
    eligible     boolean NOT NULL,
    failed_conditions text[] NOT NULL,
    rank_score   float8,
    cutoff       float8,
    borderline   boolean NOT NULL DEFAULT false,
    CHECK (eligible = (cardinality(failed_conditions) = 0))
);
CREATE INDEX eligibility_decision_run_idx ON sp.eligibility_decision (run_id);
CREATE INDEX eligibility_decision_household_idx ON sp.eligibility_decision (household_id, programme);
COMMENT ON TABLE sp.eligibility_decision IS 'Every automated decision on every unit: eligible or not, and for an ineligible unit the conditions of the rule it failed (a condition on a missing value fails). Append-only: what a caseworker shows a household that asks why.';
CREATE TRIGGER eligibility_decision_append_only BEFORE UPDATE OR DELETE ON sp.eligibility_decision
    FOR EACH ROW EXECUTE FUNCTION sp_internal.history_is_append_only();
CREATE TRIGGER eligibility_decision_run_ref AFTER INSERT ON sp.eligibility_decision REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sp_internal.check_references('run_id', 'sp.eligibility_run', 'run_id');
CREATE TRIGGER eligibility_run_decision_ref AFTER DELETE ON sp.eligibility_run REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sp_internal.check_references('run_id', 'sp.eligibility_decision', 'run_id');
CREATE TRIGGER eligibility_run_no_delete BEFORE DELETE ON sp.eligibility_run
    FOR EACH ROW EXECUTE FUNCTION sp_internal.forbid_delete();

CREATE TABLE sp.eligibility_review (
    review_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    programme    text NOT NULL REFERENCES sp.programme (name),
    household_id bigint NOT NULL REFERENCES sp.household (household_id),
    person_id    bigint REFERENCES sp.person (person_id),
    run_id       bigint REFERENCES sp.eligibility_run (run_id),
    kind         text NOT NULL CHECK (kind IN ('borderline', 'no_longer_eligible', 'recertification')),
    eligible     boolean NOT NULL,
    detail       jsonb NOT NULL,
    status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'included', 'excluded')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    decided_at   timestamptz,
    decided_by   text,
    reason       text,
    CHECK ((status = 'pending') = (decided_at IS NULL))
);
CREATE UNIQUE INDEX eligibility_review_pending_idx ON sp.eligibility_review (programme, household_id, coalesce(person_id, 0))
    WHERE status = 'pending';
COMMENT ON TABLE sp.eligibility_review IS 'Cases a person decides: borderline scores (within the programme''s review margin of the cut-off), enrolled units that no longer meet the rule, failed recertifications. Nobody enrolled is removed without a decision here.';

CREATE TABLE sp.enrolment (
    enrolment_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    programme           text NOT NULL REFERENCES sp.programme (name),
    household_id        bigint NOT NULL REFERENCES sp.household (household_id),
    person_id           bigint REFERENCES sp.person (person_id),
    state               text NOT NULL CHECK (state IN ('eligible', 'waitlisted', 'enrolled', 'suspended', 'exited')),
    reason              text NOT NULL CHECK (btrim(reason) <> ''),
    rank_score          float8,
    quota_area          text REFERENCES sp.admin_area (code),
    waitlist_position   integer CHECK (waitlist_position > 0),
    eligible_since      timestamptz NOT NULL DEFAULT now(),
    enrolled_at         timestamptz,
    recertification_due date,
    exited_at           timestamptz,
    override_review_id  bigint REFERENCES sp.eligibility_review (review_id),
    exited_by_rule      boolean NOT NULL DEFAULT false,
    run_id              bigint REFERENCES sp.eligibility_run (run_id),
    -- a temporary enrolment of a shock response (sql/71_shock.sql; the
    -- foreign key is added there) and the day it ends
    shock_response_id   bigint,
    ends_on             date,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    updated_by          text NOT NULL DEFAULT sp_internal.caller(),
    version             integer NOT NULL DEFAULT 1,
    CHECK ((state = 'waitlisted') = (waitlist_position IS NOT NULL)),
    CHECK ((state = 'exited') = (exited_at IS NOT NULL))
);
CREATE UNIQUE INDEX enrolment_open_household_idx ON sp.enrolment (programme, household_id)
    WHERE person_id IS NULL AND state <> 'exited';
CREATE UNIQUE INDEX enrolment_open_person_idx ON sp.enrolment (programme, person_id)
    WHERE person_id IS NOT NULL AND state <> 'exited';
CREATE INDEX enrolment_household_idx ON sp.enrolment (household_id);
CREATE INDEX enrolment_person_idx ON sp.enrolment (person_id) WHERE person_id IS NOT NULL;
CREATE INDEX enrolment_programme_state_idx ON sp.enrolment (programme, state);
COMMENT ON TABLE sp.enrolment IS 'A unit''s place in a programme: eligible -> waitlisted/enrolled -> suspended -> exited, with the reason for the current state, rank score, quota area, waitlist position and recertification due date. Every state change is in sp.enrolment_history; exited rows are final (re-entry is a new enrolment). Rows are never deleted.';
COMMENT ON COLUMN sp.enrolment.exited_by_rule IS 'The exit was automated (the unit stopped meeting the rule). After an exit decided by a person, automated runs do not re-open an enrolment until the household is updated or reassessed; sp.open_enrolment re-opens one by hand.';
COMMENT ON COLUMN sp.enrolment.shock_response_id IS 'Set for a temporary enrolment decided by a horizontal shock response: automated eligibility runs leave it alone, and sp.end_temporary_enrolments exits it on ends_on.';
COMMENT ON COLUMN sp.enrolment.ends_on IS 'The day a temporary enrolment ends (exited by sp.end_temporary_enrolments); NULL for a regular enrolment.';
COMMENT ON COLUMN sp.enrolment.override_review_id IS 'Set when a reviewer decided to include the unit: automated runs then leave the enrolment alone.';

CREATE TABLE sp.enrolment_history (
    history_id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    enrolment_id        bigint NOT NULL REFERENCES sp.enrolment (enrolment_id),
    programme           text NOT NULL,
    household_id        bigint NOT NULL,
    person_id           bigint,
    from_state          text,
    to_state            text NOT NULL,
    reason              text NOT NULL,
    recertification_due date,
    changed_at          timestamptz NOT NULL DEFAULT now(),
    changed_by          text NOT NULL DEFAULT sp_internal.caller()
);
CREATE INDEX enrolment_history_enrolment_idx ON sp.enrolment_history (enrolment_id, history_id);
COMMENT ON TABLE sp.enrolment_history IS 'Every enrolment state change (and recertification), with the reason, who and when. Append-only.';
CREATE TRIGGER enrolment_history_append_only BEFORE UPDATE OR DELETE ON sp.enrolment_history
    FOR EACH ROW EXECUTE FUNCTION sp_internal.history_is_append_only();

CREATE FUNCTION sp_internal.enrolment_transition_allowed(from_state text, to_state text)
    RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE from_state
        WHEN 'eligible'   THEN to_state IN ('eligible', 'waitlisted', 'enrolled', 'exited')
        WHEN 'waitlisted' THEN to_state IN ('waitlisted', 'enrolled', 'exited')
        WHEN 'enrolled'   THEN to_state IN ('enrolled', 'suspended', 'exited')
        WHEN 'suspended'  THEN to_state IN ('suspended', 'enrolled', 'exited')
        ELSE false
    END
$$;
COMMENT ON FUNCTION sp_internal.enrolment_transition_allowed(text, text) IS 'The enrolment lifecycle: eligible -> waitlisted | enrolled | exited; waitlisted -> enrolled | exited; enrolled <-> suspended; either -> exited; exited is final.';

CREATE FUNCTION sp_internal.enrolment_guard()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    unit text;
BEGIN
    -- a restored enrolment keeps the state and times it had (its history is
    -- restored with it); the lifecycle applies from its next change
    IF TG_OP = 'INSERT' AND sp_internal.loading_rows(TG_RELID) THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'INSERT' THEN
        SELECT g.target_unit INTO unit FROM sp.programme g WHERE g.name = NEW.programme;
        IF (unit = 'person') <> (NEW.person_id IS NOT NULL) THEN
            RAISE EXCEPTION 'programme "%" enrols %', NEW.programme, unit || 's'
                USING ERRCODE = 'check_violation', COLUMN = 'person_id',
                      DETAIL = 'person_id is set exactly for programmes whose target unit is person.';
        END IF;
        IF NEW.state NOT IN ('eligible', 'waitlisted', 'enrolled') THEN
            RAISE EXCEPTION 'a new enrolment cannot start as %', NEW.state USING ERRCODE = 'check_violation', COLUMN = 'state';
        END IF;
    ELSE
        IF OLD.state = 'exited' THEN
            RAISE EXCEPTION 'enrolment % has exited and can no longer change', OLD.enrolment_id
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'A unit that comes back gets a new enrolment.';
        END IF;
        IF NOT sp_internal.enrolment_transition_allowed(OLD.state, NEW.state) THEN
            RAISE EXCEPTION 'enrolment % cannot go from % to %', OLD.enrolment_id, OLD.state, NEW.state
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      DETAIL = 'Allowed: eligible -> waitlisted, enrolled or exited; waitlisted -> enrolled or exited; enrolled <-> suspended; enrolled or suspended -> exited.';
        END IF;
        IF NEW.programme <> OLD.programme
           OR ((NEW.household_id <> OLD.household_id OR NEW.person_id IS DISTINCT FROM OLD.person_id)
               AND NOT sp_internal.setting_repointing_enrolments()) THEN
            RAISE EXCEPTION 'enrolment % cannot move to another programme or unit', OLD.enrolment_id
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
        NEW.version := OLD.version + 1;
        NEW.updated_at := now();
        NEW.updated_by := sp_internal.caller();
    END IF;
    IF NEW.state = 'enrolled' AND (TG_OP = 'INSERT' OR OLD.state NOT IN ('enrolled', 'suspended')) THEN
        NEW.enrolled_at := now();
    END IF;
    IF NEW.state = 'exited' THEN
        NEW.exited_at := coalesce(NEW.exited_at, now());
    END IF;
    IF NEW.state <> 'waitlisted' THEN
        NEW.waitlist_position := NULL;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION sp_internal.enrolment_guard() IS 'Trigger: enforces the enrolment lifecycle and stamps versions, enrolment and exit times.';
CREATE TRIGGER enrolment_guard BEFORE INSERT OR UPDATE ON sp.enrolment
    FOR EACH ROW EXECUTE FUNCTION sp_internal.enrolment_guard();
CREATE TRIGGER enrolment_no_delete BEFORE DELETE ON sp.enrolment
    FOR EACH ROW EXECUTE FUNCTION sp_internal.forbid_delete();

-- History is written per statement from the transition tables: eligibility
-- and enrolment runs change hundreds of thousands of enrolments at once.
CREATE FUNCTION sp_internal.enrolment_log()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' AND sp_internal.loading_rows(TG_RELID) THEN
        RETURN NULL;  -- restored enrolments come with their restored history
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO sp.enrolment_history (enrolment_id, programme, household_id, person_id, from_state, to_state,
                                          reason, recertification_due)
        SELECT n.enrolment_id, n.programme, n.household_id, n.person_id, NULL, n.state, n.reason, n.recertification_due
        FROM new_rows n ORDER BY n.enrolment_id;
    ELSE
        -- dynamic SQL: planned at each call for the rows at hand, not for
        -- those of the session's first call (a nested loop planned for no
        -- rows, used for a run of 100,000, never ends)
        EXECUTE $q$
        INSERT INTO sp.enrolment_history (enrolment_id, programme, household_id, person_id, from_state, to_state,
                                          reason, recertification_due)
        SELECT n.enrolment_id, n.programme, n.household_id, n.person_id, o.state, n.state, n.reason, n.recertification_due
        FROM new_rows n JOIN old_rows o ON o.enrolment_id = n.enrolment_id
        WHERE n.state <> o.state
           OR n.recertification_due IS DISTINCT FROM o.recertification_due
           OR n.person_id IS DISTINCT FROM o.person_id
           OR n.override_review_id IS DISTINCT FROM o.override_review_id
        ORDER BY n.enrolment_id $q$;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION sp_internal.enrolment_log() IS 'Statement trigger: records every new enrolment, state change, recertification, reviewer override and repointing in sp.enrolment_history.';
CREATE TRIGGER enrolment_log_insert AFTER INSERT ON sp.enrolment REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sp_internal.enrolment_log();
CREATE TRIGGER enrolment_log_update AFTER UPDATE ON sp.enrolment REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sp_internal.enrolment_log();

CREATE FUNCTION sp_internal.programme_for_run(programme text)
    RETURNS sp.programme
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    g sp.programme;
BEGIN
    SELECT * INTO g FROM sp.programme p WHERE p.name = programme_for_run.programme FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'programme "%" does not exist', left(programme, 64) USING ERRCODE = 'no_data_found';
    END IF;
    IF g.status <> 'active' OR current_date < g.start_date OR current_date > coalesce(g.end_date, current_date) THEN
        RAISE EXCEPTION 'programme "%" is not running', g.name
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = format('Status %s, from %s to %s.', g.status, g.start_date, coalesce(g.end_date::text, 'open end'));
    END IF;
    RETURN g;
END
$$;
COMMENT ON FUNCTION sp_internal.programme_for_run(text) IS 'Locks a programme for an eligibility or enrolment run (runs of one programme are serialised); raises unless it is active and within its dates.';

-- Evaluates a programme's rule on every unit (or on the units of the given
-- enrolments) into the temporary table sp_eval.
CREATE FUNCTION sp_internal.programme_evaluate(g sp.programme, only_enrolments bigint[] DEFAULT NULL)
    RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c record;
    n integer := 0;
    flags text[] := '{}';
    failed text[] := '{}';
    rank_sql text;
    unit_sql text := '';
    filter_sql text := '';
BEGIN
    FOR c IN SELECT * FROM sp_internal.programme_conditions(g) LOOP
        n := n + 1;
        flags := flags || format('(%s) AS c%s', c.sql, n);
        failed := failed || format('CASE WHEN c.c%s IS NOT TRUE THEN %L END', n, c.label);
    END LOOP;
    -- the ranking score and its cut-off, one index lookup per household
    IF g.ranking ? 'pmt' THEN
        rank_sql := format('LEFT JOIN LATERAL (SELECT a.score AS rank_score, a.poverty_line AS cutoff FROM sp.assessment a '
                           'WHERE a.household_id = hp.household_id AND a.model = %L '
                           'ORDER BY a.assessed_at DESC, a.assessment_id DESC LIMIT 1) r ON true ', g.ranking ->> 'pmt');
    ELSIF g.ranking ? 'mpi' THEN
        rank_sql := format('LEFT JOIN LATERAL (SELECT a.deprivation_score AS rank_score, %s::float8 AS cutoff FROM sp.mpi_assessment a '
                           'WHERE a.household_id = hp.household_id AND a.model = %L '
                           'ORDER BY a.assessed_at DESC, a.mpi_assessment_id DESC LIMIT 1) r ON true ',
                           coalesce((SELECT (m.spec ->> 'k')::float8 FROM sp.mpi_model m
                                     WHERE m.name = g.ranking ->> 'mpi' AND m.status = 'active'), 1.0 / 3),
                           g.ranking ->> 'mpi');
    ELSE
        rank_sql := 'CROSS JOIN LATERAL (SELECT NULL::float8 AS rank_score, NULL::float8 AS cutoff) r ';
    END IF;
    IF g.target_unit = 'person' THEN
        unit_sql := 'JOIN sp.person u ON u.household_id = hp.household_id AND u.status = ''active'' ';
    END IF;
    IF only_enrolments IS NOT NULL THEN
        filter_sql := format('AND EXISTS (SELECT 1 FROM sp.enrolment oe WHERE oe.enrolment_id = ANY (%L::bigint[]) '
                             'AND oe.household_id = hp.household_id %s)', only_enrolments,
                             CASE WHEN g.target_unit = 'person' THEN 'AND oe.person_id = u.person_id' ELSE '' END);
    END IF;
    IF to_regclass('pg_temp.sp_eval') IS NOT NULL THEN
        DROP TABLE sp_eval;
    END IF;
    EXECUTE format('CREATE TEMP TABLE sp_eval ON COMMIT DROP AS '
                   'SELECT hp.household_id, %s AS person_id, f.failed, cardinality(f.failed) = 0 AS eligible, r.rank_score, r.cutoff '
                   'FROM sp.household_profile hp %s %s'
                   'CROSS JOIN LATERAL (SELECT %s OFFSET 0) c '
                   'CROSS JOIN LATERAL (SELECT array_remove(ARRAY[%s]::text[], NULL) AS failed) f '
                   '%s'
                   'WHERE true %s',
                   CASE WHEN g.target_unit = 'person' THEN 'u.person_id' ELSE 'NULL::bigint' END,
                   unit_sql, sp_internal.rule_member_join(ARRAY[g.rule]),
                   array_to_string(flags, ', '), array_to_string(failed, ', '), rank_sql, filter_sql);
    CREATE INDEX ON sp_eval (household_id, person_id);
    ANALYZE sp_eval;
END
$$;
COMMENT ON FUNCTION sp_internal.programme_evaluate(sp.programme, bigint[]) IS 'Evaluates a programme rule on all units (or those of some enrolments) into the temporary table sp_eval: failed conditions, eligibility, ranking score and cut-off.';

CREATE FUNCTION sp_internal.active_model_versions()
    RETURNS jsonb
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object(
        'pmt', (SELECT coalesce(jsonb_object_agg(m.name, m.version), '{}') FROM sp.pmt_model m WHERE m.status = 'active'),
        'mpi', (SELECT coalesce(jsonb_object_agg(m.name, m.version), '{}') FROM sp.mpi_model m WHERE m.status = 'active'))
$$;
COMMENT ON FUNCTION sp_internal.active_model_versions() IS 'The active PMT and MPI model versions, recorded with each run.';

CREATE FUNCTION sp.determine_eligibility(programme text)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    g sp.programme := sp_internal.programme_for_run(programme);
    run bigint;
    result jsonb;
    n_units bigint;
    n_eligible bigint;
    n_new bigint;
    n_exited bigint;
    n_review bigint;
    n_gone bigint;
    n_held bigint;
    n_tmp bigint;
BEGIN
    PERFORM sp_internal.require_national_scope('an eligibility run');
    PERFORM sp_internal.programme_evaluate(g);
    INSERT INTO sp.eligibility_run (programme, kind, programme_version, rule, ranking, models)
    VALUES (g.name, 'eligibility', g.version, g.rule, g.ranking, sp_internal.active_model_versions())
    RETURNING run_id INTO run;

    INSERT INTO sp.eligibility_decision (run_id, programme, household_id, person_id, eligible, failed_conditions,
                                         rank_score, cutoff, borderline)
    SELECT run, g.name, e.household_id, e.person_id, e.eligible, e.failed, e.rank_score, e.cutoff,
           coalesce(abs(e.rank_score - e.cutoff) <= g.review_margin, false)
    FROM sp_eval e;
    GET DIAGNOSTICS n_units = ROW_COUNT;
    SELECT count(*) INTO n_eligible FROM sp_eval e WHERE e.eligible;

    -- open enrolments and how this run judged their unit (NULL: the unit is no
    -- longer an active household or person of the registry)
    CREATE TEMP TABLE sp_open ON COMMIT DROP AS
    -- (kept: a reviewer included the unit, or a shock response enrolled it for a while)
    SELECT o.enrolment_id, o.state, (o.override_review_id IS NOT NULL OR o.shock_response_id IS NOT NULL) AS kept,
           o.household_id, o.person_id,
           e.eligible, coalesce(e.failed, ARRAY['the unit is no longer an active household or person of the registry']) AS failed,
           e.rank_score, e.cutoff
    FROM sp.enrolment o
    LEFT JOIN sp_eval e ON e.household_id = o.household_id AND e.person_id IS NOT DISTINCT FROM o.person_id
    WHERE o.programme = g.name AND o.state <> 'exited';

    -- newly eligible units, except those a person exited, until the household
    -- is updated or reassessed after that exit
    CREATE TEMP TABLE sp_held ON COMMIT DROP AS
    SELECT DISTINCT x.household_id, x.person_id
    FROM sp.enrolment x JOIN sp.household h ON h.household_id = x.household_id
    WHERE x.programme = g.name AND x.state = 'exited' AND NOT x.exited_by_rule
      AND h.updated_at <= x.exited_at
      AND NOT EXISTS (SELECT 1 FROM sp.assessment a WHERE a.household_id = x.household_id AND a.assessed_at > x.exited_at)
      AND NOT EXISTS (SELECT 1 FROM sp.mpi_assessment a WHERE a.household_id = x.household_id AND a.assessed_at > x.exited_at)
      AND NOT EXISTS (SELECT 1 FROM sp.enrolment y WHERE y.programme = x.programme AND y.household_id = x.household_id
                        AND y.person_id IS NOT DISTINCT FROM x.person_id AND y.enrolment_id > x.enrolment_id);
    INSERT INTO sp.enrolment (programme, household_id, person_id, state, reason, rank_score, run_id)
    SELECT g.name, e.household_id, e.person_id, 'eligible', format('eligible (eligibility run %s)', run), e.rank_score, run
    FROM sp_eval e
    WHERE e.eligible
      AND NOT EXISTS (SELECT 1 FROM sp_open o WHERE o.household_id = e.household_id AND o.person_id IS NOT DISTINCT FROM e.person_id)
      AND NOT EXISTS (SELECT 1 FROM sp_held d WHERE d.household_id = e.household_id AND d.person_id IS NOT DISTINCT FROM e.person_id)
    ORDER BY e.household_id, e.person_id;
    GET DIAGNOSTICS n_new = ROW_COUNT;
    SELECT count(*) INTO n_held FROM sp_eval e JOIN sp_held d ON d.household_id = e.household_id
                                                AND d.person_id IS NOT DISTINCT FROM e.person_id
    WHERE e.eligible;

    -- still eligible: refresh the ranking score
    UPDATE sp.enrolment x SET rank_score = o.rank_score, run_id = run
    FROM sp_open o WHERE x.enrolment_id = o.enrolment_id AND o.eligible AND x.rank_score IS DISTINCT FROM o.rank_score;

    -- no longer eligible and not yet receiving anything: exit, with the conditions failed
    UPDATE sp.enrolment x SET state = 'exited', run_id = run, exited_by_rule = true,
           reason = format('no longer eligible (eligibility run %s): %s', run, array_to_string(o.failed, '; '))
    FROM sp_open o
    WHERE x.enrolment_id = o.enrolment_id AND o.eligible IS NOT TRUE AND o.state IN ('eligible', 'waitlisted')
      AND NOT o.kept;
    GET DIAGNOSTICS n_exited = ROW_COUNT;

    -- enrolled or suspended and no longer eligible: a person decides
    INSERT INTO sp.eligibility_review (programme, household_id, person_id, run_id, kind, eligible, detail)
    SELECT g.name, o.household_id, o.person_id, run, 'no_longer_eligible', false,
           jsonb_build_object('enrolment_id', o.enrolment_id, 'failed_conditions', to_jsonb(o.failed),
                              'rank_score', o.rank_score, 'cutoff', o.cutoff)
    FROM sp_open o
    WHERE o.eligible IS NOT TRUE AND o.state IN ('enrolled', 'suspended') AND NOT o.kept
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS n_review = ROW_COUNT;
    SELECT count(*) INTO n_gone FROM sp_open o WHERE o.eligible IS NULL;

    -- borderline scores: a person decides, once per score
    IF g.review_margin IS NOT NULL THEN
        INSERT INTO sp.eligibility_review (programme, household_id, person_id, run_id, kind, eligible, detail)
        SELECT g.name, e.household_id, e.person_id, run, 'borderline', e.eligible,
               jsonb_build_object('rank_score', e.rank_score, 'cutoff', e.cutoff, 'margin', g.review_margin,
                                  'failed_conditions', to_jsonb(e.failed))
        FROM sp_eval e
        WHERE abs(e.rank_score - e.cutoff) <= g.review_margin
          AND NOT EXISTS (SELECT 1 FROM sp.eligibility_review r
                          WHERE r.programme = g.name AND r.household_id = e.household_id
                            AND r.person_id IS NOT DISTINCT FROM e.person_id AND r.kind = 'borderline'
                            AND (r.detail ->> 'rank_score')::float8 = e.rank_score)
        ON CONFLICT DO NOTHING;
        GET DIAGNOSTICS n_tmp = ROW_COUNT;
        n_review := n_review + n_tmp;
    END IF;

    result := jsonb_build_object(
        'run_id', run, 'programme', g.name, 'units', n_units, 'eligible', n_eligible,
        'ineligible', n_units - n_eligible, 'new_enrolments', n_new, 'exited', n_exited,
        'review_queued', n_review, 'units_gone_from_registry', n_gone, 'held_after_manual_exit', n_held,
        'excluded_by', (SELECT coalesce(jsonb_object_agg(f, n), '{}')
                        FROM (SELECT f, count(*) AS n FROM sp_eval e, unnest(e.failed) f GROUP BY f) s));
    UPDATE sp.eligibility_run r SET summary = result WHERE r.run_id = run;
    DROP TABLE sp_open;
    DROP TABLE sp_held;
    DROP TABLE sp_eval;
    RETURN result;
END
$$;
COMMENT ON FUNCTION sp.determine_eligibility(text) IS 'Evaluates a programme''s rule on every active household (or person), records every decision with the conditions that excluded the unit, opens an enrolment (state eligible) for newly eligible units, exits eligible/waitlisted units that no longer qualify, and sends enrolled units that no longer qualify and borderline scores to sp.eligibility_review. Returns counts.';

CREATE FUNCTION sp.enrol(programme text)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    g sp.programme := sp_internal.programme_for_run(programme);
    has_quotas boolean;
    months integer;
    n_enrolled bigint;
    n_waitlisted bigint;
    by_area jsonb;
BEGIN
    PERFORM sp_internal.require_national_scope('enrolment of a programme');
    has_quotas := EXISTS (SELECT 1 FROM sp.programme_quota q WHERE q.programme = g.name);
    months := g.recertify_months;
    CREATE TEMP TABLE sp_rank ON COMMIT DROP AS
    WITH quota_of AS (
        -- each area's deepest quota area
        SELECT DISTINCT ON (anc.code) anc.code AS area_code, q.area_code AS quota_area
        FROM sp.programme_quota q JOIN sp.admin_area_ancestor anc ON anc.ancestor_code = q.area_code
        WHERE q.programme = g.name
        ORDER BY anc.code, anc.ancestor_level DESC
    ),
    cand AS (
        SELECT x.enrolment_id, x.household_id, x.person_id, x.eligible_since,
               CASE WHEN g.ranking ? 'mpi' THEN -x.rank_score ELSE x.rank_score END AS priority,
               qo.quota_area
        FROM sp.enrolment x JOIN sp.household h ON h.household_id = x.household_id
        LEFT JOIN quota_of qo ON qo.area_code = h.admin_area_code
        WHERE x.programme = g.name AND x.state IN ('eligible', 'waitlisted')
    ),
    used AS (
        SELECT x.quota_area, count(*) AS n FROM sp.enrolment x
        WHERE x.programme = g.name AND x.state IN ('enrolled', 'suspended') GROUP BY x.quota_area
    )
    SELECT c.*, row_number() OVER (PARTITION BY c.quota_area
                                   ORDER BY c.priority NULLS LAST, c.eligible_since, c.household_id, c.person_id) AS pos,
           CASE WHEN NOT has_quotas THEN NULL
                WHEN c.quota_area IS NULL THEN 0
                ELSE greatest(q.quota - coalesce(u.n, 0), 0) END AS room
    FROM cand c
    LEFT JOIN sp.programme_quota q ON q.programme = g.name AND q.area_code = c.quota_area
    LEFT JOIN used u ON u.quota_area = c.quota_area;

    UPDATE sp.enrolment x SET state = 'enrolled', quota_area = r.quota_area,
           recertification_due = current_date + make_interval(months => months),
           reason = CASE WHEN r.quota_area IS NULL THEN 'enrolled'
                         ELSE format('enrolled: rank %s within the quota of %s', r.pos, r.quota_area) END
    FROM sp_rank r WHERE x.enrolment_id = r.enrolment_id AND (r.room IS NULL OR r.pos <= r.room);
    GET DIAGNOSTICS n_enrolled = ROW_COUNT;

    UPDATE sp.enrolment x SET state = 'waitlisted', quota_area = r.quota_area, waitlist_position = r.pos - r.room,
           reason = CASE WHEN r.quota_area IS NULL THEN 'waitlisted: no quota covers the household''s area'
                         ELSE format('waitlisted: the quota of %s is full', r.quota_area) END
    FROM sp_rank r WHERE x.enrolment_id = r.enrolment_id AND r.room IS NOT NULL AND r.pos > r.room
      AND (x.state <> 'waitlisted' OR x.waitlist_position IS DISTINCT FROM r.pos - r.room
           OR x.quota_area IS DISTINCT FROM r.quota_area);
    SELECT count(*) INTO n_waitlisted FROM sp.enrolment x WHERE x.programme = g.name AND x.state = 'waitlisted';

    SELECT coalesce(jsonb_agg(jsonb_build_object('area', s.quota_area, 'quota', s.quota, 'enrolled', s.enrolled,
                                                 'waitlisted', s.waitlisted) ORDER BY s.quota_area NULLS LAST), '[]')
    INTO by_area
    FROM (SELECT x.quota_area, max(q.quota) AS quota,
                 count(*) FILTER (WHERE x.state IN ('enrolled', 'suspended')) AS enrolled,
                 count(*) FILTER (WHERE x.state = 'waitlisted') AS waitlisted
          FROM sp.enrolment x LEFT JOIN sp.programme_quota q ON q.programme = x.programme AND q.area_code = x.quota_area
          WHERE x.programme = g.name AND x.state IN ('enrolled', 'suspended', 'waitlisted')
          GROUP BY x.quota_area) s;
    DROP TABLE sp_rank;
    RETURN jsonb_build_object('programme', g.name, 'newly_enrolled', n_enrolled, 'waitlisted', n_waitlisted,
                              'by_quota_area', by_area);
END
$$;
COMMENT ON FUNCTION sp.enrol(text) IS 'Enrols eligible and waitlisted units of a programme in rank order (programme ranking; ties by eligibility date) up to the free places of each quota area; the rest are waitlisted with their position. Without quotas every eligible unit is enrolled. Sets the recertification due date. Returns counts by quota area.';

CREATE FUNCTION sp.set_enrolment_state(enrolment_id bigint, state text, reason text)
    RETURNS sp.enrolment
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    x sp.enrolment;
    hid bigint;
BEGIN
    PERFORM sp_internal.require_reason(reason, 'Every enrolment state change records why it was made.');
    IF state IS NULL OR state NOT IN ('eligible', 'waitlisted', 'enrolled', 'suspended', 'exited') THEN
        RAISE EXCEPTION 'unknown enrolment state "%"', left(state, 64) USING ERRCODE = 'invalid_parameter_value',
            DETAIL = 'States: eligible, waitlisted, enrolled, suspended, exited.';
    END IF;
    IF state = 'waitlisted' THEN
        RAISE EXCEPTION 'units are waitlisted by sp.enrol, which knows their rank' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- an enrolment outside the caller's scope does not exist for it
    SELECT e.household_id INTO hid FROM sp.enrolment e WHERE e.enrolment_id = set_enrolment_state.enrolment_id;
    IF hid IS NULL OR NOT sp_internal.household_in_scope(hid) THEN
        PERFORM sp_internal.raise_not_found('enrolment', set_enrolment_state.enrolment_id);
    END IF;
    UPDATE sp.enrolment e
    SET state = set_enrolment_state.state, reason = set_enrolment_state.reason,
        recertification_due = CASE WHEN set_enrolment_state.state = 'enrolled' AND e.state <> 'suspended'
                                   THEN current_date + make_interval(months => (SELECT g.recertify_months FROM sp.programme g WHERE g.name = e.programme))
                                   ELSE e.recertification_due END
    WHERE e.enrolment_id = set_enrolment_state.enrolment_id
    RETURNING * INTO x;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'enrolment % does not exist', enrolment_id USING ERRCODE = 'no_data_found';
    END IF;
    RETURN x;
END
$$;
COMMENT ON FUNCTION sp.set_enrolment_state(bigint, text, text) IS 'Moves an enrolment through its lifecycle (e.g. enrolled -> suspended for non-compliance, suspended -> enrolled, -> exited) with a reason; illegal transitions are refused (55000). Enrolling by hand bypasses quotas, on purpose, and is recorded.';

CREATE FUNCTION sp.open_enrolment(programme text, household_id bigint, person_id bigint DEFAULT NULL, reason text DEFAULT NULL)
    RETURNS sp.enrolment
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    x sp.enrolment;
BEGIN
    PERFORM sp_internal.require_reason(reason, 'Opening an enrolment by hand records why.');
    PERFORM sp_internal.household_area_in_scope(open_enrolment.household_id);
    PERFORM 1 FROM sp.programme g WHERE g.name = open_enrolment.programme;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'programme "%" does not exist', left(programme, 64) USING ERRCODE = 'no_data_found';
    END IF;
    IF person_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM sp.person p WHERE p.person_id = open_enrolment.person_id
                                              AND p.household_id = open_enrolment.household_id) THEN
        RAISE EXCEPTION 'person % is not a member of household %', person_id, household_id
            USING ERRCODE = 'foreign_key_violation', COLUMN = 'person_id';
    END IF;
    INSERT INTO sp.enrolment (programme, household_id, person_id, state, reason)
    VALUES (open_enrolment.programme, open_enrolment.household_id, open_enrolment.person_id, 'eligible',
            'opened by hand: ' || open_enrolment.reason)
    RETURNING * INTO x;
    RETURN x;
END
$$;
COMMENT ON FUNCTION sp.open_enrolment(text, bigint, bigint, text) IS 'Opens an enrolment (state eligible) by hand, with a reason: for a unit a caseworker exited earlier and that comes back, or a decision outside the rule. sp.enrol then ranks it with the others.';

CREATE FUNCTION sp.review_eligibility(review_id bigint, decision text, reason text)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r sp.eligibility_review;
    x sp.enrolment;
    g sp.programme;
    action text := 'none';
BEGIN
    IF decision IS NULL OR decision NOT IN ('include', 'exclude') THEN
        RAISE EXCEPTION 'decision must be include or exclude, got "%"', left(decision, 64) USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM sp_internal.require_reason(reason, 'Every review decision records why it was made.');
    -- a review outside the caller's scope does not exist for it
    IF NOT sp_internal.household_in_scope((SELECT v.household_id FROM sp.eligibility_review v
                                           WHERE v.review_id = review_eligibility.review_id)) THEN
        PERFORM sp_internal.raise_not_found('review', review_eligibility.review_id);
    END IF;
    SELECT * INTO r FROM sp.eligibility_review v WHERE v.review_id = review_eligibility.review_id FOR UPDATE;
    IF r.status <> 'pending' THEN
        RAISE EXCEPTION 'review % was already decided (%)', review_id, r.status USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT * INTO g FROM sp.programme p WHERE p.name = r.programme;
    SELECT * INTO x FROM sp.enrolment e
    WHERE e.programme = r.programme AND e.household_id = r.household_id AND e.person_id IS NOT DISTINCT FROM r.person_id
      AND e.state <> 'exited' FOR UPDATE;

    IF decision = 'include' THEN
        IF x.enrolment_id IS NULL THEN
            INSERT INTO sp.enrolment (programme, household_id, person_id, state, reason, rank_score, override_review_id, run_id)
            VALUES (r.programme, r.household_id, r.person_id, 'eligible', 'included on review: ' || review_eligibility.reason,
                    (r.detail ->> 'rank_score')::float8, r.review_id, r.run_id);
            action := 'enrolment opened';
        ELSE
            UPDATE sp.enrolment e SET override_review_id = r.review_id,
                   reason = CASE WHEN r.kind = 'recertification' THEN 'recertified on review: ' ELSE 'kept on review: ' END || review_eligibility.reason,
                   recertification_due = CASE WHEN r.kind = 'recertification'
                                              THEN current_date + make_interval(months => g.recertify_months)
                                              ELSE e.recertification_due END
            WHERE e.enrolment_id = x.enrolment_id;
            action := 'enrolment kept';
        END IF;
    ELSIF x.enrolment_id IS NOT NULL THEN
        UPDATE sp.enrolment e SET state = 'exited', reason = 'excluded on review: ' || review_eligibility.reason
        WHERE e.enrolment_id = x.enrolment_id;
        action := 'enrolment exited';
    END IF;
    UPDATE sp.eligibility_review v SET status = CASE decision WHEN 'include' THEN 'included' ELSE 'excluded' END,
           decided_at = now(), decided_by = sp_internal.caller(), reason = review_eligibility.reason
    WHERE v.review_id = r.review_id;
    RETURN jsonb_build_object('review_id', r.review_id, 'decision', decision, 'action', action);
END
$$;
COMMENT ON FUNCTION sp.review_eligibility(bigint, text, text) IS 'A reviewer decides a case of sp.eligibility_review: include (open or keep the enrolment; automated runs then leave it alone) or exclude (exit the enrolment), with a reason. Decisions are final; an appeal reassesses the household (sp.reassess_household) and the next run may queue it again.';

CREATE FUNCTION sp.recertify(programme text)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    g sp.programme := sp_internal.programme_for_run(programme);
    due bigint[];
    run bigint;
    n_ok bigint;
    n_review bigint;
BEGIN
    PERFORM sp_internal.require_national_scope('recertification of a programme');
    due := ARRAY(SELECT x.enrolment_id FROM sp.enrolment x
                 WHERE x.programme = g.name AND x.state IN ('enrolled', 'suspended')
                   AND x.recertification_due <= current_date ORDER BY 1);
    INSERT INTO sp.eligibility_run (programme, kind, programme_version, rule, ranking, models)
    VALUES (g.name, 'recertification', g.version, g.rule, g.ranking, sp_internal.active_model_versions())
    RETURNING run_id INTO run;
    PERFORM sp_internal.programme_evaluate(g, due);
    INSERT INTO sp.eligibility_decision (run_id, programme, household_id, person_id, eligible, failed_conditions, rank_score, cutoff)
    SELECT run, g.name, e.household_id, e.person_id, e.eligible, e.failed, e.rank_score, e.cutoff FROM sp_eval e;

    UPDATE sp.enrolment x SET recertification_due = current_date + make_interval(months => g.recertify_months),
           reason = format('recertified (run %s)', run), run_id = run, rank_score = e.rank_score
    FROM sp_eval e
    WHERE x.enrolment_id = ANY (due) AND e.eligible
      AND e.household_id = x.household_id AND e.person_id IS NOT DISTINCT FROM x.person_id;
    GET DIAGNOSTICS n_ok = ROW_COUNT;

    INSERT INTO sp.eligibility_review (programme, household_id, person_id, run_id, kind, eligible, detail)
    SELECT g.name, x.household_id, x.person_id, run, 'recertification', false,
           jsonb_build_object('enrolment_id', x.enrolment_id,
                              'failed_conditions', to_jsonb(coalesce(e.failed, ARRAY['the unit is no longer an active household or person of the registry'])),
                              'rank_score', e.rank_score, 'cutoff', e.cutoff)
    FROM sp.enrolment x
    LEFT JOIN sp_eval e ON e.household_id = x.household_id AND e.person_id IS NOT DISTINCT FROM x.person_id
    WHERE x.enrolment_id = ANY (due) AND e.eligible IS NOT TRUE
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS n_review = ROW_COUNT;
    UPDATE sp.eligibility_run r
    SET summary = jsonb_build_object('due', cardinality(due), 'recertified', n_ok, 'review_queued', n_review)
    WHERE r.run_id = run;
    DROP TABLE sp_eval;
    RETURN jsonb_build_object('run_id', run, 'programme', g.name, 'due', cardinality(due), 'recertified', n_ok,
                              'review_queued', n_review);
END
$$;
COMMENT ON FUNCTION sp.recertify(text) IS 'Re-checks every enrolled or suspended unit whose recertification is due: those still eligible get a new due date, the others go to sp.eligibility_review (nobody is exited without a decision).';

CREATE VIEW sp.enrolment_summary AS
SELECT x.programme, h.admin_area_code, x.state, count(*) AS units
FROM sp.enrolment x JOIN sp.household h ON h.household_id = x.household_id
GROUP BY x.programme, h.admin_area_code, x.state;
COMMENT ON VIEW sp.enrolment_summary IS 'Enrolments by programme, household area and state; roll up to any level with sp.admin_area_ancestor.';

-- SECURITY DEFINER so that roles which read aggregates only need no access
-- to households; it counts the enrolments of the caller's scope only.
CREATE FUNCTION sp.programme_summary(programme text, level integer DEFAULT 1)
    RETURNS TABLE (area_code text, area_name text, eligible bigint, waitlisted bigint, enrolled bigint,
                   suspended bigint, exited bigint, quota bigint)
    LANGUAGE plpgsql STABLE STRICT SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    PERFORM sp_internal.require_disclosable_level(programme_summary.level);
    RETURN QUERY
    WITH k AS (SELECT sp_internal.suppression_threshold() AS threshold),
    t AS (
        SELECT anc.ancestor_code, ar.name,
               coalesce(sum(s.units) FILTER (WHERE s.state = 'eligible'), 0)::bigint AS eligible,
               coalesce(sum(s.units) FILTER (WHERE s.state = 'waitlisted'), 0)::bigint AS waitlisted,
               coalesce(sum(s.units) FILTER (WHERE s.state = 'enrolled'), 0)::bigint AS enrolled,
               coalesce(sum(s.units) FILTER (WHERE s.state = 'suspended'), 0)::bigint AS suspended,
               coalesce(sum(s.units) FILTER (WHERE s.state = 'exited'), 0)::bigint AS exited,
               (SELECT sum(q.quota) FROM sp.programme_quota q JOIN sp.admin_area_ancestor qa ON qa.code = q.area_code
                WHERE q.programme = programme_summary.programme AND qa.ancestor_code = anc.ancestor_code)::bigint AS quota
        FROM sp.enrolment_summary s
        JOIN sp.admin_area_ancestor anc ON anc.code = s.admin_area_code AND anc.ancestor_level = programme_summary.level
        JOIN sp.admin_area ar ON ar.code = anc.ancestor_code
        WHERE s.programme = programme_summary.programme
          AND s.admin_area_code IN (SELECT v.code FROM sp_internal.visible_areas() v (code))
        GROUP BY anc.ancestor_code, ar.name
    )
    SELECT t.ancestor_code, t.name,
           sp_internal.small_cell(t.eligible, k.threshold), sp_internal.small_cell(t.waitlisted, k.threshold),
           sp_internal.small_cell(t.enrolled, k.threshold), sp_internal.small_cell(t.suspended, k.threshold),
           sp_internal.small_cell(t.exited, k.threshold), t.quota
    FROM t, k
    ORDER BY t.ancestor_code;
END
$$;
COMMENT ON FUNCTION sp.programme_summary(text, integer) IS 'Units of a programme by state per admin area of a level (enrolments of the caller''s area scope only), with the quotas set in or below each area. For callers who may not read the exact area of households (analysts), counts from 1 to min_cell_size - 1 are NULL (small-cell suppression, sp.privacy_setting), and levels below deidentified_area_level are refused (42501).';

-- Person merges (sp.merge_persons) move the merged person's open person
-- enrolments to the survivor, or exit them when the survivor has its own;
-- sp.unmerge_person puts them back.
CREATE TABLE sp_internal.merge_enrolment (
    merge_id      bigint NOT NULL REFERENCES sp.person_merge (merge_id),
    enrolment_id  bigint NOT NULL REFERENCES sp.enrolment (enrolment_id),
    action        text NOT NULL CHECK (action IN ('repointed', 'exited')),
    old_state     text NOT NULL,
    PRIMARY KEY (merge_id, enrolment_id)
);
COMMENT ON TABLE sp_internal.merge_enrolment IS 'What a person merge did to enrolments, so that an unmerge can undo it.';

CREATE FUNCTION sp_internal.merge_enrolments(merge_id bigint, survivor_id bigint, merged_id bigint)
    RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    x record;
BEGIN
    FOR x IN SELECT e.* FROM sp.enrolment e WHERE e.person_id = merged_id AND e.state <> 'exited' ORDER BY e.enrolment_id FOR UPDATE LOOP
        IF EXISTS (SELECT 1 FROM sp.enrolment s WHERE s.programme = x.programme AND s.person_id = survivor_id AND s.state <> 'exited') THEN
            UPDATE sp.enrolment e SET state = 'exited', reason = format('person merged into %s, who is already in the programme', survivor_id)
            WHERE e.enrolment_id = x.enrolment_id;
            INSERT INTO sp_internal.merge_enrolment VALUES (merge_id, x.enrolment_id, 'exited', x.state);
        ELSE
            PERFORM set_config('sp_registry.repointing_enrolments', 'on', true);
            UPDATE sp.enrolment e SET person_id = survivor_id,
                   household_id = (SELECT p.household_id FROM sp.person p WHERE p.person_id = survivor_id),
                   reason = format('moved from person %s, merged into %s', merged_id, survivor_id)
            WHERE e.enrolment_id = x.enrolment_id;
            PERFORM set_config('sp_registry.repointing_enrolments', 'off', true);
            INSERT INTO sp_internal.merge_enrolment VALUES (merge_id, x.enrolment_id, 'repointed', x.state);
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION sp_internal.merge_enrolments(bigint, bigint, bigint) IS 'Called by sp.merge_persons: the merged person''s open enrolments move to the survivor (or exit when the survivor already has one in the programme).';

CREATE FUNCTION sp_internal.unmerge_enrolments(merge_id bigint, survivor_id bigint, merged_id bigint)
    RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m record;
BEGIN
    FOR m IN SELECT me.*, e.state, e.person_id FROM sp_internal.merge_enrolment me JOIN sp.enrolment e USING (enrolment_id)
             WHERE me.merge_id = unmerge_enrolments.merge_id ORDER BY me.enrolment_id LOOP
        IF m.action = 'repointed' AND m.state <> 'exited' AND m.person_id = survivor_id THEN
            PERFORM set_config('sp_registry.repointing_enrolments', 'on', true);
            UPDATE sp.enrolment e SET person_id = merged_id,
                   household_id = (SELECT p.household_id FROM sp.person p WHERE p.person_id = merged_id),
                   reason = format('moved back to person %s: merge undone', merged_id)
            WHERE e.enrolment_id = m.enrolment_id;
            PERFORM set_config('sp_registry.repointing_enrolments', 'off', true);
        ELSIF m.action = 'exited' THEN
            -- an exit is final: the unmerged person gets a new enrolment in the state it had
            INSERT INTO sp.enrolment (programme, household_id, person_id, state, reason, rank_score, quota_area,
                                      waitlist_position, recertification_due)
            SELECT e.programme, p.household_id, merged_id, CASE WHEN m.old_state = 'suspended' THEN 'enrolled' ELSE m.old_state END,
                   format('restored: merge into %s undone', survivor_id), e.rank_score, e.quota_area,
                   CASE WHEN m.old_state = 'waitlisted' THEN coalesce(e.waitlist_position, 1) END, e.recertification_due
            FROM sp.enrolment e JOIN sp.person p ON p.person_id = merged_id
            WHERE e.enrolment_id = m.enrolment_id
              AND NOT EXISTS (SELECT 1 FROM sp.enrolment o WHERE o.programme = e.programme AND o.person_id = merged_id AND o.state <> 'exited');
            IF m.old_state = 'suspended' THEN
                UPDATE sp.enrolment e SET state = 'suspended', reason = format('restored as suspended: merge into %s undone', survivor_id)
                WHERE e.person_id = merged_id AND e.state = 'enrolled'
                  AND e.programme = (SELECT x.programme FROM sp.enrolment x WHERE x.enrolment_id = m.enrolment_id);
            END IF;
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION sp_internal.unmerge_enrolments(bigint, bigint, bigint) IS 'Called by sp.unmerge_person: undoes what sp_internal.merge_enrolments did.';
