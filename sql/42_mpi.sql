-- Multidimensional poverty (Alkire-Foster): versioned models of dimensions and
-- indicators; a household's deprivation score is the weighted share of
-- indicators it is deprived in, and it is poor when the score reaches k.

-- the same columns, checks and indexes (one active version per name) as PMT models
CREATE TABLE sp.mpi_model (LIKE sp.pmt_model INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES);
COMMENT ON TABLE sp.mpi_model IS 'Alkire-Foster multidimensional poverty models, versioned like PMT models: dimensions, indicators (a deprivation condition and a weight each), poverty cut-off k. A spec is fixed once its version leaves draft; versions are never deleted.';

-- The indicators of a spec with their effective weights and compiled
-- conditions; raises naming the field when the spec is invalid.
CREATE FUNCTION sp_internal.mpi_indicators(spec jsonb)
    RETURNS TABLE (dimension text, indicator text, weight float8, deprived_sql text, missing text)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d integer;
    i integer;
    dim jsonb;
    ind jsonb;
    nd integer;
    ni integer;
    dw float8;
    iw float8;
    dsum float8 := 0;
    isum float8;
    dflt_missing text := coalesce(spec ->> 'missing', 'not_deprived');
    seen text[] := '{}';
    path text;
BEGIN
    IF spec IS NULL OR jsonb_typeof(spec) <> 'object' THEN
        PERFORM sp_internal.rule_error('spec', 'An MPI spec is a JSON object with "dimensions" and optionally "k" and "missing".');
    END IF;
    PERFORM sp_internal.rule_only_keys(spec, 'spec', ARRAY['dimensions', 'k', 'missing']);
    IF spec ? 'k' AND (jsonb_typeof(spec -> 'k') <> 'number' OR (spec ->> 'k')::numeric <= 0 OR (spec ->> 'k')::numeric > 1) THEN
        PERFORM sp_internal.rule_error('spec.k', 'k is the poverty cut-off, a number in (0, 1]; the global MPI uses 1/3.');
    END IF;
    IF dflt_missing NOT IN ('not_deprived', 'deprived', 'exclude') THEN
        PERFORM sp_internal.rule_error('spec.missing', 'missing is "not_deprived", "deprived" or "exclude".');
    END IF;
    IF jsonb_typeof(spec -> 'dimensions') IS DISTINCT FROM 'array' OR jsonb_array_length(spec -> 'dimensions') = 0 THEN
        PERFORM sp_internal.rule_error('spec.dimensions', 'dimensions is a non-empty array.');
    END IF;
    nd := jsonb_array_length(spec -> 'dimensions');
    IF jsonb_path_exists(spec, '$.dimensions[*] ? (exists(@.weight))')
       AND jsonb_path_exists(spec, '$.dimensions[*] ? (!exists(@.weight))') THEN
        PERFORM sp_internal.rule_error('spec.dimensions', 'Give every dimension a weight, or none (equal weights).');
    END IF;
    FOR d IN 0 .. nd - 1 LOOP
        dim := spec -> 'dimensions' -> d;
        path := format('spec.dimensions[%s]', d);
        IF jsonb_typeof(dim) IS DISTINCT FROM 'object' THEN
            PERFORM sp_internal.rule_error(path, 'A dimension is an object with name, weight and indicators.');
        END IF;
        PERFORM sp_internal.rule_only_keys(dim, path, ARRAY['name', 'weight', 'indicators']);
        IF jsonb_typeof(dim -> 'name') IS DISTINCT FROM 'string' OR btrim(dim ->> 'name') = '' THEN
            PERFORM sp_internal.rule_error(path || '.name', 'A dimension has a name.');
        END IF;
        IF dim ? 'weight' THEN
            IF jsonb_typeof(dim -> 'weight') <> 'number' OR (dim ->> 'weight')::float8 <= 0 THEN
                PERFORM sp_internal.rule_error(path || '.weight', 'A weight is a positive number.');
            END IF;
            dw := (dim ->> 'weight')::float8;
        ELSE
            dw := 1.0 / nd;
        END IF;
        dsum := dsum + dw;
        IF jsonb_typeof(dim -> 'indicators') IS DISTINCT FROM 'array' OR jsonb_array_length(dim -> 'indicators') = 0 THEN
            PERFORM sp_internal.rule_error(path || '.indicators', 'indicators is a non-empty array.');
        END IF;
        IF jsonb_path_exists(dim, '$.indicators[*] ? (exists(@.weight))')
           AND jsonb_path_exists(dim, '$.indicators[*] ? (!exists(@.weight))') THEN
            PERFORM sp_internal.rule_error(path || '.indicators', 'Give every indicator of a dimension a weight, or none (equal shares).');
        END IF;
        ni := jsonb_array_length(dim -> 'indicators');
        isum := 0;
        FOR i IN 0 .. ni - 1 LOOP
            ind := dim -> 'indicators' -> i;
            path := format('spec.dimensions[%s].indicators[%s]', d, i);
            IF jsonb_typeof(ind) IS DISTINCT FROM 'object' THEN
                PERFORM sp_internal.rule_error(path, 'An indicator is an object with name, weight, deprived_if and missing.');
            END IF;
            PERFORM sp_internal.rule_only_keys(ind, path, ARRAY['name', 'weight', 'deprived_if', 'missing']);
            IF jsonb_typeof(ind -> 'name') IS DISTINCT FROM 'string' OR (ind ->> 'name') !~ '^[a-z][a-z0-9_]{0,62}$' THEN
                PERFORM sp_internal.rule_error(path || '.name', 'An indicator name is lower case letters, digits and _.');
            END IF;
            IF (ind ->> 'name') = ANY (seen) THEN
                PERFORM sp_internal.rule_error(path || '.name', format('Indicator "%s" appears twice.', ind ->> 'name'));
            END IF;
            seen := seen || (ind ->> 'name');
            IF ind ? 'weight' THEN
                IF jsonb_typeof(ind -> 'weight') <> 'number' OR (ind ->> 'weight')::float8 <= 0 THEN
                    PERFORM sp_internal.rule_error(path || '.weight', 'A weight is a positive number.');
                END IF;
                iw := (ind ->> 'weight')::float8;
            ELSE
                iw := 1.0 / ni;
            END IF;
            isum := isum + iw;
            IF coalesce(ind ->> 'missing', dflt_missing) NOT IN ('not_deprived', 'deprived', 'exclude') THEN
                PERFORM sp_internal.rule_error(path || '.missing', 'missing is "not_deprived", "deprived" or "exclude".');
            END IF;
            IF NOT ind ? 'deprived_if' THEN
                PERFORM sp_internal.rule_error(path || '.deprived_if', 'An indicator says when a household is deprived.');
            END IF;
            dimension := dim ->> 'name';
            indicator := ind ->> 'name';
            weight := dw * iw;
            deprived_sql := sp_internal.rule_sql(ind -> 'deprived_if', path || '.deprived_if', 'household', 'hp',
                                                 ARRAY['members']);
            missing := coalesce(ind ->> 'missing', dflt_missing);
            RETURN NEXT;
        END LOOP;
        IF abs(isum - 1) > 1e-6 THEN
            PERFORM sp_internal.rule_error(format('spec.dimensions[%s].indicators', d),
                format('Indicator weights within a dimension sum to 1; these sum to %s.', round(isum::numeric, 6)));
        END IF;
    END LOOP;
    IF abs(dsum - 1) > 1e-6 THEN
        PERFORM sp_internal.rule_error('spec.dimensions', format('Dimension weights sum to 1; these sum to %s.', round(dsum::numeric, 6)));
    END IF;
END
$$;
COMMENT ON FUNCTION sp_internal.mpi_indicators(jsonb) IS 'Validates an MPI spec and returns its indicators with effective weights (dimension weight x share within the dimension) and compiled deprivation conditions.';

-- The evaluation query of a spec: one row per active household of
-- sp.household_profile (callers append their filter to the WHERE clause).
CREATE FUNCTION sp_internal.mpi_query(spec jsonb)
    RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
    n integer := 0;
    flags text[] := '{}';
    terms text[] := '{}';
    names text[] := '{}';
    k float8 := coalesce((spec ->> 'k')::float8, 1.0 / 3);
BEGIN
    FOR r IN SELECT * FROM sp_internal.mpi_indicators(spec) LOOP
        n := n + 1;
        flags := flags || format('%s AS d%s', CASE r.missing
                                                WHEN 'not_deprived' THEN format('coalesce((%s), false)', r.deprived_sql)
                                                WHEN 'deprived' THEN format('coalesce((%s), true)', r.deprived_sql)
                                                ELSE format('(%s)', r.deprived_sql) END, n);
        terms := terms || format('%s * d.d%s::integer', r.weight, n);
        names := names || format('CASE WHEN d.d%s THEN %L END', n, r.indicator);
    END LOOP;
    -- OFFSET 0 keeps the planner from inlining the flags (each condition is evaluated once)
    RETURN format('SELECT hp.household_id, hp.admin_area_code, hp.household_size, s.score, s.score >= %s AS poor, s.deprivations '
                  'FROM sp.household_profile hp %s'
                  'CROSS JOIN LATERAL (SELECT %s OFFSET 0) d '
                  'CROSS JOIN LATERAL (SELECT (%s)::float8 AS score, array_remove(ARRAY[%s]::text[], NULL) AS deprivations) s '
                  'WHERE true ',
                  k - 1e-9,
                  sp_internal.rule_member_join(ARRAY(SELECT i -> 'deprived_if' FROM jsonb_path_query(spec, '$.dimensions[*].indicators[*]') i)),
                  array_to_string(flags, ', '), array_to_string(terms, ' + '), array_to_string(names, ', '));
END
$$;
COMMENT ON FUNCTION sp_internal.mpi_query(jsonb) IS 'Builds the SQL that evaluates an MPI spec over sp.household_profile (built only from validated pieces).';

-- Validation for the shared model trigger (sql/40_pmt.sql).
CREATE FUNCTION sp_internal.mpi_validate_spec(spec jsonb)
    RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM sp_internal.mpi_query(spec);
END
$$;
COMMENT ON FUNCTION sp_internal.mpi_validate_spec(jsonb) IS 'Raises 22023 naming the field when an MPI spec is invalid.';

CREATE TRIGGER mpi_model_guard BEFORE INSERT OR UPDATE ON sp.mpi_model
    FOR EACH ROW EXECUTE FUNCTION sp_internal.model_version_guard('MPI', 'sp_internal.mpi_validate_spec');
CREATE TRIGGER mpi_model_no_delete BEFORE DELETE ON sp.mpi_model
    FOR EACH ROW EXECUTE FUNCTION sp_internal.forbid_delete();

CREATE FUNCTION sp.create_mpi_model(name text, spec jsonb, description text DEFAULT NULL,
                                    valid_from date DEFAULT current_date)
    RETURNS integer
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$ SELECT sp_internal.model_create_version('sp.mpi_model', name, spec, description, valid_from) $$;
COMMENT ON FUNCTION sp.create_mpi_model(text, jsonb, text, date) IS 'Adds a new draft version of an MPI model (validated: weights, indicator conditions against the catalogue); returns its version number.';

CREATE FUNCTION sp.activate_mpi_model(name text, version integer)
    RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$ SELECT sp_internal.model_activate_version('sp.mpi_model', 'MPI', name, version) $$;
COMMENT ON FUNCTION sp.activate_mpi_model(text, integer) IS 'Makes a version the active one of its MPI model; the previously active version is retired (kept, with its assessments).';

CREATE FUNCTION sp_internal.active_mpi_model(name text)
    RETURNS sp.mpi_model
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m sp.mpi_model;
BEGIN
    SELECT * INTO m FROM sp.mpi_model x WHERE x.name = active_mpi_model.name AND x.status = 'active';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'MPI model "%" has no active version', left(name, 64)
            USING ERRCODE = 'no_data_found', HINT = 'Create one with sp.create_mpi_model and activate it with sp.activate_mpi_model.';
    END IF;
    RETURN m;
END
$$;
COMMENT ON FUNCTION sp_internal.active_mpi_model(text) IS 'The active version of an MPI model, or an error.';

-- SECURITY DEFINER: the evaluation reads member attributes and ages, which
-- the roles that may see a household's MPI (programme officers) cannot read;
-- the household is checked against the caller's scope first.
CREATE FUNCTION sp.mpi_household(model text, household_id bigint)
    RETURNS TABLE (deprivation_score float8, poor boolean, deprivations text[], version integer)
    LANGUAGE plpgsql STABLE STRICT SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m sp.mpi_model := sp_internal.active_mpi_model(model);
BEGIN
    PERFORM sp_internal.household_area_in_scope(mpi_household.household_id);
    PERFORM 1 FROM sp.household h WHERE h.household_id = mpi_household.household_id AND h.status = 'active';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'household % is not active', mpi_household.household_id USING ERRCODE = 'no_data_found';
    END IF;
    RETURN QUERY EXECUTE 'SELECT q.score, q.poor, q.deprivations, $2 FROM (' || sp_internal.mpi_query(m.spec)
                         || ' AND hp.household_id = $1) q'
        USING mpi_household.household_id, m.version;
END
$$;
COMMENT ON FUNCTION sp.mpi_household(text, bigint) IS 'Alkire-Foster deprivation score of a household under the active version of an MPI model (weighted share of indicators it is deprived in, 0 to 1), whether it is poor (score >= k), and the indicators it is deprived in. Score and poor are NULL when an indicator with missing = "exclude" cannot be evaluated.';

CREATE TABLE sp.mpi_assessment (
    mpi_assessment_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    household_id      bigint NOT NULL,
    model             text NOT NULL,
    version           integer NOT NULL,
    deprivation_score float8 CHECK (deprivation_score BETWEEN 0 AND 1 + 1e-9),
    poor              boolean,
    deprivations      text[] NOT NULL,
    household_size    integer NOT NULL,
    assessed_at       timestamptz NOT NULL DEFAULT now(),
    assessed_by       text NOT NULL DEFAULT sp_internal.caller(),
    reason            text,
    CHECK ((deprivation_score IS NULL) = (poor IS NULL))
);
CREATE INDEX mpi_assessment_household_idx ON sp.mpi_assessment (household_id, model, assessed_at DESC);
COMMENT ON TABLE sp.mpi_assessment IS 'Every MPI assessment: household, model and version, deprivation score, poor or not, the indicators it was deprived in, its size then. Append-only; the latest per household and model is in sp.current_mpi_assessment. NULL score: excluded for missing data.';
CREATE TRIGGER mpi_assessment_append_only BEFORE UPDATE OR DELETE ON sp.mpi_assessment
    FOR EACH ROW EXECUTE FUNCTION sp_internal.history_is_append_only();
CREATE TRIGGER mpi_assessment_household_ref AFTER INSERT ON sp.mpi_assessment REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sp_internal.check_references('household_id', 'sp.household', 'household_id');
CREATE TRIGGER mpi_assessment_model_ref AFTER INSERT ON sp.mpi_assessment REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sp_internal.check_references('model,version', 'sp.mpi_model', 'name,version');
CREATE TRIGGER household_mpi_assessment_ref AFTER DELETE ON sp.household REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sp_internal.check_references('household_id', 'sp.mpi_assessment', 'household_id');
CREATE TRIGGER mpi_model_assessment_ref AFTER DELETE ON sp.mpi_model REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sp_internal.check_references('name,version', 'sp.mpi_assessment', 'model,version');

CREATE VIEW sp.current_mpi_assessment AS
SELECT DISTINCT ON (a.household_id, a.model) a.*
FROM sp.mpi_assessment a
ORDER BY a.household_id, a.model, a.assessed_at DESC, a.mpi_assessment_id DESC;
COMMENT ON VIEW sp.current_mpi_assessment IS 'The latest MPI assessment of each household under each model.';

CREATE FUNCTION sp.mpi_assess_households(model text, only_area text DEFAULT NULL, reason text DEFAULT 'batch assessment')
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m sp.mpi_model := sp_internal.active_mpi_model(model);
    areas text[];
    n bigint;
BEGIN
    IF only_area IS NULL THEN
        PERFORM sp_internal.require_national_scope('assessing every household');
    ELSE
        PERFORM sp_internal.require_area_scope(only_area, 'Assessing households');
        areas := ARRAY(SELECT t.code FROM sp.admin_area_subtree(only_area) t);
        IF cardinality(areas) = 0 THEN
            RAISE EXCEPTION 'admin area "%" does not exist', only_area USING ERRCODE = 'foreign_key_violation';
        END IF;
    END IF;
    EXECUTE 'INSERT INTO sp.mpi_assessment (household_id, model, version, deprivation_score, poor, deprivations, household_size, reason) '
            'SELECT q.household_id, $1, $2, q.score, q.poor, q.deprivations, q.household_size, $4 FROM ('
            || sp_internal.mpi_query(m.spec) || ' AND ($3::text[] IS NULL OR hp.admin_area_code = ANY ($3))) q'
        USING m.name, m.version, areas, reason;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION sp.mpi_assess_households(text, text, text) IS 'Assesses every active household (or those in an admin-area subtree) with the active version of an MPI model and appends the results to sp.mpi_assessment; returns how many were assessed.';

-- SECURITY DEFINER so that roles which read aggregates only (programme
-- officers) need no access to households; it counts the households of the
-- caller's scope and nothing else.
CREATE FUNCTION sp.mpi_area_summary(model text, level integer DEFAULT 1)
    RETURNS TABLE (area_code text, area_name text, households bigint, persons bigint, poor_households bigint,
                   poor_persons bigint, excluded_households bigint, h float8, a float8, m0 float8)
    LANGUAGE plpgsql STABLE STRICT SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    PERFORM sp_internal.require_disclosable_level(mpi_area_summary.level);
    RETURN QUERY
    WITH k AS (SELECT sp_internal.suppression_threshold() AS threshold),
    t AS (
        SELECT anc.ancestor_code, ar.name,
               count(*) FILTER (WHERE c.poor IS NOT NULL) AS households,
               sum(c.household_size) FILTER (WHERE c.poor IS NOT NULL) AS persons,
               count(*) FILTER (WHERE c.poor) AS poor_households,
               coalesce(sum(c.household_size) FILTER (WHERE c.poor), 0) AS poor_persons,
               count(*) FILTER (WHERE c.poor IS NULL) AS excluded_households,
               sum(c.household_size) FILTER (WHERE c.poor)::float8 / nullif(sum(c.household_size) FILTER (WHERE c.poor IS NOT NULL), 0) AS h,
               sum(c.household_size * c.deprivation_score) FILTER (WHERE c.poor) / nullif(sum(c.household_size) FILTER (WHERE c.poor), 0) AS a,
               sum(c.household_size * c.deprivation_score) FILTER (WHERE c.poor) / nullif(sum(c.household_size) FILTER (WHERE c.poor IS NOT NULL), 0) AS m0
        FROM sp.current_mpi_assessment c
        JOIN sp.mpi_model m ON m.name = c.model AND m.version = c.version AND m.status = 'active'
        JOIN sp.household hh ON hh.household_id = c.household_id AND hh.status = 'active'
                            AND hh.admin_area_code IN (SELECT v.code FROM sp_internal.visible_areas() v (code))
        JOIN sp.admin_area_ancestor anc ON anc.code = hh.admin_area_code AND anc.ancestor_level = mpi_area_summary.level
        JOIN sp.admin_area ar ON ar.code = anc.ancestor_code
        WHERE c.model = mpi_area_summary.model
        GROUP BY anc.ancestor_code, ar.name
    ),
    -- a count is withheld when it or its complement (the non-poor, shown
    -- totals minus it) is small; a ratio with the counts it would reveal: H
    -- and M0 with the poor or all persons, A with the poor households
    s AS (
        SELECT t.*,
               sp_internal.small_cell(t.households, k.threshold) IS NULL AS hh_small,
               sp_internal.small_cell(t.persons, k.threshold) IS NULL AS p_small,
               sp_internal.small_cell(t.poor_households, k.threshold) IS NULL
                 OR sp_internal.small_cell(t.households - t.poor_households, k.threshold) IS NULL AS poor_hh_small,
               sp_internal.small_cell(t.poor_persons, k.threshold) IS NULL
                 OR sp_internal.small_cell(t.persons - t.poor_persons, k.threshold) IS NULL AS poor_p_small,
               k.threshold
        FROM t, k
    )
    SELECT s.ancestor_code, s.name,
           CASE WHEN s.hh_small THEN NULL ELSE s.households END,
           CASE WHEN s.p_small THEN NULL ELSE s.persons END,
           CASE WHEN s.poor_hh_small OR s.hh_small THEN NULL ELSE s.poor_households END,
           CASE WHEN s.poor_p_small OR s.p_small THEN NULL ELSE s.poor_persons END,
           sp_internal.small_cell(s.excluded_households, s.threshold),
           CASE WHEN s.poor_p_small OR s.p_small THEN NULL ELSE s.h END,
           CASE WHEN s.poor_hh_small OR s.hh_small THEN NULL ELSE s.a END,
           CASE WHEN s.poor_p_small OR s.p_small OR s.poor_hh_small OR s.hh_small THEN NULL ELSE s.m0 END
    FROM s
    ORDER BY s.ancestor_code;
END
$$;
COMMENT ON FUNCTION sp.mpi_area_summary(text, integer) IS 'Alkire-Foster aggregates per admin area of a level (households of the caller''s area scope only), from each household''s latest assessment under the active model version, weighted by persons: H (headcount ratio: share of persons in poor households), A (intensity: average deprivation score of the poor), M0 = H x A (adjusted headcount). Households excluded for missing data are counted apart. For callers who may not read the exact area of households (analysts), counts from 1 to min_cell_size - 1 are NULL, and so are counts whose complement is that small (the non-poor) and the ratios they would reveal (small-cell suppression, sp.privacy_setting); levels below deidentified_area_level are refused (42501).';
