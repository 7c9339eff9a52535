-- Civil-registration events (issue 12): deaths and births reported by the
-- civil registration and vital statistics system (CRVS).
--
-- A death marks the person deceased, exits the enrolments the person was the
-- unit of (and those of a household left with nobody), cancels payments not
-- yet sent to the person, lists those sent after the death for recovery, and
-- reassesses the household.  A birth adds the child to the mother's
-- household and reassesses it.  The person is found by national ID (blind
-- index), else by the trained person model; when neither is certain the event
-- waits in a review queue for a person to decide.  Each event is applied
-- once, whatever is sent again.

-- Who may send events under which source: a source's event ids are its own,
-- so that nobody else can take an id (and so stop the real event).
CREATE TABLE sp.crvs_source (
    source     text PRIMARY KEY CHECK (source ~ '^[a-z][a-z0-9_.-]{0,39}$'),
    role_name  text NOT NULL CHECK (length(role_name) BETWEEN 1 AND 63),
    title      text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    builtin    boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text NOT NULL DEFAULT sp_internal.caller()
);
COMMENT ON TABLE sp.crvs_source IS 'Senders of civil-registration events: a source and the role whose members may send under it (its event ids are its own). Shipped: crvs (the civil-registration interface, sp_integration) and manual (events entered by caseworkers, sp_caseworker). Administrators add others.';
INSERT INTO sp.crvs_source (source, role_name, title, builtin) VALUES
    ('crvs', 'sp_integration', 'The civil registration and vital statistics system', true),
    ('manual', 'sp_caseworker', 'Events entered by hand from certificates', true);
CREATE FUNCTION sp_internal.crvs_source_guard()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.builtin AND NOT sp_internal.loading_rows(TG_RELID) AND EXISTS (SELECT 1 FROM sp.crvs_source x WHERE x.builtin) THEN
            RAISE EXCEPTION 'sources are added as not built-in' USING ERRCODE = 'check_violation', COLUMN = 'builtin';
        END IF;
        RETURN NEW;
    END IF;
    IF OLD.builtin OR NEW.source <> OLD.source OR NEW.builtin <> OLD.builtin THEN
        RAISE EXCEPTION 'source "%" is shipped or keeps its name', OLD.source USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION sp_internal.crvs_source_guard() IS 'Trigger: the shipped sources do not change; a source keeps its name.';
CREATE TRIGGER crvs_source_guard BEFORE INSERT OR UPDATE ON sp.crvs_source
    FOR EACH ROW EXECUTE FUNCTION sp_internal.crvs_source_guard();
CREATE TRIGGER crvs_source_no_delete BEFORE DELETE ON sp.crvs_source
    FOR EACH ROW EXECUTE FUNCTION sp_internal.forbid_delete();

CREATE TABLE sp.crvs_event (
    crvs_event_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source          text NOT NULL CHECK (source ~ '^[a-z][a-z0-9_.-]{0,39}$'),
    event_id        text NOT NULL CHECK (length(event_id) BETWEEN 1 AND 100),
    event_type      text NOT NULL CHECK (event_type IN ('death', 'birth')),
    event_date      date NOT NULL,
    document        jsonb NOT NULL,
    had_national_id boolean NOT NULL,
    status          text NOT NULL CHECK (status IN ('applied', 'review', 'dismissed')),
    review_reason   text,
    candidates      jsonb,
    person_id       bigint REFERENCES sp.person (person_id),
    household_id    bigint REFERENCES sp.household (household_id),
    admin_area_code text REFERENCES sp.admin_area (code),
    reported_area_code text REFERENCES sp.admin_area (code),
    matched_by      text CHECK (matched_by IN ('national_id', 'linkage', 'reviewer')),
    match_probability float8,
    result          jsonb,
    received_at     timestamptz NOT NULL DEFAULT now(),
    received_by     text NOT NULL DEFAULT sp_internal.caller(),
    decided_at      timestamptz,
    decided_by      text,
    decision_reason text,
    version         integer NOT NULL DEFAULT 1,
    UNIQUE (source, event_id),
    CHECK (status <> 'applied' OR (person_id IS NOT NULL AND household_id IS NOT NULL AND result IS NOT NULL)),
    CHECK (status <> 'review' OR review_reason IS NOT NULL),
    CHECK (status <> 'dismissed' OR decision_reason IS NOT NULL)
);
CREATE INDEX crvs_event_review_idx ON sp.crvs_event (received_at) WHERE status = 'review';
CREATE INDEX crvs_event_household_idx ON sp.crvs_event (household_id) WHERE household_id IS NOT NULL;
CREATE INDEX crvs_event_person_idx ON sp.crvs_event (person_id) WHERE person_id IS NOT NULL;
COMMENT ON TABLE sp.crvs_event IS 'Deaths and births reported by civil registration, once each (source, event_id): applied to the person found (how, with what result), or waiting for review (no one found, several found, or a match not certain enough), or dismissed by a reviewer with a reason. The document is kept without its national IDs. Written by sp.apply_crvs_event and sp.resolve_crvs_event only; never deleted.';
COMMENT ON COLUMN sp.crvs_event.person_id IS 'Death: the person who died. Birth: the mother.';
COMMENT ON COLUMN sp.crvs_event.candidates IS 'For review: the registered persons the event may be about, with the model''s probability (or national_id when the ID matched several); when the event names an area, only candidates of that area.';
COMMENT ON COLUMN sp.crvs_event.admin_area_code IS 'Who sees the event: once applied, the area of the household it was applied to; in review, the area it was reported in (NULL: national reviewers only).';
COMMENT ON COLUMN sp.crvs_event.reported_area_code IS 'The area the event said it happened in (a hospital''s district may not be the family''s).';
COMMENT ON COLUMN sp.crvs_event.result IS 'What was done: status change, enrolments exited, payments cancelled, payments sent after the death (to recover), the child''s person_id, reassessments.';
CREATE TRIGGER crvs_event_no_delete BEFORE DELETE ON sp.crvs_event
    FOR EACH ROW EXECUTE FUNCTION sp_internal.forbid_delete();

CREATE FUNCTION sp_internal.crvs_event_guard()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        RETURN NEW;
    END IF;
    IF (NEW.source, NEW.event_id, NEW.event_type, NEW.event_date, NEW.document, NEW.had_national_id, NEW.received_at, NEW.received_by,
        NEW.reported_area_code)
       IS DISTINCT FROM (OLD.source, OLD.event_id, OLD.event_type, OLD.event_date, OLD.document, OLD.had_national_id, OLD.received_at, OLD.received_by,
        OLD.reported_area_code) THEN
        RAISE EXCEPTION 'civil-registration event % keeps what was reported', OLD.crvs_event_id
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF OLD.status <> 'review' THEN
        RAISE EXCEPTION 'civil-registration event % was % and is final', OLD.crvs_event_id, OLD.status
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    NEW.version := OLD.version + 1;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION sp_internal.crvs_event_guard() IS 'Trigger: a civil-registration event keeps what was reported; only an event in review changes (to applied or dismissed), once.';
CREATE TRIGGER crvs_event_guard BEFORE INSERT OR UPDATE ON sp.crvs_event
    FOR EACH ROW EXECUTE FUNCTION sp_internal.crvs_event_guard();

-- ------------------------------------------------------------------------
-- Finding the person
-- ------------------------------------------------------------------------

-- A person object of an event: names, birth date, sex, national ID.
CREATE FUNCTION sp_internal.crvs_person_problem(p jsonb, field text, identify boolean DEFAULT true)
    RETURNS text
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k text;
BEGIN
    IF p IS NULL OR jsonb_typeof(p) <> 'object' THEN
        RETURN field || ' must be an object';
    END IF;
    SELECT key INTO k FROM jsonb_object_keys(p) key
    WHERE key NOT IN ('national_id', 'given_name', 'family_name', 'other_names', 'birth_date', 'sex') ORDER BY key LIMIT 1;
    IF k IS NOT NULL THEN
        RETURN format('unknown field "%s.%s"', field, left(k, 64));
    END IF;
    SELECT key INTO k FROM jsonb_each(p) e (key, value)
    WHERE jsonb_typeof(e.value) NOT IN ('string', 'null') ORDER BY key LIMIT 1;
    IF k IS NOT NULL THEN
        RETURN format('%s.%s must be a string', field, k);
    END IF;
    SELECT key INTO k FROM jsonb_each_text(p) e (key, value) WHERE length(e.value) > 200 ORDER BY key LIMIT 1;
    IF k IS NOT NULL THEN
        RETURN format('%s.%s is longer than 200 characters', field, k);
    END IF;
    IF identify AND coalesce(btrim(p ->> 'national_id'), '') = '' AND (coalesce(btrim(p ->> 'given_name'), '') = '' OR coalesce(btrim(p ->> 'family_name'), '') = '') THEN
        RETURN field || ' needs a national_id, or a given_name and a family_name';
    END IF;
    IF p ->> 'birth_date' IS NOT NULL THEN
        BEGIN
            PERFORM sp.parse_birth_date(p ->> 'birth_date');
        EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow THEN
            RETURN field || '.birth_date is not a date (YYYY-MM-DD, YYYY-MM or YYYY)';
        END;
    END IF;
    IF p ->> 'sex' IS NOT NULL AND p ->> 'sex' NOT IN ('M', 'F', 'X') THEN
        RETURN field || '.sex must be "M", "F" or "X"';
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION sp_internal.crvs_person_problem(jsonb, text, boolean) IS 'What is wrong with a person object of a civil-registration event (national_id, given_name, family_name, other_names, birth_date, sex; to identify someone registered, an ID or both names), or NULL.';

-- The registered persons (active, in the caller's scope) an event's person
-- may be: by national ID through the blind index, else candidates by name
-- keys (either order) scored with the trained person model.
CREATE FUNCTION sp_internal.crvs_find_person(p jsonb,
                                             OUT person_id bigint, OUT matched_by text, OUT probability float8,
                                             OUT problem text, OUT candidates jsonb)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    nid text := nullif(btrim(p ->> 'national_id'), '');
    ids bigint[];
    best record;
    second float8;
    l bigint[];
    r bigint[];
BEGIN
    IF nid IS NOT NULL THEN
        SELECT array_agg(x.person_id ORDER BY x.person_id) INTO ids
        FROM sp.person x
        WHERE x.national_id_hash = ANY (sp_internal.blind_indexes('national_id', sp.normalize_national_id(nid)))
          AND x.status IN ('active', 'deceased') AND sp_internal.area_in_scope(x.admin_area_code);
        IF cardinality(ids) = 1 THEN
            person_id := ids[1]; matched_by := 'national_id'; probability := 1;
            RETURN;
        ELSIF cardinality(ids) > 1 THEN
            problem := format('%s registered persons have this national ID', cardinality(ids));
            SELECT jsonb_agg(jsonb_build_object('person_id', i, 'matched_by', 'national_id') ORDER BY i) INTO candidates FROM unnest(ids) i;
            RETURN;
        END IF;
    END IF;
    IF coalesce(btrim(p ->> 'given_name'), '') = '' OR coalesce(btrim(p ->> 'family_name'), '') = '' THEN
        problem := 'no registered person has this national ID, and the event gives no names to search by';
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM sp.linkage_model m WHERE m.name = 'person' AND m.params IS NOT NULL) THEN
        problem := CASE WHEN nid IS NULL THEN 'no national ID, and the person linkage model is not trained'
                        ELSE 'no registered person has this national ID, and the person linkage model is not trained' END;
        RETURN;
    END IF;
    -- the event's person (id -1) and the candidates, in the shape of the model's input
    IF to_regclass('pg_temp.sp_crvs_link') IS NOT NULL THEN
        DROP TABLE pg_temp.sp_crvs_link;
    END IF;
    -- while a blind-index rotation runs, every ID as its index under the active key
    EXECUTE format($q$
        CREATE TEMP TABLE sp_crvs_link ON COMMIT DROP AS
        SELECT i.* FROM %s i
        WHERE i.id IN (SELECT x.person_id FROM sp.person x
                       WHERE x.status = 'active'
                         AND x.admin_area_code IN (SELECT v.code FROM sp_internal.visible_areas() v (code))
                         AND ((sp.name_key(x.family_name) = sp.name_key($1) AND sp.name_key(x.given_name) = sp.name_key($2))
                           OR (sp.name_key(x.family_name) = sp.name_key($2) AND sp.name_key(x.given_name) = sp.name_key($1)))
                       ORDER BY x.person_id LIMIT 200)$q$,
        CASE WHEN EXISTS (SELECT 1 FROM sp_internal.pii_key k WHERE k.purpose = 'blind_index' AND k.state = 'rotating')
             THEN 'sp_internal.person_linkage_input_rotating' ELSE 'sp_internal.person_linkage_input' END)
    USING p ->> 'family_name', p ->> 'given_name';
    INSERT INTO pg_temp.sp_crvs_link (id, given_name, family_name, other_names, birth_date, sex, national_id, phone, admin_area_code, registration_group)
    VALUES (-1, p ->> 'given_name', p ->> 'family_name', p ->> 'other_names',
            (SELECT sp_internal.birth_date_text(d.birth_date, d.birth_date_precision) FROM sp.parse_birth_date(p ->> 'birth_date') d),
            p ->> 'sex',
            CASE WHEN nid IS NOT NULL THEN encode(substr(sp_internal.blind_index('national_id', sp.normalize_national_id(nid)), 3, 8), 'hex') END,
            NULL, NULL, 'crvs');
    SELECT array_agg(-1::bigint), array_agg(k.id) INTO l, r FROM pg_temp.sp_crvs_link k WHERE k.id <> -1;
    IF l IS NULL THEN
        problem := 'no registered person has these names';
        RETURN;
    END IF;
    SELECT jsonb_agg(jsonb_build_object('person_id', s.right_id, 'probability', round(s.match_probability::numeric, 4))
                     ORDER BY s.match_probability DESC, s.right_id)
    INTO candidates
    FROM sp_internal.score_pairs('person', 'pg_temp.sp_crvs_link'::regclass, l, r) s;
    SELECT (c ->> 'person_id')::bigint AS id, (c ->> 'probability')::float8 AS pr INTO best
    FROM jsonb_array_elements(candidates) c ORDER BY (c ->> 'probability')::float8 DESC, (c ->> 'person_id')::bigint LIMIT 1;
    SELECT (c ->> 'probability')::float8 INTO second
    FROM jsonb_array_elements(candidates) c ORDER BY (c ->> 'probability')::float8 DESC, (c ->> 'person_id')::bigint OFFSET 1 LIMIT 1;
    -- a wrong match declares a living person dead or puts a child in a
    -- stranger's household: only one clear candidate is taken
    IF best.pr >= 0.99 AND coalesce(second, 0) < 0.5 THEN
        person_id := best.id; matched_by := 'linkage'; probability := best.pr;
        candidates := NULL;
    ELSE
        problem := CASE WHEN best.pr >= 0.99 THEN 'several registered persons match'
                        ELSE format('no registered person matches with certainty (best %s)', round(best.pr::numeric, 4)) END;
        candidates := (SELECT jsonb_agg(c) FROM (SELECT c FROM jsonb_array_elements(candidates) c LIMIT 10) x);
    END IF;
    DROP TABLE pg_temp.sp_crvs_link;
END
$$;
COMMENT ON FUNCTION sp_internal.crvs_find_person(jsonb) IS 'Finds the registered person (in the caller''s scope) a civil-registration person object names: by national ID (exactly one person, active or deceased), else among active persons by the trained person model among persons with the same name keys (one candidate at 0.99 or more, no other at 0.5 or more). Otherwise returns the problem and up to 10 candidates for review.';
REVOKE ALL ON FUNCTION sp_internal.crvs_find_person(jsonb) FROM PUBLIC;

-- ------------------------------------------------------------------------
-- Applying an event to a person
-- ------------------------------------------------------------------------

CREATE FUNCTION sp_internal.crvs_apply(ev sp.crvs_event, p_person_id bigint, child_national_id text DEFAULT NULL)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    x sp.person;
    why text;
    result jsonb;
    exited jsonb;
    cancelled jsonb;
    sent jsonb;
    left_alive integer;
    child jsonb;
    child_id bigint;
    dups jsonb;
    rel text;
    reassessed jsonb;
BEGIN
    PERFORM sp_internal.person_household_in_scope(p_person_id);
    SELECT * INTO x FROM sp.person WHERE person_id = p_person_id FOR UPDATE;
    -- a mother may have died giving birth; a person reported dead twice (a
    -- corrected record) is dead once
    IF x.status NOT IN ('active', 'deceased') THEN
        RAISE EXCEPTION 'person % is %', x.person_id, x.status USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'Apply the event to the person it was merged into.';
    END IF;
    IF ev.event_type = 'death' AND x.status = 'deceased' THEN
        RETURN jsonb_build_object('person_status', 'already deceased');
    END IF;
    IF ev.event_type = 'death' THEN
        why := format('died on %s (civil registration %s %s)', to_char(ev.event_date, 'YYYY-MM-DD'), ev.source, ev.event_id);
        PERFORM sp_internal.change_status('person', x.person_id, 'deceased', why, ARRAY['active', 'deceased']);
        SELECT count(*) INTO left_alive FROM sp.person m WHERE m.household_id = x.household_id AND m.status = 'active';
        -- enrolments of the person, and of a household left with nobody
        PERFORM set_config('sp_registry.change_reason', why, true);
        WITH done AS (
            UPDATE sp.enrolment e
            SET state = 'exited', reason = CASE WHEN e.person_id IS NOT NULL THEN why ELSE 'no member left: last member ' || why END
            WHERE e.state IN ('eligible', 'waitlisted', 'enrolled', 'suspended')
              AND (e.person_id = x.person_id OR (e.person_id IS NULL AND e.household_id = x.household_id AND left_alive = 0))
            RETURNING e.enrolment_id, e.programme)
        SELECT coalesce(jsonb_agg(jsonb_build_object('enrolment_id', d.enrolment_id, 'programme', d.programme) ORDER BY d.enrolment_id), '[]')
        INTO exited FROM done d;
        -- payments not yet sent to the person, or for the person: cancelled
        -- (their cycles locked first, as generation and approval lock them)
        PERFORM 1 FROM sp.payment_cycle c
        WHERE c.cycle_id IN (SELECT p.cycle_id FROM sp.payment p
                             WHERE (p.recipient_id = x.person_id OR p.unit_person_id = x.person_id) AND p.status IN ('created', 'approved'))
        ORDER BY c.cycle_id FOR UPDATE;
        WITH done AS (
            UPDATE sp.payment p SET status = 'cancelled', status_reason = 'recipient ' || why
            WHERE (p.recipient_id = x.person_id OR p.unit_person_id = x.person_id) AND p.status IN ('created', 'approved')
            RETURNING p.payment_id, p.cycle_id, p.amount)
        SELECT coalesce(jsonb_agg(jsonb_build_object('payment_id', d.payment_id, 'cycle_id', d.cycle_id, 'amount', d.amount) ORDER BY d.payment_id), '[]')
        INTO cancelled FROM done d;
        UPDATE sp.payment_cycle pc
        SET (payments, total_amount) = (SELECT t.payments, t.total_amount FROM sp_internal.payment_cycle_totals(pc.cycle_id) t)
        WHERE pc.cycle_id IN (SELECT (c ->> 'cycle_id')::bigint FROM jsonb_array_elements(cancelled) c);
        -- sent or paid for a period that began after the death: to recover
        SELECT coalesce(jsonb_agg(jsonb_build_object('payment_id', p.payment_id, 'cycle_id', p.cycle_id, 'status', p.status,
                                                     'amount', p.amount, 'period_start', c.period_start) ORDER BY p.payment_id), '[]')
        INTO sent
        FROM sp.payment p JOIN sp.payment_cycle c ON c.cycle_id = p.cycle_id
        WHERE (p.recipient_id = x.person_id OR p.unit_person_id = x.person_id) AND p.status IN ('sent', 'paid')
          AND c.period_start > ev.event_date;
        result := jsonb_build_object('person_status', 'deceased', 'enrolments_exited', exited, 'payments_cancelled', cancelled,
                                     'payments_sent_after_death', sent);
    ELSE
        -- the child, in the mother's household
        child := jsonb_strip_nulls(jsonb_build_object(
            'given_name', ev.document #>> '{child,given_name}', 'family_name', coalesce(ev.document #>> '{child,family_name}', x.family_name),
            'other_names', ev.document #>> '{child,other_names}', 'sex', ev.document #>> '{child,sex}',
            'birth_date', to_char(ev.event_date, 'YYYY-MM-DD')));
        rel := CASE WHEN x.relationship_to_head IN ('head', 'spouse') THEN 'child'
                    WHEN x.relationship_to_head IN ('child', 'stepchild', 'child_in_law') THEN 'grandchild'
                    ELSE 'other_relative' END;
        child := child || jsonb_build_object('relationship_to_head', rel);
        IF nullif(btrim(child_national_id), '') IS NOT NULL THEN
            child := child || jsonb_build_object('national_id', child_national_id);
        END IF;
        why := format('born on %s (civil registration %s %s)', to_char(ev.event_date, 'YYYY-MM-DD'), ev.source, ev.event_id);
        PERFORM set_config('sp_registry.change_reason', why, true);
        -- the same birth reported again under another id (a corrected record):
        -- the child is there already
        SELECT m.person_id INTO child_id FROM sp.person m
        WHERE m.household_id = x.household_id AND m.status = 'active' AND m.birth_date = ev.event_date
          AND sp.name_key(m.given_name) = sp.name_key(child ->> 'given_name')
        ORDER BY m.person_id LIMIT 1;
        IF child_id IS NOT NULL THEN
            PERFORM set_config('sp_registry.change_reason', '', true);
            RETURN jsonb_build_object('child', child_id, 'already_in_household', true);
        END IF;
        child_id := (sp.add_member(x.household_id, child) ->> 'person_id')::bigint;
        -- registered already (on demand, elsewhere)? flagged for review, as a registration is
        SELECT coalesce(jsonb_agg(jsonb_build_object('registered_person_id', f.candidate_person_id,
                                                     'match_probability', round(f.match_probability::numeric, 4))
                                  ORDER BY f.match_probability DESC, f.candidate_person_id), '[]')
        INTO dups FROM sp_internal.check_new_persons(ARRAY[child_id]) f;
        result := jsonb_build_object('child', child_id, 'relationship_to_head', rel, 'possible_duplicates', dups);
    END IF;
    PERFORM set_config('sp_registry.change_reason', '', true);
    -- a household the PMT cannot score (a variable missing) is still told of
    -- the death or birth: the event stands, the reassessment waits for the data
    BEGIN
        SELECT coalesce(jsonb_agg(jsonb_build_object('model', a.model, 'score', round(a.score::numeric, 4), 'below_cutoff', a.below_cutoff)
                                  ORDER BY a.model), '[]')
        INTO reassessed
        FROM sp.reassess_household(x.household_id, left(CASE WHEN ev.event_type = 'death' THEN 'a member ' ELSE 'a child ' END || why, 1000)) a;
        RETURN result || jsonb_build_object('reassessed', reassessed);
    EXCEPTION WHEN invalid_parameter_value OR object_not_in_prerequisite_state OR no_data_found OR data_exception THEN
        RETURN result || jsonb_build_object('reassessed', '[]'::jsonb, 'not_reassessed', SQLERRM);
    END;
END
$$;
COMMENT ON FUNCTION sp_internal.crvs_apply(sp.crvs_event, bigint, text) IS 'Applies a civil-registration event to the person found: a death (person deceased; the person''s enrolments, and a household''s left with nobody, exited; payments not sent cancelled; payments sent for periods after the death listed for recovery) or a birth (the child added to the mother''s household); then reassesses the household (when a model cannot score it, the event still stands and not_reassessed says why). Returns what was done.';
REVOKE ALL ON FUNCTION sp_internal.crvs_apply(sp.crvs_event, bigint, text) FROM PUBLIC;

CREATE FUNCTION sp.apply_crvs_event(event jsonb)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k text;
    v_source text;
    v_event_id text;
    v_type text;
    v_date date;
    v_who jsonb;
    problem text;
    hit record;
    ev sp.crvs_event;
    doc jsonb;
    v_area text;
BEGIN
    IF event IS NULL OR jsonb_typeof(event) <> 'object' THEN
        RAISE EXCEPTION 'a civil-registration event is a JSON object' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT key INTO k FROM jsonb_object_keys(event) key
    WHERE key NOT IN ('source', 'event_id', 'type', 'date', 'person', 'child', 'mother', 'admin_area_code') ORDER BY key LIMIT 1;
    IF k IS NOT NULL THEN
        RAISE EXCEPTION 'unknown field "%" in a civil-registration event', left(k, 64) USING ERRCODE = 'invalid_parameter_value', COLUMN = left(k, 64);
    END IF;
    FOREACH k IN ARRAY ARRAY['source', 'event_id', 'type', 'date', 'admin_area_code'] LOOP
        IF event ? k AND jsonb_typeof(event -> k) <> 'string' THEN
            RAISE EXCEPTION '% must be a string', k USING ERRCODE = 'invalid_parameter_value', COLUMN = k;
        END IF;
    END LOOP;
    v_source := coalesce(event ->> 'source', 'crvs');
    IF v_source !~ '^[a-z][a-z0-9_.-]{0,39}$' THEN
        RAISE EXCEPTION 'source is 1 to 40 lower-case letters, digits, _ . or -' USING ERRCODE = 'invalid_parameter_value', COLUMN = 'source';
    END IF;
    v_event_id := event ->> 'event_id';
    IF v_event_id IS NULL OR length(v_event_id) NOT BETWEEN 1 AND 100 THEN
        RAISE EXCEPTION 'event_id is required (1 to 100 characters): it makes the event count once' USING ERRCODE = 'invalid_parameter_value',
            COLUMN = 'event_id';
    END IF;
    v_type := event ->> 'type';
    IF v_type IS NULL OR v_type NOT IN ('death', 'birth') THEN
        RAISE EXCEPTION 'type must be death or birth' USING ERRCODE = 'invalid_parameter_value', COLUMN = 'type';
    END IF;
    BEGIN
        v_date := (event ->> 'date')::date;
    EXCEPTION WHEN OTHERS THEN
        RAISE EXCEPTION 'date is not a date (YYYY-MM-DD)' USING ERRCODE = 'invalid_datetime_format', COLUMN = 'date';
    END;
    IF v_date IS NULL OR NOT isfinite(v_date) OR v_date > current_date OR v_date < current_date - 36500 THEN
        RAISE EXCEPTION 'date is required, not in the future' USING ERRCODE = 'invalid_parameter_value', COLUMN = 'date';
    END IF;
    IF v_type = 'death' THEN
        IF event ? 'child' OR event ? 'mother' THEN
            RAISE EXCEPTION 'a death names the person who died, in "person"' USING ERRCODE = 'invalid_parameter_value',
                COLUMN = CASE WHEN event ? 'child' THEN 'child' ELSE 'mother' END;
        END IF;
        problem := sp_internal.crvs_person_problem(event -> 'person', 'person');
        v_who := event -> 'person';
    ELSE
        IF event ? 'person' THEN
            RAISE EXCEPTION 'a birth names the "child" and the "mother"' USING ERRCODE = 'invalid_parameter_value', COLUMN = 'person';
        END IF;
        problem := sp_internal.crvs_person_problem(event -> 'mother', 'mother');
        IF problem IS NULL THEN
            IF jsonb_typeof(event -> 'child') IS DISTINCT FROM 'object' THEN
                problem := 'child must be an object';
            ELSIF coalesce(btrim(event #>> '{child,given_name}'), '') = '' THEN
                problem := 'child.given_name is required';
            ELSE
                problem := sp_internal.crvs_person_problem(event -> 'child', 'child', false);
            END IF;
        END IF;
        IF problem IS NULL AND event #>> '{child,birth_date}' IS NOT NULL THEN
            problem := 'child.birth_date is the event''s date: leave it out';
        END IF;
        v_who := event -> 'mother';
    END IF;
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION '%', problem USING ERRCODE = 'invalid_parameter_value',
            COLUMN = CASE WHEN problem LIKE 'unknown field%' THEN split_part(problem, '"', 2) ELSE split_part(problem, ' ', 1) END;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM sp.crvs_source cs WHERE cs.source = v_source
                   AND pg_catalog.pg_has_role(sp_internal.caller_oid(), cs.role_name, 'USAGE')) THEN
        RAISE EXCEPTION 'role % may not send events as source "%"', sp_internal.caller(), v_source
            USING ERRCODE = 'insufficient_privilege', COLUMN = 'source',
                  HINT = 'Sources and the roles that send under them are in sp.crvs_source; caseworkers send as "manual".';
    END IF;
    v_area := event ->> 'admin_area_code';
    IF v_area IS NOT NULL AND NOT EXISTS (SELECT 1 FROM sp.admin_area a WHERE a.code = v_area) THEN
        RAISE EXCEPTION 'admin area "%" does not exist', left(v_area, 64) USING ERRCODE = 'invalid_parameter_value', COLUMN = 'admin_area_code';
    END IF;
    IF v_area IS NOT NULL THEN
        PERFORM sp_internal.require_area_scope(v_area, 'Receiving a civil-registration event');
    END IF;

    -- once per (source, event_id): a replay returns what was done; the
    -- row lock makes a concurrent copy wait for the first, then replay
    PERFORM pg_advisory_xact_lock(hashtextextended('sp.crvs_event:' || v_source || ':' || v_event_id, 0));
    SELECT * INTO ev FROM sp.crvs_event e WHERE e.source = v_source AND e.event_id = v_event_id;
    IF FOUND THEN
        -- what it was is told only to its sender and to those who see it
        IF NOT (ev.received_by = sp_internal.caller() OR sp_internal.has_national_scope()
                OR (ev.admin_area_code IS NOT NULL AND sp_internal.area_in_scope(ev.admin_area_code))) THEN
            RAISE EXCEPTION 'event % of % was already received', left(v_event_id, 64), v_source USING ERRCODE = 'unique_violation', COLUMN = 'event_id';
        END IF;
        IF ev.event_type <> v_type OR ev.event_date <> v_date THEN
            RAISE EXCEPTION 'event % of % was already received with other content', left(v_event_id, 64), v_source
                USING ERRCODE = 'unique_violation', COLUMN = 'event_id';
        END IF;
        RETURN jsonb_build_object('crvs_event_id', ev.crvs_event_id, 'status', ev.status, 'replayed', true,
                                  'person_id', ev.person_id, 'result', ev.result, 'review_reason', ev.review_reason);
    END IF;

    -- kept without national IDs (the registry holds them encrypted)
    doc := event #- '{person,national_id}' #- '{mother,national_id}' #- '{child,national_id}';
    SELECT * INTO hit FROM sp_internal.crvs_find_person(v_who);
    -- reviewers of the area reported see only candidates of that area
    IF v_area IS NOT NULL AND hit.candidates IS NOT NULL THEN
        hit.candidates := (SELECT jsonb_agg(c ORDER BY o) FROM jsonb_array_elements(hit.candidates) WITH ORDINALITY x (c, o)
                           JOIN sp.person p ON p.person_id = (c ->> 'person_id')::bigint
                           JOIN sp.admin_area a ON a.code = p.admin_area_code
                           JOIN sp.admin_area t ON t.code = v_area
                           WHERE starts_with(a.path, t.path));
    END IF;
    BEGIN
        INSERT INTO sp.crvs_event (source, event_id, event_type, event_date, document, had_national_id, status, review_reason, candidates,
                                   admin_area_code, reported_area_code)
        VALUES (v_source, v_event_id, v_type, v_date, doc, coalesce(v_who ->> 'national_id', '') <> '', 'review',
                coalesce(hit.problem, 'being applied'), hit.candidates, v_area, v_area)
        RETURNING * INTO ev;
    EXCEPTION WHEN unique_violation THEN
        -- committed by another session after this transaction's snapshot (repeatable read)
        RAISE EXCEPTION 'event % of % was received by another session meanwhile', left(v_event_id, 64), v_source
            USING ERRCODE = 'serialization_failure', HINT = 'Retry the transaction: the replay then returns what was done.';
    END;
    IF hit.person_id IS NULL THEN
        RETURN jsonb_build_object('crvs_event_id', ev.crvs_event_id, 'status', 'review', 'replayed', false,
                                  'review_reason', ev.review_reason, 'candidates', coalesce(jsonb_array_length(ev.candidates), 0));
    END IF;
    UPDATE sp.crvs_event e
    SET status = 'applied', review_reason = NULL, candidates = NULL, person_id = hit.person_id,
        household_id = (SELECT x.household_id FROM sp.person x WHERE x.person_id = hit.person_id),
        admin_area_code = (SELECT x.admin_area_code FROM sp.person x WHERE x.person_id = hit.person_id),
        matched_by = hit.matched_by, match_probability = hit.probability,
        result = sp_internal.crvs_apply(ev, hit.person_id, event #>> '{child,national_id}'), decided_at = now(), decided_by = sp_internal.caller()
    WHERE e.crvs_event_id = ev.crvs_event_id
    RETURNING * INTO ev;
    RETURN jsonb_build_object('crvs_event_id', ev.crvs_event_id, 'status', ev.status, 'replayed', false,
                              'person_id', ev.person_id, 'matched_by', ev.matched_by, 'result', ev.result);
END
$$;
COMMENT ON FUNCTION sp.apply_crvs_event(jsonb) IS 'Receives a death ({source, event_id, type: "death", date, person: {national_id | given_name, family_name, birth_date, sex}}) or a birth ({..., type: "birth", date, child: {given_name, family_name, sex, national_id}, mother: {...}}) from civil registration. Applies it once per (source, event_id) to the person found by national ID or, with certainty, by the person model; otherwise queues it for review (sp.resolve_crvs_event). Returns what was done.';

CREATE FUNCTION sp.resolve_crvs_event(crvs_event_id bigint, person_id bigint, reason text)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ev sp.crvs_event;
BEGIN
    PERFORM sp_internal.require_reason(reason, 'A reviewer''s decision on a civil-registration event records why.');
    SELECT * INTO ev FROM sp.crvs_event e WHERE e.crvs_event_id = resolve_crvs_event.crvs_event_id FOR UPDATE;
    IF NOT FOUND OR NOT (sp_internal.has_national_scope() OR (ev.admin_area_code IS NOT NULL AND sp_internal.area_in_scope(ev.admin_area_code))) THEN
        PERFORM sp_internal.raise_not_found('civil-registration event', resolve_crvs_event.crvs_event_id);
    END IF;
    IF ev.status <> 'review' THEN
        RAISE EXCEPTION 'civil-registration event % was % and is final', ev.crvs_event_id, ev.status
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF resolve_crvs_event.person_id IS NULL THEN
        UPDATE sp.crvs_event e SET status = 'dismissed', decision_reason = reason, decided_at = now(), decided_by = sp_internal.caller()
        WHERE e.crvs_event_id = ev.crvs_event_id RETURNING * INTO ev;
        RETURN jsonb_build_object('crvs_event_id', ev.crvs_event_id, 'status', ev.status);
    END IF;
    -- the child's ID was not kept: a birth applied by a reviewer adds the child
    -- without it (the registrar adds it from the birth certificate)
    UPDATE sp.crvs_event e
    SET status = 'applied', person_id = resolve_crvs_event.person_id,
        household_id = (SELECT x.household_id FROM sp.person x WHERE x.person_id = resolve_crvs_event.person_id),
        admin_area_code = (SELECT x.admin_area_code FROM sp.person x WHERE x.person_id = resolve_crvs_event.person_id),
        matched_by = 'reviewer', result = sp_internal.crvs_apply(ev, resolve_crvs_event.person_id),
        decision_reason = reason, decided_at = now(), decided_by = sp_internal.caller()
    WHERE e.crvs_event_id = ev.crvs_event_id
    RETURNING * INTO ev;
    RETURN jsonb_build_object('crvs_event_id', ev.crvs_event_id, 'status', ev.status, 'person_id', ev.person_id, 'result', ev.result);
END
$$;
COMMENT ON FUNCTION sp.resolve_crvs_event(bigint, bigint, text) IS 'A reviewer decides a civil-registration event in review: applies it to the person named (who died, or the mother), or dismisses it (person_id NULL), with a reason. Final.';
