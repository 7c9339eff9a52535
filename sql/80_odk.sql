-- Offline form sync (issue 15): submissions of ODK Collect / KoboToolbox
-- style forms, mapped to the registration document by a form mapping an
-- administrator configures.  meta/instanceID is the idempotency key (a resend
-- gets the first answer); meta/deprecatedID marks an edit of an earlier
-- submission, applied only when neither the household nor any of its mapped
-- members changed since that submission was applied: otherwise the edit is a
-- conflict, reported back and kept, never a silent overwrite.  The device's
-- time (the form's end, else start) and the server's receipt time are both
-- kept.

CREATE TABLE sp.form_mapping (
    form_id     text PRIMARY KEY CHECK (form_id ~ '^[A-Za-z][A-Za-z0-9_.-]{0,99}$'),
    title       text,
    mapping     jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  text NOT NULL DEFAULT sp_internal.caller()
);
COMMENT ON TABLE sp.form_mapping IS 'How the fields of an offline form (ODK/KoboToolbox) map to the registration document: paths of admin_area_code, location (an ODK geopoint), device_time, household attributes, the members'' repeat group and their fields, and value maps (e.g. sex "female" -> "F"). Written with sp.set_form_mapping; every version is kept in sp.form_mapping_history.';

CREATE TABLE sp.form_mapping_history (
    history_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    form_id     text NOT NULL,
    title       text,
    mapping     jsonb NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT now(),
    changed_by  text NOT NULL DEFAULT sp_internal.caller()
);
COMMENT ON TABLE sp.form_mapping_history IS 'Every version of every form mapping, with who set it and when.';
CREATE TRIGGER form_mapping_history_append_only BEFORE UPDATE OR DELETE ON sp.form_mapping_history
    FOR EACH ROW EXECUTE FUNCTION sp_internal.history_is_append_only();

CREATE TABLE sp.form_submission (
    instance_id      text PRIMARY KEY,
    form_id          text NOT NULL,
    form_version     text,
    deprecated_id    text,
    status           text NOT NULL CHECK (status IN ('applied', 'conflict')),
    household_id     bigint,
    person_ids       bigint[] NOT NULL DEFAULT '{}',
    -- the versions the household and each mapped member had once this
    -- submission was applied: what a later edit of it must still find
    household_version integer,
    person_versions  integer[] NOT NULL DEFAULT '{}',
    outcome          jsonb NOT NULL,
    -- keyed fingerprint of the submission (server metadata "_..." left out):
    -- the same instanceID with other content is refused
    fingerprint      bytea,
    fingerprint_key  integer,
    device_time      timestamptz,
    received_at      timestamptz NOT NULL DEFAULT now(),
    received_by      text NOT NULL DEFAULT sp_internal.caller()
);
CREATE INDEX form_submission_household_idx ON sp.form_submission (household_id);
CREATE INDEX form_submission_deprecated_idx ON sp.form_submission (deprecated_id);
COMMENT ON TABLE sp.form_submission IS 'Offline form submissions received (sp.submit_form), by their instanceID: applied (a registration or an edit) or conflict (an edit of a version that has since changed, or of a submission not received). The answer given is kept and given again to a resend. No personal data: the document itself is not kept here (a registration''s is in the registry).';
COMMENT ON COLUMN sp.form_submission.device_time IS 'When the device says the form was completed (its end field, else start); may be days before received_at when the device was offline.';
COMMENT ON COLUMN sp.form_submission.household_version IS 'The household''s version once this submission was applied: an edit of this submission is applied only if the household still has it.';

-- ---------------------------------------------------------------------------
-- Reading submissions

-- A field of a submission by its path "group/sub/field": a key with the
-- whole path (KoboToolbox's flat JSON), else nested objects (ODK Central),
-- else, in a repeat instance, the last segment alone.
CREATE FUNCTION sp_internal.form_value(doc jsonb, path text)
    RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN jsonb_typeof(doc) <> 'object' OR path IS NULL THEN NULL
                ELSE coalesce(doc -> path, doc #> string_to_array(path, '/'), doc -> regexp_replace(path, '^.*/', '')) END
$$;
COMMENT ON FUNCTION sp_internal.form_value(jsonb, text) IS 'A submission field by path: the flat key "a/b/c" (KoboToolbox), the nested a -> b -> c (ODK Central), or the last segment (inside a repeat instance).';

-- A form answer as the JSON value a catalogue variable takes (forms send
-- numbers and yes/no as text); "" and null are "not answered".
CREATE FUNCTION sp_internal.form_answer(v jsonb, value_type text)
    RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
        WHEN v IS NULL OR jsonb_typeof(v) = 'null' OR v = '""' THEN 'null'::jsonb
        WHEN value_type IN ('integer', 'numeric') AND jsonb_typeof(v) = 'string'
             AND v #>> '{}' ~ '^\s*-?[0-9]{1,15}(\.[0-9]{1,15})?\s*$' THEN to_jsonb((v #>> '{}')::numeric)
        WHEN value_type = 'boolean' AND jsonb_typeof(v) = 'string' AND lower(v #>> '{}') IN ('yes', 'true', '1') THEN 'true'::jsonb
        WHEN value_type = 'boolean' AND jsonb_typeof(v) = 'string' AND lower(v #>> '{}') IN ('no', 'false', '0') THEN 'false'::jsonb
        ELSE v END
$$;
COMMENT ON FUNCTION sp_internal.form_answer(jsonb, text) IS 'A form''s answer as the value a catalogue variable of that type takes: numbers and yes/no sent as text converted, "" as not answered (null); anything else unchanged (validation then says what is wrong).';

-- A mapped value through the mapping's value map for that field, if any.
CREATE FUNCTION sp_internal.form_mapped(v jsonb, value_map jsonb)
    RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN v IS NULL OR jsonb_typeof(v) = 'null' OR v = '""' THEN NULL
                WHEN jsonb_typeof(value_map) = 'object' AND value_map ? (v #>> '{}') THEN value_map -> (v #>> '{}')
                ELSE v END
$$;
COMMENT ON FUNCTION sp_internal.form_mapped(jsonb, jsonb) IS 'A form value through a value map ({"female": "F"}); unmapped values pass unchanged, "" and null are absent (NULL).';

CREATE FUNCTION sp_internal.form_mapping_problem(m jsonb)
    RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k text;
    v jsonb;
BEGIN
    IF jsonb_typeof(m) IS DISTINCT FROM 'object' THEN
        RETURN 'the mapping is a JSON object';
    END IF;
    SELECT e.key INTO k FROM jsonb_object_keys(m) e (key)
    WHERE e.key NOT IN ('admin_area_code', 'location', 'device_time', 'attributes', 'members', 'values') LIMIT 1;
    IF k IS NOT NULL THEN
        RETURN pg_catalog.format('unknown key "%s" (admin_area_code, location, device_time, attributes, members, values)', left(k, 64));
    END IF;
    FOR k, v IN SELECT e.key, e.value FROM jsonb_each(m) e WHERE e.key IN ('admin_area_code', 'location', 'device_time') LOOP
        IF jsonb_typeof(v) <> 'string' THEN
            RETURN pg_catalog.format('%s is the path of a form field (a string)', k);
        END IF;
    END LOOP;
    IF m ? 'attributes' THEN
        IF jsonb_typeof(m -> 'attributes') <> 'object' OR EXISTS (SELECT 1 FROM jsonb_each(m -> 'attributes') e WHERE jsonb_typeof(e.value) <> 'string') THEN
            RETURN 'attributes maps variable codes to form field paths: {"rooms": "dwelling/rooms"}';
        END IF;
        SELECT e.key INTO k FROM jsonb_object_keys(m -> 'attributes') e (key)
        WHERE NOT EXISTS (SELECT 1 FROM sp.variable x WHERE x.code = e.key AND x.entity = 'household') LIMIT 1;
        IF k IS NOT NULL THEN
            RETURN pg_catalog.format('attributes: "%s" is not a household variable of the catalogue', left(k, 64));
        END IF;
    END IF;
    IF m ? 'values' AND (jsonb_typeof(m -> 'values') <> 'object'
                         OR EXISTS (SELECT 1 FROM jsonb_each(m -> 'values') e WHERE jsonb_typeof(e.value) <> 'object')) THEN
        RETURN 'values maps a document field to a map of form values: {"sex": {"female": "F", "male": "M"}}';
    END IF;
    IF NOT m ? 'members' OR jsonb_typeof(m -> 'members') <> 'object' OR jsonb_typeof(m #> '{members,repeat}') <> 'string'
       OR jsonb_typeof(m #> '{members,fields}') <> 'object' THEN
        RETURN 'members is {"repeat": path of the repeat group, "fields": {member key: path}, "attributes": {variable: path}}';
    END IF;
    SELECT e.key INTO k FROM jsonb_each(m #> '{members,fields}') e
    WHERE e.key NOT IN ('given_name', 'family_name', 'other_names', 'birth_date', 'sex', 'relationship_to_head', 'national_id', 'phone')
       OR jsonb_typeof(e.value) <> 'string' LIMIT 1;
    IF k IS NOT NULL THEN
        RETURN pg_catalog.format('members.fields: "%s" is not a member field (given_name, family_name, other_names, birth_date, sex, relationship_to_head, national_id, phone) mapped to a path', left(k, 64));
    END IF;
    IF NOT (m #> '{members,fields}') ? 'relationship_to_head' THEN
        RETURN 'members.fields must map relationship_to_head';
    END IF;
    IF (m -> 'members') ? 'attributes' THEN
        IF jsonb_typeof(m #> '{members,attributes}') <> 'object' OR EXISTS (SELECT 1 FROM jsonb_each(m #> '{members,attributes}') e WHERE jsonb_typeof(e.value) <> 'string') THEN
            RETURN 'members.attributes maps variable codes to paths';
        END IF;
        SELECT e.key INTO k FROM jsonb_object_keys(m #> '{members,attributes}') e (key)
        WHERE NOT EXISTS (SELECT 1 FROM sp.variable x WHERE x.code = e.key AND x.entity = 'person') LIMIT 1;
        IF k IS NOT NULL THEN
            RETURN pg_catalog.format('members.attributes: "%s" is not a person variable of the catalogue', left(k, 64));
        END IF;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION sp_internal.form_mapping_problem(jsonb) IS 'What is wrong with a form mapping, or NULL.';

CREATE FUNCTION sp.set_form_mapping(form_id text, mapping jsonb, title text DEFAULT NULL)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    problem text;
    f sp.form_mapping;
BEGIN
    PERFORM sp_internal.require_national_scope('setting form mappings');
    IF form_id IS NULL OR form_id !~ '^[A-Za-z][A-Za-z0-9_.-]{0,99}$' THEN
        RAISE EXCEPTION 'form_id must be a letter, then up to 99 letters, digits, _ . or -'
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'form_id';
    END IF;
    problem := sp_internal.form_mapping_problem(mapping);
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION 'mapping: %', problem USING ERRCODE = 'invalid_parameter_value', COLUMN = 'mapping';
    END IF;
    INSERT INTO sp.form_mapping AS x (form_id, title, mapping) VALUES (form_id, left(title, 200), mapping)
    ON CONFLICT ON CONSTRAINT form_mapping_pkey DO UPDATE
        SET title = excluded.title, mapping = excluded.mapping, updated_at = now(), updated_by = sp_internal.caller()
    RETURNING * INTO f;
    INSERT INTO sp.form_mapping_history (form_id, title, mapping) VALUES (f.form_id, f.title, f.mapping);
    RETURN to_jsonb(f);
END
$$;
COMMENT ON FUNCTION sp.set_form_mapping(text, jsonb, text) IS 'Creates or replaces the mapping of an offline form to the registration document (checked: known keys, paths, catalogue variables); the previous version stays in sp.form_mapping_history. National administrators.';

-- The catalogue attributes a mapping names ({"rooms": "dwelling/rooms"}),
-- read from a submission or a repeat instance, typed by the catalogue.
CREATE FUNCTION sp_internal.form_attributes(paths jsonb, value_maps jsonb, src jsonb, for_edit boolean)
    RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    attrs jsonb := '{}';
    k text;
    path text;
    raw jsonb;
    v jsonb;
BEGIN
    FOR k, path IN SELECT e.key, e.value #>> '{}' FROM jsonb_each(coalesce(paths, '{}')) e LOOP
        raw := sp_internal.form_value(src, path);
        -- (a question left out of the submission changes nothing)
        CONTINUE WHEN raw IS NULL;
        v := sp_internal.form_answer(sp_internal.form_mapped(raw, value_maps -> k),
                                     (SELECT x.value_type FROM sp.variable x WHERE x.code = k));
        -- (an edit that blanks an answer removes it: null; a registration leaves it out)
        IF v IS NOT NULL AND (v <> 'null' OR for_edit) THEN
            attrs := attrs || jsonb_build_object(k, v);
        END IF;
    END LOOP;
    RETURN attrs;
END
$$;
COMMENT ON FUNCTION sp_internal.form_attributes(jsonb, jsonb, jsonb, boolean) IS 'The catalogue attributes a form mapping names (variable code to field path), read from a submission or one repeat instance through the value maps and typed by the catalogue; questions left out are left out, and for an edit an answer sent blank is null (removed).';

-- The registration document a submission maps to (without submission_id,
-- device_time and source).
CREATE FUNCTION sp_internal.form_document(m jsonb, sub jsonb, for_edit boolean DEFAULT false)
    RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    doc jsonb := '{}';
    gps text;
    parts text[];
    reps jsonb;
    members jsonb := '[]';
    inst jsonb;
    mem jsonb;
    k text;
    path text;
    raw jsonb;
    v jsonb;
    attrs jsonb;
BEGIN
    IF m ? 'admin_area_code' THEN
        v := sp_internal.form_mapped(sp_internal.form_value(sub, m ->> 'admin_area_code'), m #> '{values,admin_area_code}');
        IF v IS NOT NULL THEN
            doc := doc || jsonb_build_object('admin_area_code', v);
        END IF;
    END IF;
    -- an ODK geopoint: "lat lon altitude accuracy"
    IF m ? 'location' THEN
        gps := sp_internal.form_value(sub, m ->> 'location') #>> '{}';
        IF gps IS NOT NULL AND btrim(gps) <> '' THEN
            parts := regexp_split_to_array(btrim(gps), '\s+');
            IF cardinality(parts) < 2 OR parts[1] !~ '^-?[0-9]{1,3}(\.[0-9]+)?$' OR parts[2] !~ '^-?[0-9]{1,3}(\.[0-9]+)?$' THEN
                PERFORM sp_internal.raise_problem(('22023', m ->> 'location', 'a geopoint is "latitude longitude [altitude accuracy]"')::sp_internal.problem, 'submission');
            END IF;
            doc := doc || jsonb_build_object('location', jsonb_build_object('lat', parts[1]::numeric, 'lon', parts[2]::numeric));
        END IF;
    END IF;
    attrs := sp_internal.form_attributes(m -> 'attributes', m -> 'values', sub, for_edit);
    IF attrs <> '{}' THEN
        doc := doc || jsonb_build_object('attributes', attrs);
    END IF;
    reps := sp_internal.form_value(sub, m #>> '{members,repeat}');
    IF reps IS NOT NULL AND jsonb_typeof(reps) = 'object' THEN
        reps := jsonb_build_array(reps);		-- a repeat answered once may come as one object
    END IF;
    IF reps IS NULL OR jsonb_typeof(reps) <> 'array' THEN
        PERFORM sp_internal.raise_problem(('23502', m #>> '{members,repeat}', 'the members'' repeat group is missing or not a list')::sp_internal.problem, 'submission');
    END IF;
    -- (before anything is built from it: registration takes at most 100)
    IF jsonb_array_length(reps) > 100 THEN
        PERFORM sp_internal.raise_problem(('22023', m #>> '{members,repeat}', 'a household has at most 100 members')::sp_internal.problem, 'submission');
    END IF;
    FOR inst IN SELECT e FROM jsonb_array_elements(reps) WITH ORDINALITY x (e, n) ORDER BY n LOOP
        mem := '{}';
        FOR k, path IN SELECT e.key, e.value #>> '{}' FROM jsonb_each(m #> '{members,fields}') e LOOP
            raw := sp_internal.form_value(inst, path);
            CONTINUE WHEN raw IS NULL;
            v := sp_internal.form_mapped(raw, m #> ARRAY['values', k]);
            IF v IS NOT NULL THEN
                mem := mem || jsonb_build_object(k, v);
            ELSIF for_edit AND k IN ('other_names', 'national_id', 'phone') THEN
                mem := mem || jsonb_build_object(k, NULL::jsonb);	-- blanked in the edit: removed
            END IF;
        END LOOP;
        attrs := sp_internal.form_attributes(m #> '{members,attributes}', m -> 'values', inst, for_edit);
        IF attrs <> '{}' THEN
            mem := mem || jsonb_build_object('attributes', attrs);
        END IF;
        members := members || jsonb_build_array(mem);
    END LOOP;
    RETURN doc || jsonb_build_object('members', members);
END
$$;
COMMENT ON FUNCTION sp_internal.form_document(jsonb, jsonb, boolean) IS 'The registration document (admin_area_code, location, attributes, members) a form submission maps to under a form mapping; for an edit, answers sent blank ("" or null) are nulls (removed), while questions the submission leaves out are left out (unchanged).';

-- "uuid:..." or a bare UUID, as the UUID; NULL for anything else.
CREATE FUNCTION sp_internal.form_instance_uuid(id text)
    RETURNS uuid
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN sp_internal.is_uuid(regexp_replace(id, '^uuid:', '', 'i')) THEN regexp_replace(id, '^uuid:', '', 'i')::uuid END
$$;
COMMENT ON FUNCTION sp_internal.form_instance_uuid(text) IS 'The UUID of an ODK instanceID ("uuid:<uuid>" or a bare UUID), or NULL.';

-- The versions of a household and its mapped members now.
CREATE FUNCTION sp_internal.form_versions(p_household_id bigint, p_person_ids bigint[], OUT household_version integer, OUT person_versions integer[])
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT (SELECT h.version FROM sp.household h WHERE h.household_id = p_household_id),
           ARRAY(SELECT p.version FROM unnest(p_person_ids) WITH ORDINALITY u (id, n) JOIN sp.person p ON p.person_id = u.id ORDER BY u.n)
$$;
COMMENT ON FUNCTION sp_internal.form_versions(bigint, bigint[]) IS 'The current version of a household and of each of the given members, in their order.';

-- How an edit's member agrees with a registered person on given name,
-- family name and birth date (with its precision), each compared only when
-- both have it: whether the given name or the birth date agrees (the family
-- name is shared by a household, so it is weak alone), how many differ, and
-- a score (+1 for each that agrees, -1 for each that differs).
CREATE FUNCTION sp_internal.form_member_agreement(p_person_id bigint, mem jsonb, OUT strong boolean, OUT differ integer, OUT score integer)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    WITH f AS (
        SELECT lower(btrim(p.given_name)) = nullif(lower(btrim(mem ->> 'given_name')), '') AS g,
               lower(btrim(p.family_name)) = nullif(lower(btrim(mem ->> 'family_name')), '') AS fam,
               (p.birth_date, p.birth_date_precision) = (SELECT b.birth_date, b.birth_date_precision
                                                         FROM sp.parse_birth_date(nullif(btrim(mem ->> 'birth_date'), '')) b) AS b
        FROM sp.person p WHERE p.person_id = p_person_id)
    SELECT coalesce(f.g, false) OR coalesce(f.b, false),
           (NOT coalesce(f.g, true))::integer + (NOT coalesce(f.fam, true))::integer + (NOT coalesce(f.b, true))::integer,
           coalesce(f.g::integer * 2 - 1, 0) + coalesce(f.fam::integer * 2 - 1, 0) + coalesce(f.b::integer * 2 - 1, 0)
    FROM f
$$;
COMMENT ON FUNCTION sp_internal.form_member_agreement(bigint, jsonb) IS 'How a form edit''s member agrees with a registered person on given name, family name and birth date (with its precision), each compared when both have it: strong (the given name or the birth date agrees), differ (how many differ), score (agreements minus differences).';

-- Whether an edit's member at a position is still the registered person
-- there: its given name or birth date agrees, at most one of the three
-- differs, and it agrees with no other registered member as well (so one
-- may be corrected at a time, but twins swapped in the repeat, or another
-- person put in a registered person's place, never take their record).
CREATE FUNCTION sp_internal.form_same_person(p_person_ids bigint[], p_position integer, mem jsonb)
    RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    WITH a AS (SELECT u.k, x.strong, x.differ, x.score
               FROM unnest(p_person_ids) WITH ORDINALITY u (id, k), LATERAL sp_internal.form_member_agreement(u.id, mem) x)
    SELECT coalesce((SELECT a.strong AND a.differ <= 1
                            AND a.score > coalesce((SELECT max(o.score) FROM a o WHERE o.k <> p_position), -4)
                     FROM a WHERE a.k = p_position), false)
$$;
COMMENT ON FUNCTION sp_internal.form_same_person(bigint[], integer, jsonb) IS 'Whether a form edit''s member is the person registered at that position of the household: its given name or birth date is theirs, at most one of given name, family name and birth date differs, and it agrees better with them than with any other registered member of the household.';

-- The normalised instance id ("uuid:" and the UUID in lower case), the key of sp.form_submission.
CREATE FUNCTION sp_internal.form_instance_key(id text)
    RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$ SELECT 'uuid:' || sp_internal.form_instance_uuid(id)::text $$;
COMMENT ON FUNCTION sp_internal.form_instance_key(text) IS 'An instanceID as "uuid:<lower-case canonical UUID>", however it was written.';

-- The answer to a resend of an instance already received, or NULL when it
-- was not: other content under the instanceID (compared under the key its
-- fingerprint was made with), another form's, or a household the caller may
-- not see, is refused.
CREATE FUNCTION sp_internal.form_resend(p_instance text, p_form_id text, p_fdoc jsonb)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    done sp.form_submission;
    key bytea;
BEGIN
    SELECT * INTO done FROM sp.form_submission s WHERE s.instance_id = p_instance;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF done.fingerprint_key IS NOT NULL THEN
        SELECT k.key INTO key FROM sp_internal.pii_key k WHERE k.key_id = done.fingerprint_key;
    END IF;
    IF done.form_id <> p_form_id OR (done.household_id IS NOT NULL AND NOT sp_internal.household_in_scope(done.household_id))
       OR (key IS NOT NULL AND done.fingerprint IS DISTINCT FROM sp_internal.document_fingerprint(p_fdoc, key)) THEN
        PERFORM sp_internal.raise_problem(('23505', 'meta/instanceID', 'this instanceID was already received, with other content or for another form')::sp_internal.problem, 'submission');
    END IF;
    RETURN done.outcome || jsonb_build_object('replayed', true)
           || CASE WHEN key IS NULL THEN jsonb_build_object('content_checked', false) ELSE '{}' END;
END
$$;
COMMENT ON FUNCTION sp_internal.form_resend(text, text, jsonb) IS 'The first answer to a form instance received before (replayed: true), or NULL if it was not; refuses (23505) other content under the instanceID, compared under the blind-index key its fingerprint was made with (content_checked: false once that key is retired), another form''s instance, or one whose household the caller may not see.';

-- The resend answer to an instance another session has just stored: not
-- visible to a snapshot taken before it (REPEATABLE READ), then the caller
-- retries.
CREATE FUNCTION sp_internal.form_resend_committed(p_instance text, p_form_id text, p_fdoc jsonb)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    again jsonb;
BEGIN
    again := sp_internal.form_resend(p_instance, p_form_id, p_fdoc);
    IF again IS NULL THEN
        RAISE EXCEPTION 'this instanceID is being received by another session at the same moment'
            USING ERRCODE = 'serialization_failure', COLUMN = 'meta/instanceID', HINT = 'Send it again: the answer will be the first one.';
    END IF;
    RETURN again;
END
$$;
COMMENT ON FUNCTION sp_internal.form_resend_committed(text, text, jsonb) IS 'sp_internal.form_resend for an instance another session stored at the same moment; 40001 (send again) when this transaction''s snapshot cannot see it yet.';

CREATE FUNCTION sp.submit_form(form_id text, submission jsonb)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    m jsonb;
    instance text;
    deprecated text;
    version text;
    dev_time timestamptz;
    dev_text text;
    doc jsonb;
    reg jsonb;
    prev sp.form_submission;
    h sp.household;
    outcome jsonb;
    n_old integer;
    n_now integer;
    new_ids bigint[];
    mem jsonb;
    i integer;
    reason text;
    vers record;
    fkey record;
    fdoc jsonb;
    fp bytea;
    why text;
    again jsonb;
    n_rows integer;
BEGIN
    SELECT f.mapping INTO m FROM sp.form_mapping f WHERE f.form_id = submit_form.form_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no mapping for form "%"', coalesce(left(form_id, 100), 'NULL')
            USING ERRCODE = 'no_data_found', COLUMN = 'form_id', HINT = 'An administrator sets one with sp.set_form_mapping.';
    END IF;
    IF jsonb_typeof(submission) IS DISTINCT FROM 'object' THEN
        PERFORM sp_internal.raise_problem(('22023', '$', 'a submission is a JSON object')::sp_internal.problem, 'submission');
    END IF;
    instance := coalesce(sp_internal.form_value(submission, 'meta/instanceID'), submission -> 'instanceID') #>> '{}';
    deprecated := coalesce(sp_internal.form_value(submission, 'meta/deprecatedID'), submission -> 'deprecatedID') #>> '{}';
    version := left(coalesce(submission ->> '__version__', submission ->> '_version', sp_internal.form_value(submission, 'meta/version') #>> '{}'), 100);
    IF instance IS NULL OR sp_internal.form_instance_uuid(instance) IS NULL THEN
        PERFORM sp_internal.raise_problem(('22023', 'meta/instanceID', 'meta/instanceID ("uuid:...") is required: it makes a resend harmless')::sp_internal.problem, 'submission');
    END IF;
    IF deprecated IS NOT NULL AND (sp_internal.form_instance_uuid(deprecated) IS NULL
                                   OR sp_internal.form_instance_key(deprecated) = sp_internal.form_instance_key(instance)) THEN
        PERFORM sp_internal.raise_problem(('22023', 'meta/deprecatedID', 'meta/deprecatedID is the instanceID ("uuid:...") of the submission this one edits')::sp_internal.problem, 'submission');
    END IF;
    -- one spelling of each id: "uuid:" and the UUID in lower case
    instance := sp_internal.form_instance_key(instance);
    deprecated := sp_internal.form_instance_key(deprecated);
    -- the device's time: the form's end, else its start
    dev_text := coalesce(sp_internal.form_value(submission, coalesce(m ->> 'device_time', 'end')), sp_internal.form_value(submission, 'start')) #>> '{}';
    IF dev_text IS NOT NULL THEN
        dev_time := sp_internal.dci_timestamp(to_jsonb(dev_text));
        IF dev_time IS NULL THEN
            PERFORM sp_internal.raise_problem(('22007', coalesce(m ->> 'device_time', 'end'), 'the device time is an ISO 8601 date-time with a time zone')::sp_internal.problem, 'submission');
        END IF;
    END IF;
    -- the submission's keyed fingerprint (server metadata such as _submission_time, and
    -- the meta group with the ids themselves, however written, left out)
    fkey := sp_internal.pii_key_current('blind_index');
    fdoc := (SELECT coalesce(jsonb_object_agg(e.key, e.value), '{}') FROM jsonb_each(submission) e
             WHERE left(e.key, 1) <> '_' AND e.key <> 'meta' AND e.key NOT LIKE 'meta/%'
               AND e.key NOT IN ('instanceID', 'deprecatedID'));
    fp := sp_internal.document_fingerprint(fdoc, fkey.key);

    -- a resend: the first answer (other content under this instanceID, another
    -- form's, or a household the caller may not see, is refused)
    again := sp_internal.form_resend(instance, form_id, fdoc);
    IF again IS NOT NULL THEN
        RETURN again;
    END IF;

    IF deprecated IS NULL THEN
        -- a new registration, through the registration API (its checks, its idempotency), by a role that may register
        IF NOT has_function_privilege(sp_internal.caller_oid(), 'sp.register_household(jsonb)', 'EXECUTE') THEN
            RAISE EXCEPTION 'this role may edit but not register households'
                USING ERRCODE = 'insufficient_privilege', COLUMN = 'meta/instanceID',
                      HINT = 'Registrations need sp_registrar or sp_integration.';
        END IF;
        doc := sp_internal.form_document(m, submission);
        reg := sp.register_household(doc || jsonb_build_object(
                   'submission_id', sp_internal.form_instance_uuid(instance)::text,
                   'source', left('form ' || form_id || coalesce(' ' || version, ''), 200))
               || CASE WHEN dev_time IS NOT NULL THEN jsonb_build_object('device_time', to_char(dev_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')) ELSE '{}' END);
        vers := sp_internal.form_versions((reg ->> 'household_id')::bigint, ARRAY(SELECT jsonb_array_elements_text(reg -> 'person_ids')::bigint));
        outcome := jsonb_build_object('instance_id', instance, 'status', 'applied', 'kind', 'registration',
                                      'household_id', (reg ->> 'household_id')::bigint, 'person_ids', reg -> 'person_ids',
                                      'household_version', vers.household_version, 'possible_duplicates', reg -> 'possible_duplicates');
        BEGIN
            INSERT INTO sp.form_submission (instance_id, form_id, form_version, status, household_id, person_ids, household_version,
                                            person_versions, outcome, fingerprint, fingerprint_key, device_time)
            -- registered before by another way (the same submission_id): the versions of then are not known,
            -- so an edit of this submission is a conflict rather than an overwrite
            VALUES (instance, form_id, version, 'applied', (reg ->> 'household_id')::bigint,
                    ARRAY(SELECT jsonb_array_elements_text(reg -> 'person_ids')::bigint),
                    CASE WHEN (reg ->> 'replayed')::boolean THEN NULL ELSE vers.household_version END,
                    CASE WHEN (reg ->> 'replayed')::boolean THEN '{}'::integer[] ELSE vers.person_versions END,
                    outcome, fp, fkey.key_id, dev_time);
        EXCEPTION WHEN unique_violation THEN
            -- the same instance from another session at the same moment: its answer, checked as any resend's
            RETURN sp_internal.form_resend_committed(instance, form_id, fdoc);
        END;
        RETURN outcome || jsonb_build_object('replayed', coalesce((reg ->> 'replayed')::boolean, false));
    END IF;

    -- an edit: of a submission received and applied, of a household nobody changed since
    IF NOT (has_function_privilege(sp_internal.caller_oid(), 'sp.update_household(bigint, jsonb, text, integer)', 'EXECUTE')
            AND has_function_privilege(sp_internal.caller_oid(), 'sp.update_person(bigint, jsonb, text, integer)', 'EXECUTE')
            AND has_function_privilege(sp_internal.caller_oid(), 'sp.add_member(bigint, jsonb)', 'EXECUTE')) THEN
        RAISE EXCEPTION 'this role may register but not edit registrations'
            USING ERRCODE = 'insufficient_privilege', COLUMN = 'meta/deprecatedID',
                  HINT = 'Edits change registered households: the role needs sp_registrar or sp_caseworker.';
    END IF;
    doc := sp_internal.form_document(m, submission, true);
    SELECT * INTO prev FROM sp.form_submission s WHERE s.instance_id = deprecated AND s.status = 'applied' AND s.form_id = submit_form.form_id;
    -- (one answer for an instance not received and one outside the caller's scope: scope cannot be probed)
    IF NOT FOUND OR NOT sp_internal.household_in_scope(prev.household_id) THEN
        why := 'the submission this one edits (meta/deprecatedID) was not received, or was itself a conflict: send it first';
        prev := NULL;
    ELSE
        SELECT * INTO h FROM sp.household x WHERE x.household_id = prev.household_id FOR UPDATE;
        -- the same edit sent twice at once: the second, once it holds the lock, finds the first's answer
        again := sp_internal.form_resend(instance, form_id, fdoc);
        IF again IS NOT NULL THEN
            RETURN again;
        END IF;
        vers := sp_internal.form_versions(prev.household_id, prev.person_ids);
        SELECT count(*) INTO n_now FROM sp.person p WHERE p.household_id = prev.household_id AND p.status <> 'merged';
        n_old := cardinality(prev.person_ids);
        IF prev.household_version IS NULL THEN
            why := 'the submission this one edits was registered by another way before: the version the edit was made on is not known';
        ELSIF vers.household_version IS DISTINCT FROM prev.household_version OR vers.person_versions IS DISTINCT FROM prev.person_versions THEN
            why := 'the household or one of its members changed after the version this edit was made on';
        ELSIF n_now <> n_old THEN
            why := 'members were added to or merged in the household after the version this edit was made on';
        ELSIF jsonb_array_length(doc -> 'members') < n_old THEN
            why := 'the edit has fewer members than the household: members are removed in the office (death, moving out), not by leaving them out of a form';
        ELSE
            -- each member of the edit, at its position, must be the person registered there
            SELECT min(x.n) INTO i FROM jsonb_array_elements(doc -> 'members') WITH ORDINALITY x (e, n)
            WHERE x.n <= n_old AND NOT sp_internal.form_same_person(prev.person_ids, x.n::integer, x.e);
            IF i IS NOT NULL THEN
                why := pg_catalog.format('member %s of the edit is not clearly the person registered there (its given name or birth date must be theirs, at most one of given name, family name and birth date may differ, and it must agree with no other member as well): members were reordered or replaced, or too much was changed at once', i);
            END IF;
        END IF;
        IF why IS NOT NULL THEN
            outcome := jsonb_build_object('instance_id', instance, 'status', 'conflict', 'kind', 'edit', 'edits', deprecated,
                                          'household_id', prev.household_id, 'reason', why,
                                          'expected', jsonb_build_object('household_version', prev.household_version, 'person_versions', prev.person_versions),
                                          'current', jsonb_build_object('household_version', vers.household_version, 'person_versions', vers.person_versions,
                                                                        'updated_at', h.updated_at, 'updated_by', h.updated_by));
        ELSE
            reason := left(pg_catalog.format('form %s edit %s of %s', form_id, instance, deprecated), 500);
            PERFORM sp.update_household(prev.household_id,
                                        jsonb_strip_nulls(jsonb_build_object('admin_area_code', doc -> 'admin_area_code', 'location', doc -> 'location'))
                                        || jsonb_build_object('attributes', coalesce(doc -> 'attributes', '{}')),
                                        reason, prev.household_version);
            new_ids := prev.person_ids;
            i := 0;
            FOR mem IN SELECT e FROM jsonb_array_elements(doc -> 'members') WITH ORDINALITY x (e, n) ORDER BY n LOOP
                i := i + 1;
                IF i <= n_old THEN
                    PERFORM sp.update_person(prev.person_ids[i], mem, reason, prev.person_versions[i]);
                ELSE
                    -- (a new member: blanked answers are simply not there)
                    new_ids := new_ids || (sp.add_member(prev.household_id, jsonb_strip_nulls(mem)) ->> 'person_id')::bigint;
                END IF;
            END LOOP;
            vers := sp_internal.form_versions(prev.household_id, new_ids);
            outcome := jsonb_build_object('instance_id', instance, 'status', 'applied', 'kind', 'edit', 'edits', deprecated,
                                          'household_id', prev.household_id, 'person_ids', to_jsonb(new_ids),
                                          'household_version', vers.household_version);
            INSERT INTO sp.form_submission (instance_id, form_id, form_version, deprecated_id, status, household_id, person_ids,
                                            household_version, person_versions, outcome, fingerprint, fingerprint_key, device_time)
            VALUES (instance, form_id, version, deprecated, 'applied', prev.household_id, new_ids, vers.household_version,
                    vers.person_versions, outcome, fp, fkey.key_id, dev_time);
            RETURN outcome || jsonb_build_object('replayed', false);
        END IF;
    END IF;
    IF outcome IS NULL THEN
        outcome := jsonb_build_object('instance_id', instance, 'status', 'conflict', 'kind', 'edit', 'edits', deprecated, 'reason', why);
    END IF;
    -- a conflict is kept (a resend gets it again) and changes nothing else
    INSERT INTO sp.form_submission (instance_id, form_id, form_version, deprecated_id, status, household_id, outcome,
                                    fingerprint, fingerprint_key, device_time)
    VALUES (instance, form_id, version, deprecated, 'conflict', (outcome ->> 'household_id')::bigint, outcome, fp, fkey.key_id, dev_time)
    ON CONFLICT (instance_id) DO NOTHING;
    GET DIAGNOSTICS n_rows = ROW_COUNT;
    IF n_rows = 0 THEN
        -- the same instance from another session at the same moment: its answer
        RETURN sp_internal.form_resend_committed(instance, form_id, fdoc);
    END IF;
    RETURN outcome || jsonb_build_object('replayed', false);
END
$$;
COMMENT ON FUNCTION sp.submit_form(text, jsonb) IS 'Receives an offline form submission (ODK Collect / KoboToolbox JSON, flat "group/field" keys or nested groups) mapped by sp.form_mapping. meta/instanceID is required and makes a resend return the first answer. Without meta/deprecatedID it registers a household through sp.register_household (its validation and duplicate checks); with it, it edits the household the deprecated submission registered or last edited: household fields (answers sent blank are removed, questions left out change nothing), then members in the repeat''s order (new ones added), each with the version it had then. If the household or a member changed since, or the deprecated submission was not received, the edit is a conflict: reported and kept, nothing changed. The device time (end, else start) and the receipt time are kept. Registrars and integrations register; edits need sp_registrar or sp_caseworker. Members of an edit are matched by position and must be the persons registered there (given name or birth date theirs, at most one of given name, family name and birth date different, and no better agreement with another member); an edit with fewer members, or of a household whose members changed, is a conflict. An edit of a submission outside the caller''s scope is answered as one never received.';
