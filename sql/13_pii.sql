-- Personal identifiers: encryption at rest, blind index, audited reads.
--
-- Keys are random 32-byte values in sp_internal.pii_key, versioned (key_id,
-- state; see sql/16_key_rotation.sql), readable only by the extension owner and used through SECURITY DEFINER functions; they never
-- appear in SQL text.  The decryption and blind-index helpers are not
-- SECURITY DEFINER themselves: only code already running as the owner (the
-- audited API below) can use them, whoever holds EXECUTE on them.  Keys are
-- created on first use rather than at install, so that restoring a dump
-- (which carries the keys) never clashes with fresh ones.  pgcrypto may live in any schema: the functions below are created
-- with its schema name resolved now, because SECURITY DEFINER bodies run with
-- search_path = pg_catalog, pg_temp.
--
-- Every lookup by identifier and every decryption is recorded in
-- sp.audit_log (sql/15_audit.sql) by sp_internal.audit_write, which returns
-- only once the record has committed in a transaction of its own: nothing is
-- returned unrecorded, and a rollback of the caller does not erase the record.

CREATE TABLE sp_internal.pii_key (
    key_id      integer PRIMARY KEY CHECK (key_id BETWEEN 1 AND 32767),
    purpose     text NOT NULL CHECK (purpose IN ('encryption', 'blind_index')),
    key         bytea CHECK (length(key) = 32),
    state       text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'rotating', 'retired')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    retired_at  timestamptz,
    CHECK ((state = 'retired') = (retired_at IS NOT NULL)),
    CHECK (key IS NOT NULL OR state = 'retired')
);
-- exactly one key per purpose writes; at most one is being replaced
CREATE UNIQUE INDEX pii_key_one_active_idx ON sp_internal.pii_key (purpose) WHERE state = 'active';
CREATE UNIQUE INDEX pii_key_one_rotating_idx ON sp_internal.pii_key (purpose) WHERE state = 'rotating';
REVOKE ALL ON sp_internal.pii_key FROM PUBLIC;
COMMENT ON TABLE sp_internal.pii_key IS 'Secret keys for PII encryption and the blind index, versioned by key_id. state: active (writes and lookups), rotating (being replaced by sp.rotate_keys: still decrypts and still matches lookups), retired (no longer used; key bytes removed). Readable by the extension owner only. Included in pg_dump output: protect dumps like the keys themselves.';
COMMENT ON COLUMN sp_internal.pii_key.key_id IS 'Written as a 2-byte big-endian tag in front of every ciphertext, blind index and document fingerprint it made, so each stored value names its key.';
COMMENT ON COLUMN sp_internal.pii_key.key IS 'The 32 random key bytes; NULL once the key is retired (every value it made has been re-keyed).';

DO $pii$
DECLARE
    crypto text;
BEGIN
    SELECT n.nspname INTO STRICT crypto
    FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'pgcrypto';

    -- The active key of a purpose, created on first use (key_id 1 for
    -- encryption, 2 for the blind index; rotations number on).  Owner only.
    EXECUTE pg_catalog.format($f$
        CREATE FUNCTION sp_internal.pii_key_current(p_purpose text, OUT key_id integer, OUT key bytea)
            LANGUAGE plpgsql VOLATILE SECURITY DEFINER
            SET search_path = pg_catalog, pg_temp
        AS $body$
        BEGIN
            SELECT k.key_id, k.key INTO key_id, key
            FROM sp_internal.pii_key k WHERE k.purpose = p_purpose AND k.state = 'active';
            IF key IS NULL THEN
                INSERT INTO sp_internal.pii_key (key_id, purpose, key)
                SELECT CASE p_purpose WHEN 'encryption' THEN 1 ELSE 2 END, p_purpose, %1$I.gen_random_bytes(32)
                WHERE NOT EXISTS (SELECT 1 FROM sp_internal.pii_key k WHERE k.purpose = p_purpose)
                ON CONFLICT DO NOTHING;
                SELECT k.key_id, k.key INTO STRICT key_id, key
                FROM sp_internal.pii_key k WHERE k.purpose = p_purpose AND k.state = 'active';
            END IF;
        END
        $body$ $f$, crypto);

    -- Key tags: the key_id as 2 bytes in front of each value a key made.
    EXECUTE $f$
        CREATE FUNCTION sp_internal.pii_tag(key_id integer)
            RETURNS bytea
            LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
            SET search_path = pg_catalog, pg_temp
        AS $body$ SELECT pg_catalog.int2send(key_id::smallint) $body$ $f$;
    EXECUTE $f$
        CREATE FUNCTION sp_internal.pii_key_id(value bytea)
            RETURNS integer
            LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
            SET search_path = pg_catalog, pg_temp
        AS $body$ SELECT (pg_catalog.get_byte(value, 0) << 8) | pg_catalog.get_byte(value, 1) $body$ $f$;

    -- The three primitives, each writing its key's tag.  A blind index is the
    -- tag and the first 30 bytes of the HMAC (32 bytes in all, as before).
    EXECUTE pg_catalog.format($f$
        CREATE FUNCTION sp_internal.pii_encrypt(plain text, key_id integer, key bytea)
            RETURNS bytea
            LANGUAGE sql VOLATILE
            SET search_path = pg_catalog, pg_temp
        AS $body$
            SELECT sp_internal.pii_tag(key_id)
                   || %1$I.pgp_sym_encrypt(plain, pg_catalog.encode(key, 'hex'), 'cipher-algo=aes256, s2k-mode=1, compress-algo=0')
        $body$ $f$, crypto);
    EXECUTE pg_catalog.format($f$
        CREATE FUNCTION sp_internal.pii_encrypt_bytea(plain bytea, key_id integer, key bytea)
            RETURNS bytea
            LANGUAGE sql VOLATILE
            SET search_path = pg_catalog, pg_temp
        AS $body$
            SELECT sp_internal.pii_tag(key_id)
                   || %1$I.pgp_sym_encrypt_bytea(plain, pg_catalog.encode(key, 'hex'), 'cipher-algo=aes256, s2k-mode=1, compress-algo=0')
        $body$ $f$, crypto);
    EXECUTE pg_catalog.format($f$
        CREATE FUNCTION sp_internal.pii_hmac(data bytea, key_id integer, key bytea)
            RETURNS bytea
            LANGUAGE sql IMMUTABLE
            SET search_path = pg_catalog, pg_temp
        AS $body$
            SELECT sp_internal.pii_tag(key_id) || pg_catalog.substr(%1$I.hmac(data, key, 'sha256'), 1, 30)
        $body$ $f$, crypto);
    -- Registration documents of a batch, all at once: the fingerprint under the
    -- active blind-index key (and, during a rotation, under the key being
    -- replaced) and the encrypted digest, with the primitives written out
    -- rather than called per document (a pinned SQL function is not inlined:
    -- two calls per document were about 20 µs of it).
    EXECUTE pg_catalog.format($f$
        CREATE FUNCTION sp_internal.protect_documents(digests bytea[], encrypt boolean[])
            RETURNS TABLE (ord bigint, fingerprint bytea, old_fingerprint bytea, digest_enc bytea)
            LANGUAGE sql VOLATILE
            SET search_path = pg_catalog, pg_temp
        AS $body$
            WITH k AS MATERIALIZED (
                SELECT sp_internal.pii_tag(b.key_id) AS tag, b.key,
                       sp_internal.pii_tag(o.key_id) AS old_tag, o.key AS old_key,
                       sp_internal.pii_tag(e.key_id) AS enc_tag, pg_catalog.encode(e.key, 'hex') AS enc_key
                FROM sp_internal.pii_key_current('blind_index') b CROSS JOIN sp_internal.pii_key_current('encryption') e
                LEFT JOIN sp_internal.pii_key o ON o.purpose = 'blind_index' AND o.state = 'rotating'
            )
            SELECT u.ord,
                   k.tag || pg_catalog.substr(%1$I.hmac(u.d, k.key, 'sha256'), 1, 30),
                   CASE WHEN k.old_key IS NOT NULL THEN k.old_tag || pg_catalog.substr(%1$I.hmac(u.d, k.old_key, 'sha256'), 1, 30) END,
                   CASE WHEN u.enc THEN k.enc_tag || %1$I.pgp_sym_encrypt_bytea(u.d, k.enc_key, 'cipher-algo=aes256, s2k-mode=1, compress-algo=0') END
            FROM unnest(digests, encrypt) WITH ORDINALITY AS u (d, enc, ord), k
        $body$ $f$, crypto);
    EXECUTE $f$
        CREATE FUNCTION sp_internal.pii_hash(kind text, normalized text, key_id integer, key bytea)
            RETURNS bytea
            LANGUAGE sql IMMUTABLE
            SET search_path = pg_catalog, pg_temp
        AS $body$
            SELECT sp_internal.pii_hmac(pg_catalog.convert_to(kind || ':' || normalized, 'UTF8'), key_id, key)
        $body$ $f$;

    -- Encryption and blind index of the identifiers of many persons at once:
    -- the keys are read once per call, not once per value.
    -- The primitives are written out here rather than called: this runs for
    -- every person registered, and a call of a SQL function that pins its
    -- search_path (so cannot be inlined) costs more than the HMAC itself.
    -- Same expressions as sp_internal.pii_encrypt / pii_hash.
    EXECUTE pg_catalog.format($f$
        CREATE FUNCTION sp_internal.protect_identifiers(person_ids bigint[], members jsonb[])
            RETURNS TABLE (person_id bigint, national_id_enc bytea, national_id_hash bytea,
                           phone_enc bytea, phone_hash bytea)
            LANGUAGE sql VOLATILE SECURITY DEFINER
            SET search_path = pg_catalog, pg_temp
        AS $body$
            WITH k AS MATERIALIZED (
                SELECT pg_catalog.int2send(e.key_id::smallint) AS enc_tag, pg_catalog.encode(e.key, 'hex') AS enc_hex,
                       pg_catalog.int2send(b.key_id::smallint) AS index_tag, b.key AS index_key
                FROM sp_internal.pii_key_current('encryption') e, sp_internal.pii_key_current('blind_index') b
            )
            SELECT u.pid,
                   k.enc_tag || %1$I.pgp_sym_encrypt(u.m ->> 'national_id', k.enc_hex, 'cipher-algo=aes256, s2k-mode=1, compress-algo=0'),
                   k.index_tag || pg_catalog.substr(%1$I.hmac(pg_catalog.convert_to('national_id:' || sp.normalize_national_id(u.m ->> 'national_id'), 'UTF8'),
                                                              k.index_key, 'sha256'), 1, 30),
                   k.enc_tag || %1$I.pgp_sym_encrypt(u.m ->> 'phone', k.enc_hex, 'cipher-algo=aes256, s2k-mode=1, compress-algo=0'),
                   k.index_tag || pg_catalog.substr(%1$I.hmac(pg_catalog.convert_to('phone:' || sp.normalize_phone(u.m ->> 'phone'), 'UTF8'),
                                                              k.index_key, 'sha256'), 1, 30)
            FROM k, unnest(person_ids, members) AS u (pid, m)
        $body$ $f$, crypto);

    -- Decryption with the key the value names.  A value whose key is gone
    -- (retired before it was re-keyed, which sp.rotate_keys never does)
    -- raises rather than reading as NULL.
    EXECUTE pg_catalog.format($f$
        CREATE FUNCTION sp_internal.decrypt_pii(cipher bytea)
            RETURNS text
            LANGUAGE plpgsql STABLE STRICT
            SET search_path = pg_catalog, pg_temp
        AS $body$
        DECLARE
            k bytea;
        BEGIN
            SELECT p.key INTO k FROM sp_internal.pii_key p
            WHERE p.key_id = sp_internal.pii_key_id(cipher) AND p.purpose = 'encryption';
            IF k IS NULL THEN
                RAISE EXCEPTION 'no encryption key %% for this value', sp_internal.pii_key_id(cipher)
                    USING ERRCODE = 'object_not_in_prerequisite_state';
            END IF;
            RETURN %1$I.pgp_sym_decrypt(pg_catalog.substr(cipher, 3), pg_catalog.encode(k, 'hex'));
        END
        $body$ $f$, crypto);
    EXECUTE pg_catalog.format($f$
        CREATE FUNCTION sp_internal.decrypt_pii_bytea(cipher bytea)
            RETURNS bytea
            LANGUAGE plpgsql STABLE STRICT
            SET search_path = pg_catalog, pg_temp
        AS $body$
        DECLARE
            k bytea;
        BEGIN
            SELECT p.key INTO k FROM sp_internal.pii_key p
            WHERE p.key_id = sp_internal.pii_key_id(cipher) AND p.purpose = 'encryption';
            IF k IS NULL THEN
                RAISE EXCEPTION 'no encryption key %% for this value', sp_internal.pii_key_id(cipher)
                    USING ERRCODE = 'object_not_in_prerequisite_state';
            END IF;
            RETURN %1$I.pgp_sym_decrypt_bytea(pg_catalog.substr(cipher, 3), pg_catalog.encode(k, 'hex'));
        END
        $body$ $f$, crypto);

    -- Blind index for lookups under the active key: NULL when no key exists
    -- yet (so nothing can match).  Not SECURITY DEFINER: computing the index
    -- of a guess is a lookup, and lookups go through the audited API.
    EXECUTE $f$
        CREATE FUNCTION sp_internal.blind_index(kind text, normalized text)
            RETURNS bytea
            LANGUAGE sql STABLE STRICT
            SET search_path = pg_catalog, pg_temp
        AS $body$
            SELECT sp_internal.pii_hash(kind, normalized, k.key_id, k.key)
            FROM sp_internal.pii_key k WHERE k.purpose = 'blind_index' AND k.state = 'active'
        $body$ $f$;

    -- Every blind index a stored value may carry now: under the active key
    -- and, while a rotation re-indexes, under the key being replaced.
    -- Lookups match any of them, so none fails half-way through a rotation.
    EXECUTE $f$
        CREATE FUNCTION sp_internal.blind_indexes(kind text, normalized text)
            RETURNS bytea[]
            LANGUAGE sql STABLE STRICT
            SET search_path = pg_catalog, pg_temp
        AS $body$
            SELECT coalesce(array_agg(sp_internal.pii_hash(kind, normalized, k.key_id, k.key) ORDER BY k.key_id DESC), '{}')
            FROM sp_internal.pii_key k WHERE k.purpose = 'blind_index' AND k.state IN ('active', 'rotating')
        $body$ $f$;

    -- The blind indexes of a stored (encrypted) value under the lookup keys:
    -- for matching new registrations against the registry while a rotation
    -- runs.  Only the stored hash when no blind-index key is rotating.
    EXECUTE $f$
        CREATE FUNCTION sp_internal.stored_blind_indexes(kind text, cipher bytea, hash bytea)
            RETURNS bytea[]
            LANGUAGE plpgsql STABLE
            SET search_path = pg_catalog, pg_temp
        AS $body$
        DECLARE
            plain text;
        BEGIN
            IF hash IS NULL OR NOT EXISTS (SELECT 1 FROM sp_internal.pii_key k
                                           WHERE k.purpose = 'blind_index' AND k.state = 'rotating') THEN
                RETURN ARRAY[hash];
            END IF;
            plain := sp_internal.decrypt_pii(cipher);
            RETURN ARRAY[hash] || sp_internal.blind_indexes(kind,
                CASE kind WHEN 'national_id' THEN sp.normalize_national_id(plain) ELSE sp.normalize_phone(plain) END);
        END
        $body$ $f$;
END
$pii$;

COMMENT ON FUNCTION sp_internal.pii_key_current(text) IS 'The active key of a purpose and its key_id, created on first use. Owner only.';
COMMENT ON FUNCTION sp_internal.pii_tag(integer) IS 'The 2-byte tag (big-endian key_id) written in front of each value a key made.';
COMMENT ON FUNCTION sp_internal.pii_key_id(bytea) IS 'The key_id a tagged ciphertext, blind index or fingerprint was made with.';
COMMENT ON FUNCTION sp_internal.pii_encrypt(text, integer, bytea) IS 'Tag || PGP symmetric encryption (AES-256) of plain under key.';
COMMENT ON FUNCTION sp_internal.pii_encrypt_bytea(bytea, integer, bytea) IS 'Tag || PGP symmetric encryption (AES-256) of binary plain under key.';
COMMENT ON FUNCTION sp_internal.protect_documents(bytea[], boolean[]) IS 'For each document digest (by position, ord from 1): its fingerprint under the active blind-index key (sp_internal.pii_hmac), under the key being replaced during a rotation, and, where encrypt is true, the digest encrypted (sp_internal.pii_encrypt_bytea). Owner only.';
COMMENT ON FUNCTION sp_internal.pii_hmac(bytea, integer, bytea) IS 'Tag || first 30 bytes of HMAC-SHA256(data, key): 32 bytes.';
COMMENT ON FUNCTION sp_internal.pii_hash(text, text, integer, bytea) IS 'Blind index of kind:normalized under a key (sp_internal.pii_hmac).';
COMMENT ON FUNCTION sp_internal.decrypt_pii_bytea(bytea) IS 'Decrypts a binary value written by sp_internal.pii_encrypt_bytea, with the key its tag names.';
COMMENT ON FUNCTION sp_internal.blind_indexes(text, text) IS 'Blind indexes of kind:normalized under the active key and, during a rotation, the key being replaced. Owner only (through the audited API).';
COMMENT ON FUNCTION sp_internal.stored_blind_indexes(text, bytea, bytea) IS 'The stored blind index, plus, while a blind-index rotation runs, the value''s indexes under both lookup keys (decrypting it). Owner only.';
COMMENT ON FUNCTION sp_internal.protect_identifiers(bigint[], jsonb[]) IS 'For each (person id, member object): national_id and phone encrypted (PGP symmetric, AES-256) and blind-indexed (HMAC-SHA256 of the normalised value). Keys are created on first use.';
COMMENT ON FUNCTION sp_internal.decrypt_pii(bytea) IS 'Decrypts a value written by sp_internal.protect_identifiers, with the key its tag names (raises when that key is gone). Runs with the caller''s rights, so only the owner (the audited API functions) can read the key.';
COMMENT ON FUNCTION sp_internal.blind_index(text, text) IS 'Blind index of kind:normalized under the active key (tag || 30 bytes of HMAC-SHA256); NULL before any key exists. Runs with the caller''s rights, so only the owner (the audited API functions) can read the key.';

REVOKE ALL ON FUNCTION sp_internal.pii_key_current(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION sp_internal.pii_tag(integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION sp_internal.pii_key_id(bytea) FROM PUBLIC;
REVOKE ALL ON FUNCTION sp_internal.pii_encrypt(text, integer, bytea) FROM PUBLIC;
REVOKE ALL ON FUNCTION sp_internal.pii_encrypt_bytea(bytea, integer, bytea) FROM PUBLIC;
REVOKE ALL ON FUNCTION sp_internal.pii_hmac(bytea, integer, bytea) FROM PUBLIC;
REVOKE ALL ON FUNCTION sp_internal.protect_documents(bytea[], boolean[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION sp_internal.pii_hash(text, text, integer, bytea) FROM PUBLIC;
REVOKE ALL ON FUNCTION sp_internal.decrypt_pii_bytea(bytea) FROM PUBLIC;
REVOKE ALL ON FUNCTION sp_internal.blind_indexes(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION sp_internal.stored_blind_indexes(text, bytea, bytea) FROM PUBLIC;
REVOKE ALL ON FUNCTION sp_internal.protect_identifiers(bigint[], jsonb[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION sp_internal.decrypt_pii(bytea) FROM PUBLIC;
REVOKE ALL ON FUNCTION sp_internal.blind_index(text, text) FROM PUBLIC;

-- purpose keeps its DEFAULT NULL so that a call without it gets "purpose is
-- required" rather than "function does not exist".
CREATE FUNCTION sp.find_person_by_national_id(national_id text, purpose text DEFAULT NULL)
    RETURNS TABLE (person_id bigint, household_id bigint, given_name text, family_name text,
                   birth_date date, birth_date_precision text, sex text, status text)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    hs bytea[];
    matched bigint[];
BEGIN
    PERFORM sp_internal.audit_check_purpose(purpose);
    IF national_id IS NULL THEN
        RAISE EXCEPTION 'national_id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- under the active key and, during a rotation, the key being replaced
    hs := sp_internal.blind_indexes('national_id', sp.normalize_national_id(national_id));
    SELECT coalesce(array_agg(p.person_id ORDER BY p.person_id), '{}') INTO matched
    FROM sp.person p WHERE p.national_id_hash = ANY (hs);

    -- returns only once the record has committed (raises otherwise)
    PERFORM sp_internal.audit_write('lookup_national_id', matched, purpose,
                                    jsonb_build_object('matches', cardinality(matched)), 1);

    -- the record names every match; the caller sees those in its area scope
    RETURN QUERY
    SELECT p.person_id, p.household_id, p.given_name, p.family_name,
           p.birth_date, p.birth_date_precision, p.sex, p.status
    FROM sp.person p WHERE p.person_id = ANY (matched)
      AND p.admin_area_code IN (SELECT v.code FROM sp_internal.visible_areas() v (code))
    ORDER BY p.person_id;
END
$$;
COMMENT ON FUNCTION sp.find_person_by_national_id(text, text) IS 'Persons whose national ID equals the given one after normalisation, found through the blind index (no decryption). purpose is required (3 to 500 characters). Every call is recorded in sp.audit_log, durably, before anything is returned, with every match; only persons in the caller''s area scope are returned. Counts against sp_registry.pii_lookups_per_hour. Several rows mean duplicate registrations.';
REVOKE ALL ON FUNCTION sp.find_person_by_national_id(text, text) FROM PUBLIC;

CREATE FUNCTION sp_internal.read_pii(p_person_id bigint, field text, purpose text)
    RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c bytea;
BEGIN
    PERFORM sp_internal.audit_check_purpose(purpose);
    IF field IS NULL OR field NOT IN ('national_id', 'phone') THEN
        RAISE EXCEPTION 'field must be national_id or phone' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM sp_internal.person_household_in_scope(p_person_id);
    SELECT CASE field WHEN 'national_id' THEN p.national_id_enc WHEN 'phone' THEN p.phone_enc END
    INTO c FROM sp.person p WHERE p.person_id = p_person_id;
    -- returns only once the record has committed (raises otherwise)
    PERFORM sp_internal.audit_write('decrypt_' || field, ARRAY[p_person_id], purpose,
                                    jsonb_build_object('field', field), 1);
    RETURN sp_internal.decrypt_pii(c);
END
$$;
COMMENT ON FUNCTION sp_internal.read_pii(bigint, text, text) IS 'Decrypts a person''s national_id or phone once the read, with its purpose, is recorded durably in sp.audit_log.';
REVOKE ALL ON FUNCTION sp_internal.read_pii(bigint, text, text) FROM PUBLIC;

CREATE FUNCTION sp.person_national_id(person_id bigint, purpose text)
    RETURNS text
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$ SELECT sp_internal.read_pii(person_id, 'national_id', purpose) $$;
COMMENT ON FUNCTION sp.person_national_id(bigint, text) IS 'Decrypted national ID of a person (NULL when none was registered). Requires sp_pii_reader and a purpose (3 to 500 characters); the read is recorded in sp.audit_log, durably, before the value is returned, and counts against sp_registry.pii_lookups_per_hour.';
REVOKE ALL ON FUNCTION sp.person_national_id(bigint, text) FROM PUBLIC;

CREATE FUNCTION sp.person_phone(person_id bigint, purpose text)
    RETURNS text
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$ SELECT sp_internal.read_pii(person_id, 'phone', purpose) $$;
COMMENT ON FUNCTION sp.person_phone(bigint, text) IS 'Decrypted phone number of a person (NULL when none was registered). Requires sp_pii_reader and a purpose (3 to 500 characters); the read is recorded in sp.audit_log, durably, before the value is returned, and counts against sp_registry.pii_lookups_per_hour.';
REVOKE ALL ON FUNCTION sp.person_phone(bigint, text) FROM PUBLIC;

-- Many persons at once (a payroll, a notification run): one audit record,
-- one round trip to the audit writer, one quota unit per person.
CREATE FUNCTION sp.decrypt_identifiers(person_ids bigint[], purpose text)
    RETURNS TABLE (person_id bigint, national_id text, phone text)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ids bigint[];
    missing bigint;
BEGIN
    PERFORM sp_internal.audit_check_purpose(purpose);
    IF person_ids IS NULL OR array_position(person_ids, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'person_ids must not be NULL or contain NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT coalesce(array_agg(DISTINCT u.id ORDER BY u.id), '{}') INTO ids FROM unnest(person_ids) AS u (id);
    IF cardinality(ids) > 10000 THEN
        RAISE EXCEPTION 'at most 10000 persons per call'
            USING ERRCODE = 'program_limit_exceeded',
                  DETAIL = pg_catalog.format('%s distinct persons were given; split the list.', cardinality(ids));
    END IF;
    IF cardinality(ids) = 0 THEN
        RETURN;
    END IF;
    SELECT min(u.id) INTO missing FROM unnest(ids) AS u (id)
    WHERE NOT EXISTS (SELECT 1 FROM sp.person p WHERE p.person_id = u.id
                        AND p.admin_area_code IN (SELECT v.code FROM sp_internal.visible_areas() v (code)));
    IF missing IS NOT NULL THEN
        PERFORM sp_internal.person_household_in_scope(missing);  -- raises the scope-neutral not-found
    END IF;

    -- returns only once the record has committed (raises otherwise)
    PERFORM sp_internal.audit_write('decrypt_identifiers', ids, purpose,
                                    jsonb_build_object('fields', jsonb_build_array('national_id', 'phone')),
                                    cardinality(ids));

    RETURN QUERY
    SELECT p.person_id, sp_internal.decrypt_pii(p.national_id_enc), sp_internal.decrypt_pii(p.phone_enc)
    FROM sp.person p WHERE p.person_id = ANY (ids)
    ORDER BY p.person_id;
END
$$;
COMMENT ON FUNCTION sp.decrypt_identifiers(bigint[], text) IS 'Decrypted national ID and phone of up to 10,000 persons (NULL where none was registered). Requires sp_pii_reader and a purpose (3 to 500 characters); one record in sp.audit_log names them all and is committed before anything is returned; counts one access per person against sp_registry.pii_lookups_per_hour.';
REVOKE ALL ON FUNCTION sp.decrypt_identifiers(bigint[], text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sp.decrypt_identifiers(bigint[], text) TO sp_pii_reader;
