-- Proxy-means testing: versioned models evaluated in C (src/pg/pmt.c), and
-- assessments kept as history.

CREATE TABLE sp.pmt_model (
    name        text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$'),
    version     integer NOT NULL CHECK (version > 0),
    valid_from  date NOT NULL DEFAULT current_date,
    spec        jsonb NOT NULL,
    status      text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'active', 'retired')),
    description text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  text NOT NULL DEFAULT sp_internal.caller(),
    activated_at timestamptz,
    PRIMARY KEY (name, version)
);
CREATE UNIQUE INDEX pmt_model_one_active_idx ON sp.pmt_model (name) WHERE status = 'active';
COMMENT ON TABLE sp.pmt_model IS 'Proxy-means test models, versioned: a spec (intercept, terms, regional overrides, cut-offs, scale; docs/targeting.md) is fixed once the version leaves draft, so past assessments stay explainable. One active version per model name.';

CREATE FUNCTION sp_internal.pmt_validate_spec(spec jsonb)
    RETURNS void
    AS 'MODULE_PATHNAME', 'sp_pmt_validate_spec'
    LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION sp_internal.pmt_validate_spec(jsonb) IS 'Raises 22023 naming the field and variable when a PMT spec is invalid or uses a variable the catalogue does not have.';

-- Versioned models (PMT here, MPI in 42_mpi.sql) share their life cycle:
-- a spec validated on insert, frozen once out of draft, one active version
-- per name, never deleted.
CREATE FUNCTION sp_internal.model_version_guard()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    kind text := TG_ARGV[0];           -- 'PMT' or 'MPI', for messages
    validator text := TG_ARGV[1];      -- a function of the spec that raises when it is invalid
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.status <> 'draft' AND (NEW.spec IS DISTINCT FROM OLD.spec OR NEW.version <> OLD.version
                                                      OR NEW.name <> OLD.name) THEN
        RAISE EXCEPTION '% model % version % is %: its spec can no longer change', kind, OLD.name, OLD.version, OLD.status
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = format('Create a new version with sp.create_%s_model.', lower(kind));
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.status = 'retired' AND NEW.status <> 'retired' THEN
        RAISE EXCEPTION '% model % version % is retired', kind, OLD.name, OLD.version
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    -- a restored version was validated when it was created; the catalogue
    -- variables it uses may be restored after it (sp_internal.verify_integrity checks)
    IF TG_OP = 'INSERT' AND sp_internal.loading_rows(TG_RELID) THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'INSERT' OR NEW.spec IS DISTINCT FROM OLD.spec THEN
        EXECUTE format('SELECT %s($1)', validator::regproc) USING NEW.spec;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION sp_internal.model_version_guard() IS 'Trigger of versioned model tables (arguments: kind, validator): validates specs and keeps non-draft versions immutable.';

CREATE FUNCTION sp_internal.model_create_version(tbl regclass, name text, spec jsonb, description text, valid_from date)
    RETURNS integer
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v integer;
BEGIN
    -- models score households of every region: national scope, like the runs
    PERFORM sp_internal.require_national_scope('creating a model version');
    PERFORM pg_advisory_xact_lock(hashtext(tbl::text || ':' || name));
    EXECUTE format('SELECT coalesce(max(m.version), 0) + 1 FROM %s m WHERE m.name = $1', tbl) INTO v USING name;
    EXECUTE format('INSERT INTO %s (name, version, valid_from, spec, description) VALUES ($1, $2, $3, $4, $5)', tbl)
        USING name, v, valid_from, spec, description;
    RETURN v;
END
$$;
COMMENT ON FUNCTION sp_internal.model_create_version(regclass, text, jsonb, text, date) IS 'Adds the next draft version of a versioned model (serialised per model name); returns its number.';

CREATE FUNCTION sp_internal.model_activate_version(tbl regclass, kind text, name text, version integer)
    RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    found_it boolean;
BEGIN
    PERFORM sp_internal.require_national_scope('activating a model version');
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s m WHERE m.name = $1 AND m.version = $2)', tbl)
        INTO found_it USING name, version;
    IF NOT found_it THEN
        RAISE EXCEPTION '% model % version % does not exist', kind, left(name, 64), version USING ERRCODE = 'no_data_found';
    END IF;
    EXECUTE format('UPDATE %s m SET status = ''retired'' WHERE m.name = $1 AND m.status = ''active'' AND m.version <> $2', tbl)
        USING name, version;
    EXECUTE format('UPDATE %s m SET status = ''active'', activated_at = now() WHERE m.name = $1 AND m.version = $2', tbl)
        USING name, version;
END
$$;
COMMENT ON FUNCTION sp_internal.model_activate_version(regclass, text, text, integer) IS 'Makes a version the active one of its model and retires the previously active one.';

CREATE TRIGGER pmt_model_guard BEFORE INSERT OR UPDATE ON sp.pmt_model
    FOR EACH ROW EXECUTE FUNCTION sp_internal.model_version_guard('PMT', 'sp_internal.pmt_validate_spec');
CREATE TRIGGER pmt_model_no_delete BEFORE DELETE ON sp.pmt_model
    FOR EACH ROW EXECUTE FUNCTION sp_internal.forbid_delete();

CREATE FUNCTION sp.create_pmt_model(name text, spec jsonb, description text DEFAULT NULL,
                                    valid_from date DEFAULT current_date)
    RETURNS integer
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$ SELECT sp_internal.model_create_version('sp.pmt_model', name, spec, description, valid_from) $$;
COMMENT ON FUNCTION sp.create_pmt_model(text, jsonb, text, date) IS 'Adds a new draft version of a PMT model (validated against the variable catalogue); returns its version number.';

CREATE FUNCTION sp.activate_pmt_model(name text, version integer)
    RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$ SELECT sp_internal.model_activate_version('sp.pmt_model', 'PMT', name, version) $$;
COMMENT ON FUNCTION sp.activate_pmt_model(text, integer) IS 'Makes a version the active one of its model; the previously active version is retired (kept, with its assessments).';

CREATE FUNCTION sp.pmt_score(model text, household_id bigint)
    RETURNS float8
    AS 'MODULE_PATHNAME', 'sp_pmt_score'
    LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION sp.pmt_score(text, bigint) IS 'Score of a household under the active version of a PMT model (linear predictor, e.g. log per-capita consumption, or the 0-100 index). Raises naming the variable when a required one is missing.';

CREATE FUNCTION sp.pmt_explain(model text, household_id bigint)
    RETURNS TABLE (variable text, value text, coefficient float8, contribution float8, band text)
    AS 'MODULE_PATHNAME', 'sp_pmt_explain'
    LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION sp.pmt_explain(text, bigint) IS 'The score of a household term by term: the intercept, each variable with its value, the coefficient that applied (after regional overrides) and its contribution; for a scorecard term, the band that applied (band) and its points (coefficient and contribution). The contributions sum to sp.pmt_score: what a caseworker shows a household that appeals. A model with a likelihood lookup adds a row (poverty likelihood) with the likelihood of the score and the score range it came from (contribution 0).';

CREATE FUNCTION sp_internal.pmt_evaluate_all(model text, only_area text)
    RETURNS TABLE (household_id bigint, version integer, score float8, cutoff float8, problem text)
    AS 'MODULE_PATHNAME', 'sp_pmt_evaluate_all'
    LANGUAGE C STABLE;
COMMENT ON FUNCTION sp_internal.pmt_evaluate_all(text, text) IS 'Scores every household (or those under a P-code prefix) with the active model version; problem says why a household could not be scored.';

CREATE FUNCTION sp_internal.pmt_evaluate_household(model text, household_id bigint,
                                                   OUT version integer, OUT score float8, OUT cutoff float8)
    RETURNS record
    AS 'MODULE_PATHNAME', 'sp_pmt_evaluate_household'
    LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION sp_internal.pmt_evaluate_household(text, bigint) IS 'Score of one household under the active model version and the cut-off that applies to it; raises naming the variable when it cannot be scored.';

-- Append-only result tables (assessments, eligibility decisions) receive a
-- million rows per batch run. Row-level foreign keys cost one lookup per row
-- and per key (about 5 s per million assessments); these tables check their
-- references once per statement instead, with one anti-join over the new
-- rows. The parents (households, models, runs) cannot be deleted (their
-- delete guards), and the children are never updated, so this is the same
-- guarantee.  A restore (a superuser's COPY FROM, src/pg/restore.c) loads
-- tables in an order that ignores these references: its rows are checked
-- afterwards by sp_internal.verify_integrity().
CREATE FUNCTION sp_internal.check_references()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- arguments: this table's columns, the other table, its columns (e.g. 'model,version', 'sp.pmt_model', 'name,version')
    own_cols text[] := string_to_array(TG_ARGV[0], ',');
    other regclass := TG_ARGV[1]::regclass;
    other_cols text[] := string_to_array(TG_ARGV[2], ',');
    cond text;
    key_list text;
    not_null text;
    bad text;
BEGIN
    -- a restore loads tables in foreign-key order only, so the other table may
    -- not be loaded yet; sp_internal.verify_integrity() checks restored rows afterwards
    IF TG_OP = 'INSERT' AND sp_internal.loading_rows(TG_RELID) THEN
        RETURN NULL;
    END IF;
    SELECT string_agg(format('x.%I = r.%I', oc, c), ' AND '), string_agg(format('r.%I', c), ' || '', '' || '),
           string_agg(format('r.%I IS NOT NULL', c), ' AND ')
    INTO cond, key_list, not_null
    FROM unnest(own_cols, other_cols) AS k(c, oc);
    -- INSERT into a child: every new row needs its parent (a NULL key refers
    -- to nothing, as with a foreign key); DELETE from a parent: no child may remain
    EXECUTE format('SELECT %s FROM changed_rows r WHERE %s AND %s EXISTS (SELECT 1 FROM %s x WHERE %s) LIMIT 1',
                   key_list, not_null, CASE TG_OP WHEN 'INSERT' THEN 'NOT' ELSE '' END, other, cond)
        INTO bad;
    IF bad IS NOT NULL AND TG_OP = 'INSERT' THEN
        RAISE EXCEPTION 'insert on table "%" violates its reference to "%"', TG_TABLE_NAME, other
            USING ERRCODE = 'foreign_key_violation',
                  DETAIL = format('Key (%s)=(%s) is not present in table "%s".', TG_ARGV[0], bad, other);
    ELSIF bad IS NOT NULL THEN
        RAISE EXCEPTION 'delete on table "%" would orphan rows of "%"', TG_TABLE_NAME, other
            USING ERRCODE = 'foreign_key_violation',
                  DETAIL = format('Key (%s)=(%s) is still referenced from table "%s".', TG_ARGV[0], bad, other);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION sp_internal.check_references() IS 'Statement-level AFTER INSERT (on a child) or AFTER DELETE (on a parent) trigger with the transition table changed_rows; arguments: this table''s columns, the other table, its columns. Used instead of row-level foreign keys on append-only result tables.';

CREATE TABLE sp.assessment (
    assessment_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    household_id  bigint NOT NULL,
    model         text NOT NULL,
    version       integer NOT NULL,
    score         float8 NOT NULL,
    poverty_line  float8,
    below_cutoff  boolean,
    assessed_at   timestamptz NOT NULL DEFAULT now(),
    assessed_by   text NOT NULL DEFAULT sp_internal.caller(),
    reason        text
);
CREATE INDEX assessment_household_idx ON sp.assessment (household_id, model, assessed_at DESC);
COMMENT ON TABLE sp.assessment IS 'Every PMT assessment ever made: household, model and version, score, the cut-off that applied (poverty_line) and whether the score was below it. Append-only; the latest per household and model is in sp.current_assessment.';

CREATE TRIGGER assessment_append_only BEFORE UPDATE OR DELETE ON sp.assessment
    FOR EACH ROW EXECUTE FUNCTION sp_internal.history_is_append_only();
CREATE TRIGGER assessment_household_ref AFTER INSERT ON sp.assessment REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sp_internal.check_references('household_id', 'sp.household', 'household_id');
CREATE TRIGGER assessment_model_ref AFTER INSERT ON sp.assessment REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sp_internal.check_references('model,version', 'sp.pmt_model', 'name,version');
CREATE TRIGGER household_assessment_ref AFTER DELETE ON sp.household REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sp_internal.check_references('household_id', 'sp.assessment', 'household_id');
CREATE TRIGGER pmt_model_assessment_ref AFTER DELETE ON sp.pmt_model REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sp_internal.check_references('name,version', 'sp.assessment', 'model,version');

CREATE VIEW sp.current_assessment AS
SELECT DISTINCT ON (a.household_id, a.model) a.*
FROM sp.assessment a
ORDER BY a.household_id, a.model, a.assessed_at DESC, a.assessment_id DESC;
COMMENT ON VIEW sp.current_assessment IS 'The latest assessment of each household under each PMT model.';

CREATE FUNCTION sp.score_households(model text, only_area text DEFAULT NULL)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
    failed bigint;
    national boolean := sp_internal.has_national_scope();
BEGIN
    IF only_area IS NULL THEN
        PERFORM sp_internal.require_national_scope('scoring every household');
    ELSIF NOT national THEN
        PERFORM sp_internal.require_area_scope(only_area, 'Scoring households');
    END IF;
    CREATE TEMP TABLE sp_pmt_scores ON COMMIT DROP AS
    SELECT * FROM sp_internal.pmt_evaluate_all(model, only_area);
    -- only_area is a P-code prefix: without national scope, keep what the scope covers
    IF NOT national THEN
        DELETE FROM sp_pmt_scores s WHERE s.household_id NOT IN (
            SELECT h.household_id FROM sp.household h WHERE h.admin_area_code IN (SELECT v.code FROM sp_internal.visible_areas() v (code)));
    END IF;
    INSERT INTO sp.assessment (household_id, model, version, score, poverty_line, below_cutoff, reason)
    SELECT s.household_id, score_households.model, s.version, s.score, s.cutoff, s.score < s.cutoff, 'batch scoring'
    FROM sp_pmt_scores s WHERE s.problem IS NULL;
    GET DIAGNOSTICS n = ROW_COUNT;
    SELECT count(*) INTO failed FROM sp_pmt_scores s WHERE s.problem IS NOT NULL;
    IF failed > 0 THEN
        RAISE NOTICE '% households could not be scored', failed
            USING DETAIL = (SELECT string_agg(format('%s (%s)', s.household_id, s.problem), ', ' ORDER BY s.household_id)
                            FROM (SELECT * FROM sp_pmt_scores s WHERE s.problem IS NOT NULL ORDER BY s.household_id LIMIT 20) s);
    END IF;
    DROP TABLE sp_pmt_scores;
    RETURN n;
END
$$;
COMMENT ON FUNCTION sp.score_households(text, text) IS 'Scores all households (or those under a P-code prefix) with the active version of a PMT model, in C, and appends the results to sp.assessment; returns how many were assessed. Households that cannot be scored are reported in a NOTICE with the variable at fault.';

CREATE FUNCTION sp.reassess_household(household_id bigint, reason text, model text DEFAULT NULL)
    RETURNS SETOF sp.assessment
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM sp_internal.require_reason(reason, 'A reassessment (after an appeal or a home visit) records why.');
    PERFORM sp_internal.household_area_in_scope(reassess_household.household_id);
    IF model IS NOT NULL AND NOT EXISTS (SELECT 1 FROM sp.pmt_model m WHERE m.name = reassess_household.model AND m.status = 'active') THEN
        RAISE EXCEPTION 'PMT model "%" has no active version', left(model, 64) USING ERRCODE = 'no_data_found';
    END IF;
    RETURN QUERY
    INSERT INTO sp.assessment (household_id, model, version, score, poverty_line, below_cutoff, reason)
    SELECT reassess_household.household_id, m.name, e.version, e.score, e.cutoff, e.score < e.cutoff, reason
    FROM sp.pmt_model m
    CROSS JOIN LATERAL sp_internal.pmt_evaluate_household(m.name, reassess_household.household_id) e
    WHERE m.status = 'active' AND (reassess_household.model IS NULL OR m.name = reassess_household.model)
    RETURNING *;
END
$$;
COMMENT ON FUNCTION sp.reassess_household(bigint, text, text) IS 'Scores one household again with every active PMT model (or the one named), appending assessments with the reason (an appeal, a home visit).';
