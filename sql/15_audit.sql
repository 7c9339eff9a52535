-- The audit log: durable, append-only, hash-chained.
--
-- Every lookup by identifier and every decryption (sql/13_pii.sql) is
-- recorded here by sp_internal.audit_write(), which hands the record to a
-- background worker (src/pg/audit.c).  The worker appends it in a
-- transaction of its own and commits before the caller gets anything back,
-- so rolling back the calling transaction or savepoint does not erase it.
--
-- Rows form a chain: row_hash = sha256(prev_hash || canonical content), the
-- first prev_hash being 32 zero bytes.  sp_internal.audit_chain_head holds the
-- last log_id and hash; the worker locks its single row to append, which
-- serialises writers and makes log_id gapless.  sp.verify_audit_chain()
-- finds a changed, removed or inserted row.

DO $roles$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'sp_auditor') THEN
        CREATE ROLE sp_auditor NOLOGIN;
    END IF;
END
$roles$;
COMMENT ON ROLE sp_auditor IS 'sp_registry: reads the audit log and verifies its hash chain; changes nothing.';
GRANT USAGE ON SCHEMA sp TO sp_auditor;

CREATE TABLE sp.audit_log (
    log_id       bigint PRIMARY KEY,
    logged_at    timestamptz NOT NULL,
    login_role   text NOT NULL,
    acting_role  text NOT NULL,
    action       text NOT NULL CHECK (action ~ '^[a-z][a-z_]{2,62}$'),
    outcome      text NOT NULL CHECK (outcome IN ('granted', 'refused')),
    person_ids   bigint[] NOT NULL,
    accesses     integer NOT NULL CHECK (accesses >= 0),
    purpose      text NOT NULL CHECK (length(purpose) BETWEEN 3 AND 500),
    detail       jsonb NOT NULL,
    prev_hash    bytea NOT NULL CHECK (length(prev_hash) = 32),
    row_hash     bytea NOT NULL CHECK (length(row_hash) = 32)
);
CREATE INDEX audit_log_time_idx ON sp.audit_log (logged_at);
CREATE INDEX audit_log_role_time_idx ON sp.audit_log (acting_role, logged_at);
COMMENT ON TABLE sp.audit_log IS
'Every lookup by identifier and every decryption of personal identifiers: who, when, which persons, why, and whether it was granted or refused by the quota. Written by the audit writer in its own transaction, so a rollback of the caller does not erase it; append-only and hash-chained (sp.verify_audit_chain()).';
COMMENT ON COLUMN sp.audit_log.log_id IS 'Position in the chain: 1, 2, 3, ... without gaps.';
COMMENT ON COLUMN sp.audit_log.logged_at IS 'When the record was written (clock time of the audit writer, before the result was returned).';
COMMENT ON COLUMN sp.audit_log.login_role IS 'The login role of the session (session_user).';
COMMENT ON COLUMN sp.audit_log.acting_role IS 'The role in effect when the API was called (after SET ROLE), as sp_internal.caller() sees it. The quota counts per acting role.';
COMMENT ON COLUMN sp.audit_log.action IS 'lookup_national_id, decrypt_national_id, decrypt_phone or decrypt_identifiers.';
COMMENT ON COLUMN sp.audit_log.outcome IS 'granted, or refused because sp_registry.pii_lookups_per_hour was reached.';
COMMENT ON COLUMN sp.audit_log.person_ids IS 'Persons whose identifiers were decrypted, or who matched the lookup.';
COMMENT ON COLUMN sp.audit_log.accesses IS 'What the record counts against the hourly quota: 1 per lookup, 1 per person decrypted.';
COMMENT ON COLUMN sp.audit_log.purpose IS 'Why, as given by the caller (3 to 500 characters).';
COMMENT ON COLUMN sp.audit_log.detail IS 'Facts of the access: the field decrypted, or the number of matches of a lookup. Never the identifier itself.';
COMMENT ON COLUMN sp.audit_log.prev_hash IS 'row_hash of the previous row; 32 zero bytes for the first.';
COMMENT ON COLUMN sp.audit_log.row_hash IS 'sha256(prev_hash || canonical content), see sp_internal.audit_row_hash().';

CREATE TABLE sp_internal.audit_chain_head (
    singleton    boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    last_log_id  bigint NOT NULL CHECK (last_log_id >= 0),
    last_hash    bytea NOT NULL CHECK (length(last_hash) = 32)
);
COMMENT ON TABLE sp_internal.audit_chain_head IS
'The end of the audit chain: last log_id and its row_hash. One row, created by the first record. The audit writer locks it to append, so writers take turns; no role can write or lock it.';

-- Append-only: no UPDATE, DELETE or TRUNCATE, and the chain head only moves
-- forward, one row at a time, inside the audit writer.
CREATE FUNCTION sp_internal.audit_is_append_only()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_TABLE_NAME = 'audit_chain_head' AND TG_OP = 'UPDATE' THEN
        IF sp_internal.in_audit_writer() AND NEW.last_log_id = OLD.last_log_id + 1 THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION '%.% is append-only', TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation',
              DETAIL = 'Audit records are evidence of who read personal identifiers; they are never changed or removed.';
END
$$;
COMMENT ON FUNCTION sp_internal.audit_is_append_only() IS 'Trigger: rejects UPDATE, DELETE and TRUNCATE on sp.audit_log, and any change of the chain head other than the audit writer appending one row.';

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON sp.audit_log
    FOR EACH ROW EXECUTE FUNCTION sp_internal.audit_is_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON sp.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION sp_internal.audit_is_append_only();
CREATE TRIGGER audit_chain_head_append_only BEFORE UPDATE OR DELETE ON sp_internal.audit_chain_head
    FOR EACH ROW EXECUTE FUNCTION sp_internal.audit_is_append_only();
CREATE TRIGGER audit_chain_head_no_truncate BEFORE TRUNCATE ON sp_internal.audit_chain_head
    FOR EACH STATEMENT EXECUTE FUNCTION sp_internal.audit_is_append_only();

-- C side (src/pg/audit.c).
CREATE FUNCTION sp_internal.audit_check_purpose(purpose text)
    RETURNS void
    AS 'MODULE_PATHNAME', 'sp_audit_check_purpose'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION sp_internal.audit_check_purpose(text) IS
'Raises 22023 unless purpose has 3 to 500 characters (not counting surrounding blanks). Never echoes the value.';

CREATE FUNCTION sp_internal.audit_write(action text, person_ids bigint[], purpose text, detail jsonb, accesses integer)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'sp_audit_write'
    LANGUAGE C VOLATILE;
COMMENT ON FUNCTION sp_internal.audit_write(text, bigint[], text, jsonb, integer) IS
'Appends a record to sp.audit_log through the audit writer (a background worker, own transaction) and returns its log_id once committed; login and acting role come from the session. accesses counts against sp_registry.pii_lookups_per_hour: 53400 when the quota refuses (the refusal is recorded). Raises when the record cannot be written. Owner only: called by the audited API functions.';

CREATE FUNCTION sp_internal.in_audit_writer()
    RETURNS boolean
    AS 'MODULE_PATHNAME', 'sp_in_audit_writer'
    LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION sp_internal.in_audit_writer() IS 'True only in the audit writer background worker.';

-- Canonical content of a row, hashed with the previous row's hash.  Time as
-- microseconds since the epoch, so neither TimeZone nor DateStyle matter.
CREATE FUNCTION sp_internal.audit_row_hash(prev_hash bytea, log_id bigint, logged_at timestamptz,
                                           login_role text, acting_role text, action text, outcome text,
                                           person_ids bigint[], accesses integer, purpose text, detail jsonb)
    RETURNS bytea
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.sha256(prev_hash || pg_catalog.convert_to(pg_catalog.jsonb_build_array(
        log_id, (EXTRACT(EPOCH FROM logged_at) * 1000000)::bigint, login_role, acting_role, action, outcome,
        person_ids, accesses, purpose, detail)::text, 'UTF8'))
$$;
COMMENT ON FUNCTION sp_internal.audit_row_hash(bytea, bigint, timestamptz, text, text, text, text, bigint[], integer, text, jsonb) IS
'row_hash of an audit record: sha256(prev_hash || UTF-8 text of the JSON array [log_id, logged_at in microseconds since 1970, login_role, acting_role, action, outcome, person_ids, accesses, purpose, detail]).';

-- Runs in the audit writer only, as the extension owner.  The quota is
-- counted under the chain-head lock, so concurrent callers cannot overrun it.
CREATE FUNCTION sp_internal.audit_append(p_login_role text, p_acting_role text, p_action text,
                                         p_person_ids bigint[], p_purpose text, p_detail jsonb,
                                         p_accesses integer, p_quota integer)
    RETURNS TABLE (written_log_id bigint, written_outcome text, accesses_in_window bigint)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    head sp_internal.audit_chain_head;
    ts timestamptz;
    h bytea;
BEGIN
    IF NOT sp_internal.in_audit_writer() THEN
        RAISE EXCEPTION 'sp_internal.audit_append runs only in the audit writer'
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'Records are appended by the background worker that sp_internal.audit_write starts, with the caller''s roles taken from its session.';
    END IF;

    SELECT * INTO head FROM sp_internal.audit_chain_head FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO sp_internal.audit_chain_head (last_log_id, last_hash)
        VALUES (0, '\x0000000000000000000000000000000000000000000000000000000000000000')
        ON CONFLICT DO NOTHING;
        SELECT * INTO STRICT head FROM sp_internal.audit_chain_head FOR UPDATE;
    END IF;

    written_outcome := 'granted';
    accesses_in_window := 0;
    IF p_quota > 0 AND p_accesses > 0 THEN
        SELECT coalesce(sum(a.accesses), 0) INTO accesses_in_window
        FROM sp.audit_log a
        WHERE a.acting_role = p_acting_role AND a.logged_at > clock_timestamp() - interval '1 hour'
          AND a.outcome = 'granted';
        IF accesses_in_window + p_accesses > p_quota THEN
            written_outcome := 'refused';
        END IF;
    END IF;

    written_log_id := head.last_log_id + 1;
    ts := clock_timestamp();
    h := sp_internal.audit_row_hash(head.last_hash, written_log_id, ts, p_login_role, p_acting_role, p_action,
                                    written_outcome, p_person_ids, p_accesses, p_purpose, p_detail);
    INSERT INTO sp.audit_log (log_id, logged_at, login_role, acting_role, action, outcome, person_ids,
                              accesses, purpose, detail, prev_hash, row_hash)
    VALUES (written_log_id, ts, p_login_role, p_acting_role, p_action, written_outcome, p_person_ids,
            p_accesses, p_purpose, p_detail, head.last_hash, h);
    UPDATE sp_internal.audit_chain_head SET last_log_id = written_log_id, last_hash = h;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION sp_internal.audit_append(text, text, text, bigint[], text, jsonb, integer, integer) IS
'Appends one record to the audit chain, refusing it (outcome refused) when p_quota > 0 and the acting role''s granted accesses of the last hour plus this one exceed it. Runs only inside the audit writer; raises 42501 anywhere else.';

CREATE FUNCTION sp.verify_audit_chain()
    RETURNS TABLE (ok boolean, rows_checked bigint, first_bad_log_id bigint, problem text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    genesis CONSTANT bytea := '\x0000000000000000000000000000000000000000000000000000000000000000';
    head sp_internal.audit_chain_head;
    last_row record;
BEGIN
    SELECT count(*) INTO rows_checked FROM sp.audit_log;

    -- the first row that does not link to its predecessor or whose content
    -- no longer gives its hash
    SELECT c.log_id,
           CASE WHEN c.log_id <> coalesce(c.before_id, 0) + 1
                     OR c.prev_hash IS DISTINCT FROM coalesce(c.before_hash, genesis)
                THEN CASE WHEN c.before_id IS NULL
                          THEN pg_catalog.format('row %s is not the start of the chain: rows before it were removed', c.log_id)
                          ELSE pg_catalog.format('row %s does not follow row %s: a row was removed, inserted or rewritten between them',
                                                 c.log_id, c.before_id) END
                ELSE pg_catalog.format('row %s was changed after it was written', c.log_id) END
    INTO first_bad_log_id, problem
    FROM (SELECT a.log_id, a.prev_hash, a.row_hash,
                 lag(a.log_id) OVER w AS before_id, lag(a.row_hash) OVER w AS before_hash,
                 sp_internal.audit_row_hash(a.prev_hash, a.log_id, a.logged_at, a.login_role, a.acting_role,
                                            a.action, a.outcome, a.person_ids, a.accesses, a.purpose,
                                            a.detail) AS content_hash
          FROM sp.audit_log a
          WINDOW w AS (ORDER BY a.log_id)) c
    WHERE c.log_id <> coalesce(c.before_id, 0) + 1
       OR c.prev_hash IS DISTINCT FROM coalesce(c.before_hash, genesis)
       OR c.row_hash IS DISTINCT FROM c.content_hash
    ORDER BY c.log_id
    LIMIT 1;

    IF first_bad_log_id IS NULL THEN
        -- the rows are consistent; they must also end where the head says
        SELECT * INTO head FROM sp_internal.audit_chain_head;
        SELECT a.log_id, a.row_hash INTO last_row FROM sp.audit_log a ORDER BY a.log_id DESC LIMIT 1;
        IF head IS NULL AND last_row.log_id IS NOT NULL THEN
            first_bad_log_id := 1;
            problem := 'the chain head is missing although records exist';
        ELSIF head IS NOT NULL AND coalesce(last_row.log_id, 0) < head.last_log_id THEN
            first_bad_log_id := coalesce(last_row.log_id, 0) + 1;
            problem := CASE WHEN first_bad_log_id = head.last_log_id
                            THEN pg_catalog.format('row %s was removed from the end of the chain', first_bad_log_id)
                            ELSE pg_catalog.format('rows %s to %s were removed from the end of the chain',
                                                   first_bad_log_id, head.last_log_id) END;
        ELSIF head IS NOT NULL AND last_row.log_id > head.last_log_id THEN
            first_bad_log_id := head.last_log_id + 1;
            problem := pg_catalog.format('row %s was appended outside the audit writer (the chain head ends at row %s)',
                                         first_bad_log_id, head.last_log_id);
        ELSIF head IS NOT NULL AND last_row.row_hash IS DISTINCT FROM head.last_hash THEN
            first_bad_log_id := last_row.log_id;
            problem := pg_catalog.format('row %s does not match the chain head: it was rewritten', last_row.log_id);
        END IF;
    END IF;

    ok := first_bad_log_id IS NULL;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION sp.verify_audit_chain() IS
'Checks the hash chain of sp.audit_log: every row links to the previous one, its content still gives its hash, and the chain ends where the chain head says. Returns ok, the number of rows checked and, when broken, the first bad log_id with what is wrong there (changed, removed or inserted rows). For sp_auditor.';

-- Compatibility: the earlier log, as a view of the audit log.
CREATE VIEW sp.pii_access_log WITH (security_invoker = true) AS
SELECT log_id, logged_at AS accessed_at, login_role AS session_role, action, person_ids, purpose,
       acting_role, outcome
FROM sp.audit_log
WHERE action IN ('lookup_national_id', 'decrypt_national_id', 'decrypt_phone', 'decrypt_identifiers');
COMMENT ON VIEW sp.pii_access_log IS 'Deprecated: the former access log, now a view of sp.audit_log (accessed_at = logged_at, session_role = login_role). Use sp.audit_log.';


-- pg_dump keeps the chain and its head (restore continues the chain).
SELECT pg_catalog.pg_extension_config_dump('sp.audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('sp_internal.audit_chain_head', '');

-- Privileges: nobody writes these tables or calls the writer but the owner.
REVOKE ALL ON sp.audit_log, sp.pii_access_log, sp_internal.audit_chain_head FROM PUBLIC;
REVOKE ALL ON FUNCTION sp_internal.audit_check_purpose(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION sp_internal.audit_write(text, bigint[], text, jsonb, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION sp_internal.in_audit_writer() FROM PUBLIC;
REVOKE ALL ON FUNCTION sp_internal.audit_row_hash(bytea, bigint, timestamptz, text, text, text, text, bigint[], integer, text, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION sp_internal.audit_append(text, text, text, bigint[], text, jsonb, integer, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION sp_internal.audit_is_append_only() FROM PUBLIC;
REVOKE ALL ON FUNCTION sp.verify_audit_chain() FROM PUBLIC;
GRANT SELECT ON sp.audit_log, sp.pii_access_log TO sp_auditor;
GRANT SELECT ON sp.audit_log TO sp_admin;
GRANT EXECUTE ON FUNCTION sp.verify_audit_chain() TO sp_auditor, sp_admin;
