-- Key rotation: a new encryption and/or blind-index key, every stored value
-- re-keyed in batches, the old key retired, with no moment where a lookup,
-- a decryption, a replay or the duplicate check fails.
--
-- Every ciphertext, blind index and document fingerprint starts with the
-- 2-byte key_id of the key that made it (sql/13_pii.sql).  While a key is
-- 'rotating':
--   * writers use the new ('active') key only;
--   * decryption picks the key by the value's tag;
--   * lookups (sp.find_person_by_national_id), the duplicate check of new
--     registrations and the replay check compute the blind index / the
--     fingerprint under both keys and match either;
--   * sp.deduplicate_persons refuses to run (the whole-registry join would
--     compare values under different keys).
-- sp.rotate_keys() is a function that does one step per call and says when
-- it is done; a scheduler (pg_cron, or a shell loop) calls it until then,
-- each call its own transaction.  Not a procedure: a SECURITY DEFINER
-- routine, or one with a pinned search_path, cannot commit.  Progress lives in sp_internal.key_rotation, so a
-- crash or cancel loses at most the step in flight, and the next call
-- resumes.  Steps: start (new key active, old key rotating) -> person ->
-- person_history -> submission (fingerprints, from the encrypted digest) ->
-- retire: once no transaction that could still hold the old key is running,
-- a last sweep re-keys stragglers, checks none is left, and the old key is
-- retired with its bytes removed.

CREATE TABLE sp_internal.key_rotation (
    rotation_id     integer PRIMARY KEY,
    purposes        text[] NOT NULL,
    old_key_ids     integer[] NOT NULL DEFAULT '{}',
    new_key_ids     integer[] NOT NULL DEFAULT '{}',
    state           text NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'done')),
    phase           text NOT NULL DEFAULT 'person'
                    CHECK (phase IN ('person', 'person_history', 'submission', 'retire', 'done')),
    next_id         bigint NOT NULL DEFAULT 0,
    next_submission uuid,
    rows_rekeyed    bigint NOT NULL DEFAULT 0,
    steps           integer NOT NULL DEFAULT 0,
    started_at      timestamptz NOT NULL DEFAULT now(),
    started_by      text NOT NULL,
    rekey_from      timestamptz,
    finished_at     timestamptz,
    CHECK ((state = 'done') = (phase = 'done')),
    CHECK ((state = 'done') = (finished_at IS NOT NULL))
);
-- one rotation at a time: a second start fails on this index
CREATE UNIQUE INDEX key_rotation_one_running_idx ON sp_internal.key_rotation ((true)) WHERE state = 'running';
COMMENT ON TABLE sp_internal.key_rotation IS 'Key rotations and their progress: which keys are replaced by which, the phase and the cursor within it (next_id: last person_id or history_id done; next_submission: last submission_id done), rows re-keyed, steps, who started it and when. At most one is running. Written only by sp.rotate_keys.';
COMMENT ON COLUMN sp_internal.key_rotation.rekey_from IS 'Start of the transaction of the first re-keying step. Every transaction that may still write under an old key began before it; the key is retired only once none of them is running.';
REVOKE ALL ON sp_internal.key_rotation FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('sp_internal.key_rotation', '');

DO $rot$
DECLARE
    crypto text;
BEGIN
    SELECT n.nspname INTO STRICT crypto
    FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'pgcrypto';
    EXECUTE pg_catalog.format($f$
        CREATE FUNCTION sp_internal.pii_key_new(p_purpose text)
            RETURNS integer
            LANGUAGE sql VOLATILE
            SET search_path = pg_catalog, pg_temp
        AS $body$
            INSERT INTO sp_internal.pii_key (key_id, purpose, key)
            SELECT coalesce(max(k.key_id), 0) + 1, p_purpose, %1$I.gen_random_bytes(32) FROM sp_internal.pii_key k
            RETURNING key_id
        $body$ $f$, crypto);
END
$rot$;
COMMENT ON FUNCTION sp_internal.pii_key_new(text) IS 'Creates a new random key for a purpose and returns its key_id. Called by sp.rotate_keys only (after the active key was set rotating).';
REVOKE ALL ON FUNCTION sp_internal.pii_key_new(text) FROM PUBLIC;

-- Brings the given rows to the active keys: decrypts each value with the key
-- its tag names, re-encrypts and re-indexes what is not under the active key
-- yet.  Re-keying is not a new version of a person (the values are the same),
-- so it runs with session_replication_role = replica: no version bump, no
-- history row, and history rows (append-only to everyone else) can be
-- re-keyed too.  Persons must be locked by the caller.
CREATE FUNCTION sp_internal.rekey_rows(tbl text, ids bigint[], sids uuid[])
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET session_replication_role = replica
AS $$
DECLARE
    e_id integer;
    e_key bytea;
    b_id integer;
    b_key bytea;
    n bigint;
BEGIN
    SELECT k.key_id, k.key INTO STRICT e_id, e_key FROM sp_internal.pii_key k WHERE k.purpose = 'encryption' AND k.state = 'active';
    SELECT k.key_id, k.key INTO STRICT b_id, b_key FROM sp_internal.pii_key k WHERE k.purpose = 'blind_index' AND k.state = 'active';
    IF tbl = 'person' THEN
        UPDATE sp.person p SET
            national_id_enc = CASE WHEN sp_internal.pii_key_id(p.national_id_enc) = e_id THEN p.national_id_enc
                                   ELSE sp_internal.pii_encrypt(x.nid, e_id, e_key) END,
            national_id_hash = CASE WHEN sp_internal.pii_key_id(p.national_id_hash) = b_id THEN p.national_id_hash
                                    ELSE sp_internal.pii_hash('national_id', sp.normalize_national_id(x.nid), b_id, b_key) END,
            phone_enc = CASE WHEN sp_internal.pii_key_id(p.phone_enc) = e_id THEN p.phone_enc
                             ELSE sp_internal.pii_encrypt(x.ph, e_id, e_key) END,
            phone_hash = CASE WHEN sp_internal.pii_key_id(p.phone_hash) = b_id THEN p.phone_hash
                              ELSE sp_internal.pii_hash('phone', sp.normalize_phone(x.ph), b_id, b_key) END
        FROM (SELECT q.person_id, sp_internal.decrypt_pii(q.national_id_enc) AS nid, sp_internal.decrypt_pii(q.phone_enc) AS ph
              FROM sp.person q WHERE q.person_id = ANY (ids)) x
        WHERE p.person_id = x.person_id;
    ELSIF tbl = 'person_history' THEN
        UPDATE sp.person_history p SET
            national_id_enc = CASE WHEN sp_internal.pii_key_id(p.national_id_enc) = e_id THEN p.national_id_enc
                                   ELSE sp_internal.pii_encrypt(x.nid, e_id, e_key) END,
            national_id_hash = CASE WHEN sp_internal.pii_key_id(p.national_id_hash) = b_id THEN p.national_id_hash
                                    ELSE sp_internal.pii_hash('national_id', sp.normalize_national_id(x.nid), b_id, b_key) END,
            phone_enc = CASE WHEN sp_internal.pii_key_id(p.phone_enc) = e_id THEN p.phone_enc
                             ELSE sp_internal.pii_encrypt(x.ph, e_id, e_key) END,
            phone_hash = CASE WHEN sp_internal.pii_key_id(p.phone_hash) = b_id THEN p.phone_hash
                              ELSE sp_internal.pii_hash('phone', sp.normalize_phone(x.ph), b_id, b_key) END
        FROM (SELECT q.history_id, sp_internal.decrypt_pii(q.national_id_enc) AS nid, sp_internal.decrypt_pii(q.phone_enc) AS ph
              FROM sp.person_history q WHERE q.history_id = ANY (ids)) x
        WHERE p.history_id = x.history_id;
    ELSIF tbl = 'submission' THEN
        UPDATE sp.registration_submission s SET
            document_fingerprint = CASE WHEN sp_internal.pii_key_id(s.document_fingerprint) = b_id THEN s.document_fingerprint
                                        ELSE sp_internal.pii_hmac(x.digest, b_id, b_key) END,
            document_digest_enc = CASE WHEN sp_internal.pii_key_id(s.document_digest_enc) = e_id THEN s.document_digest_enc
                                       ELSE sp_internal.pii_encrypt_bytea(x.digest, e_id, e_key) END
        FROM (SELECT q.submission_id, sp_internal.decrypt_pii_bytea(q.document_digest_enc) AS digest
              FROM sp.registration_submission q WHERE q.submission_id = ANY (sids)) x
        WHERE s.submission_id = x.submission_id;
    ELSE
        RAISE EXCEPTION 'unknown table %', tbl USING ERRCODE = 'invalid_parameter_value';
    END IF;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION sp_internal.rekey_rows(text, bigint[], uuid[]) IS 'Re-encrypts and re-indexes the given persons, person history rows (ids) or registration submissions (sids) under the active keys; values already under them are left alone. Not a new version: no history row, no version bump. Owner only, for sp.rotate_keys.';
REVOKE ALL ON FUNCTION sp_internal.rekey_rows(text, bigint[], uuid[]) FROM PUBLIC;

-- Rows of a table not yet under the active keys (at most n; NULL n = all).
-- Persons are locked, so a concurrent update either precedes the re-keying
-- (and is re-keyed) or waits for it.
CREATE FUNCTION sp_internal.rekey_pending(tbl text, after_id bigint, after_sid uuid, n integer,
                                          OUT ids bigint[], OUT sids uuid[], OUT scanned integer, OUT last_id bigint, OUT last_sid uuid)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    e_id integer := (SELECT k.key_id FROM sp_internal.pii_key k WHERE k.purpose = 'encryption' AND k.state = 'active');
    b_id integer := (SELECT k.key_id FROM sp_internal.pii_key k WHERE k.purpose = 'blind_index' AND k.state = 'active');
    window_ids bigint[];
    window_sids uuid[];
BEGIN
    IF tbl = 'person' THEN
        IF n IS NOT NULL THEN
            SELECT array_agg(q.person_id ORDER BY q.person_id) INTO window_ids
            FROM (SELECT p.person_id FROM sp.person p WHERE p.person_id > after_id ORDER BY p.person_id LIMIT n) q;
        END IF;
        SELECT array_agg(q.person_id ORDER BY q.person_id) INTO ids
        FROM (SELECT p.person_id FROM sp.person p
              WHERE (n IS NULL OR p.person_id = ANY (window_ids))
                AND (sp_internal.pii_key_id(p.national_id_enc) <> e_id OR sp_internal.pii_key_id(p.phone_enc) <> e_id
                     OR sp_internal.pii_key_id(p.national_id_hash) <> b_id OR sp_internal.pii_key_id(p.phone_hash) <> b_id)
              ORDER BY p.person_id
              FOR NO KEY UPDATE) q;
        last_id := window_ids[cardinality(window_ids)];
        scanned := coalesce(cardinality(window_ids), 0);
    ELSIF tbl = 'person_history' THEN
        IF n IS NOT NULL THEN
            SELECT array_agg(q.history_id ORDER BY q.history_id) INTO window_ids
            FROM (SELECT h.history_id FROM sp.person_history h WHERE h.history_id > after_id ORDER BY h.history_id LIMIT n) q;
        END IF;
        SELECT array_agg(h.history_id ORDER BY h.history_id) INTO ids
        FROM sp.person_history h
        WHERE (n IS NULL OR h.history_id = ANY (window_ids))
          AND (sp_internal.pii_key_id(h.national_id_enc) <> e_id OR sp_internal.pii_key_id(h.phone_enc) <> e_id
               OR sp_internal.pii_key_id(h.national_id_hash) <> b_id OR sp_internal.pii_key_id(h.phone_hash) <> b_id);
        last_id := window_ids[cardinality(window_ids)];
        scanned := coalesce(cardinality(window_ids), 0);
    ELSE
        IF n IS NOT NULL THEN
            SELECT array_agg(q.submission_id ORDER BY q.submission_id) INTO window_sids
            FROM (SELECT s.submission_id FROM sp.registration_submission s
                  WHERE after_sid IS NULL OR s.submission_id > after_sid ORDER BY s.submission_id LIMIT n) q;
        END IF;
        SELECT array_agg(s.submission_id ORDER BY s.submission_id) INTO sids
        FROM sp.registration_submission s
        WHERE (n IS NULL OR s.submission_id = ANY (window_sids))
          AND (sp_internal.pii_key_id(s.document_fingerprint) <> b_id OR sp_internal.pii_key_id(s.document_digest_enc) <> e_id);
        last_sid := window_sids[cardinality(window_sids)];
        scanned := coalesce(cardinality(window_sids), 0);
    END IF;
END
$$;
COMMENT ON FUNCTION sp_internal.rekey_pending(text, bigint, uuid, integer) IS 'The next window of n rows after the cursor (all rows when n is NULL), and which of them are not under the active keys (persons among them locked). Owner only, for sp.rotate_keys.';
REVOKE ALL ON FUNCTION sp_internal.rekey_pending(text, bigint, uuid, integer) FROM PUBLIC;

CREATE FUNCTION sp.rotate_keys(purpose text DEFAULT NULL, batch_size integer DEFAULT 10000, start_new boolean DEFAULT true)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    who text := sp_internal.caller();
    rot sp_internal.key_rotation;
    p text;
    old_id integer;
    new_id integer;
    pend record;
    n bigint := 0;
    waiting integer;
    left_over bigint;
    result jsonb;
BEGIN
    IF NOT (EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = who AND r.rolsuper)
            OR pg_catalog.pg_has_role(who, 'sp_admin', 'USAGE')) THEN
        RAISE EXCEPTION 'sp.rotate_keys needs sp_admin'
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = pg_catalog.format('Role %s is neither a superuser nor a member of sp_admin.', who);
    END IF;
    -- the keys protect every area's identifiers
    PERFORM sp_internal.require_national_scope('key rotation');
    IF purpose IS NOT NULL AND purpose NOT IN ('encryption', 'blind_index') THEN
        RAISE EXCEPTION 'purpose must be encryption, blind_index or NULL (both)' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF batch_size IS NULL OR batch_size NOT BETWEEN 1 AND 1000000 THEN
        RAISE EXCEPTION 'batch_size must be between 1 and 1000000' USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- the running rotation, locked for this step: a second session stepping
    -- it at the same time is refused rather than queued
    BEGIN
        SELECT * INTO rot FROM sp_internal.key_rotation r WHERE r.state = 'running' FOR UPDATE NOWAIT;
    EXCEPTION WHEN lock_not_available THEN
        RAISE EXCEPTION 'a step of the running key rotation is in progress in another session'
            USING ERRCODE = 'object_in_use',
                  HINT = 'Call sp.rotate_keys again when that step has finished; one session drives a rotation.';
    END;

    IF rot.rotation_id IS NULL AND NOT coalesce(start_new, true) THEN
        -- a scheduler that only continues rotations: nothing to do
        RETURN jsonb_build_object('phase', 'idle', 'rows_rekeyed', 0, 'done', true);
    ELSIF rot.rotation_id IS NULL THEN
        -- start: the current key of each purpose becomes "rotating", a new one "active"
        BEGIN
            INSERT INTO sp_internal.key_rotation (rotation_id, purposes, started_by)
            SELECT coalesce(max(r.rotation_id), 0) + 1,
                   CASE WHEN purpose IS NULL THEN ARRAY['encryption', 'blind_index'] ELSE ARRAY[purpose] END, who
            FROM sp_internal.key_rotation r
            RETURNING * INTO rot;
        EXCEPTION WHEN unique_violation THEN
            RAISE EXCEPTION 'another key rotation is being started'
                USING ERRCODE = 'object_in_use',
                      HINT = 'Only one key rotation runs at a time; continue it with sp.rotate_keys().';
        END;
        FOREACH p IN ARRAY rot.purposes LOOP
            PERFORM sp_internal.pii_key_current(p);   -- a first key, if there was none
            UPDATE sp_internal.pii_key k SET state = 'rotating'
            WHERE k.purpose = p AND k.state = 'active' RETURNING k.key_id INTO STRICT old_id;
            new_id := sp_internal.pii_key_new(p);
            rot.old_key_ids := rot.old_key_ids || old_id;
            rot.new_key_ids := rot.new_key_ids || new_id;
        END LOOP;
        UPDATE sp_internal.key_rotation r SET old_key_ids = rot.old_key_ids, new_key_ids = rot.new_key_ids, steps = 1
        WHERE r.rotation_id = rot.rotation_id RETURNING * INTO rot;
        PERFORM sp_internal.audit_write('key_rotation_start', '{}', 'key rotation', jsonb_build_object(
            'rotation_id', rot.rotation_id, 'purposes', to_jsonb(rot.purposes),
            'old_key_ids', to_jsonb(rot.old_key_ids), 'new_key_ids', to_jsonb(rot.new_key_ids)), 0);
    ELSE
        IF purpose IS NOT NULL AND NOT purpose = ANY (rot.purposes) THEN
            RAISE EXCEPTION 'a rotation of the % key is running', array_to_string(rot.purposes, ' and ')
                USING ERRCODE = 'object_in_use',
                      DETAIL = pg_catalog.format('Rotation %s, started by %s, is in phase %s.',
                                                 rot.rotation_id, rot.started_by, rot.phase),
                      HINT = 'Finish it first: call sp.rotate_keys() until it reports done.';
        END IF;
        IF rot.rekey_from IS NULL THEN
            rot.rekey_from := now();  -- this transaction began after the new keys were committed
        END IF;

        IF rot.phase IN ('person', 'person_history', 'submission') THEN
            pend := sp_internal.rekey_pending(rot.phase, rot.next_id, rot.next_submission, batch_size);
            IF pend.ids IS NOT NULL OR pend.sids IS NOT NULL THEN
                n := sp_internal.rekey_rows(rot.phase, pend.ids, pend.sids);
            END IF;
            rot.next_id := coalesce(pend.last_id, rot.next_id);
            rot.next_submission := coalesce(pend.last_sid, rot.next_submission);
            IF pend.scanned < batch_size THEN
                rot.phase := CASE rot.phase WHEN 'person' THEN 'person_history' WHEN 'person_history' THEN 'submission'
                                            ELSE 'retire' END;
                rot.next_id := 0;
                rot.next_submission := NULL;
            END IF;
        ELSE  -- retire
            -- a transaction older than the first re-keying step may have read
            -- the old key and not committed yet: wait for it
            SELECT count(*) INTO waiting
            FROM pg_catalog.pg_stat_activity a
            WHERE a.pid <> pg_catalog.pg_backend_pid() AND a.xact_start < rot.rekey_from
              AND a.backend_type IN ('client backend', 'background worker')
              AND (a.datname = pg_catalog.current_database() OR a.datname IS NULL);
            waiting := waiting + (SELECT count(*) FROM pg_catalog.pg_prepared_xacts x
                                  WHERE x.prepared < rot.rekey_from AND x.database = pg_catalog.current_database());
            IF waiting = 0 THEN
                -- last sweep: whatever such transactions wrote
                FOREACH p IN ARRAY ARRAY['person', 'person_history', 'submission'] LOOP
                    pend := sp_internal.rekey_pending(p, 0, NULL, NULL);
                    IF pend.ids IS NOT NULL OR pend.sids IS NOT NULL THEN
                        n := n + sp_internal.rekey_rows(p, pend.ids, pend.sids);
                    END IF;
                END LOOP;
                SELECT (SELECT count(*) FROM sp.person q
                        WHERE sp_internal.pii_key_id(q.national_id_enc) = ANY (rot.old_key_ids) OR sp_internal.pii_key_id(q.phone_enc) = ANY (rot.old_key_ids)
                           OR sp_internal.pii_key_id(q.national_id_hash) = ANY (rot.old_key_ids) OR sp_internal.pii_key_id(q.phone_hash) = ANY (rot.old_key_ids))
                     + (SELECT count(*) FROM sp.person_history q
                        WHERE sp_internal.pii_key_id(q.national_id_enc) = ANY (rot.old_key_ids) OR sp_internal.pii_key_id(q.phone_enc) = ANY (rot.old_key_ids)
                           OR sp_internal.pii_key_id(q.national_id_hash) = ANY (rot.old_key_ids) OR sp_internal.pii_key_id(q.phone_hash) = ANY (rot.old_key_ids))
                     + (SELECT count(*) FROM sp.registration_submission q
                        WHERE sp_internal.pii_key_id(q.document_fingerprint) = ANY (rot.old_key_ids)
                           OR sp_internal.pii_key_id(q.document_digest_enc) = ANY (rot.old_key_ids))
                INTO left_over;
                IF left_over > 0 THEN
                    RAISE EXCEPTION '% values are still under the keys being retired', left_over
                        USING ERRCODE = 'internal_error', DETAIL = 'Nothing was retired; call sp.rotate_keys again.';
                END IF;
                -- retired: no longer used by lookups, and the key bytes are gone
                UPDATE sp_internal.pii_key k SET state = 'retired', retired_at = now(), key = NULL
                WHERE k.key_id = ANY (rot.old_key_ids);
                rot.phase := 'done';
                rot.state := 'done';
                rot.finished_at := clock_timestamp();
            END IF;
        END IF;

        UPDATE sp_internal.key_rotation r
        SET phase = rot.phase, state = rot.state, next_id = rot.next_id, next_submission = rot.next_submission,
            rows_rekeyed = r.rows_rekeyed + n, steps = r.steps + 1, rekey_from = rot.rekey_from, finished_at = rot.finished_at
        WHERE r.rotation_id = rot.rotation_id RETURNING * INTO rot;
        PERFORM sp_internal.audit_write(CASE WHEN rot.state = 'done' THEN 'key_rotation_retire' ELSE 'key_rotation_step' END,
                                        '{}', 'key rotation', jsonb_build_object(
            'rotation_id', rot.rotation_id, 'phase', rot.phase, 'rows_rekeyed', n,
            'retired_key_ids', CASE WHEN rot.state = 'done' THEN to_jsonb(rot.old_key_ids) END,
            'waiting_for_transactions', waiting), 0);
    END IF;

    result := jsonb_build_object('rotation_id', rot.rotation_id, 'purposes', to_jsonb(rot.purposes),
                                 'old_key_ids', to_jsonb(rot.old_key_ids), 'new_key_ids', to_jsonb(rot.new_key_ids),
                                 'phase', rot.phase, 'rows_rekeyed', n, 'total_rows_rekeyed', rot.rows_rekeyed,
                                 'steps', rot.steps, 'done', rot.state = 'done');
    IF waiting > 0 THEN
        result := result || jsonb_build_object('waiting_for_transactions', waiting);
    END IF;
    RETURN result;
END
$$;
COMMENT ON FUNCTION sp.rotate_keys(text, integer, boolean) IS
'Rotates the PII keys (purpose encryption, blind_index, or NULL for both), one step per call: the first call creates the new key (writes use it at once; the old one keeps decrypting and matching lookups); each later call re-keys up to batch_size persons, then person history rows, then registration fingerprints; the last retires the old key (bytes removed) once every value is re-keyed and no transaction older than the rotation is running. Returns {"rotation_id", "phase", "rows_rekeyed", "total_rows_rekeyed", "done", ...}; call it (from a scheduler, each call its own transaction) until "done" is true; with start_new => false it only continues a running rotation ({"phase": "idle", "done": true} when none runs), for a job scheduled permanently. Progress is kept, so it resumes after a crash or cancel. One rotation at a time; superusers and sp_admin only; every step is recorded in sp.audit_log.';
REVOKE ALL ON FUNCTION sp.rotate_keys(text, integer, boolean) FROM PUBLIC;
