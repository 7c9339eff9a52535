-- Shock response (issue 13): a shock (flood, drought, ...) declared with its
-- footprint, by hand or by an early-warning trigger; a programme scales up in
-- one call: top-ups for its beneficiaries in the footprint (vertical
-- expansion) or temporary enrolment of registered households that are not
-- beneficiaries, poorest first by PMT (horizontal expansion).  Every
-- household's decision is recorded; the same call again changes nothing.

CREATE TABLE sp.shock_event (
    event_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    shock_type   text NOT NULL CHECK (shock_type IN ('flood', 'drought', 'cyclone', 'earthquake', 'conflict', 'epidemic', 'price', 'other')),
    severity     text NOT NULL CHECK (severity IN ('low', 'moderate', 'high', 'extreme')),
    footprint    geometry(Geometry, 4326) NOT NULL,
    buffer_m     float8 NOT NULL DEFAULT 0 CHECK (buffer_m BETWEEN 0 AND 500000),
    source       text NOT NULL CHECK (source IN ('early_warning', 'manual')),
    source_ref   text CHECK (length(source_ref) BETWEEN 1 AND 200),
    declared_at  timestamptz NOT NULL DEFAULT now(),
    declared_by  text NOT NULL DEFAULT sp_internal.caller(),
    status       text NOT NULL DEFAULT 'declared' CHECK (status IN ('declared', 'closed')),
    closed_at    timestamptz,
    closed_by    text,
    close_reason text,
    CHECK ((status = 'closed') = (closed_at IS NOT NULL)),
    CHECK (source = 'manual' OR source_ref IS NOT NULL)
);
-- an early-warning trigger that fires twice declares one shock
CREATE UNIQUE INDEX shock_event_source_ref_idx ON sp.shock_event (source, source_ref) WHERE source_ref IS NOT NULL;
CREATE INDEX shock_event_footprint_idx ON sp.shock_event USING gist (footprint);
COMMENT ON TABLE sp.shock_event IS 'A shock declared with its footprint (any point, line or polygon in EPSG:4326, and a buffer in metres), type, severity and source: an early-warning trigger (with its reference, declared once) or a person. Closed, never deleted.';

CREATE TABLE sp.shock_response (
    response_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id       bigint NOT NULL REFERENCES sp.shock_event (event_id),
    programme      text NOT NULL REFERENCES sp.programme (name),
    mode           text NOT NULL CHECK (mode IN ('vertical', 'horizontal')),
    amount         numeric(14, 2) NOT NULL CHECK (amount > 0),
    currency       text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    max_households integer CHECK (max_households > 0),
    ends_on        date,
    households_in_footprint integer NOT NULL,
    selected       integer NOT NULL,
    decided_at     timestamptz NOT NULL DEFAULT now(),
    decided_by     text NOT NULL DEFAULT sp_internal.caller(),
    result         jsonb NOT NULL,
    UNIQUE (event_id, programme, mode)
);
COMMENT ON TABLE sp.shock_response IS 'One scale-up of a programme for a shock: vertical (a one-off top-up of the amount for each beneficiary in the footprint, paid with the next payment list) or horizontal (temporary enrolment, until ends_on, of registered households in the footprint that are not beneficiaries, poorest first by PMT, at most max_households, each paid the amount). Once per shock, programme and mode. Append-only.';
CREATE TRIGGER shock_response_append_only BEFORE UPDATE OR DELETE ON sp.shock_response
    FOR EACH ROW EXECUTE FUNCTION sp_internal.history_is_append_only();

CREATE TABLE sp.shock_decision (
    response_id   bigint NOT NULL REFERENCES sp.shock_response (response_id),
    household_id  bigint NOT NULL REFERENCES sp.household (household_id),
    decision      text NOT NULL CHECK (decision IN ('topped_up', 'enrolled', 'not_selected', 'left_out')),
    reason        text NOT NULL,
    pmt_score     float8,
    rank          integer,
    distance_m    float8 NOT NULL,
    enrolment_id  bigint REFERENCES sp.enrolment (enrolment_id),
    PRIMARY KEY (response_id, household_id)
);
CREATE INDEX shock_decision_household_idx ON sp.shock_decision (household_id);
COMMENT ON TABLE sp.shock_decision IS 'What a shock response decided for every registered household in the footprint, and why: topped up, enrolled (with its rank by PMT score), not selected (over max_households) or left out (not a beneficiary, suspended, no PMT score, already a beneficiary). Append-only.';
CREATE TRIGGER shock_decision_append_only BEFORE UPDATE OR DELETE ON sp.shock_decision
    FOR EACH ROW EXECUTE FUNCTION sp_internal.history_is_append_only();

-- a vertical top-up, paid once: with the first payment list of the
-- programme generated for a period that ends on or after the shock
CREATE TABLE sp.shock_top_up (
    response_id   bigint NOT NULL REFERENCES sp.shock_response (response_id),
    enrolment_id  bigint NOT NULL REFERENCES sp.enrolment (enrolment_id),
    household_id  bigint NOT NULL REFERENCES sp.household (household_id),
    programme     text NOT NULL,
    amount        numeric(14, 2) NOT NULL CHECK (amount > 0),
    due_from      date NOT NULL,
    cycle_id      bigint REFERENCES sp.payment_cycle (cycle_id),
    PRIMARY KEY (response_id, enrolment_id)
);
CREATE INDEX shock_top_up_enrolment_idx ON sp.shock_top_up (enrolment_id) WHERE cycle_id IS NULL;
CREATE INDEX shock_top_up_household_idx ON sp.shock_top_up (household_id);
COMMENT ON TABLE sp.shock_top_up IS 'A one-off top-up owed to a beneficiary by a vertical shock response: added to the amount of the first payment list of the programme generated for a period ending on or after due_from, whose cycle it then names.';
COMMENT ON COLUMN sp.shock_top_up.cycle_id IS 'The payment cycle whose list included the top-up; NULL while it is owed. Generating that list again includes it again; another cycle never does.';

-- What a payment cycle's list includes of a top-up: one due by the end of its
-- period that no cycle paid yet, or this cycle's list included before (it is
-- generated again), or another cycle's payment that was then cancelled.
CREATE FUNCTION sp_internal.top_up_owed(t sp.shock_top_up, c sp.payment_cycle)
    RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT t.due_from <= c.period_end
       AND (t.cycle_id IS NULL OR t.cycle_id = c.cycle_id
            OR NOT EXISTS (SELECT 1 FROM sp.payment p WHERE p.cycle_id = t.cycle_id AND p.enrolment_id = t.enrolment_id AND p.live))
$$;
COMMENT ON FUNCTION sp_internal.top_up_owed(sp.shock_top_up, sp.payment_cycle) IS 'Whether a payment cycle''s list includes a shock top-up: due by the end of the cycle''s period, and not paid by another cycle (not yet included in a list, included in this one''s before, or in a payment since cancelled).';

ALTER TABLE sp.enrolment ADD CONSTRAINT enrolment_shock_response_fkey
    FOREIGN KEY (shock_response_id) REFERENCES sp.shock_response (response_id);

-- ------------------------------------------------------------------------

DO $geo$
DECLARE
    gis text;
BEGIN
    SELECT pg_catalog.quote_ident(n.nspname) INTO STRICT gis
    FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'postgis';
    EXECUTE pg_catalog.replace($ddl$
CREATE FUNCTION sp.declare_shock(doc jsonb)
    RETURNS sp.shock_event
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    x sp.shock_event;
    g @gis@.geometry;
    buf float8;
    src text;
    k text;
BEGIN
    PERFORM sp_internal.require_national_scope('Declaring a shock');
    IF doc IS NULL OR jsonb_typeof(doc) <> 'object' THEN
        RAISE EXCEPTION 'a shock is declared with a JSON object' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR k IN SELECT jsonb_object_keys(doc) LOOP
        IF k NOT IN ('name', 'shock_type', 'severity', 'footprint', 'buffer_m', 'source', 'source_ref', 'declared_at') THEN
            RAISE EXCEPTION 'unknown field "%" in a shock', left(k, 50) USING ERRCODE = 'invalid_parameter_value', COLUMN = left(k, 50),
                DETAIL = 'Fields: name, shock_type, severity, footprint (a GeoJSON geometry), buffer_m, source, source_ref, declared_at.';
        END IF;
    END LOOP;
    src := coalesce(doc ->> 'source', 'manual');
    -- an early warning that fires again is the same shock
    IF doc ->> 'source_ref' IS NOT NULL THEN
        SELECT * INTO x FROM sp.shock_event e WHERE e.source = src AND e.source_ref = doc ->> 'source_ref';
        IF FOUND THEN
            RETURN x;
        END IF;
    END IF;
    IF jsonb_typeof(doc -> 'footprint') IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION 'a shock needs a footprint: a GeoJSON geometry' USING ERRCODE = 'invalid_parameter_value', COLUMN = 'footprint';
    END IF;
    BEGIN
        g := @gis@.ST_GeomFromGeoJSON(doc -> 'footprint');
    EXCEPTION WHEN OTHERS THEN
        RAISE EXCEPTION 'the footprint is not a GeoJSON geometry' USING ERRCODE = 'invalid_parameter_value', COLUMN = 'footprint',
            DETAIL = left(SQLERRM, 200);
    END;
    IF jsonb_typeof(doc -> 'buffer_m') NOT IN ('number') AND doc -> 'buffer_m' IS NOT NULL THEN
        RAISE EXCEPTION 'buffer_m is a number of metres' USING ERRCODE = 'invalid_parameter_value', COLUMN = 'buffer_m';
    END IF;
    buf := coalesce((doc ->> 'buffer_m')::float8, 0);
    g := sp_internal.check_footprint(g, buf);
    BEGIN
        -- (two early warnings of one event at once: the second waits here for
        -- the first and then finds its shock, below)
        INSERT INTO sp.shock_event (name, shock_type, severity, footprint, buffer_m, source, source_ref, declared_at)
        VALUES (doc ->> 'name', doc ->> 'shock_type', doc ->> 'severity', g, buf, src, doc ->> 'source_ref',
                coalesce((doc ->> 'declared_at')::timestamptz, now()))
        RETURNING * INTO x;
    EXCEPTION
        WHEN not_null_violation OR check_violation THEN
            RAISE EXCEPTION 'a shock needs a name (1 to 200 characters), a shock_type (flood, drought, cyclone, earthquake, conflict, epidemic, price, other), a severity (low, moderate, high, extreme) and a source (early_warning with its source_ref, or manual)'
                USING ERRCODE = 'invalid_parameter_value', DETAIL = left(SQLERRM, 200);
        WHEN invalid_datetime_format OR datetime_field_overflow THEN
            RAISE EXCEPTION 'declared_at is not a timestamp' USING ERRCODE = 'invalid_datetime_format', COLUMN = 'declared_at';
        WHEN unique_violation THEN
            SELECT * INTO x FROM sp.shock_event e WHERE e.source = src AND e.source_ref = doc ->> 'source_ref';
            RETURN x;
    END;
    IF x.declared_at > now() + interval '1 day' THEN
        RAISE EXCEPTION 'a shock cannot be declared in the future' USING ERRCODE = 'invalid_parameter_value', COLUMN = 'declared_at';
    END IF;
    RETURN x;
END
$$;
CREATE FUNCTION sp_internal.shock_event_guard()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF OLD.status = 'closed' OR NEW.event_id <> OLD.event_id OR NEW.name <> OLD.name OR NEW.shock_type <> OLD.shock_type
       OR NEW.severity <> OLD.severity OR NOT @gis@.ST_Equals(NEW.footprint, OLD.footprint) OR NEW.buffer_m <> OLD.buffer_m
       OR NEW.source <> OLD.source OR NEW.source_ref IS DISTINCT FROM OLD.source_ref OR NEW.declared_at <> OLD.declared_at
       OR NEW.declared_by <> OLD.declared_by THEN
        RAISE EXCEPTION 'shock % cannot change once declared, only be closed', OLD.event_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Declare a new shock for a new footprint; responses already decided stay with the shock they answered.';
    END IF;
    RETURN NEW;
END
$$;
$ddl$, '@gis@', gis);
END
$geo$;
COMMENT ON FUNCTION sp.declare_shock(jsonb) IS 'Declares a shock: {"name", "shock_type", "severity", "footprint": GeoJSON geometry, "buffer_m", "source": "early_warning" | "manual", "source_ref", "declared_at"}. An early-warning trigger that fires again with the same source_ref gets the shock already declared. Needs national scope.';

CREATE FUNCTION sp.close_shock(event_id bigint, reason text)
    RETURNS sp.shock_event
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    x sp.shock_event;
BEGIN
    PERFORM sp_internal.require_reason(reason, 'Closing a shock records why its response ends.');
    PERFORM sp_internal.require_national_scope('Closing a shock');
    UPDATE sp.shock_event e SET status = 'closed', closed_at = now(), closed_by = sp_internal.caller(), close_reason = reason
    WHERE e.event_id = close_shock.event_id AND e.status = 'declared'
    RETURNING * INTO x;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'shock % does not exist or is already closed', event_id USING ERRCODE = 'no_data_found';
    END IF;
    RETURN x;
END
$$;
COMMENT ON FUNCTION sp.close_shock(bigint, text) IS 'Closes a declared shock, with a reason: no further response can be decided for it (temporary enrolments end on their own date).';

COMMENT ON FUNCTION sp_internal.shock_event_guard() IS 'Trigger: a declared shock only changes by being closed (once).';
CREATE TRIGGER shock_event_guard BEFORE UPDATE ON sp.shock_event
    FOR EACH ROW EXECUTE FUNCTION sp_internal.shock_event_guard();
CREATE TRIGGER shock_event_no_delete BEFORE DELETE ON sp.shock_event
    FOR EACH ROW EXECUTE FUNCTION sp_internal.forbid_delete();

CREATE FUNCTION sp.shock_response(event_id bigint, programme text, mode text, amount numeric,
                                  max_households integer DEFAULT NULL, ends_on date DEFAULT NULL)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    ev sp.shock_event;
    g sp.programme;
    cur text;
    prev sp.shock_response;
    rid bigint;
    n_in integer;
    n_sel integer;
    res jsonb;
    until date;
    rank_model text;
BEGIN
    PERFORM sp_internal.require_national_scope('Deciding a shock response');
    IF mode IS NULL OR mode NOT IN ('vertical', 'horizontal') THEN
        RAISE EXCEPTION 'mode is vertical (top up beneficiaries) or horizontal (enrol others), not %', coalesce(quote_literal(left(mode, 20)), 'NULL')
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'mode';
    END IF;
    IF amount IS NULL OR amount <= 0 OR amount <> round(amount, 2) OR amount >= 1e12 THEN
        RAISE EXCEPTION 'amount must be positive with at most two decimals, not %', coalesce(amount::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'amount';
    END IF;
    IF max_households IS NOT NULL AND max_households <= 0 THEN
        RAISE EXCEPTION 'max_households must be positive, not %', max_households USING ERRCODE = 'invalid_parameter_value', COLUMN = 'max_households';
    END IF;
    IF mode = 'vertical' AND (max_households IS NOT NULL OR ends_on IS NOT NULL) THEN
        RAISE EXCEPTION 'a vertical response tops up every beneficiary in the footprint once: no max_households, no ends_on'
            USING ERRCODE = 'invalid_parameter_value', COLUMN = CASE WHEN max_households IS NOT NULL THEN 'max_households' ELSE 'ends_on' END;
    END IF;
    -- one decision per shock at a time
    SELECT * INTO ev FROM sp.shock_event e WHERE e.event_id = shock_response.event_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'shock % does not exist', event_id USING ERRCODE = 'no_data_found';
    END IF;
    SELECT * INTO g FROM sp.programme p WHERE p.name = shock_response.programme;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'programme "%" does not exist', left(programme, 64) USING ERRCODE = 'no_data_found', COLUMN = 'programme';
    END IF;
    -- the same response again: what was decided, unchanged
    SELECT * INTO prev FROM sp.shock_response r WHERE r.event_id = ev.event_id AND r.programme = g.name AND r.mode = shock_response.mode;
    IF FOUND THEN
        IF prev.amount <> amount OR prev.max_households IS DISTINCT FROM max_households
           OR (ends_on IS NOT NULL AND prev.ends_on IS DISTINCT FROM ends_on) THEN
            RAISE EXCEPTION 'shock % already has a % response of "%", with other terms', ev.event_id, mode, g.name
                USING ERRCODE = 'unique_violation',
                      DETAIL = format('It paid %s %s to %s households on %s.', prev.amount, prev.currency, prev.selected,
                                      to_char(prev.decided_at, 'YYYY-MM-DD')),
                      HINT = 'A response is decided once per shock, programme and mode; declare a new shock for a new footprint.';
        END IF;
        RETURN prev.result || jsonb_build_object('replayed', true);
    END IF;
    IF ev.status <> 'declared' THEN
        RAISE EXCEPTION 'shock % is closed' , ev.event_id USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF g.status <> 'active' THEN
        RAISE EXCEPTION 'programme "%" is not active', g.name USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF g.target_unit <> 'household' THEN
        RAISE EXCEPTION 'programme "%" enrols persons; a shock response scales up household programmes', g.name
            USING ERRCODE = 'feature_not_supported';
    END IF;
    SELECT e.rule ->> 'currency' INTO cur FROM sp.programme_entitlement e WHERE e.programme = g.name;
    IF cur IS NULL THEN
        RAISE EXCEPTION 'programme "%" has no entitlement rule: its currency and provider are unknown', g.name
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Set one with sp.set_entitlement.';
    END IF;
    -- poorest first by one PMT model: the programme's ranking model, or the one active model
    rank_model := g.ranking ->> 'pmt';
    IF rank_model IS NULL THEN
        SELECT min(m.name) INTO rank_model FROM sp.pmt_model m WHERE m.status = 'active' HAVING count(DISTINCT m.name) = 1;
    END IF;
    IF mode = 'horizontal' AND rank_model IS NULL THEN
        RAISE EXCEPTION 'programme "%" ranks by no PMT model, and there is not exactly one active PMT model to rank by', g.name
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Set the programme''s ranking to {"pmt": "<model>"}.';
    END IF;
    until := CASE WHEN mode = 'horizontal' THEN coalesce(ends_on, (ev.declared_at + interval '3 months')::date) END;
    IF until IS NOT NULL AND until <= current_date THEN
        RAISE EXCEPTION 'ends_on % is not in the future', until USING ERRCODE = 'invalid_parameter_value', COLUMN = 'ends_on';
    END IF;

    -- every registered household in the footprint (the function runs as the
    -- owner: the whole country, the caller having national scope)
    IF to_regclass('pg_temp.sp_shock_households') IS NOT NULL THEN
        DROP TABLE pg_temp.sp_shock_households;
    END IF;
    CREATE TEMP TABLE sp_shock_households ON COMMIT DROP AS
    SELECT f.household_id, f.distance_m, en.enrolment_id, en.state,
           (SELECT a.score FROM sp.assessment a JOIN sp.pmt_model m ON m.name = a.model AND m.version = a.version AND m.status = 'active'
            WHERE a.household_id = f.household_id AND a.model = rank_model
            ORDER BY a.assessed_at DESC, a.assessment_id DESC LIMIT 1) AS score,
           NULL::text AS decision, NULL::text AS reason, NULL::integer AS rank
    FROM sp.households_in_footprint(ev.footprint, ev.buffer_m) f
    LEFT JOIN sp.enrolment en ON en.programme = g.name AND en.household_id = f.household_id AND en.person_id IS NULL AND en.state <> 'exited';
    SELECT count(*) INTO n_in FROM pg_temp.sp_shock_households;

    -- the decisions first, then the response (append-only: written once, whole)
    IF mode = 'vertical' THEN
        -- a household enrolled by this shock's horizontal response is owed its
        -- amount already: not a second time
        UPDATE pg_temp.sp_shock_households s SET decision = 'left_out', reason = 'already owed an amount for this shock (temporary enrolment)'
        WHERE EXISTS (SELECT 1 FROM sp.shock_top_up t JOIN sp.shock_response r ON r.response_id = t.response_id
                      WHERE r.event_id = ev.event_id AND r.programme = g.name AND t.household_id = s.household_id);
        UPDATE pg_temp.sp_shock_households s
        SET decision = CASE WHEN s.state = 'enrolled' THEN 'topped_up' ELSE 'left_out' END,
            reason = CASE WHEN s.state = 'enrolled' THEN format('top-up of %s %s for shock %s', amount, cur, ev.event_id)
                          WHEN s.state = 'suspended' THEN 'suspended in the programme'
                          WHEN s.state IS NOT NULL THEN format('%s, not yet enrolled', s.state)
                          ELSE 'not a beneficiary of the programme' END
        WHERE s.decision IS NULL;
    ELSE
        UPDATE pg_temp.sp_shock_households s
        SET decision = 'left_out',
            reason = CASE WHEN s.state IS NOT NULL THEN format('already %s in the programme', s.state)
                          ELSE 'no PMT score from the active model' END
        WHERE s.state IS NOT NULL OR s.score IS NULL;
        -- poorest first; ties by household id, so the order never depends on storage
        UPDATE pg_temp.sp_shock_households s SET rank = r.rank
        FROM (SELECT x.household_id, row_number() OVER (ORDER BY x.score, x.household_id)::integer AS rank
              FROM pg_temp.sp_shock_households x WHERE x.decision IS NULL) r
        WHERE r.household_id = s.household_id;
        UPDATE pg_temp.sp_shock_households s
        SET decision = CASE WHEN shock_response.max_households IS NULL OR s.rank <= shock_response.max_households THEN 'enrolled' ELSE 'not_selected' END,
            reason = CASE WHEN shock_response.max_households IS NULL OR s.rank <= shock_response.max_households
                          THEN format('temporarily enrolled until %s for shock %s (rank %s by PMT score)', to_char(until, 'YYYY-MM-DD'), ev.event_id, s.rank)
                          ELSE format('rank %s by PMT score, over the %s households the response takes', s.rank, shock_response.max_households) END
        WHERE s.decision IS NULL;
    END IF;
    SELECT count(*) FILTER (WHERE s.decision IN ('topped_up', 'enrolled')) INTO n_sel FROM pg_temp.sp_shock_households s;
    rid := nextval(pg_get_serial_sequence('sp.shock_response', 'response_id'));
    res := jsonb_build_object('response_id', rid, 'event_id', ev.event_id, 'programme', g.name, 'mode', mode,
                              'amount', amount, 'currency', cur, 'ends_on', until, 'replayed', false,
                              'households_in_footprint', n_in,
                              'decisions', coalesce((SELECT jsonb_object_agg(d.decision, d.n) FROM
                                                     (SELECT s.decision, count(*) AS n FROM pg_temp.sp_shock_households s GROUP BY 1) d), '{}'),
                              'total_amount', n_sel * amount);
    INSERT INTO sp.shock_response
           (response_id, event_id, programme, mode, amount, currency, max_households, ends_on, households_in_footprint, selected, result)
    OVERRIDING SYSTEM VALUE VALUES (rid, ev.event_id, g.name, mode, amount, cur, max_households, until, n_in, n_sel, res);

    IF mode = 'horizontal' THEN
        INSERT INTO sp.enrolment (programme, household_id, state, reason, rank_score, shock_response_id, ends_on)
        SELECT g.name, s.household_id, 'enrolled', s.reason, s.score, rid, until
        FROM pg_temp.sp_shock_households s WHERE s.decision = 'enrolled'
        ORDER BY s.rank;
        UPDATE pg_temp.sp_shock_households s SET enrolment_id = en.enrolment_id
        FROM sp.enrolment en
        WHERE s.decision = 'enrolled' AND en.shock_response_id = rid AND en.household_id = s.household_id;
    END IF;
    -- what is paid: the amount, once, with the next payment list (for a
    -- temporary beneficiary, on top of the programme's own rule)
    INSERT INTO sp.shock_top_up (response_id, enrolment_id, household_id, programme, amount, due_from)
    SELECT rid, s.enrolment_id, s.household_id, g.name, amount, ev.declared_at::date
    FROM pg_temp.sp_shock_households s WHERE s.decision IN ('topped_up', 'enrolled')
    ORDER BY s.household_id;
    INSERT INTO sp.shock_decision (response_id, household_id, decision, reason, pmt_score, rank, distance_m, enrolment_id)
    SELECT rid, s.household_id, s.decision, s.reason, s.score, s.rank, s.distance_m,
           CASE WHEN s.decision IN ('topped_up', 'enrolled') THEN s.enrolment_id END
    FROM pg_temp.sp_shock_households s ORDER BY s.household_id;
    DROP TABLE pg_temp.sp_shock_households;
    RETURN res;
END
$$;
COMMENT ON FUNCTION sp.shock_response(bigint, text, text, numeric, integer, date) IS 'Scales a household programme up for a shock, in one call. vertical: each beneficiary enrolled in the programme with a location in the footprint (or its buffer) is owed a one-off top-up of the amount, paid with the next payment list. horizontal: registered households in the footprint that are not in the programme are enrolled until ends_on (default three months after the shock), poorest first by the score of the programme''s ranking PMT model (or of the one active PMT model), at most max_households, each also owed the amount once. Every household in the footprint gets a recorded decision and reason (sp.shock_decision). Once per shock, programme and mode: the same call again returns what was decided; other terms are refused. Needs national scope.';

-- Temporary enrolments end on their date: run daily (pg_cron, docs/geo-targeting.md).
CREATE FUNCTION sp.end_temporary_enrolments()
    RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n integer;
    previous text;
BEGIN
    PERFORM sp_internal.require_national_scope('Ending temporary enrolments');
    previous := sp_internal.begin_change('temporary enrolment ended');
    UPDATE sp.enrolment e
    SET state = 'exited', exited_by_rule = true,
        reason = format('temporary enrolment ended on %s (shock response %s)', to_char(e.ends_on, 'YYYY-MM-DD'), e.shock_response_id)
    WHERE e.ends_on IS NOT NULL AND e.ends_on <= current_date AND e.state <> 'exited';
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM sp_internal.end_change(previous);
    RETURN n;
END
$$;
COMMENT ON FUNCTION sp.end_temporary_enrolments() IS 'Exits every enrolment whose ends_on date has come (the temporary enrolments of horizontal shock responses), with the reason. Returns how many. Schedule it daily with pg_cron. Needs national scope.';
