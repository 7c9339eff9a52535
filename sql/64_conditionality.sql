-- Conditionality of conditional cash transfers (issue 12).
--
-- A programme may attach conditions to its payments: school attendance of
-- its children, health visits of its youngest.  Education and health systems
-- send their reports (sp.record_compliance); before a cycle's payment list is
-- generated, sp.apply_conditionality checks every beneficiary against the
-- reports of the months before the cycle: a first failure warns, repeated
-- failures suspend (a suspended beneficiary is not paid), compliance again
-- reinstates.  Every step is recorded with the cycle it belongs to and what
-- was missed, so the family can be told why.

-- ------------------------------------------------------------------------
-- Rules
-- ------------------------------------------------------------------------

CREATE TABLE sp.programme_conditionality (
    programme  text PRIMARY KEY REFERENCES sp.programme (name),
    rule       jsonb NOT NULL,
    version    integer NOT NULL DEFAULT 1,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text NOT NULL DEFAULT sp_internal.caller()
);
COMMENT ON TABLE sp.programme_conditionality IS 'The conditions a programme attaches to its payments (a validated rule: school attendance and health visits by age, how many failed cycles only warn, how many compliant cycles reinstate). Set with sp.set_conditionality; every version is in sp.programme_conditionality_history.';

CREATE TABLE sp.programme_conditionality_history (
    history_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    programme  text NOT NULL REFERENCES sp.programme (name),
    version    integer NOT NULL,
    rule       jsonb NOT NULL,
    reason     text NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now(),
    changed_by text NOT NULL DEFAULT sp_internal.caller()
);
COMMENT ON TABLE sp.programme_conditionality_history IS 'Every version of every programme''s conditions, with why, who and when. Append-only.';
CREATE TRIGGER programme_conditionality_history_append_only BEFORE UPDATE OR DELETE ON sp.programme_conditionality_history
    FOR EACH ROW EXECUTE FUNCTION sp_internal.history_is_append_only();
CREATE TRIGGER programme_conditionality_no_delete BEFORE DELETE ON sp.programme_conditionality
    FOR EACH ROW EXECUTE FUNCTION sp_internal.forbid_delete();

-- What is wrong with a conditionality rule, as (field, message), or NULL.
CREATE FUNCTION sp_internal.conditionality_problem(rule jsonb)
    RETURNS sp_internal.problem
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k text;
    c jsonb;
    i integer := 0;
    f text;
BEGIN
    IF rule IS NULL OR jsonb_typeof(rule) <> 'object' THEN
        RETURN ('22023', 'rule', 'a conditionality rule is a JSON object')::sp_internal.problem;
    END IF;
    SELECT key INTO k FROM jsonb_object_keys(rule) key
    WHERE key NOT IN ('conditions', 'warnings_before_suspension', 'compliant_cycles_to_reinstate', 'missing_report') ORDER BY key LIMIT 1;
    IF k IS NOT NULL THEN
        RETURN ('22023', left(k, 64), format('unknown key "%s"', left(k, 64)))::sp_internal.problem;
    END IF;
    IF jsonb_typeof(rule -> 'conditions') IS DISTINCT FROM 'array' OR jsonb_array_length(rule -> 'conditions') NOT BETWEEN 1 AND 10 THEN
        RETURN ('22023', 'conditions', 'conditions is an array of 1 to 10 conditions')::sp_internal.problem;
    END IF;
    FOR c IN SELECT x FROM jsonb_array_elements(rule -> 'conditions') x LOOP
        f := format('conditions[%s]', i);
        IF jsonb_typeof(c) <> 'object' THEN
            RETURN ('22023', f, f || ' is an object')::sp_internal.problem;
        END IF;
        IF c ->> 'kind' IS NULL OR c ->> 'kind' NOT IN ('school_attendance', 'health_visits') THEN
            RETURN ('22023', f || '.kind', f || '.kind is school_attendance or health_visits')::sp_internal.problem;
        END IF;
        SELECT key INTO k FROM jsonb_object_keys(c) key
        WHERE key NOT IN ('kind', 'min_age', 'max_age', CASE WHEN c ->> 'kind' = 'school_attendance' THEN 'min_rate' ELSE 'min_visits' END)
        ORDER BY key LIMIT 1;
        IF k IS NOT NULL THEN
            RETURN ('22023', f || '.' || left(k, 64), format('unknown key "%s.%s"', f, left(k, 64)))::sp_internal.problem;
        END IF;
        FOREACH k IN ARRAY ARRAY['min_age', 'max_age'] LOOP
            IF jsonb_typeof(c -> k) IS DISTINCT FROM 'number' OR (c ->> k) !~ '^[0-9]{1,3}$' OR (c ->> k)::integer > 120 THEN
                RETURN ('22023', f || '.' || k, format('%s.%s is a whole number of years from 0 to 120', f, k))::sp_internal.problem;
            END IF;
        END LOOP;
        IF (c ->> 'min_age')::integer > (c ->> 'max_age')::integer THEN
            RETURN ('22023', f || '.max_age', f || '.max_age is at least min_age')::sp_internal.problem;
        END IF;
        IF c ->> 'kind' = 'school_attendance' AND (jsonb_typeof(c -> 'min_rate') IS DISTINCT FROM 'number'
                                                   OR (c ->> 'min_rate')::numeric NOT BETWEEN 0 AND 1) THEN
            RETURN ('22023', f || '.min_rate', f || '.min_rate is an attendance rate from 0 to 1 (0.85 = 85 %)')::sp_internal.problem;
        END IF;
        IF c ->> 'kind' = 'health_visits' AND (jsonb_typeof(c -> 'min_visits') IS DISTINCT FROM 'number'
                                               OR (c ->> 'min_visits') !~ '^[0-9]{1,2}$' OR (c ->> 'min_visits')::integer < 1) THEN
            RETURN ('22023', f || '.min_visits', f || '.min_visits is a whole number of visits from 1 to 99')::sp_internal.problem;
        END IF;
        i := i + 1;
    END LOOP;
    IF rule ? 'warnings_before_suspension' AND (jsonb_typeof(rule -> 'warnings_before_suspension') <> 'number'
                                               OR (rule ->> 'warnings_before_suspension') !~ '^[0-9]{1,2}$'
                                               OR (rule ->> 'warnings_before_suspension')::integer > 12) THEN
        RETURN ('22023', 'warnings_before_suspension', 'warnings_before_suspension is a whole number from 0 to 12')::sp_internal.problem;
    END IF;
    IF rule ? 'compliant_cycles_to_reinstate' AND (jsonb_typeof(rule -> 'compliant_cycles_to_reinstate') <> 'number'
                                                  OR (rule ->> 'compliant_cycles_to_reinstate') !~ '^[0-9]{1,2}$'
                                                  OR (rule ->> 'compliant_cycles_to_reinstate')::integer NOT BETWEEN 1 AND 12) THEN
        RETURN ('22023', 'compliant_cycles_to_reinstate', 'compliant_cycles_to_reinstate is a whole number from 1 to 12')::sp_internal.problem;
    END IF;
    IF rule ? 'missing_report' AND (rule ->> 'missing_report') NOT IN ('compliant', 'non_compliant') THEN
        RETURN ('22023', 'missing_report', 'missing_report is compliant or non_compliant')::sp_internal.problem;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION sp_internal.conditionality_problem(jsonb) IS 'Validates a conditionality rule: {conditions: [{kind: school_attendance, min_age, max_age, min_rate} | {kind: health_visits, min_age, max_age, min_visits}], warnings_before_suspension (default 1), compliant_cycles_to_reinstate (default 1), missing_report (compliant, the default, or non_compliant)}. Returns the first problem with its field, or NULL.';

CREATE FUNCTION sp.set_conditionality(programme text, rule jsonb, reason text)
    RETURNS sp.programme_conditionality
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p sp_internal.problem;
    x sp.programme_conditionality;
BEGIN
    PERFORM sp_internal.require_national_scope('Setting the conditions of a programme');
    PERFORM sp_internal.require_reason(reason, 'Every version of a programme''s conditions records why.');
    IF NOT EXISTS (SELECT 1 FROM sp.programme g WHERE g.name = set_conditionality.programme) THEN
        RAISE EXCEPTION 'programme "%" does not exist', left(programme, 64) USING ERRCODE = 'no_data_found';
    END IF;
    p := sp_internal.conditionality_problem(rule);
    IF p.sqlstate IS NOT NULL THEN
        RAISE EXCEPTION 'invalid conditionality rule at "%": %', p.field, p.message
            USING ERRCODE = p.sqlstate, COLUMN = p.field;
    END IF;
    INSERT INTO sp.programme_conditionality AS c (programme, rule)
    VALUES (set_conditionality.programme, set_conditionality.rule)
    ON CONFLICT ON CONSTRAINT programme_conditionality_pkey DO UPDATE
    SET rule = excluded.rule, version = c.version + 1, updated_at = now(), updated_by = sp_internal.caller()
    RETURNING * INTO x;
    INSERT INTO sp.programme_conditionality_history (programme, version, rule, reason)
    VALUES (x.programme, x.version, x.rule, reason);
    RETURN x;
END
$$;
COMMENT ON FUNCTION sp.set_conditionality(text, jsonb, text) IS 'Sets (a new version of) the conditions of a programme, validated (22023 with the field at fault), with a reason. National scope; programme officers.';

-- ------------------------------------------------------------------------
-- Reports from education and health
-- ------------------------------------------------------------------------

CREATE TABLE sp.compliance_report (
    report_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source       text NOT NULL CHECK (source ~ '^[a-z][a-z0-9_.-]{0,39}$'),
    external_id  text NOT NULL CHECK (length(external_id) BETWEEN 1 AND 100),
    person_id    bigint NOT NULL REFERENCES sp.person (person_id),
    household_id bigint NOT NULL REFERENCES sp.household (household_id),
    kind         text NOT NULL CHECK (kind IN ('school_attendance', 'health_visits')),
    month        date NOT NULL CHECK (extract(day FROM month) = 1),
    value        numeric NOT NULL CHECK (value >= 0 AND (kind <> 'school_attendance' OR value <= 1)),
    received_at  timestamptz NOT NULL DEFAULT now(),
    received_by  text NOT NULL DEFAULT sp_internal.caller(),
    UNIQUE (source, external_id)
);
CREATE INDEX compliance_report_person_idx ON sp.compliance_report (person_id, kind, month, report_id);
CREATE INDEX compliance_report_household_idx ON sp.compliance_report (household_id);
COMMENT ON TABLE sp.compliance_report IS 'What schools and clinics reported, per person, month and kind: the attendance rate (0 to 1) or the number of health visits. Append-only: a correction is a later report for the same person, kind and month (the latest counts). Written by sp.record_compliance.';
CREATE TRIGGER compliance_report_append_only BEFORE UPDATE OR DELETE ON sp.compliance_report
    FOR EACH ROW EXECUTE FUNCTION sp_internal.history_is_append_only();

CREATE FUNCTION sp.record_compliance(feed jsonb)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_source text;
    n integer;
    bad record;
    stored integer;
    unmatched integer;
BEGIN
    IF feed IS NULL OR jsonb_typeof(feed) <> 'object' THEN
        RAISE EXCEPTION 'a compliance feed is a JSON object {source, records}' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF EXISTS (SELECT 1 FROM jsonb_object_keys(feed) k WHERE k NOT IN ('source', 'records')) THEN
        RAISE EXCEPTION 'unknown field "%" in a compliance feed',
            (SELECT left(k, 64) FROM jsonb_object_keys(feed) k WHERE k NOT IN ('source', 'records') ORDER BY k LIMIT 1)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_source := feed ->> 'source';
    IF jsonb_typeof(feed -> 'source') IS DISTINCT FROM 'string' OR v_source !~ '^[a-z][a-z0-9_.-]{0,39}$' THEN
        RAISE EXCEPTION 'source is required: 1 to 40 lower-case letters, digits, _ . or -' USING ERRCODE = 'invalid_parameter_value',
            COLUMN = 'source';
    END IF;
    IF jsonb_typeof(feed -> 'records') IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'records is an array' USING ERRCODE = 'invalid_parameter_value', COLUMN = 'records';
    END IF;
    n := jsonb_array_length(feed -> 'records');
    IF n > 100000 THEN
        RAISE EXCEPTION 'a feed has at most 100000 records, this one %', n USING ERRCODE = 'program_limit_exceeded', COLUMN = 'records';
    END IF;

    -- every record checked before anything is stored: the first bad one is named
    IF to_regclass('pg_temp.sp_compliance_in') IS NOT NULL THEN
        DROP TABLE pg_temp.sp_compliance_in;
    END IF;
    CREATE TEMP TABLE sp_compliance_in ON COMMIT DROP AS
    SELECT (r.ord - 1)::integer AS idx, r.rec,
           CASE
               WHEN jsonb_typeof(r.rec) <> 'object' THEN 'record|a record is an object'
               WHEN (SELECT k FROM jsonb_object_keys(r.rec) k WHERE k NOT IN ('id', 'person_id', 'national_id', 'month', 'kind', 'rate', 'visits') LIMIT 1) IS NOT NULL
                   THEN 'record|unknown field "' || (SELECT left(k, 64) FROM jsonb_object_keys(r.rec) k
                                                     WHERE k NOT IN ('id', 'person_id', 'national_id', 'month', 'kind', 'rate', 'visits') ORDER BY k LIMIT 1) || '"'
               WHEN jsonb_typeof(r.rec -> 'id') IS DISTINCT FROM 'string' OR length(r.rec ->> 'id') NOT BETWEEN 1 AND 100
                   THEN 'id|id is a string of 1 to 100 characters (the sender''s id of the record)'
               WHEN (r.rec ? 'person_id') = (r.rec ? 'national_id')
                   THEN 'person_id|a record names the person by person_id or by national_id'
               WHEN r.rec ? 'person_id' AND (jsonb_typeof(r.rec -> 'person_id') <> 'number' OR (r.rec ->> 'person_id') !~ '^[0-9]{1,18}$')
                   THEN 'person_id|person_id is a positive whole number'
               WHEN r.rec ? 'national_id' AND (jsonb_typeof(r.rec -> 'national_id') <> 'string' OR length(r.rec ->> 'national_id') NOT BETWEEN 1 AND 100)
                   THEN 'national_id|national_id is a string'
               WHEN jsonb_typeof(r.rec -> 'month') IS DISTINCT FROM 'string' OR (r.rec ->> 'month') !~ '^[0-9]{4}-(0[1-9]|1[0-2])$'
                   THEN 'month|month is YYYY-MM'
               WHEN to_date(r.rec ->> 'month', 'YYYY-MM') > date_trunc('month', current_date) OR to_date(r.rec ->> 'month', 'YYYY-MM') < date '2000-01-01'
                   THEN 'month|month is not in the future'
               WHEN r.rec ->> 'kind' IS NULL OR r.rec ->> 'kind' NOT IN ('school_attendance', 'health_visits')
                   THEN 'kind|kind is school_attendance or health_visits'
               WHEN r.rec ->> 'kind' = 'school_attendance' AND (r.rec ? 'visits' OR jsonb_typeof(r.rec -> 'rate') IS DISTINCT FROM 'number'
                                                                 OR (r.rec ->> 'rate')::numeric NOT BETWEEN 0 AND 1)
                   THEN 'rate|school_attendance gives a rate from 0 to 1'
               WHEN r.rec ->> 'kind' = 'health_visits' AND (r.rec ? 'rate' OR jsonb_typeof(r.rec -> 'visits') IS DISTINCT FROM 'number'
                                                             OR (r.rec ->> 'visits') !~ '^[0-9]{1,3}$')
                   THEN 'visits|health_visits gives a whole number of visits'
           END AS problem
    FROM jsonb_array_elements(feed -> 'records') WITH ORDINALITY r (rec, ord);
    SELECT * INTO bad FROM pg_temp.sp_compliance_in i WHERE i.problem IS NOT NULL ORDER BY i.idx LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'records[%]: %', bad.idx, split_part(bad.problem, '|', 2)
            USING ERRCODE = 'invalid_parameter_value', COLUMN = format('records[%s].%s', bad.idx, split_part(bad.problem, '|', 1)),
                  DETAIL = 'Nothing of this feed was stored.';
    END IF;
    SELECT min(i.idx) AS idx INTO bad FROM pg_temp.sp_compliance_in i
    WHERE EXISTS (SELECT 1 FROM pg_temp.sp_compliance_in j WHERE j.rec ->> 'id' = i.rec ->> 'id' AND j.idx < i.idx);
    IF bad.idx IS NOT NULL THEN
        RAISE EXCEPTION 'records[%].id repeats an id of the same feed', bad.idx
            USING ERRCODE = 'invalid_parameter_value', COLUMN = format('records[%s].id', bad.idx), DETAIL = 'Nothing of this feed was stored.';
    END IF;

    -- whom each record is about: active persons of the caller's areas; anyone
    -- else is not matched (and not told apart from someone unknown)
    ALTER TABLE pg_temp.sp_compliance_in ADD COLUMN person_id bigint, ADD COLUMN household_id bigint,
                                         ADD COLUMN existing_value numeric, ADD COLUMN existing_person bigint, ADD COLUMN existing boolean;
    UPDATE pg_temp.sp_compliance_in i SET person_id = p.person_id, household_id = p.household_id
    FROM sp.person p
    WHERE i.rec ? 'person_id' AND p.person_id = (i.rec ->> 'person_id')::bigint AND p.status = 'active'
      AND p.admin_area_code IN (SELECT v.code FROM sp_internal.visible_areas() v (code));
    UPDATE pg_temp.sp_compliance_in i SET person_id = m.person_id, household_id = m.household_id
    FROM (SELECT i2.idx, min(p.person_id) AS person_id, min(p.household_id) AS household_id, count(*) AS n
          FROM pg_temp.sp_compliance_in i2
          JOIN sp.person p ON p.national_id_hash = ANY (sp_internal.blind_indexes('national_id', sp.normalize_national_id(i2.rec ->> 'national_id')))
          WHERE i2.rec ? 'national_id' AND p.status = 'active' AND p.admin_area_code IN (SELECT v.code FROM sp_internal.visible_areas() v (code))
          GROUP BY i2.idx) m
    WHERE i.idx = m.idx AND m.n = 1;
    -- replays: the same record again is nothing new; the same id with other content is refused
    UPDATE pg_temp.sp_compliance_in i SET existing = true, existing_value = c.value, existing_person = c.person_id
    FROM sp.compliance_report c WHERE c.source = v_source AND c.external_id = i.rec ->> 'id';
    SELECT min(i.idx) AS idx INTO bad FROM pg_temp.sp_compliance_in i
    WHERE i.existing AND (i.existing_person IS DISTINCT FROM i.person_id
                          OR i.existing_value <> coalesce((i.rec ->> 'rate')::numeric, (i.rec ->> 'visits')::numeric));
    IF bad.idx IS NOT NULL THEN
        RAISE EXCEPTION 'records[%].id was already received from % with other content', bad.idx, v_source
            USING ERRCODE = 'unique_violation', COLUMN = format('records[%s].id', bad.idx),
                  DETAIL = 'A correction is a new record (a new id) for the same person, kind and month. Nothing of this feed was stored.';
    END IF;
    INSERT INTO sp.compliance_report (source, external_id, person_id, household_id, kind, month, value)
    SELECT v_source, i.rec ->> 'id', i.person_id, i.household_id, i.rec ->> 'kind', to_date(i.rec ->> 'month', 'YYYY-MM'),
           coalesce((i.rec ->> 'rate')::numeric, (i.rec ->> 'visits')::numeric)
    FROM pg_temp.sp_compliance_in i
    WHERE i.person_id IS NOT NULL AND i.existing IS NULL
    ORDER BY i.idx
    ON CONFLICT ON CONSTRAINT compliance_report_source_external_id_key DO NOTHING;
    GET DIAGNOSTICS stored = ROW_COUNT;
    SELECT count(*) FILTER (WHERE i.person_id IS NULL AND i.existing IS NULL) INTO unmatched FROM pg_temp.sp_compliance_in i;
    DROP TABLE pg_temp.sp_compliance_in;
    -- (a record another session stored meanwhile counts as replayed)
    RETURN jsonb_build_object('source', v_source, 'records', n, 'stored', stored, 'replayed', n - stored - unmatched,
                              'unmatched', unmatched);
END
$$;
COMMENT ON FUNCTION sp.record_compliance(jsonb) IS 'Takes a feed of compliance reports {source, records: [{id, person_id | national_id, month: "YYYY-MM", kind: school_attendance, rate 0..1 | kind: health_visits, visits}]}, at most 100,000 records. Every record is checked first (the first bad one is named, nothing stored); records about persons not registered in the caller''s areas are counted as unmatched; a record sent again is not stored twice (the same id with other content is refused). Returns {records, stored, replayed, unmatched}.';

-- ------------------------------------------------------------------------
-- Applying the conditions to a payment cycle
-- ------------------------------------------------------------------------

ALTER TABLE sp.payment_cycle ADD COLUMN conditionality_applied_at timestamptz;
COMMENT ON COLUMN sp.payment_cycle.conditionality_applied_at IS 'When the programme''s conditions were applied to this cycle (sp.apply_conditionality); a programme with conditions generates no list before.';

CREATE TABLE sp.compliance_step (
    cycle_id         bigint NOT NULL REFERENCES sp.payment_cycle (cycle_id),
    enrolment_id     bigint NOT NULL REFERENCES sp.enrolment (enrolment_id),
    household_id     bigint NOT NULL REFERENCES sp.household (household_id),
    window_start     date NOT NULL,
    window_end       date NOT NULL,
    outcome          text NOT NULL CHECK (outcome IN ('compliant', 'non_compliant', 'not_applicable')),
    step             text NOT NULL CHECK (step IN ('compliant', 'warning', 'suspended', 'still_suspended', 'compliant_while_suspended',
                                                   'reinstated', 'non_compliant_while_suspended')),
    warnings         integer NOT NULL CHECK (warnings >= 0),
    compliant_streak integer NOT NULL CHECK (compliant_streak >= 0),
    suspended        boolean NOT NULL,
    detail           jsonb NOT NULL,
    applied_at       timestamptz NOT NULL DEFAULT now(),
    applied_by       text NOT NULL DEFAULT sp_internal.caller(),
    PRIMARY KEY (cycle_id, enrolment_id)
);
CREATE INDEX compliance_step_enrolment_idx ON sp.compliance_step (enrolment_id, applied_at);
CREATE INDEX compliance_step_household_idx ON sp.compliance_step (household_id);
COMMENT ON TABLE sp.compliance_step IS 'What the conditions did to each beneficiary in each cycle: compliant or not (and who missed what, in detail), the step taken (warning, suspension, reinstatement...), the warnings counted and whether the enrolment is suspended by the conditions afterwards. Once per cycle and enrolment; append-only.';
COMMENT ON COLUMN sp.compliance_step.suspended IS 'Suspended by the conditions after this step (a suspension decided by a caseworker is not the conditions'' to lift).';
CREATE TRIGGER compliance_step_append_only BEFORE UPDATE OR DELETE ON sp.compliance_step
    FOR EACH ROW EXECUTE FUNCTION sp_internal.history_is_append_only();

CREATE FUNCTION sp.apply_conditionality(cycle_id bigint)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    c sp.payment_cycle;
    r sp.programme_conditionality;
    months integer;
    w_start date;
    w_end date;
    warn_max integer;
    reinstate_after integer;
    missing_fails boolean;
    summary jsonb;
BEGIN
    PERFORM sp_internal.require_national_scope('Applying a programme''s conditions');
    SELECT * INTO c FROM sp.payment_cycle pc WHERE pc.cycle_id = apply_conditionality.cycle_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'payment cycle % does not exist', cycle_id USING ERRCODE = 'no_data_found';
    END IF;
    SELECT * INTO r FROM sp.programme_conditionality x WHERE x.programme = c.programme;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'programme "%" has no conditions', c.programme USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF c.conditionality_applied_at IS NOT NULL THEN
        RETURN (SELECT jsonb_build_object('cycle_id', c.cycle_id, 'already_applied', true, 'applied_at', c.conditionality_applied_at)
                       || coalesce(jsonb_object_agg(s.step, s.n), '{}')
                FROM (SELECT st.step, count(*) AS n FROM sp.compliance_step st WHERE st.cycle_id = c.cycle_id GROUP BY st.step) s);
    END IF;
    -- (a draft may already hold re-issues of earlier failed payments: they
    -- pay what was due then, not under this cycle's conditions)
    IF c.status <> 'draft' OR EXISTS (SELECT 1 FROM sp.payment p WHERE p.cycle_id = c.cycle_id AND p.reissue_of IS NULL) THEN
        RAISE EXCEPTION 'payment cycle % is % or has its list already: the conditions are applied before the list is generated', c.cycle_id, c.status
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    -- the window: as many calendar months as the cycle spans, just before it
    months := greatest(1, round((c.period_end - c.period_start + 1) / 30.44)::integer);
    w_start := (date_trunc('month', c.period_start) - make_interval(months => months))::date;
    w_end := (date_trunc('month', c.period_start) - interval '1 day')::date;
    warn_max := coalesce((r.rule ->> 'warnings_before_suspension')::integer, 1);
    reinstate_after := coalesce((r.rule ->> 'compliant_cycles_to_reinstate')::integer, 1);
    missing_fails := coalesce(r.rule ->> 'missing_report', 'compliant') = 'non_compliant';

    IF to_regclass('pg_temp.sp_conditionality') IS NOT NULL THEN
        DROP TABLE pg_temp.sp_conditionality;
    END IF;
    -- per enrolment: who missed what (members in the age range of a condition,
    -- their latest report per month in the window), and where it stood
    CREATE TEMP TABLE sp_conditionality ON COMMIT DROP AS
    WITH units AS (
        SELECT e.enrolment_id, e.household_id, e.person_id AS unit_person_id, e.state
        FROM sp.enrolment e
        WHERE e.programme = c.programme AND e.state IN ('enrolled', 'suspended')
          AND e.enrolled_at IS NOT NULL AND e.enrolled_at::date <= c.period_end
    ), subject AS (
        SELECT u.enrolment_id, p.person_id, cond.value AS cond, cond.ordinality - 1 AS cond_idx
        FROM units u
        JOIN sp.person p ON p.household_id = u.household_id AND p.status = 'active'
                        AND (u.unit_person_id IS NULL OR p.person_id = u.unit_person_id)
        CROSS JOIN LATERAL jsonb_array_elements(r.rule -> 'conditions') WITH ORDINALITY cond
        WHERE p.birth_date IS NOT NULL
          AND extract(year FROM age(w_start, p.birth_date)) BETWEEN (cond.value ->> 'min_age')::integer AND (cond.value ->> 'max_age')::integer
    ), measured AS (
        SELECT s.enrolment_id, s.person_id, s.cond, s.cond_idx,
               (SELECT CASE WHEN s.cond ->> 'kind' = 'school_attendance' THEN avg(l.value) ELSE sum(l.value) END
                FROM (SELECT DISTINCT ON (cr.month) cr.value FROM sp.compliance_report cr
                      WHERE cr.person_id = s.person_id AND cr.kind = s.cond ->> 'kind' AND cr.month BETWEEN w_start AND w_end
                      ORDER BY cr.month, cr.report_id DESC) l
                HAVING count(*) > 0) AS value
        FROM subject s
    ), judged AS (
        SELECT m.*, CASE WHEN m.value IS NULL THEN missing_fails
                         WHEN m.cond ->> 'kind' = 'school_attendance' THEN m.value < (m.cond ->> 'min_rate')::numeric
                         ELSE m.value < (m.cond ->> 'min_visits')::numeric END AS failed
        FROM measured m
    )
    SELECT u.enrolment_id, u.household_id, u.state,
           CASE WHEN NOT EXISTS (SELECT 1 FROM judged j WHERE j.enrolment_id = u.enrolment_id) THEN 'not_applicable'
                WHEN EXISTS (SELECT 1 FROM judged j WHERE j.enrolment_id = u.enrolment_id AND j.failed) THEN 'non_compliant'
                ELSE 'compliant' END AS outcome,
           coalesce((SELECT jsonb_agg(jsonb_build_object('person_id', j.person_id, 'condition', j.cond ->> 'kind',
                                                         'value', CASE WHEN j.cond ->> 'kind' = 'school_attendance' THEN round(j.value, 2) ELSE j.value END,
                                                         'required', coalesce(j.cond -> 'min_rate', j.cond -> 'min_visits'),
                                                         'missing_report', j.value IS NULL)
                                      ORDER BY j.person_id, j.cond_idx)
                     FROM judged j WHERE j.enrolment_id = u.enrolment_id AND j.failed), '[]') AS missed,
           coalesce(prev.warnings, 0) AS prev_warnings, coalesce(prev.compliant_streak, 0) AS prev_streak,
           coalesce(prev.suspended, false) AND u.state = 'suspended' AS by_conditions,
           NULL::text AS step, NULL::integer AS warnings, NULL::integer AS streak, NULL::boolean AS suspended
    FROM units u
    LEFT JOIN LATERAL (SELECT st.warnings, st.compliant_streak, st.suspended
                       FROM sp.compliance_step st JOIN sp.payment_cycle pc ON pc.cycle_id = st.cycle_id
                       WHERE st.enrolment_id = u.enrolment_id
                       ORDER BY pc.period_start DESC LIMIT 1) prev ON true;

    -- the steps: warn first, suspend after the warnings allowed, reinstate
    -- after enough compliant cycles; a suspension someone else decided is
    -- left to them
    UPDATE pg_temp.sp_conditionality k SET
        step = CASE
            WHEN k.outcome = 'non_compliant' AND k.by_conditions THEN 'still_suspended'
            WHEN k.outcome = 'non_compliant' AND k.state = 'suspended' THEN 'non_compliant_while_suspended'
            WHEN k.outcome = 'non_compliant' AND k.prev_warnings + 1 > warn_max THEN 'suspended'
            WHEN k.outcome = 'non_compliant' THEN 'warning'
            WHEN k.by_conditions AND k.prev_streak + 1 >= reinstate_after THEN 'reinstated'
            WHEN k.by_conditions THEN 'compliant_while_suspended'
            ELSE 'compliant' END;
    UPDATE pg_temp.sp_conditionality k SET
        warnings = CASE WHEN k.outcome = 'non_compliant' THEN k.prev_warnings + 1
                        WHEN k.step = 'compliant_while_suspended' THEN k.prev_warnings ELSE 0 END,
        streak = CASE WHEN k.step = 'compliant_while_suspended' THEN k.prev_streak + 1 ELSE 0 END,
        suspended = k.step IN ('suspended', 'still_suspended', 'compliant_while_suspended');

    PERFORM set_config('sp_registry.change_reason', 'conditionality of cycle ' || c.cycle_id, true);
    UPDATE sp.enrolment e
    SET state = CASE WHEN k.step = 'suspended' THEN 'suspended' ELSE 'enrolled' END,
        reason = CASE WHEN k.step = 'suspended'
                      THEN format('conditionality, cycle %s: conditions missed %s cycles in a row (%s)', c.cycle_id, k.warnings,
                                  (SELECT string_agg(DISTINCT m ->> 'condition', ', ') FROM jsonb_array_elements(k.missed) m))
                      ELSE format('conditionality, cycle %s: reinstated after %s compliant cycle(s)', c.cycle_id, k.prev_streak + 1) END
    FROM pg_temp.sp_conditionality k
    WHERE e.enrolment_id = k.enrolment_id AND k.step IN ('suspended', 'reinstated');
    PERFORM set_config('sp_registry.change_reason', '', true);

    INSERT INTO sp.compliance_step (cycle_id, enrolment_id, household_id, window_start, window_end, outcome, step, warnings,
                                    compliant_streak, suspended, detail)
    SELECT c.cycle_id, k.enrolment_id, k.household_id, w_start, w_end, k.outcome, k.step, k.warnings, k.streak, k.suspended,
           jsonb_build_object('missed', k.missed)
    FROM pg_temp.sp_conditionality k;
    UPDATE sp.payment_cycle pc SET conditionality_applied_at = now() WHERE pc.cycle_id = c.cycle_id;

    SELECT jsonb_build_object('cycle_id', c.cycle_id, 'window_start', w_start, 'window_end', w_end, 'already_applied', false)
           || coalesce(jsonb_object_agg(s.step, s.n), '{}')
    INTO summary
    FROM (SELECT k.step, count(*) AS n FROM pg_temp.sp_conditionality k GROUP BY k.step) s;
    DROP TABLE pg_temp.sp_conditionality;
    RETURN summary;
END
$$;
COMMENT ON FUNCTION sp.apply_conditionality(cycle_id bigint) IS 'Applies a programme''s conditions to a draft cycle before its list is generated, once: every enrolled or suspended beneficiary is judged on the reports of the calendar months just before the cycle (as many as the cycle spans; the latest report per month counts). Non-compliant: a warning, or a suspension once more cycles failed in a row than warnings_before_suspension. Compliant: warnings reset; a suspension by the conditions is lifted after compliant_cycles_to_reinstate compliant cycles. Steps are kept in sp.compliance_step with who missed what; enrolment changes carry the reason. Returns the counts of each step. National scope; programme officers.';
