-- Changes to registered households and persons.  Every change goes through
-- UPDATE, so the history triggers keep the previous version with the reason.

-- Validates the reason and makes it the transaction's change reason; returns
-- the previous setting so the caller can restore it.
CREATE FUNCTION sp_internal.require_reason(reason text, detail text)
    RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF reason IS NULL OR btrim(reason) = '' THEN
        RAISE EXCEPTION 'reason is required' USING ERRCODE = 'invalid_parameter_value', DETAIL = detail;
    END IF;
    -- reasons are stored with every decision: bounded like the change reason
    IF length(reason) > 1000 THEN
        RAISE EXCEPTION 'reason longer than 1000 characters' USING ERRCODE = 'string_data_right_truncation';
    END IF;
END
$$;
COMMENT ON FUNCTION sp_internal.require_reason(text, text) IS 'Raises 22023 "reason is required" with the given detail when a reason is missing or blank, 22001 when it is longer than 1000 characters.';

CREATE FUNCTION sp_internal.begin_change(reason text)
    RETURNS text
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    previous text := current_setting('sp_registry.change_reason', true);
BEGIN
    PERFORM sp_internal.require_reason(reason, 'Every change to the registry records why it was made.');
    IF length(reason) > 1000 THEN
        RAISE EXCEPTION 'reason longer than 1000 characters' USING ERRCODE = 'string_data_right_truncation';
    END IF;
    PERFORM set_config('sp_registry.change_reason', reason, true);
    RETURN coalesce(previous, '');
END
$$;
COMMENT ON FUNCTION sp_internal.begin_change(text) IS 'Checks a change reason and sets sp_registry.change_reason for the transaction; returns the previous value.';

CREATE FUNCTION sp_internal.end_change(previous text)
    RETURNS void
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$ SELECT set_config('sp_registry.change_reason', previous, true) $$;
COMMENT ON FUNCTION sp_internal.end_change(text) IS 'Restores the change reason saved by sp_internal.begin_change.';

CREATE FUNCTION sp_internal.check_version(what text, id bigint, current_version integer, expected_version integer)
    RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF current_version IS NULL THEN
        RAISE EXCEPTION '% % does not exist', what, id USING ERRCODE = 'no_data_found';
    END IF;
    IF expected_version IS NOT NULL AND expected_version <> current_version THEN
        RAISE EXCEPTION '% % was changed by someone else', what, id
            USING ERRCODE = 'serialization_failure',
                  DETAIL = format('It is at version %s; the change was made against version %s.', current_version, expected_version),
                  HINT = 'Read it again and reapply the change.';
    END IF;
END
$$;
COMMENT ON FUNCTION sp_internal.check_version(text, bigint, integer, integer) IS 'Raises no_data_found for a missing row and serialization_failure when expected_version is stale.';

-- Merge an attributes patch: keys with JSON null are removed.
CREATE FUNCTION sp_internal.merge_attributes(old jsonb, patch jsonb)
    RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$ SELECT jsonb_strip_nulls(coalesce(old, '{}') || coalesce(patch, '{}')) $$;
COMMENT ON FUNCTION sp_internal.merge_attributes(jsonb, jsonb) IS 'old || patch with null-valued keys removed.';

CREATE FUNCTION sp.update_household(household_id bigint, patch jsonb, reason text,
                                    expected_version integer DEFAULT NULL)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    h sp.household;
    p sp_internal.problem;
    k text;
    previous text;
BEGIN
    IF patch IS NULL OR jsonb_typeof(patch) <> 'object' THEN
        RAISE EXCEPTION 'patch must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT e.key INTO k FROM jsonb_object_keys(patch) e(key)
    WHERE e.key NOT IN ('admin_area_code', 'location', 'attributes') ORDER BY 1 LIMIT 1;
    IF k IS NOT NULL THEN
        PERFORM sp_internal.raise_problem(('22023', left(k, 64), 'field cannot be changed with sp.update_household')::sp_internal.problem, 'change');
    END IF;
    IF patch ? 'admin_area_code' AND jsonb_typeof(patch -> 'admin_area_code') = 'null' THEN
        PERFORM sp_internal.raise_problem(('23502', 'admin_area_code', 'admin_area_code cannot be removed')::sp_internal.problem, 'change');
    END IF;
    p := sp_internal.household_fields_problem(patch, true);
    IF p.sqlstate IS NOT NULL THEN
        PERFORM sp_internal.raise_problem(p, 'change');
    END IF;

    PERFORM sp_internal.household_area_in_scope(update_household.household_id);
    IF jsonb_typeof(patch -> 'admin_area_code') = 'string' THEN
        PERFORM sp_internal.require_area_scope(patch ->> 'admin_area_code', 'Moving a household');
    END IF;
    SELECT * INTO h FROM sp.household x WHERE x.household_id = update_household.household_id FOR UPDATE;
    PERFORM sp_internal.check_version('household', update_household.household_id, h.version, expected_version);

    previous := sp_internal.begin_change(reason);
    UPDATE sp.household x SET
        admin_area_code = coalesce(patch ->> 'admin_area_code', x.admin_area_code),
        location = CASE WHEN patch ? 'location' THEN sp_internal.location_point(patch -> 'location')
                        ELSE x.location END,
        attributes = CASE WHEN patch ? 'attributes'
                          THEN sp_internal.merge_attributes(x.attributes, patch -> 'attributes')
                          ELSE x.attributes END
    WHERE x.household_id = update_household.household_id
    RETURNING * INTO h;
    PERFORM sp_internal.end_change(previous);
    RETURN jsonb_build_object('household_id', h.household_id, 'version', h.version);
END
$$;
COMMENT ON FUNCTION sp.update_household(bigint, jsonb, text, integer) IS
'Changes admin_area_code, location and/or attributes of a household (attributes are merged; a null value removes a key). The previous version goes to sp.household_history with the reason. expected_version guards against lost updates (40001 when stale). Returns {"household_id", "version"}.';

-- Status changes of households and persons share one path: lock, check,
-- update with the reason.  merged is reserved for deduplication.
CREATE FUNCTION sp_internal.change_status(entity text, id bigint, new_status text, reason text, allowed text[])
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tbl regclass := CASE entity WHEN 'household' THEN 'sp.household'::regclass ELSE 'sp.person'::regclass END;
    v integer;
    previous text;
BEGIN
    IF new_status IS NULL OR NOT new_status = ANY (allowed) THEN
        RAISE EXCEPTION '% status must be %, got "%"', entity, array_to_string(allowed, ' or '), left(new_status, 64)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'Status merged is set by deduplication only.';
    END IF;
    IF entity = 'household' THEN
        PERFORM sp_internal.household_area_in_scope(id);
    ELSE
        PERFORM sp_internal.person_household_in_scope(id);
    END IF;
    EXECUTE format('SELECT version FROM %s WHERE %I = $1 FOR UPDATE', tbl, entity || '_id') INTO v USING id;
    PERFORM sp_internal.check_version(entity, id, v, NULL);
    previous := sp_internal.begin_change(reason);
    EXECUTE format('UPDATE %s SET status = $2 WHERE %I = $1 RETURNING version', tbl, entity || '_id')
        INTO v USING id, new_status;
    PERFORM sp_internal.end_change(previous);
    RETURN jsonb_build_object(entity || '_id', id, 'status', new_status, 'version', v);
END
$$;
COMMENT ON FUNCTION sp_internal.change_status(text, bigint, text, text, text[]) IS 'Sets the status of a household or person with a reason, keeping the previous version.';

CREATE FUNCTION sp.set_household_status(household_id bigint, status text, reason text)
    RETURNS jsonb
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$ SELECT sp_internal.change_status('household', household_id, status, reason, ARRAY['active', 'inactive']) $$;
COMMENT ON FUNCTION sp.set_household_status(bigint, text, text) IS 'Marks a household active or inactive (e.g. moved away, dissolved), keeping the previous version with the reason.';

CREATE FUNCTION sp.update_person(person_id bigint, patch jsonb, reason text,
                                 expected_version integer DEFAULT NULL)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    x sp.person;
    p sp_internal.problem;
    d record;
    nid_enc bytea;
    nid_hash bytea;
    phone_enc bytea;
    phone_hash bytea;
    previous text;
BEGIN
    IF patch IS NULL OR jsonb_typeof(patch) <> 'object' THEN
        RAISE EXCEPTION 'patch must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF jsonb_typeof(patch -> 'relationship_to_head') = 'null' THEN
        PERFORM sp_internal.raise_problem(('23502', 'relationship_to_head', 'relationship_to_head cannot be removed')::sp_internal.problem, 'change');
    END IF;
    p := sp_internal.member_problem(patch, '', true);
    IF p.sqlstate IS NOT NULL THEN
        PERFORM sp_internal.raise_problem(p, 'change');
    END IF;

    PERFORM sp_internal.person_household_in_scope(update_person.person_id);
    -- Only the columns a registrar may read: identifiers are written, never read here.
    SELECT t.person_id, t.household_id, t.given_name, t.family_name, t.other_names, t.birth_date,
           t.birth_date_precision, t.sex, t.relationship_to_head, t.attributes, t.version
    INTO x.person_id, x.household_id, x.given_name, x.family_name, x.other_names, x.birth_date,
         x.birth_date_precision, x.sex, x.relationship_to_head, x.attributes, x.version
    FROM sp.person t WHERE t.person_id = update_person.person_id FOR UPDATE;
    PERFORM sp_internal.check_version('person', update_person.person_id, x.version, expected_version);

    IF patch ->> 'relationship_to_head' = 'head' AND x.relationship_to_head <> 'head' AND EXISTS (
        SELECT 1 FROM sp.person t WHERE t.household_id = x.household_id AND t.relationship_to_head = 'head'
           AND t.status = 'active' AND t.person_id <> x.person_id) THEN
        PERFORM sp_internal.raise_problem(('23505', 'relationship_to_head',
            'the household already has an active head; change that member first')::sp_internal.problem, 'change');
    END IF;

    IF patch ? 'given_name' THEN x.given_name := btrim(patch ->> 'given_name'); END IF;
    IF patch ? 'family_name' THEN x.family_name := btrim(patch ->> 'family_name'); END IF;
    IF patch ? 'other_names' THEN x.other_names := btrim(patch ->> 'other_names'); END IF;
    IF x.given_name IS NULL AND x.family_name IS NULL THEN
        PERFORM sp_internal.raise_problem(('23502', 'given_name', 'a person needs a given_name or a family_name')::sp_internal.problem, 'change');
    END IF;
    IF patch ? 'birth_date' THEN
        SELECT * INTO d FROM sp.parse_birth_date(patch ->> 'birth_date');
        x.birth_date := d.birth_date;
        x.birth_date_precision := d.birth_date_precision;
    END IF;
    IF patch ? 'sex' THEN x.sex := patch ->> 'sex'; END IF;
    IF patch ? 'relationship_to_head' THEN x.relationship_to_head := patch ->> 'relationship_to_head'; END IF;
    IF patch ?| ARRAY['national_id', 'phone'] THEN
        SELECT pr.national_id_enc, pr.national_id_hash, pr.phone_enc, pr.phone_hash
        INTO nid_enc, nid_hash, phone_enc, phone_hash
        FROM sp_internal.protect_identifiers(ARRAY[x.person_id], ARRAY[patch]) pr;
    END IF;
    IF patch ? 'attributes' THEN
        x.attributes := sp_internal.merge_attributes(x.attributes, patch -> 'attributes');
    END IF;

    -- One UPDATE, so one history row; identifier columns are set only when
    -- the patch names them (setting them to themselves would need to read them).
    previous := sp_internal.begin_change(reason);
    EXECUTE format('UPDATE sp.person SET given_name = $1, family_name = $2, other_names = $3, birth_date = $4,
                           birth_date_precision = $5, sex = $6, relationship_to_head = $7, attributes = $8 %s %s
                    WHERE person_id = $9 RETURNING version',
                   CASE WHEN patch ? 'national_id' THEN ', national_id_enc = $10, national_id_hash = $11' ELSE '' END,
                   CASE WHEN patch ? 'phone' THEN ', phone_enc = $12, phone_hash = $13' ELSE '' END)
    INTO x.version
    USING x.given_name, x.family_name, x.other_names, x.birth_date, x.birth_date_precision, x.sex,
          x.relationship_to_head, x.attributes, x.person_id,
          nid_enc, nid_hash, phone_enc, phone_hash;
    IF patch ? 'consent' THEN
        PERFORM sp_internal.record_member_consents(ARRAY[x.person_id], ARRAY[patch], 'correction', reason);
    END IF;
    PERFORM sp_internal.end_change(previous);
    RETURN jsonb_build_object('person_id', x.person_id, 'version', x.version);
END
$$;
COMMENT ON FUNCTION sp.update_person(bigint, jsonb, text, integer) IS
'Corrects a person: any member field of the registration document (docs/api.md); a JSON null clears it, attributes are merged. The previous version goes to sp.person_history with the reason. expected_version guards against lost updates. Returns {"person_id", "version"}.';

CREATE FUNCTION sp.set_person_status(person_id bigint, status text, reason text)
    RETURNS jsonb
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$ SELECT sp_internal.change_status('person', person_id, status, reason, ARRAY['active', 'deceased']) $$;
COMMENT ON FUNCTION sp.set_person_status(bigint, text, text) IS 'Marks a person active or deceased, keeping the previous version with the reason. Persons are never deleted.';

CREATE FUNCTION sp.add_member(household_id bigint, member jsonb)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p sp_internal.problem;
    pid bigint;
BEGIN
    p := sp_internal.member_problem(member, 'member', false);
    IF p.sqlstate IS NOT NULL THEN
        PERFORM sp_internal.raise_problem(p, 'new member');
    END IF;
    PERFORM sp_internal.household_area_in_scope(add_member.household_id);
    PERFORM 1 FROM sp.household h WHERE h.household_id = add_member.household_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'household % does not exist', add_member.household_id USING ERRCODE = 'no_data_found';
    END IF;
    -- the same cap as registration: a household is not a place to park thousands of persons
    IF (SELECT count(*) FROM sp.person t WHERE t.household_id = add_member.household_id AND t.status <> 'merged') >= 100 THEN
        PERFORM sp_internal.raise_problem(('22023', 'member', 'a household may have at most 100 members; this one has 100')::sp_internal.problem, 'new member');
    END IF;
    IF member ->> 'relationship_to_head' = 'head' AND EXISTS (
        SELECT 1 FROM sp.person t WHERE t.household_id = add_member.household_id
           AND t.relationship_to_head = 'head' AND t.status = 'active') THEN
        PERFORM sp_internal.raise_problem(('23505', 'member.relationship_to_head',
            'the household already has an active head')::sp_internal.problem, 'new member');
    END IF;
    pid := nextval('sp.person_person_id_seq');
    PERFORM sp_internal.insert_members(ARRAY[add_member.household_id], ARRAY[pid], ARRAY[member]);
    RETURN jsonb_build_object('household_id', add_member.household_id, 'person_id', pid);
END
$$;
COMMENT ON FUNCTION sp.add_member(bigint, jsonb) IS 'Adds a member (birth, marriage, someone moving in) to a registered household; the member object is validated like in registration. Returns {"household_id", "person_id"}.';
