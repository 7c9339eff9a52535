-- Registration: validation of household documents, idempotent submission,
-- batch import with an error queue.

-- Documented limits.
CREATE FUNCTION sp_internal.max_name_chars() RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS 'SELECT 200';
COMMENT ON FUNCTION sp_internal.max_name_chars() IS 'Longest accepted name (given, family, other names), in characters.';
CREATE FUNCTION sp_internal.max_members() RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS 'SELECT 100';
COMMENT ON FUNCTION sp_internal.max_members() IS 'Most members accepted in one household document.';

CREATE TABLE sp.import_batch (
    batch_id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at        timestamptz NOT NULL DEFAULT now(),
    received_by        text NOT NULL DEFAULT session_user,
    documents          integer NOT NULL DEFAULT 0,
    inserted           integer NOT NULL DEFAULT 0,
    duplicates_skipped integer NOT NULL DEFAULT 0,
    rejected           integer NOT NULL DEFAULT 0
);
COMMENT ON TABLE sp.import_batch IS 'One row per sp.import_registrations call, with its counts.';

CREATE TABLE sp.registration_submission (
    submission_id   uuid PRIMARY KEY,
    household_id    bigint NOT NULL REFERENCES sp.household (household_id) DEFERRABLE INITIALLY DEFERRED,
    person_ids      bigint[] NOT NULL,
    document_sha256 bytea NOT NULL,
    source          text,
    device_time     timestamptz,
    received_at     timestamptz NOT NULL DEFAULT now(),
    received_by     text NOT NULL DEFAULT session_user,
    batch_id        bigint REFERENCES sp.import_batch (batch_id)
);
CREATE INDEX registration_submission_household_idx ON sp.registration_submission (household_id);
COMMENT ON TABLE sp.registration_submission IS 'Registrations received, keyed by the client''s submission_id: makes replays idempotent and keeps device and server times.';
COMMENT ON COLUMN sp.registration_submission.document_sha256 IS 'SHA-256 of the document without device_time: a replay with other content under the same submission_id is refused.';
COMMENT ON COLUMN sp.registration_submission.device_time IS 'When the device says it captured the registration (may be days before receipt when offline).';
COMMENT ON COLUMN sp.registration_submission.received_at IS 'When the server received it (transaction time).';

CREATE TABLE sp.import_error (
    error_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    batch_id      bigint REFERENCES sp.import_batch (batch_id),
    batch_index   integer,
    submission_id uuid,
    document      jsonb,
    sqlstate      text NOT NULL,
    field         text,
    message       text NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now(),
    received_by   text NOT NULL DEFAULT session_user
);
CREATE INDEX import_error_submission_idx ON sp.import_error (submission_id);
CREATE INDEX import_error_batch_idx ON sp.import_error (batch_id);
COMMENT ON TABLE sp.import_error IS 'Documents rejected by sp.import_registrations, with SQLSTATE, offending field (JSON path, 0-based member index) and message. National IDs and phone numbers in the stored document are replaced by "[redacted]": plaintext identifiers never rest in the database.';
COMMENT ON COLUMN sp.import_error.batch_index IS '0-based position of the document in the batch array.';

CREATE FUNCTION sp_internal.redact_document(doc jsonb)
    RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
        WHEN jsonb_typeof(doc) = 'object' AND jsonb_typeof(doc -> 'members') = 'array' THEN
            jsonb_set(doc, '{members}', coalesce((
                SELECT jsonb_agg(CASE WHEN jsonb_typeof(m) = 'object' THEN
                            m || jsonb_strip_nulls(jsonb_build_object(
                                    'national_id', CASE WHEN m ? 'national_id' THEN '[redacted]' END,
                                    'phone', CASE WHEN m ? 'phone' THEN '[redacted]' END))
                            ELSE m END ORDER BY i)
                FROM jsonb_array_elements(doc -> 'members') WITH ORDINALITY AS e (m, i)), '[]'))
        ELSE doc END
$$;
COMMENT ON FUNCTION sp_internal.redact_document(jsonb) IS 'The document with members'' national_id and phone replaced by "[redacted]".';

CREATE FUNCTION sp_internal.is_uuid(value text)
    RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$ SELECT value ~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$' $$;
COMMENT ON FUNCTION sp_internal.is_uuid(text) IS 'True when value can be cast to uuid.';

-- ISO 8601 timestamp (date, optional time and zone) that casts without error.
CREATE FUNCTION sp_internal.timestamp_problem(value text)
    RETURNS sp_internal.problem
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
        WHEN value !~ '^\d{4}-\d{2}-\d{2}([T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?)?(Z|[+-]([01]\d|2[0-3])(:?[0-5]\d)?)?$'
            THEN ('22007', NULL, 'expected an ISO 8601 timestamp such as 2026-11-28T09:30:00+03:00')::sp_internal.problem
        WHEN (sp_internal.partial_date_problem(left(value, 10), 'infinity')).sqlstate IS NOT NULL
            THEN ('22008', NULL, 'day does not exist in that month')::sp_internal.problem
    END
$$;
COMMENT ON FUNCTION sp_internal.timestamp_problem(text) IS 'NULL when value is an ISO 8601 timestamp that casts to timestamptz.';

-- Shorthand for building a problem with its field.
CREATE FUNCTION sp_internal.problem_at(p sp_internal.problem, field text)
    RETURNS sp_internal.problem
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$ SELECT CASE WHEN p.sqlstate IS NULL THEN NULL ELSE (p.sqlstate, field, p.message)::sp_internal.problem END $$;

-- One member object.  partial = true validates a patch (no required fields).
CREATE FUNCTION sp_internal.member_problem(m jsonb, prefix text, partial boolean)
    RETURNS sp_internal.problem
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k text;
    v jsonb;
    p sp_internal.problem;
BEGIN
    IF jsonb_typeof(m) IS DISTINCT FROM 'object' THEN
        RETURN ('22023', prefix, 'a member must be a JSON object')::sp_internal.problem;
    END IF;
    SELECT e.key INTO k FROM jsonb_object_keys(m) e(key)
    WHERE e.key NOT IN ('given_name', 'family_name', 'other_names', 'birth_date', 'sex',
                        'relationship_to_head', 'national_id', 'phone', 'attributes')
    ORDER BY 1 LIMIT 1;
    IF k IS NOT NULL THEN
        RETURN ('22023', prefix || '.' || left(k, 64), 'unknown member field')::sp_internal.problem;
    END IF;

    FOREACH k IN ARRAY ARRAY['given_name', 'family_name', 'other_names'] LOOP
        v := m -> k;
        CONTINUE WHEN v IS NULL OR jsonb_typeof(v) = 'null';
        IF jsonb_typeof(v) <> 'string' THEN
            RETURN ('22023', prefix || '.' || k, format('expected a string, got %s', jsonb_typeof(v)))::sp_internal.problem;
        END IF;
        SELECT t.sqlstate, prefix || '.' || k, t.message INTO p
        FROM sp_internal.text_problem(v #>> '{}', sp_internal.max_name_chars()) t
        WHERE t.sqlstate IS NOT NULL;
        IF p.sqlstate IS NOT NULL THEN
            RETURN p;
        END IF;
    END LOOP;
    IF NOT partial AND coalesce(jsonb_typeof(m -> 'given_name'), 'null') = 'null'
                   AND coalesce(jsonb_typeof(m -> 'family_name'), 'null') = 'null' THEN
        RETURN ('23502', prefix || '.given_name', 'a member needs a given_name or a family_name')::sp_internal.problem;
    END IF;

    v := m -> 'birth_date';
    IF v IS NOT NULL AND jsonb_typeof(v) <> 'null' THEN
        IF jsonb_typeof(v) <> 'string' THEN
            RETURN ('22007', prefix || '.birth_date', 'expected a string YYYY-MM-DD, YYYY-MM or YYYY')::sp_internal.problem;
        END IF;
        SELECT t.sqlstate, prefix || '.birth_date', t.message INTO p
        FROM sp_internal.partial_date_problem(v #>> '{}', current_date) t
        WHERE t.sqlstate IS NOT NULL;
        IF p.sqlstate IS NOT NULL THEN
            RETURN p;
        END IF;
    END IF;

    v := m -> 'sex';
    IF v IS NOT NULL AND jsonb_typeof(v) <> 'null'
       AND (jsonb_typeof(v) <> 'string' OR (v #>> '{}') NOT IN ('M', 'F', 'X')) THEN
        RETURN ('22023', prefix || '.sex', 'sex must be "M", "F" or "X"')::sp_internal.problem;
    END IF;

    v := m -> 'relationship_to_head';
    IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
        IF NOT partial THEN
            RETURN ('23502', prefix || '.relationship_to_head', 'relationship_to_head is required')::sp_internal.problem;
        END IF;
    ELSIF jsonb_typeof(v) <> 'string'
          OR NOT EXISTS (SELECT 1 FROM sp.relationship_type r WHERE r.code = v #>> '{}') THEN
        RETURN ('23503', prefix || '.relationship_to_head',
                'unknown relationship (see sp.relationship_type)')::sp_internal.problem;
    END IF;

    v := m -> 'national_id';
    IF v IS NOT NULL AND jsonb_typeof(v) <> 'null' THEN
        IF jsonb_typeof(v) <> 'string' THEN
            RETURN ('22023', prefix || '.national_id', 'expected a string')::sp_internal.problem;
        END IF;
        SELECT t.sqlstate, prefix || '.national_id', t.message INTO p
        FROM sp_internal.national_id_problem(v #>> '{}') t WHERE t.sqlstate IS NOT NULL;
        IF p.sqlstate IS NOT NULL THEN
            RETURN p;
        END IF;
    END IF;

    v := m -> 'phone';
    IF v IS NOT NULL AND jsonb_typeof(v) <> 'null' THEN
        IF jsonb_typeof(v) <> 'string' THEN
            RETURN ('22023', prefix || '.phone', 'expected a string')::sp_internal.problem;
        END IF;
        p := sp_internal.problem_at(sp_internal.phone_problem(v #>> '{}'), prefix || '.phone');
        IF p.sqlstate IS NOT NULL THEN
            RETURN p;
        END IF;
    END IF;

    IF NOT partial OR m ? 'attributes' THEN
        RETURN sp_internal.attributes_problem(m -> 'attributes', 'person', prefix || '.attributes', partial);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION sp_internal.member_problem(jsonb, text, boolean) IS 'First problem of a member object, or NULL.';

-- Household-level fields shared by registration and updates.
CREATE FUNCTION sp_internal.household_fields_problem(doc jsonb, partial boolean)
    RETURNS sp_internal.problem
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v jsonb;
BEGIN
    v := doc -> 'admin_area_code';
    IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
        IF NOT partial THEN
            RETURN ('23502', 'admin_area_code', 'admin_area_code is required')::sp_internal.problem;
        END IF;
    ELSIF jsonb_typeof(v) <> 'string' THEN
        RETURN ('22023', 'admin_area_code', 'expected a string')::sp_internal.problem;
    ELSIF NOT sp_internal.admin_area_is_current(v #>> '{}') THEN
        RETURN ('23503', 'admin_area_code',
                format('unknown or retired admin area "%s"', left(v #>> '{}', 64)))::sp_internal.problem;
    END IF;

    v := doc -> 'location';
    IF v IS NOT NULL AND jsonb_typeof(v) <> 'null' THEN
        IF jsonb_typeof(v) <> 'object' OR jsonb_typeof(v -> 'lat') IS DISTINCT FROM 'number'
           OR jsonb_typeof(v -> 'lon') IS DISTINCT FROM 'number'
           OR EXISTS (SELECT 1 FROM jsonb_object_keys(v) k WHERE k NOT IN ('lat', 'lon', 'accuracy_m')) THEN
            RETURN ('22023', 'location', 'location must be {"lat": number, "lon": number} with optional accuracy_m')::sp_internal.problem;
        END IF;
        IF (v ->> 'lat')::numeric NOT BETWEEN -90 AND 90 THEN
            RETURN ('22003', 'location.lat', format('latitude %s outside [-90, 90]', v ->> 'lat'))::sp_internal.problem;
        END IF;
        IF (v ->> 'lon')::numeric NOT BETWEEN -180 AND 180 THEN
            RETURN ('22003', 'location.lon', format('longitude %s outside [-180, 180]', v ->> 'lon'))::sp_internal.problem;
        END IF;
    END IF;

    IF NOT partial OR doc ? 'attributes' THEN
        RETURN sp_internal.attributes_problem(doc -> 'attributes', 'household', 'attributes', partial);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION sp_internal.household_fields_problem(jsonb, boolean) IS 'First problem of admin_area_code, location or attributes, or NULL.';

-- A whole registration document.
CREATE FUNCTION sp_internal.document_problem(doc jsonb, require_submission boolean)
    RETURNS sp_internal.problem
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k text;
    v jsonb;
    p sp_internal.problem;
    n integer;
    i integer;
    heads integer := 0;
    ids text[] := '{}';
    nid text;
BEGIN
    IF doc IS NULL OR jsonb_typeof(doc) <> 'object' THEN
        RETURN ('22023', '$', 'a registration must be a JSON object')::sp_internal.problem;
    END IF;
    SELECT e.key INTO k FROM jsonb_object_keys(doc) e(key)
    WHERE e.key NOT IN ('submission_id', 'device_time', 'source', 'admin_area_code', 'location', 'attributes', 'members')
    ORDER BY 1 LIMIT 1;
    IF k IS NOT NULL THEN
        RETURN ('22023', left(k, 64), 'unknown field')::sp_internal.problem;
    END IF;

    v := doc -> 'submission_id';
    IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
        IF require_submission THEN
            RETURN ('23502', 'submission_id', 'submission_id is required')::sp_internal.problem;
        END IF;
    ELSIF jsonb_typeof(v) <> 'string' OR NOT sp_internal.is_uuid(v #>> '{}') THEN
        RETURN ('22P02', 'submission_id', 'submission_id must be a UUID')::sp_internal.problem;
    END IF;

    v := doc -> 'device_time';
    IF v IS NOT NULL AND jsonb_typeof(v) <> 'null' THEN
        IF jsonb_typeof(v) <> 'string' THEN
            RETURN ('22007', 'device_time', 'expected an ISO 8601 timestamp string')::sp_internal.problem;
        END IF;
        p := sp_internal.problem_at(sp_internal.timestamp_problem(v #>> '{}'), 'device_time');
        IF p.sqlstate IS NOT NULL THEN
            RETURN p;
        END IF;
    END IF;

    v := doc -> 'source';
    IF v IS NOT NULL AND jsonb_typeof(v) <> 'null' THEN
        IF jsonb_typeof(v) <> 'string' THEN
            RETURN ('22023', 'source', 'expected a string')::sp_internal.problem;
        END IF;
        p := sp_internal.problem_at((SELECT (t.sqlstate, NULL, t.message)::sp_internal.problem
                                     FROM sp_internal.text_problem(v #>> '{}', 200) t), 'source');
        IF p.sqlstate IS NOT NULL THEN
            RETURN p;
        END IF;
    END IF;

    p := sp_internal.household_fields_problem(doc, false);
    IF p.sqlstate IS NOT NULL THEN
        RETURN p;
    END IF;

    v := doc -> 'members';
    IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
        RETURN ('23502', 'members', 'members is required')::sp_internal.problem;
    ELSIF jsonb_typeof(v) <> 'array' THEN
        RETURN ('22023', 'members', 'members must be an array')::sp_internal.problem;
    END IF;
    n := jsonb_array_length(v);
    IF n = 0 THEN
        RETURN ('22023', 'members', 'a household needs at least one member')::sp_internal.problem;
    ELSIF n > sp_internal.max_members() THEN
        RETURN ('22023', 'members', format('a household document may list at most %s members, got %s',
                                          sp_internal.max_members(), n))::sp_internal.problem;
    END IF;

    FOR i IN 0 .. n - 1 LOOP
        p := sp_internal.member_problem(v -> i, format('members[%s]', i), false);
        IF p.sqlstate IS NOT NULL THEN
            RETURN p;
        END IF;
        IF v -> i ->> 'relationship_to_head' = 'head' THEN
            heads := heads + 1;
            IF heads > 1 THEN
                RETURN ('23505', format('members[%s].relationship_to_head', i),
                        'more than one member is the head of household')::sp_internal.problem;
            END IF;
        END IF;
        IF jsonb_typeof(v -> i -> 'national_id') = 'string' THEN
            nid := sp.normalize_national_id(v -> i ->> 'national_id');
            IF nid = ANY (ids) THEN
                RETURN ('23505', format('members[%s].national_id', i),
                        'two members of the document have the same national ID')::sp_internal.problem;
            END IF;
            ids := ids || nid;
        END IF;
    END LOOP;
    IF heads = 0 THEN
        RETURN ('23514', 'members', 'no member has relationship_to_head "head"')::sp_internal.problem;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION sp_internal.document_problem(jsonb, boolean) IS 'First problem of a registration document (see docs/api.md), or NULL.';

CREATE FUNCTION sp_internal.document_sha256(doc jsonb)
    RETURNS bytea
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$ SELECT sha256(convert_to((doc - 'device_time')::text, 'UTF8')) $$;
COMMENT ON FUNCTION sp_internal.document_sha256(jsonb) IS 'Fingerprint of a registration document for replay detection (device_time excluded: a resend may restamp it).';

-- Person columns from a validated member object; identifiers encrypted and
-- blind-indexed.
CREATE FUNCTION sp_internal.insert_members(p_household_id bigint, members jsonb, p_person_ids bigint[])
    RETURNS void
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
    INSERT INTO sp.person (person_id, household_id, given_name, family_name, other_names,
                           birth_date, birth_date_precision, sex, relationship_to_head,
                           national_id_enc, national_id_hash, phone_enc, phone_hash, attributes)
    SELECT p_person_ids[e.i], p_household_id,
           btrim(e.m ->> 'given_name'), btrim(e.m ->> 'family_name'), btrim(e.m ->> 'other_names'),
           d.birth_date, d.birth_date_precision,
           e.m ->> 'sex', e.m ->> 'relationship_to_head',
           sp_internal.encrypt_pii(e.m ->> 'national_id'),
           sp_internal.blind_index_for_write('national_id', sp.normalize_national_id(e.m ->> 'national_id')),
           sp_internal.encrypt_pii(e.m ->> 'phone'),
           sp_internal.blind_index_for_write('phone', sp.normalize_phone(e.m ->> 'phone')),
           coalesce(jsonb_strip_nulls(e.m -> 'attributes'), '{}')
    FROM jsonb_array_elements(members) WITH ORDINALITY AS e (m, i)
    LEFT JOIN LATERAL sp.parse_birth_date(e.m ->> 'birth_date') d ON true
    ORDER BY e.i
$$;
COMMENT ON FUNCTION sp_internal.insert_members(bigint, jsonb, bigint[]) IS 'Inserts validated member objects under preallocated person ids.';

-- Store a validated document.  Claims the submission first, so that two
-- sessions replaying the same submission_id cannot both register it.
-- Returns NULL when another transaction registered this submission_id.
CREATE FUNCTION sp_internal.store_document(doc jsonb, p_batch_id bigint)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    hid bigint := nextval('sp.household_household_id_seq');
    n integer := jsonb_array_length(doc -> 'members');
    pids bigint[];
    sid uuid := (doc ->> 'submission_id')::uuid;
BEGIN
    SELECT array_agg(nextval('sp.person_person_id_seq')) INTO pids FROM generate_series(1, n);

    IF sid IS NOT NULL THEN
        INSERT INTO sp.registration_submission (submission_id, household_id, person_ids, document_sha256,
                                                source, device_time, batch_id)
        VALUES (sid, hid, pids, sp_internal.document_sha256(doc), doc ->> 'source',
                (doc ->> 'device_time')::timestamptz, p_batch_id)
        ON CONFLICT (submission_id) DO NOTHING;
        IF NOT FOUND THEN
            RETURN NULL;
        END IF;
    END IF;

    INSERT INTO sp.household (household_id, admin_area_code, location, attributes)
    VALUES (hid, doc ->> 'admin_area_code',
            sp_internal.location_point(doc -> 'location'),
            coalesce(jsonb_strip_nulls(doc -> 'attributes'), '{}'));
    PERFORM sp_internal.insert_members(hid, doc -> 'members', pids);

    RETURN jsonb_build_object('household_id', hid, 'person_ids', to_jsonb(pids),
                              'submission_id', sid, 'replayed', false);
END
$$;
COMMENT ON FUNCTION sp_internal.store_document(jsonb, bigint) IS 'Inserts a validated registration; NULL when its submission_id was already taken.';

-- The stored result of an earlier submission, or a conflict problem when the
-- same submission_id came with different content.
CREATE FUNCTION sp_internal.replay(doc jsonb, OUT result jsonb, OUT problem sp_internal.problem)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s sp.registration_submission;
BEGIN
    SELECT * INTO s FROM sp.registration_submission WHERE submission_id = (doc ->> 'submission_id')::uuid;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF s.document_sha256 <> sp_internal.document_sha256(doc) THEN
        problem := ('23505', 'submission_id',
                    'submission_id was already used for a different document')::sp_internal.problem;
        RETURN;
    END IF;
    result := jsonb_build_object('household_id', s.household_id, 'person_ids', to_jsonb(s.person_ids),
                                 'submission_id', s.submission_id, 'replayed', true);
END
$$;
COMMENT ON FUNCTION sp_internal.replay(jsonb) IS 'Result of an earlier registration with the same submission_id and content; a problem when the content differs.';

CREATE FUNCTION sp_internal.raise_problem(p sp_internal.problem, what text)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION '%: %', coalesce(p.field, '$'), p.message
        USING ERRCODE = p.sqlstate,
              DETAIL = format('The %s was rejected at field "%s"; nothing was stored.', what, coalesce(p.field, '$')),
              COLUMN = coalesce(p.field, '$');
END
$$;
COMMENT ON FUNCTION sp_internal.raise_problem(sp_internal.problem, text) IS 'Raises a validation problem with its SQLSTATE, the field in message, detail and the COLUMN error field.';

CREATE FUNCTION sp.register_household(doc jsonb)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
    p sp_internal.problem;
    result jsonb;
BEGIN
    IF doc IS NULL THEN
        RAISE EXCEPTION 'registration document is NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF jsonb_typeof(doc) = 'object' AND jsonb_typeof(doc -> 'submission_id') = 'string'
       AND sp_internal.is_uuid(doc ->> 'submission_id') THEN
        r := sp_internal.replay(doc);
        IF r.problem IS NOT NULL THEN
            PERFORM sp_internal.raise_problem(r.problem, 'registration');
        ELSIF r.result IS NOT NULL THEN
            RETURN r.result;
        END IF;
    END IF;

    p := sp_internal.document_problem(doc, false);
    IF p.sqlstate IS NOT NULL THEN
        PERFORM sp_internal.raise_problem(p, 'registration');
    END IF;

    result := sp_internal.store_document(doc, NULL);
    IF result IS NULL THEN
        -- registered concurrently by another session that has now committed
        r := sp_internal.replay(doc);
        IF r.problem IS NOT NULL THEN
            PERFORM sp_internal.raise_problem(r.problem, 'registration');
        END IF;
        result := r.result;
    END IF;
    RETURN result;
END
$$;
COMMENT ON FUNCTION sp.register_household(jsonb) IS
'Registers a household and its members from one JSON document (see docs/api.md). Returns {"household_id", "person_ids", "submission_id", "replayed"}. A replay of the same submission_id and content returns the first result and stores nothing; other content under a used submission_id raises 23505. Invalid documents raise 22xxx/23xxx naming the field; nothing is stored.';

CREATE FUNCTION sp.import_registrations(batch jsonb)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    bid bigint;
    doc jsonb;
    idx integer;
    r record;
    p sp_internal.problem;
    result jsonb;
    n_ins integer := 0;
    n_dup integer := 0;
    n_rej integer := 0;
    errors jsonb := '[]';
BEGIN
    IF batch IS NULL OR jsonb_typeof(batch) <> 'array' THEN
        RAISE EXCEPTION 'batch must be a JSON array of registration documents'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('Got %s; nothing was stored.', coalesce(jsonb_typeof(batch), 'NULL'));
    END IF;

    INSERT INTO sp.import_batch (documents) VALUES (jsonb_array_length(batch)) RETURNING batch_id INTO bid;

    FOR doc, idx IN SELECT e.d, (e.i - 1)::integer FROM jsonb_array_elements(batch) WITH ORDINALITY AS e (d, i) LOOP
        p := NULL;
        result := NULL;
        IF jsonb_typeof(doc) = 'object' AND jsonb_typeof(doc -> 'submission_id') = 'string'
           AND sp_internal.is_uuid(doc ->> 'submission_id') THEN
            r := sp_internal.replay(doc);
            p := r.problem;
            IF p IS NULL AND r.result IS NOT NULL THEN
                n_dup := n_dup + 1;
                CONTINUE;
            END IF;
        END IF;
        IF p IS NULL THEN
            p := sp_internal.document_problem(doc, true);
        END IF;
        IF p.sqlstate IS NULL THEN
            result := sp_internal.store_document(doc, bid);
            IF result IS NULL THEN
                r := sp_internal.replay(doc);
                p := r.problem;
                IF p IS NULL THEN
                    n_dup := n_dup + 1;
                    CONTINUE;
                END IF;
            END IF;
        END IF;
        IF p.sqlstate IS NOT NULL THEN
            n_rej := n_rej + 1;
            INSERT INTO sp.import_error (batch_id, batch_index, submission_id, document, sqlstate, field, message)
            VALUES (bid, idx,
                    CASE WHEN jsonb_typeof(doc -> 'submission_id') = 'string' AND sp_internal.is_uuid(doc ->> 'submission_id')
                         THEN (doc ->> 'submission_id')::uuid END,
                    sp_internal.redact_document(doc), p.sqlstate, p.field, p.message);
            errors := errors || jsonb_build_object('index', idx, 'submission_id', doc -> 'submission_id',
                                                   'sqlstate', p.sqlstate, 'field', p.field, 'message', p.message);
        ELSE
            n_ins := n_ins + 1;
        END IF;
    END LOOP;

    UPDATE sp.import_batch SET inserted = n_ins, duplicates_skipped = n_dup, rejected = n_rej
    WHERE batch_id = bid;

    RETURN jsonb_build_object('batch_id', bid, 'inserted', n_ins, 'duplicates_skipped', n_dup,
                              'rejected', n_rej, 'errors', errors);
END
$$;
COMMENT ON FUNCTION sp.import_registrations(jsonb) IS
'Imports a JSON array of registration documents, each with a submission_id. Valid documents are registered, replays are skipped, invalid ones are stored in sp.import_error (identifiers redacted) and listed in the result. Returns {"batch_id", "inserted", "duplicates_skipped", "rejected", "errors": [{index, submission_id, sqlstate, field, message}]}. Runs in the caller''s transaction: an unexpected error rolls back the whole batch.';
