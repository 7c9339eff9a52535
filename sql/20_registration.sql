-- Registration: validation of household documents, idempotent submission,
-- batch import with an error queue.

CREATE TABLE sp.import_batch (
    batch_id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at        timestamptz NOT NULL DEFAULT now(),
    received_by        text NOT NULL DEFAULT sp_internal.caller(),
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
    document_fingerprint bytea NOT NULL,
    document_digest_enc  bytea NOT NULL,
    source          text,
    device_time     timestamptz,
    received_at     timestamptz NOT NULL DEFAULT now(),
    received_by     text NOT NULL DEFAULT sp_internal.caller(),
    batch_id        bigint REFERENCES sp.import_batch (batch_id)
);
CREATE INDEX registration_submission_household_idx ON sp.registration_submission (household_id);
COMMENT ON TABLE sp.registration_submission IS 'Registrations received, keyed by the client''s submission_id: makes replays idempotent and keeps device and server times.';
COMMENT ON COLUMN sp.registration_submission.document_fingerprint IS 'Key tag || HMAC-SHA256 (under the blind-index key, first 30 bytes) of the document digest (sp_internal.document_digest, device_time excluded): a replay with other content under the same submission_id is refused. Keyed because the document holds identifiers; not readable by registrars.';
COMMENT ON COLUMN sp.registration_submission.document_digest_enc IS 'The document digest, encrypted like national IDs: what sp.rotate_keys re-fingerprints under a new blind-index key, so that replays of earlier submissions are still recognised after a rotation. Not readable by registrars.';
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
    received_by   text NOT NULL DEFAULT sp_internal.caller()
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

-- What sp.import_error keeps of a rejected document: redacted, and at most
-- 64 kB of it (a 5 MB document is an attack or a broken client, not something
-- a person will correct by reading it).
CREATE FUNCTION sp_internal.rejected_document(doc jsonb)
    RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN octet_length(r.t) <= 65536 THEN r.d
                ELSE jsonb_build_object('truncated', true, 'bytes', octet_length(r.t), 'head', left(r.t, 16384)) END
    FROM (SELECT sp_internal.redact_document(doc) AS d, sp_internal.redact_document(doc)::text AS t) r
$$;
COMMENT ON FUNCTION sp_internal.rejected_document(jsonb) IS 'The document as sp.import_error keeps it: identifiers redacted; over 64 kB, {"truncated": true, "bytes", "head": first 16 kB of its text}.';

-- Validators (C, src/pg/validate.c): one set of rules and messages for
-- registration, import, updates and sp.validate_attributes.
CREATE FUNCTION sp_internal.registration_problems(docs jsonb, require_submission boolean)
    RETURNS TABLE (idx integer, sqlstate text, field text, message text)
    AS 'MODULE_PATHNAME', 'sp_registration_problems'
    LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION sp_internal.registration_problems(jsonb, boolean) IS 'For an array of registration documents, the first problem of each invalid one (idx is 0-based). Limits: names 200 characters, source 200, text attributes 1000, 100 members.';

CREATE FUNCTION sp_internal.member_problem(member jsonb, prefix text, partial boolean)
    RETURNS sp_internal.problem
    AS 'MODULE_PATHNAME', 'sp_member_problem'
    LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION sp_internal.member_problem(jsonb, text, boolean) IS 'First problem of a member object (fields prefixed with prefix), or NULL. partial: a patch, nothing required.';

CREATE FUNCTION sp_internal.household_fields_problem(doc jsonb, partial boolean)
    RETURNS sp_internal.problem
    AS 'MODULE_PATHNAME', 'sp_household_fields_problem'
    LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION sp_internal.household_fields_problem(jsonb, boolean) IS 'First problem of admin_area_code, location or attributes of a document or patch, or NULL.';

CREATE FUNCTION sp_internal.document_fingerprint(doc jsonb, key bytea)
    RETURNS bytea
    AS 'MODULE_PATHNAME', 'sp_document_fingerprint'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION sp_internal.document_fingerprint(jsonb, bytea) IS 'Keyed fingerprint of a registration document for replay detection: HMAC-SHA256 under key of the SHA-256 of its canonical binary form, device_time excluded (a resend may restamp it).';
REVOKE ALL ON FUNCTION sp_internal.document_fingerprint(jsonb, bytea) FROM PUBLIC;

-- The unkeyed digest a fingerprint is made from: never stored in the clear
-- (it could be recomputed from guesses), only encrypted, for re-keying.
CREATE FUNCTION sp_internal.document_digest(doc jsonb)
    RETURNS bytea
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$ SELECT sp_internal.document_fingerprint(doc, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea) $$;
COMMENT ON FUNCTION sp_internal.document_digest(jsonb) IS 'Fixed-key (so unkeyed) digest of a registration document, device_time excluded; fingerprints are keyed HMACs of it. Owner only.';
REVOKE ALL ON FUNCTION sp_internal.document_digest(jsonb) FROM PUBLIC;

-- Members of one or many households, identifiers protected in one call.
CREATE FUNCTION sp_internal.insert_members(household_ids bigint[], person_ids bigint[], members jsonb[])
    RETURNS void
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
    INSERT INTO sp.person (person_id, household_id, given_name, family_name, other_names,
                           birth_date, birth_date_precision, sex, relationship_to_head,
                           national_id_enc, national_id_hash, phone_enc, phone_hash, attributes, admin_area_code)
    SELECT u.pid, u.hid,
           btrim(u.m ->> 'given_name'), btrim(u.m ->> 'family_name'), btrim(u.m ->> 'other_names'),
           d.birth_date, d.birth_date_precision,
           u.m ->> 'sex', u.m ->> 'relationship_to_head',
           pr.national_id_enc, pr.national_id_hash, pr.phone_enc, pr.phone_hash,
           coalesce(jsonb_strip_nulls(u.m -> 'attributes'), '{}'), h.admin_area_code
    FROM unnest(household_ids, person_ids, members) AS u (hid, pid, m)
    JOIN sp.household h ON h.household_id = u.hid
    JOIN sp_internal.protect_identifiers(person_ids, members) pr ON pr.person_id = u.pid
    LEFT JOIN LATERAL sp.parse_birth_date(u.m ->> 'birth_date') d ON true
    ORDER BY u.pid;
    -- their "consent" objects, if any (sql/19_consent.sql)
    INSERT INTO sp.consent (person_id, purpose, granted, source)
    SELECT u.pid, c.key, c.value::boolean, 'registration'
    FROM unnest(person_ids, members) AS u (pid, m), jsonb_each(u.m -> 'consent') c
    WHERE jsonb_typeof(u.m -> 'consent') = 'object' AND jsonb_typeof(c.value) = 'boolean'
    ORDER BY u.pid, c.key;
$$;
COMMENT ON FUNCTION sp_internal.insert_members(bigint[], bigint[], jsonb[]) IS 'Inserts validated member objects under preallocated ids (arrays aligned by position), with the consents they carry.';

CREATE TYPE sp_internal.batch_item AS (
    idx           integer,
    doc           jsonb,
    submission_id uuid,
    sha           bytea,
    outcome       text,
    household_id  bigint,
    person_ids    bigint[],
    sqlstate      text,
    field         text,
    message       text,
    duplicates    jsonb,
    digest_enc    bytea
);
COMMENT ON TYPE sp_internal.batch_item IS 'One document of a registration batch on its way through sp_internal.register_batch.';

-- The registration engine behind sp.register_household and
-- sp.import_registrations.  Set-based: one validation call, one query to find
-- replays, one insert per table for the whole batch.
--
-- Outcomes: inserted; duplicate (a replay: same submission_id and content,
-- earlier or within the batch; ids of the first registration returned);
-- rejected (invalid, or a used submission_id with other content); raced
-- (another session registered the submission_id while we ran; the caller
-- re-reads it in a new statement).
CREATE FUNCTION sp_internal.register_batch(batch jsonb, require_submission boolean, p_batch_id bigint)
    RETURNS SETOF sp_internal.batch_item
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    items sp_internal.batch_item[];
    claimed uuid[];
    previous_role text;
BEGIN
    -- Each document is parsed and fingerprinted once (MATERIALIZED), then
    -- classified: replay, conflict, invalid, repeated within the batch, or new.
    -- Fingerprints under the active blind-index key; while a rotation
    -- re-keys them, a stored one may still be under the key being replaced.
    WITH g AS MATERIALIZED (
        -- (a document without an area but with a GPS point gets the area of
        -- its point, sql/70_geo.sql; the fingerprint is of the document as sent)
        SELECT (e.i - 1)::integer AS idx, sp_internal.locate_document(e.d) AS d,
               CASE WHEN jsonb_typeof(e.d -> 'submission_id') = 'string' AND sp_internal.is_uuid(e.d ->> 'submission_id')
                    THEN (e.d ->> 'submission_id')::uuid END AS sid,
               CASE WHEN jsonb_typeof(e.d) = 'object' THEN sp_internal.document_digest(e.d) END AS digest
        FROM jsonb_array_elements(batch) WITH ORDINALITY AS e (d, i)
    ),
    d AS MATERIALIZED (
        SELECT g.idx, g.d, g.sid, p.fingerprint AS sha, p.old_fingerprint AS old_sha, p.digest_enc
        FROM g JOIN sp_internal.protect_documents(ARRAY(SELECT g2.digest FROM g g2 ORDER BY g2.idx),
                                                  ARRAY(SELECT g2.sid IS NOT NULL FROM g g2 ORDER BY g2.idx)) p
          ON p.ord = g.idx + 1
    ),
    first_use AS (
        SELECT DISTINCT ON (d.sid) d.sid, d.idx AS first_idx, d.sha AS first_sha
        FROM d WHERE d.sid IS NOT NULL ORDER BY d.sid, d.idx
    ),
    -- each distinct area of the batch checked once against the caller's scope
    -- (the caller's paths computed once per batch, not once per area)
    scope_paths AS MATERIALIZED (
        SELECT p.path FROM unnest(sp_internal.caller_area_paths()) AS p (path)
    ),
    scope AS MATERIALIZED (
        SELECT x.code, EXISTS (SELECT 1 FROM sp.admin_area a JOIN scope_paths sp ON starts_with(a.path, sp.path)
                               WHERE a.code = x.code) AS ok
        FROM (SELECT DISTINCT d.d ->> 'admin_area_code' AS code FROM d
              WHERE jsonb_typeof(d.d -> 'admin_area_code') = 'string') x
    ),
    c AS MATERIALIZED (
        SELECT d.idx, d.d, d.sid, d.sha, d.digest_enc, s.household_id AS old_household_id, s.person_ids AS old_person_ids,
               CASE WHEN p.idx IS NULL AND NOT sc.ok THEN 'out_of_scope'
                    WHEN s.submission_id IS NOT NULL AND s.document_fingerprint IN (d.sha, d.old_sha) THEN 'duplicate'
                    WHEN s.submission_id IS NOT NULL THEN 'conflict'
                    WHEN p.idx IS NOT NULL THEN 'invalid'
                    WHEN f.first_idx <> d.idx AND f.first_sha = d.sha THEN 'duplicate'
                    WHEN f.first_idx <> d.idx THEN 'batch_conflict'
                    ELSE 'inserted' END AS outcome,
               p.sqlstate, p.field, p.message, f.first_idx
        FROM d
        LEFT JOIN sp.registration_submission s ON s.submission_id = d.sid
        LEFT JOIN sp_internal.registration_problems((SELECT jsonb_agg(d2.d ORDER BY d2.idx) FROM d d2), require_submission) p ON p.idx = d.idx
        LEFT JOIN first_use f ON f.sid = d.sid
        LEFT JOIN scope sc ON sc.code = d.d ->> 'admin_area_code'
    )
    SELECT coalesce(array_agg(ROW(c.idx, c.d, c.sid, c.sha,
                                  CASE WHEN c.outcome IN ('conflict', 'invalid', 'batch_conflict', 'out_of_scope') THEN 'rejected' ELSE c.outcome END,
                                  CASE WHEN c.outcome = 'inserted' THEN nextval('sp.household_household_id_seq')
                                       ELSE c.old_household_id END,
                                  CASE WHEN c.outcome = 'inserted' THEN
                                       ARRAY(SELECT nextval('sp.person_person_id_seq')
                                             FROM generate_series(1, jsonb_array_length(c.d -> 'members')))
                                       ELSE c.old_person_ids END,
                                  CASE c.outcome WHEN 'invalid' THEN c.sqlstate
                                                 WHEN 'conflict' THEN '23505' WHEN 'batch_conflict' THEN '23505'
                                                 WHEN 'out_of_scope' THEN '42501' END,
                                  CASE c.outcome WHEN 'invalid' THEN c.field
                                                 WHEN 'conflict' THEN 'submission_id' WHEN 'batch_conflict' THEN 'submission_id'
                                                 WHEN 'out_of_scope' THEN 'admin_area_code' END,
                                  CASE c.outcome WHEN 'invalid' THEN c.message
                                       WHEN 'out_of_scope' THEN format('admin area "%s" is outside the area scope of role %s',
                                                                       c.d ->> 'admin_area_code', sp_internal.caller())
                                       WHEN 'conflict' THEN 'submission_id was already used for a different document'
                                       WHEN 'batch_conflict' THEN format('submission_id is used by document %s of this batch with different content', c.first_idx)
                                       END, NULL, c.digest_enc)::sp_internal.batch_item ORDER BY c.idx), '{}')
    INTO items
    FROM (SELECT * FROM c ORDER BY c.idx) c;  -- ids are drawn in document order

    -- References of the rows about to be inserted, checked once for the batch
    -- instead of by a foreign-key trigger per row (the row triggers were most
    -- of the remaining cost of registration).  The areas and relationship
    -- types the batch uses are locked FOR KEY SHARE, as the foreign-key checks
    -- would lock them, so that a concurrent delete waits and then fails; the
    -- households, persons and the import batch are this call's own rows.
    -- Validation checked the codes against the catalogue; checked again here
    -- under the lock.
    IF EXISTS (
        SELECT 1 FROM (SELECT DISTINCT i.doc ->> 'admin_area_code' AS code FROM unnest(items) i WHERE i.outcome = 'inserted') c
        WHERE NOT EXISTS (SELECT 1 FROM (SELECT a.code FROM sp.admin_area a WHERE a.code = c.code FOR KEY SHARE) k))
       OR EXISTS (
        SELECT 1 FROM (SELECT DISTINCT m.m ->> 'relationship_to_head' AS code
                       FROM unnest(items) i, jsonb_array_elements(i.doc -> 'members') AS m (m)
                       WHERE i.outcome = 'inserted') c
        WHERE NOT EXISTS (SELECT 1 FROM (SELECT r.code FROM sp.relationship_type r WHERE r.code = c.code FOR KEY SHARE) k)) THEN
        RAISE EXCEPTION 'an admin area or relationship type of the batch was removed while it was being registered'
            USING ERRCODE = 'foreign_key_violation', DETAIL = 'Nothing was stored; send the batch again.';
    END IF;
    previous_role := current_setting('session_replication_role');
    PERFORM set_config('session_replication_role', 'replica', true);

    -- Claim the submission ids first: a concurrent session registering the
    -- same id makes ours skip it (it waits for the other to finish).
    WITH claim AS (
        INSERT INTO sp.registration_submission (submission_id, household_id, person_ids, document_fingerprint,
                                                document_digest_enc, source, device_time, batch_id)
        SELECT i.submission_id, i.household_id, i.person_ids, i.sha, i.digest_enc, i.doc ->> 'source',
               (i.doc ->> 'device_time')::timestamptz, p_batch_id
        FROM unnest(items) i
        WHERE i.outcome = 'inserted' AND i.submission_id IS NOT NULL
        ON CONFLICT (submission_id) DO NOTHING
        RETURNING submission_id
    )
    SELECT coalesce(array_agg(submission_id), '{}') INTO claimed FROM claim;

    IF cardinality(claimed) < (SELECT count(*) FROM unnest(items) i
                               WHERE i.outcome = 'inserted' AND i.submission_id IS NOT NULL) THEN
        SELECT array_agg(CASE WHEN i.outcome = 'inserted' AND i.submission_id IS NOT NULL
                                   AND NOT i.submission_id = ANY (claimed)
                              THEN ROW(i.idx, i.doc, i.submission_id, i.sha, 'raced', NULL, NULL, NULL, NULL, NULL, NULL, NULL)::sp_internal.batch_item
                              ELSE i END ORDER BY i.idx)
        INTO items FROM unnest(items) i;
    END IF;

    INSERT INTO sp.household (household_id, admin_area_code, location, attributes)
    SELECT i.household_id, i.doc ->> 'admin_area_code', sp_internal.location_point(i.doc -> 'location'),
           coalesce(jsonb_strip_nulls(i.doc -> 'attributes'), '{}')
    FROM unnest(items) i WHERE i.outcome = 'inserted'
    ORDER BY i.household_id;

    PERFORM sp_internal.insert_members(array_agg(i.household_id ORDER BY m.ord, i.idx),
                                       array_agg(i.person_ids[m.ord] ORDER BY m.ord, i.idx),
                                       array_agg(m.m ORDER BY m.ord, i.idx))
    FROM unnest(items) i, jsonb_array_elements(i.doc -> 'members') WITH ORDINALITY AS m (m, ord)
    WHERE i.outcome = 'inserted'
    HAVING count(*) > 0;
    PERFORM set_config('session_replication_role', previous_role, true);

    -- every flag is kept in sp.registration_duplicate for review; the caller
    -- is told only of registered persons in its own area scope (otherwise a
    -- decoy registration would reveal who elsewhere holds an ID)
    RETURN QUERY
    WITH flags AS (
        SELECT f.person_id, f.candidate_person_id, f.match_probability
        FROM sp_internal.check_new_persons(
            ARRAY(SELECT unnest(i.person_ids) FROM unnest(items) i WHERE i.outcome = 'inserted')) f
        JOIN sp.person c ON c.person_id = f.candidate_person_id
        WHERE c.admin_area_code IN (SELECT v.code FROM sp_internal.visible_areas() v (code))
    )
    SELECT i.idx, i.doc, i.submission_id, i.sha, i.outcome, i.household_id, i.person_ids, i.sqlstate, i.field, i.message,
           (SELECT jsonb_agg(jsonb_build_object('person_id', f.person_id, 'registered_person_id', f.candidate_person_id,
                                                'match_probability', round(f.match_probability::numeric, 4))
                             ORDER BY f.person_id, f.match_probability DESC)
            FROM flags f WHERE i.outcome = 'inserted' AND f.person_id = ANY (i.person_ids)),
           i.digest_enc
    FROM unnest(items) i;
END
$$;
COMMENT ON FUNCTION sp_internal.register_batch(jsonb, boolean, bigint) IS 'Validates and registers an array of documents set-based; one sp_internal.batch_item per document with its outcome.';

CREATE FUNCTION sp_internal.replay(p_submission_id uuid, p_sha bytea, OUT result jsonb, OUT problem sp_internal.problem)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s sp.registration_submission;
BEGIN
    SELECT * INTO s FROM sp.registration_submission WHERE submission_id = p_submission_id;
    IF NOT FOUND THEN
        problem := ('40001', 'submission_id', 'submission_id is being registered by another session')::sp_internal.problem;
    ELSIF s.document_fingerprint <> p_sha THEN
        problem := ('23505', 'submission_id', 'submission_id was already used for a different document')::sp_internal.problem;
    ELSE
        result := jsonb_build_object('household_id', s.household_id, 'person_ids', to_jsonb(s.person_ids),
                                     'submission_id', s.submission_id, 'replayed', true);
    END IF;
END
$$;
COMMENT ON FUNCTION sp_internal.replay(uuid, bytea) IS 'Result of an earlier registration with this submission_id and fingerprint; a problem when the content differs.';

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
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    it sp_internal.batch_item;
    r record;
BEGIN
    IF doc IS NULL THEN
        RAISE EXCEPTION 'registration document is NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO it FROM sp_internal.register_batch(jsonb_build_array(doc), false, NULL);
    IF it.outcome = 'raced' THEN
        -- registered by a session that committed while we waited: read it now
        r := sp_internal.replay(it.submission_id, it.sha);
        IF r.problem IS NOT NULL THEN
            PERFORM sp_internal.raise_problem(r.problem, 'registration');
        END IF;
        RETURN r.result;
    ELSIF it.outcome = 'rejected' THEN
        PERFORM sp_internal.raise_problem((it.sqlstate, it.field, it.message)::sp_internal.problem, 'registration');
    END IF;
    RETURN jsonb_build_object('household_id', it.household_id, 'person_ids', to_jsonb(it.person_ids),
                              'submission_id', it.submission_id, 'replayed', it.outcome = 'duplicate',
                              'possible_duplicates', coalesce(it.duplicates, '[]'));
END
$$;
COMMENT ON FUNCTION sp.register_household(jsonb) IS
'Registers a household and its members from one JSON document (see docs/api.md). Returns {"household_id", "person_ids", "submission_id", "replayed", "possible_duplicates"}; likely duplicates of registered persons are flagged (once the person linkage model is trained), never refused. A replay of the same submission_id and content returns the first result and stores nothing; other content under a used submission_id raises 23505. Invalid documents raise 22xxx/23xxx naming the field; nothing is stored.';

CREATE FUNCTION sp.import_registrations(batch jsonb)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    bid bigint;
    it sp_internal.batch_item;
    r record;
    n_ins integer := 0;
    n_dup integer := 0;
    n_rej integer := 0;
    n_flag integer := 0;
    errors jsonb;
BEGIN
    IF batch IS NULL OR jsonb_typeof(batch) <> 'array' THEN
        RAISE EXCEPTION 'batch must be a JSON array of registration documents'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('Got %s; nothing was stored.', coalesce(jsonb_typeof(batch), 'NULL'));
    END IF;

    INSERT INTO sp.import_batch (documents) VALUES (jsonb_array_length(batch)) RETURNING batch_id INTO bid;

    FOR it IN SELECT * FROM sp_internal.register_batch(batch, true, bid) LOOP
        IF it.outcome = 'raced' THEN
            r := sp_internal.replay(it.submission_id, it.sha);
            IF r.problem IS NULL THEN
                it.outcome := 'duplicate';
            ELSE
                it.outcome := 'rejected';
                it.sqlstate := (r.problem).sqlstate;
                it.field := (r.problem).field;
                it.message := (r.problem).message;
            END IF;
        END IF;
        CASE it.outcome
        WHEN 'inserted' THEN
            n_ins := n_ins + 1;
            n_flag := n_flag + coalesce(jsonb_array_length(it.duplicates), 0);
        WHEN 'duplicate' THEN n_dup := n_dup + 1;
        ELSE
            n_rej := n_rej + 1;
            INSERT INTO sp.import_error (batch_id, batch_index, submission_id, document, sqlstate, field, message)
            VALUES (bid, it.idx, it.submission_id, sp_internal.rejected_document(it.doc), it.sqlstate, it.field, it.message);
        END CASE;
    END LOOP;

    SELECT coalesce(jsonb_agg(jsonb_build_object('index', e.batch_index, 'submission_id', e.submission_id,
                                                 'sqlstate', e.sqlstate, 'field', e.field, 'message', e.message)
                              ORDER BY e.batch_index), '[]')
    INTO errors FROM sp.import_error e WHERE e.batch_id = bid;

    UPDATE sp.import_batch SET inserted = n_ins, duplicates_skipped = n_dup, rejected = n_rej
    WHERE batch_id = bid;

    RETURN jsonb_build_object('batch_id', bid, 'inserted', n_ins, 'duplicates_skipped', n_dup,
                              'rejected', n_rej, 'possible_duplicates', n_flag, 'errors', errors);
END
$$;
COMMENT ON FUNCTION sp.import_registrations(jsonb) IS
'Imports a JSON array of registration documents, each with a submission_id. Valid documents are registered, replays are skipped, invalid ones are stored in sp.import_error (identifiers redacted) and listed in the result. Returns {"batch_id", "inserted", "duplicates_skipped", "rejected", "possible_duplicates", "errors": [{index, submission_id, sqlstate, field, message}]}; possible duplicates are kept in sp.registration_duplicate. Runs in the caller''s transaction: an unexpected error rolls back the whole batch.';
