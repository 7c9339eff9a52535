-- Personal identifiers: encryption at rest, blind index, audited reads.
--
-- Keys are random 32-byte values in sp_internal.pii_key, readable only by the
-- extension owner and used through SECURITY DEFINER functions; they never
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
    purpose     text PRIMARY KEY CHECK (purpose IN ('encryption', 'blind_index')),
    key         bytea NOT NULL CHECK (length(key) = 32),
    created_at  timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON sp_internal.pii_key FROM PUBLIC;
COMMENT ON TABLE sp_internal.pii_key IS 'Secret keys for PII encryption and the blind index. Readable by the extension owner only. Included in pg_dump output: protect dumps like the keys themselves.';

DO $pii$
DECLARE
    crypto text;
BEGIN
    SELECT n.nspname INTO STRICT crypto
    FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'pgcrypto';

    -- Key for a purpose; created on first use.  Owner only.
    EXECUTE pg_catalog.format($f$
        CREATE FUNCTION sp_internal.pii_key_create(p_purpose text)
            RETURNS bytea
            LANGUAGE plpgsql VOLATILE SECURITY DEFINER
            SET search_path = pg_catalog, pg_temp
        AS $body$
        DECLARE
            k bytea;
        BEGIN
            SELECT key INTO k FROM sp_internal.pii_key WHERE purpose = p_purpose;
            IF k IS NULL THEN
                INSERT INTO sp_internal.pii_key (purpose, key)
                VALUES (p_purpose, %1$I.gen_random_bytes(32))
                ON CONFLICT (purpose) DO NOTHING;
                SELECT key INTO STRICT k FROM sp_internal.pii_key WHERE purpose = p_purpose;
            END IF;
            RETURN k;
        END
        $body$ $f$, crypto);

    -- Encryption and blind index of the identifiers of many persons at once:
    -- the keys are read once per call, not once per value.
    EXECUTE pg_catalog.format($f$
        CREATE FUNCTION sp_internal.protect_identifiers(person_ids bigint[], members jsonb[])
            RETURNS TABLE (person_id bigint, national_id_enc bytea, national_id_hash bytea,
                           phone_enc bytea, phone_hash bytea)
            LANGUAGE sql VOLATILE SECURITY DEFINER
            SET search_path = pg_catalog, pg_temp
        AS $body$
            WITH k AS MATERIALIZED (
                SELECT pg_catalog.encode(sp_internal.pii_key_create('encryption'), 'hex') AS enc_key,
                       sp_internal.pii_key_create('blind_index') AS index_key
            )
            SELECT u.pid,
                   %1$I.pgp_sym_encrypt(u.m ->> 'national_id', k.enc_key, 'cipher-algo=aes256, s2k-mode=1, compress-algo=0'),
                   %1$I.hmac(pg_catalog.convert_to('national_id:' || sp.normalize_national_id(u.m ->> 'national_id'), 'UTF8'),
                             k.index_key, 'sha256'),
                   %1$I.pgp_sym_encrypt(u.m ->> 'phone', k.enc_key, 'cipher-algo=aes256, s2k-mode=1, compress-algo=0'),
                   %1$I.hmac(pg_catalog.convert_to('phone:' || sp.normalize_phone(u.m ->> 'phone'), 'UTF8'),
                             k.index_key, 'sha256')
            FROM k, unnest(person_ids, members) AS u (pid, m)
        $body$ $f$, crypto);

    EXECUTE pg_catalog.format($f$
        CREATE FUNCTION sp_internal.decrypt_pii(cipher bytea)
            RETURNS text
            LANGUAGE sql STABLE STRICT
            SET search_path = pg_catalog, pg_temp
        AS $body$
            SELECT %1$I.pgp_sym_decrypt(cipher, pg_catalog.encode(k.key, 'hex'))
            FROM sp_internal.pii_key k WHERE k.purpose = 'encryption'
        $body$ $f$, crypto);

    -- Blind index for lookups: NULL when no key exists yet (so nothing can match).
    -- Not SECURITY DEFINER: computing the index of a guess is a lookup, and
    -- lookups go through the audited API.
    EXECUTE pg_catalog.format($f$
        CREATE FUNCTION sp_internal.blind_index(kind text, normalized text)
            RETURNS bytea
            LANGUAGE sql STABLE STRICT
            SET search_path = pg_catalog, pg_temp
        AS $body$
            SELECT %1$I.hmac(pg_catalog.convert_to(kind || ':' || normalized, 'UTF8'), k.key, 'sha256')
            FROM sp_internal.pii_key k WHERE k.purpose = 'blind_index'
        $body$ $f$, crypto);
END
$pii$;

COMMENT ON FUNCTION sp_internal.pii_key_create(text) IS 'The key for a purpose, created on first use. Owner only.';
COMMENT ON FUNCTION sp_internal.protect_identifiers(bigint[], jsonb[]) IS 'For each (person id, member object): national_id and phone encrypted (PGP symmetric, AES-256) and blind-indexed (HMAC-SHA256 of the normalised value). Keys are created on first use.';
COMMENT ON FUNCTION sp_internal.decrypt_pii(bytea) IS 'Decrypts a value written by sp_internal.protect_identifiers. Runs with the caller''s rights, so only the owner (the audited API functions) can read the key.';
COMMENT ON FUNCTION sp_internal.blind_index(text, text) IS 'HMAC-SHA256 blind index of kind:normalized for lookups; NULL before any key exists. Runs with the caller''s rights, so only the owner (the audited API functions) can read the key.';

REVOKE ALL ON FUNCTION sp_internal.pii_key_create(text) FROM PUBLIC;
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
    h bytea;
    matched bigint[];
BEGIN
    PERFORM sp_internal.audit_check_purpose(purpose);
    IF national_id IS NULL THEN
        RAISE EXCEPTION 'national_id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    h := sp_internal.blind_index('national_id', sp.normalize_national_id(national_id));
    SELECT coalesce(array_agg(p.person_id ORDER BY p.person_id), '{}') INTO matched
    FROM sp.person p WHERE h IS NOT NULL AND p.national_id_hash = h;

    -- returns only once the record has committed (raises otherwise)
    PERFORM sp_internal.audit_write('lookup_national_id', matched, purpose,
                                    jsonb_build_object('matches', cardinality(matched)), 1);

    -- the record names every match; the caller sees those in its area scope
    RETURN QUERY
    SELECT p.person_id, p.household_id, p.given_name, p.family_name,
           p.birth_date, p.birth_date_precision, p.sex, p.status
    FROM sp.person p WHERE p.person_id = ANY (matched)
      AND p.admin_area_code IN (SELECT sp_internal.visible_areas())
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
                        AND p.admin_area_code IN (SELECT sp_internal.visible_areas()));
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
