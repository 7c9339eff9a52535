-- Conditions on households and persons, written as validated JSON documents
-- and compiled to SQL.  Shared by multidimensional poverty indicators
-- (sp.mpi_model) and programme eligibility rules (sp.programme).
--
-- The compiler only emits SQL it builds itself from validated pieces:
-- variable names are looked up in the catalogue, values are type-checked and
-- quoted as literals, operators come from a fixed list.  No SQL text from a
-- rule document is ever executed, and compiled rules run with the rights of
-- the caller (nothing here is SECURITY DEFINER).

-- Owner's rights (readers need no access to birth dates), so it filters by
-- the reader's area scope itself; a security barrier, so that no function in
-- a reader's query sees rows outside that scope.
CREATE VIEW sp.household_profile WITH (security_barrier) AS
SELECT h.household_id,
       h.admin_area_code,
       (h.attributes ->> 'urban')::boolean AS urban,
       h.attributes,
       coalesce(m.household_size, 0)::integer AS household_size,
       coalesce(m.children_under_5, 0)::integer AS children_under_5,
       coalesce(m.children_under_15, 0)::integer AS children_under_15,
       coalesce(m.members_over_65, 0)::integer AS members_over_65,
       coalesce(m.disabled_members, 0)::integer AS disabled_members,
       ((coalesce(m.children_under_15, 0) + coalesce(m.members_over_65, 0))::numeric
            / greatest(coalesce(m.working_age, 0), 1)) AS dependency_ratio,
       (m.disabled_members::numeric / nullif(m.household_size, 0)) AS share_disabled,
       m.head_female,
       m.head_age,
       m.head_education
FROM sp.household h
LEFT JOIN (
    -- active members only; the status test is in the FILTERs rather than a WHERE
    -- clause so that the planner reads one household through person_household_idx
    -- instead of combining it with partial indexes on all active persons
    SELECT p.household_id,
           count(*) FILTER (WHERE a.active) AS household_size,
           count(*) FILTER (WHERE a.active AND a.age < 5) AS children_under_5,
           count(*) FILTER (WHERE a.active AND a.age < 15) AS children_under_15,
           count(*) FILTER (WHERE a.active AND a.age >= 65) AS members_over_65,
           count(*) FILTER (WHERE a.active AND a.age >= 15 AND a.age < 65) AS working_age,
           count(*) FILTER (WHERE a.active AND coalesce((p.attributes ->> 'disability')::boolean, false)) AS disabled_members,
           bool_or(p.sex = 'F') FILTER (WHERE a.active AND a.head) AS head_female,
           max(a.age) FILTER (WHERE a.active AND a.head) AS head_age,
           max(p.attributes ->> 'education_level') FILTER (WHERE a.active AND a.head) AS head_education
    FROM sp.person p
    CROSS JOIN LATERAL (SELECT date_part('year', age(current_date, p.birth_date))::integer AS age,
                               p.status = 'active' AS active,
                               p.relationship_to_head = 'head' AS head) a
    GROUP BY p.household_id
) m ON m.household_id = h.household_id
WHERE h.status = 'active'
  AND h.admin_area_code IN (SELECT v.code FROM sp_internal.visible_areas() v (code));
COMMENT ON VIEW sp.household_profile IS 'One row per active household in the reader''s area scope: its area, urban flag, attributes and the member-derived variables that PMT models, MPI indicators and programme rules use (computed from active members, ages as of today). Same definitions as the PMT engine (docs/targeting.md).';
COMMENT ON COLUMN sp.household_profile.dependency_ratio IS 'Members under 15 or 65 and over per member aged 15-64; all dependants when nobody is of working age.';
COMMENT ON COLUMN sp.household_profile.share_disabled IS 'Share of active members with the person attribute disability = true; NULL for a household without active members.';
COMMENT ON COLUMN sp.household_profile.head_education IS 'The head''s education_level attribute.';

-- Each area with itself and every area above it.
CREATE VIEW sp.admin_area_ancestor AS
WITH RECURSIVE t AS (
    SELECT a.code, a.code AS ancestor_code, a.level AS ancestor_level, a.parent_code
    FROM sp.admin_area a
    UNION ALL
    SELECT t.code, p.code, p.level, p.parent_code
    FROM t JOIN sp.admin_area p ON p.code = t.parent_code
)
SELECT t.code, t.ancestor_code, t.ancestor_level FROM t;
COMMENT ON VIEW sp.admin_area_ancestor IS 'Every admin area (code) paired with itself and each area above it (ancestor_code, ancestor_level), following parent_code: roll figures up to any level by joining on code.';

CREATE FUNCTION sp_internal.rule_error(path text, detail text)
    RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'invalid condition at "%"', path
        USING ERRCODE = 'invalid_parameter_value', DETAIL = detail,
              HINT = 'Conditions are described in docs/targeting.md.';
END
$$;
COMMENT ON FUNCTION sp_internal.rule_error(text, text) IS 'Raises 22023 naming the path of the faulty part of a condition document.';

CREATE FUNCTION sp_internal.rule_only_keys(rule jsonb, path text, allowed text[])
    RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k text;
BEGIN
    FOR k IN SELECT jsonb_object_keys(rule) LOOP
        IF NOT k = ANY (allowed) THEN
            PERFORM sp_internal.rule_error(path || '.' || k,
                format('Unknown key "%s"; this condition takes %s.', k, array_to_string(allowed, ', ')));
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION sp_internal.rule_only_keys(jsonb, text, text[]) IS 'Rejects keys a condition does not take.';

-- A literal of the given catalogue type, type-checked.
CREATE FUNCTION sp_internal.rule_literal(v jsonb, value_type text, categories text[], path text)
    RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
        PERFORM sp_internal.rule_error(path, 'A value is required (missing values are never equal to anything).');
    END IF;
    IF value_type IN ('integer', 'numeric') THEN
        IF jsonb_typeof(v) <> 'number' THEN
            PERFORM sp_internal.rule_error(path, format('Expected a number, got %s.', v));
        END IF;
        RETURN format('%L::numeric', v #>> '{}');
    ELSIF value_type = 'boolean' THEN
        IF jsonb_typeof(v) <> 'boolean' THEN
            PERFORM sp_internal.rule_error(path, format('Expected true or false, got %s.', v));
        END IF;
        RETURN v #>> '{}';
    ELSE
        IF jsonb_typeof(v) <> 'string' THEN
            PERFORM sp_internal.rule_error(path, format('Expected a string, got %s.', v));
        END IF;
        IF categories IS NOT NULL AND NOT (v #>> '{}') = ANY (categories) THEN
            PERFORM sp_internal.rule_error(path, format('"%s" is not a category of this variable (%s).',
                                                        v #>> '{}', array_to_string(categories, ', ')));
        END IF;
        RETURN format('%L::text', v #>> '{}');
    END IF;
END
$$;
COMMENT ON FUNCTION sp_internal.rule_literal(jsonb, text, text[], text) IS 'Quotes a condition value as an SQL literal after checking it against the variable type and categories.';

-- {"variable": v, "op": "<", "value": x} or {"variable": v, "in": [x, y]}
CREATE FUNCTION sp_internal.rule_variable_sql(rule jsonb, path text, ctx text, alias text)
    RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v text;
    vt text;
    cats text[];
    expr text;
    op text;
    lits text[] := '{}';
    i integer;
BEGIN
    PERFORM sp_internal.rule_only_keys(rule, path, ARRAY['variable', 'op', 'value', 'in']);
    IF jsonb_typeof(rule -> 'variable') IS DISTINCT FROM 'string' THEN
        PERFORM sp_internal.rule_error(path || '.variable', 'The variable is a string.');
    END IF;
    v := rule ->> 'variable';
    IF ctx = 'household' AND v IN ('household_size', 'children_under_5', 'children_under_15', 'members_over_65',
                                   'disabled_members', 'dependency_ratio', 'share_disabled', 'head_age') THEN
        vt := 'numeric';
        expr := format('%s.%I', alias, v);
    ELSIF ctx = 'household' AND v = 'head_female' THEN
        vt := 'boolean';
        expr := format('%s.%I', alias, v);
    ELSIF ctx = 'household' AND v = 'head_education' THEN
        vt := 'category';
        SELECT c.categories INTO cats FROM sp.variable c WHERE c.code = 'education_level';
        expr := format('%s.%I', alias, v);
    ELSE
        SELECT c.value_type, c.categories INTO vt, cats FROM sp.variable c WHERE c.code = v AND c.entity = ctx;
        IF NOT FOUND THEN
            PERFORM sp_internal.rule_error(path || '.variable',
                format('"%s" is not a %s variable of sp.variable%s.', v, ctx,
                       CASE WHEN ctx = 'household' THEN ' nor a member-derived variable' ELSE '' END));
        END IF;
        IF vt = 'date' THEN
            PERFORM sp_internal.rule_error(path || '.variable',
                format('"%s" is a date variable; conditions on dates are not supported.', v));
        END IF;
        expr := CASE vt WHEN 'integer' THEN format('(%s.attributes ->> %L)::numeric', alias, v)
                        WHEN 'numeric' THEN format('(%s.attributes ->> %L)::numeric', alias, v)
                        WHEN 'boolean' THEN format('(%s.attributes ->> %L)::boolean', alias, v)
                        ELSE format('(%s.attributes ->> %L)', alias, v) END;
    END IF;

    IF rule ? 'in' THEN
        IF rule ? 'op' OR rule ? 'value' THEN
            PERFORM sp_internal.rule_error(path, 'Use either "in" or "op" and "value".');
        END IF;
        IF jsonb_typeof(rule -> 'in') IS DISTINCT FROM 'array' OR jsonb_array_length(rule -> 'in') = 0 THEN
            PERFORM sp_internal.rule_error(path || '.in', '"in" is a non-empty array of values.');
        END IF;
        FOR i IN 0 .. jsonb_array_length(rule -> 'in') - 1 LOOP
            lits := lits || sp_internal.rule_literal(rule -> 'in' -> i, vt, cats, format('%s.in[%s]', path, i));
        END LOOP;
        RETURN format('%s IN (%s)', expr, array_to_string(lits, ', '));
    END IF;
    op := coalesce(rule ->> 'op', '=');
    IF jsonb_typeof(rule -> 'op') NOT IN ('string') AND rule ? 'op' THEN
        PERFORM sp_internal.rule_error(path || '.op', 'The operator is a string.');
    END IF;
    IF op NOT IN ('=', '<>', '<', '<=', '>', '>=') THEN
        PERFORM sp_internal.rule_error(path || '.op', format('Unknown operator "%s"; use =, <>, <, <=, > or >=.', op));
    END IF;
    IF op NOT IN ('=', '<>') AND vt NOT IN ('integer', 'numeric') THEN
        PERFORM sp_internal.rule_error(path || '.op', format('"%s" is a %s variable: only = and <> apply.', v, vt));
    END IF;
    IF NOT rule ? 'value' THEN
        PERFORM sp_internal.rule_error(path || '.value', 'A value is required.');
    END IF;
    RETURN format('%s %s %s', expr, op, sp_internal.rule_literal(rule -> 'value', vt, cats, path || '.value'));
END
$$;
COMMENT ON FUNCTION sp_internal.rule_variable_sql(jsonb, text, text, text) IS 'Compiles a condition on one catalogue or member-derived variable.';

-- The latest assessment of a household under a PMT or MPI model:
-- {"pmt": {"model": m, "below_cutoff": true}} / {"pmt": {"model": m, "op": "<", "value": 40}}
-- {"mpi": {"model": m, "poor": true}} / {"mpi": {"model": m, "op": ">=", "value": 0.5}}
CREATE FUNCTION sp_internal.rule_assessment_sql(rule jsonb, path text, kind text, alias text)
    RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    body jsonb := rule -> kind;
    flag text := CASE kind WHEN 'pmt' THEN 'below_cutoff' ELSE 'poor' END;
    source text;
    op text;
BEGIN
    PERFORM sp_internal.rule_only_keys(rule, path, ARRAY[kind]);
    path := path || '.' || kind;
    IF jsonb_typeof(body) IS DISTINCT FROM 'object' THEN
        PERFORM sp_internal.rule_error(path, format('Expected {"model": ..., "%s": true} or {"model": ..., "op": ..., "value": ...}.', flag));
    END IF;
    PERFORM sp_internal.rule_only_keys(body, path, ARRAY['model', flag, 'op', 'value']);
    IF jsonb_typeof(body -> 'model') IS DISTINCT FROM 'string' THEN
        PERFORM sp_internal.rule_error(path || '.model', 'The model name is a string.');
    END IF;
    IF kind = 'pmt' THEN
        PERFORM 1 FROM sp.pmt_model m WHERE m.name = body ->> 'model';
        source := format('(SELECT a.%%s FROM sp.assessment a WHERE a.household_id = %s.household_id AND a.model = %L '
                         'ORDER BY a.assessed_at DESC, a.assessment_id DESC LIMIT 1)', alias, body ->> 'model');
    ELSE
        PERFORM 1 FROM sp.mpi_model m WHERE m.name = body ->> 'model';
        source := format('(SELECT a.%%s FROM sp.mpi_assessment a WHERE a.household_id = %s.household_id AND a.model = %L '
                         'ORDER BY a.assessed_at DESC, a.mpi_assessment_id DESC LIMIT 1)', alias, body ->> 'model');
    END IF;
    IF NOT FOUND THEN
        PERFORM sp_internal.rule_error(path || '.model', format('There is no %s model "%s".', upper(kind), body ->> 'model'));
    END IF;
    IF body ? flag THEN
        IF body ? 'op' OR body ? 'value' THEN
            PERFORM sp_internal.rule_error(path, format('Use either "%s" or "op" and "value".', flag));
        END IF;
        IF jsonb_typeof(body -> flag) IS DISTINCT FROM 'boolean' THEN
            PERFORM sp_internal.rule_error(path || '.' || flag, 'Expected true or false.');
        END IF;
        RETURN format(source, flag) || ' = ' || (body ->> flag);
    END IF;
    op := body ->> 'op';
    IF op IS NULL OR op NOT IN ('=', '<>', '<', '<=', '>', '>=') THEN
        PERFORM sp_internal.rule_error(path || '.op', format('Expected "%s" or an operator (=, <>, <, <=, >, >=) with a value.', flag));
    END IF;
    RETURN format('%s %s %s', format(source, CASE kind WHEN 'pmt' THEN 'score' ELSE 'deprivation_score' END), op,
                  sp_internal.rule_literal(body -> 'value', 'numeric', NULL, path || '.value'));
END
$$;
COMMENT ON FUNCTION sp_internal.rule_assessment_sql(jsonb, text, text, text) IS 'Compiles a condition on the latest PMT or MPI assessment of a household.';

-- Compiles a condition document into a boolean SQL expression.
--   ctx = 'household': the expression reads alias (a row of sp.household_profile);
--   ctx = 'person':    the expression reads alias (a row of sp.person).
--   allowed: the kinds of condition this use permits, among 'members', 'pmt',
--   'mpi', 'area', 'programme' and 'person' (variables, age, sex, relationship
--   and all/any/not are always allowed in their context).
-- A condition on a missing value is NULL (three-valued logic); callers decide
-- what NULL means (programme rules: not met; MPI: the indicator's missing rule).
CREATE FUNCTION sp_internal.rule_sql(rule jsonb, path text, ctx text, alias text, allowed text[])
    RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k text;
    parts text[] := '{}';
    i integer;
    lo jsonb;
    hi jsonb;
    codes text[];
    states text[];
    c text;
BEGIN
    IF rule IS NULL OR jsonb_typeof(rule) <> 'object' THEN
        PERFORM sp_internal.rule_error(path, 'A condition is a JSON object.');
    END IF;
    IF rule ? 'all' OR rule ? 'any' THEN
        k := CASE WHEN rule ? 'all' THEN 'all' ELSE 'any' END;
        PERFORM sp_internal.rule_only_keys(rule, path, ARRAY[k]);
        IF jsonb_typeof(rule -> k) IS DISTINCT FROM 'array' OR jsonb_array_length(rule -> k) = 0 THEN
            PERFORM sp_internal.rule_error(path || '.' || k, format('"%s" is a non-empty array of conditions.', k));
        END IF;
        FOR i IN 0 .. jsonb_array_length(rule -> k) - 1 LOOP
            parts := parts || ('(' || sp_internal.rule_sql(rule -> k -> i, format('%s.%s[%s]', path, k, i),
                                                          ctx, alias, allowed) || ')');
        END LOOP;
        RETURN array_to_string(parts, CASE k WHEN 'all' THEN ' AND ' ELSE ' OR ' END);
    ELSIF rule ? 'not' THEN
        PERFORM sp_internal.rule_only_keys(rule, path, ARRAY['not']);
        RETURN 'NOT (' || sp_internal.rule_sql(rule -> 'not', path || '.not', ctx, alias, allowed) || ')';
    ELSIF rule ? 'variable' THEN
        RETURN sp_internal.rule_variable_sql(rule, path, ctx, alias);
    END IF;

    IF ctx = 'person' THEN
        IF rule ? 'age' THEN
            PERFORM sp_internal.rule_only_keys(rule, path, ARRAY['age']);
            lo := rule -> 'age' -> 'min';
            hi := rule -> 'age' -> 'max';
            IF jsonb_typeof(rule -> 'age') IS DISTINCT FROM 'object' OR (lo IS NULL AND hi IS NULL) THEN
                PERFORM sp_internal.rule_error(path || '.age', 'Expected {"min": years, "max": years} (both inclusive, either may be left out).');
            END IF;
            PERFORM sp_internal.rule_only_keys(rule -> 'age', path || '.age', ARRAY['min', 'max']);
            c := format('date_part(''year'', age(current_date, %s.birth_date))', alias);
            IF lo IS NOT NULL THEN
                parts := parts || format('%s >= %s', c, sp_internal.rule_literal(lo, 'numeric', NULL, path || '.age.min'));
            END IF;
            IF hi IS NOT NULL THEN
                parts := parts || format('%s <= %s', c, sp_internal.rule_literal(hi, 'numeric', NULL, path || '.age.max'));
            END IF;
            RETURN array_to_string(parts, ' AND ');
        ELSIF rule ? 'sex' OR rule ? 'relationship' THEN
            k := CASE WHEN rule ? 'sex' THEN 'sex' ELSE 'relationship' END;
            PERFORM sp_internal.rule_only_keys(rule, path, ARRAY[k]);
            IF jsonb_typeof(rule -> k) = 'string' THEN
                codes := ARRAY[rule ->> k];
            ELSIF jsonb_typeof(rule -> k) = 'array' AND jsonb_array_length(rule -> k) > 0
                  AND NOT jsonb_path_exists(rule -> k, '$[*] ? (@.type() != "string")') THEN
                codes := ARRAY(SELECT jsonb_array_elements_text(rule -> k));
            ELSE
                PERFORM sp_internal.rule_error(path || '.' || k, 'Expected a string or a non-empty array of strings.');
            END IF;
            FOREACH c IN ARRAY codes LOOP
                IF k = 'sex' AND c NOT IN ('M', 'F', 'X') THEN
                    PERFORM sp_internal.rule_error(path || '.sex', format('"%s" is not a sex code (M, F, X).', c));
                ELSIF k = 'relationship' AND NOT EXISTS (SELECT 1 FROM sp.relationship_type t WHERE t.code = c) THEN
                    PERFORM sp_internal.rule_error(path || '.relationship', format('"%s" is not in sp.relationship_type.', c));
                END IF;
            END LOOP;
            RETURN format('%s.%s = ANY (%L::text[])', alias, CASE k WHEN 'sex' THEN 'sex' ELSE 'relationship_to_head' END, codes);
        END IF;
        PERFORM sp_internal.rule_error(path, format('Unknown person condition with keys %s; expected variable, age, sex, relationship, all, any or not.',
                                                    (SELECT string_agg(x, ', ') FROM jsonb_object_keys(rule) x)));
    END IF;

    -- household context
    IF rule ? 'members' AND 'members' = ANY (allowed) THEN
        PERFORM sp_internal.rule_only_keys(rule, path, ARRAY['members', 'min', 'max']);
        IF rule ? 'min' THEN
            lo := rule -> 'min';
            IF jsonb_typeof(lo) IS DISTINCT FROM 'number' OR (lo #>> '{}')::numeric < 0 THEN
                PERFORM sp_internal.rule_error(path || '.min', 'Expected a count of members, 0 or more.');
            END IF;
        END IF;
        IF rule ? 'max' THEN
            hi := rule -> 'max';
            IF jsonb_typeof(hi) IS DISTINCT FROM 'number' OR (hi #>> '{}')::numeric < 0 THEN
                PERFORM sp_internal.rule_error(path || '.max', 'Expected a count of members, 0 or more.');
            END IF;
        END IF;
        -- the count is a column of the member aggregate that callers join as mq
        -- (sp_internal.rule_member_join): one pass over sp.person for all households
        c := format('coalesce(mq.%I, 0)',
                    'm_' || md5(sp_internal.rule_sql(rule -> 'members', path || '.members', 'person', 'm', allowed)));
        IF hi IS NULL THEN
            RETURN format('%s >= %L', c, coalesce(lo #>> '{}', '1'));
        ELSIF lo IS NULL THEN
            RETURN format('%s <= %L', c, hi #>> '{}');
        END IF;
        RETURN format('%s BETWEEN %L AND %L', c, lo #>> '{}', hi #>> '{}');
    ELSIF (rule ? 'pmt' AND 'pmt' = ANY (allowed)) OR (rule ? 'mpi' AND 'mpi' = ANY (allowed)) THEN
        RETURN sp_internal.rule_assessment_sql(rule, path, CASE WHEN rule ? 'pmt' THEN 'pmt' ELSE 'mpi' END, alias);
    ELSIF rule ? 'area' AND 'area' = ANY (allowed) THEN
        PERFORM sp_internal.rule_only_keys(rule, path, ARRAY['area']);
        IF jsonb_typeof(rule -> 'area') = 'string' THEN
            codes := ARRAY[rule ->> 'area'];
        ELSIF jsonb_typeof(rule -> 'area') = 'array' AND jsonb_array_length(rule -> 'area') > 0
              AND NOT jsonb_path_exists(rule -> 'area', '$[*] ? (@.type() != "string")') THEN
            codes := ARRAY(SELECT jsonb_array_elements_text(rule -> 'area'));
        ELSE
            PERFORM sp_internal.rule_error(path || '.area', 'Expected a P-code or a non-empty array of P-codes.');
        END IF;
        FOREACH c IN ARRAY codes LOOP
            IF NOT EXISTS (SELECT 1 FROM sp.admin_area a WHERE a.code = c) THEN
                PERFORM sp_internal.rule_error(path || '.area', format('"%s" is not in sp.admin_area.', c));
            END IF;
        END LOOP;
        -- the subtrees are expanded when the rule is compiled, i.e. at every run
        RETURN format('%s.admin_area_code = ANY (%L::text[])', alias,
                      ARRAY(SELECT DISTINCT t.code FROM unnest(codes) r(code), sp.admin_area_subtree(r.code) t ORDER BY 1));
    ELSIF rule ? 'programme' AND 'programme' = ANY (allowed) THEN
        PERFORM sp_internal.rule_only_keys(rule, path, ARRAY['programme', 'states']);
        IF jsonb_typeof(rule -> 'programme') IS DISTINCT FROM 'string' THEN
            PERFORM sp_internal.rule_error(path || '.programme', 'The programme name is a string.');
        END IF;
        IF NOT EXISTS (SELECT 1 FROM sp.programme g WHERE g.name = rule_sql.rule ->> 'programme') THEN
            PERFORM sp_internal.rule_error(path || '.programme', format('There is no programme "%s".', rule ->> 'programme'));
        END IF;
        states := ARRAY['enrolled', 'suspended'];
        IF rule ? 'states' THEN
            IF jsonb_typeof(rule -> 'states') IS DISTINCT FROM 'array' OR jsonb_array_length(rule -> 'states') = 0
               OR jsonb_path_exists(rule -> 'states', '$[*] ? (@.type() != "string")') THEN
                PERFORM sp_internal.rule_error(path || '.states', 'Expected a non-empty array of enrolment states.');
            END IF;
            states := ARRAY(SELECT jsonb_array_elements_text(rule -> 'states'));
            FOREACH c IN ARRAY states LOOP
                IF c NOT IN ('eligible', 'waitlisted', 'enrolled', 'suspended', 'exited') THEN
                    PERFORM sp_internal.rule_error(path || '.states',
                        format('"%s" is not an enrolment state (eligible, waitlisted, enrolled, suspended, exited).', c));
                END IF;
            END LOOP;
        END IF;
        RETURN format('EXISTS (SELECT 1 FROM sp.enrolment e WHERE e.programme = %L AND e.household_id = %s.household_id AND e.state = ANY (%L::text[]))',
                      rule ->> 'programme', alias, states);
    ELSIF rule ? 'person' AND 'person' = ANY (allowed) THEN
        PERFORM sp_internal.rule_only_keys(rule, path, ARRAY['person']);
        RETURN sp_internal.rule_sql(rule -> 'person', path || '.person', 'person', 'u', allowed);
    END IF;
    PERFORM sp_internal.rule_error(path, format('Unknown condition with keys %s; allowed here: variable, %s, all, any, not.',
                                                (SELECT string_agg(x, ', ') FROM jsonb_object_keys(rule) x),
                                                array_to_string(allowed, ', ')));
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION sp_internal.rule_sql(jsonb, text, text, text, text[]) IS 'Compiles a validated condition document (docs/targeting.md) into a boolean SQL expression; raises 22023 naming the path of the first fault.';

-- The member conditions of condition documents, as compiled by rule_sql
-- (validated documents only: this walk does not check them again).
CREATE FUNCTION sp_internal.rule_members(rule jsonb)
    RETURNS TABLE (key text, person_sql text)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k text;
    i integer;
BEGIN
    IF jsonb_typeof(rule) IS DISTINCT FROM 'object' THEN
        RETURN;
    END IF;
    IF rule ? 'all' OR rule ? 'any' THEN
        k := CASE WHEN rule ? 'all' THEN 'all' ELSE 'any' END;
        FOR i IN 0 .. jsonb_array_length(rule -> k) - 1 LOOP
            RETURN QUERY SELECT * FROM sp_internal.rule_members(rule -> k -> i);
        END LOOP;
    ELSIF rule ? 'not' THEN
        RETURN QUERY SELECT * FROM sp_internal.rule_members(rule -> 'not');
    ELSIF rule ? 'members' THEN
        person_sql := sp_internal.rule_sql(rule -> 'members', 'members', 'person', 'm', '{}');
        key := 'm_' || md5(person_sql);
        RETURN NEXT;
    END IF;
END
$$;
COMMENT ON FUNCTION sp_internal.rule_members(jsonb) IS 'The member conditions ("members") of a validated condition document, compiled, each with the column name rule_sql uses for its count.';

-- The join that provides the member counts (mq) compiled conditions read:
-- one GROUP BY over sp.person, with a count per distinct member condition.
CREATE FUNCTION sp_internal.rule_member_join(rules jsonb[])
    RETURNS text
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN count(*) = 0 THEN ''
           ELSE format('LEFT JOIN (SELECT m.household_id, %s FROM sp.person m GROUP BY m.household_id) mq '
                       'ON mq.household_id = hp.household_id ',
                       string_agg(format('count(*) FILTER (WHERE m.status = ''active'' AND (%s)) AS %I', d.person_sql, d.key),
                                  ', ' ORDER BY d.key))
           END
    FROM (SELECT DISTINCT x.key, x.person_sql FROM unnest(rules) r, sp_internal.rule_members(r) x) d
$$;
COMMENT ON FUNCTION sp_internal.rule_member_join(jsonb[]) IS 'SQL joining, as mq, the per-household counts of members meeting each member condition of some validated condition documents.';
