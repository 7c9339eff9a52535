-- DCI (Digital Convergence Initiative) social-registry API in SQL (issue 15):
-- search, subscribe, unsubscribe and transaction status, each taking the
-- whole request envelope (signature, header, message) and returning the
-- DCI response document.  The HTTP gateway calls these as the API client's
-- own role, so area scopes and grants apply as to any other caller.
--
-- What a caller gets follows its grants, never a parameter:
--   identified   reads sp.person's names (registrars, caseworkers, payment
--                and grievance officers, auditors): names, exact birth
--                dates, exact areas, locations, attributes;
--   deidentified reads sp.person_deidentified (analysts, programme
--                officers): what that view shows (birth year, area at the
--                de-identified level, attributes without withheld variables);
--   keys         neither (an integration role): household ids and areas.
-- Queries never run caller text as SQL: attribute names are looked up in a
-- fixed list and in sp.dci_attribute, operators in a fixed set, and every
-- value goes in as a quoted literal of the attribute's type.
-- docs/interoperability.md documents the choices where the spec is silent;
-- docs/design/dci-spec-notes.md digests the spec.

-- ---------------------------------------------------------------------------
-- Clients: a DCI sender bound to a database role, with its bearer token
-- (hashed) and the URL prefixes callbacks may go to.

CREATE TABLE sp.api_client (
    sender_id         text PRIMARY KEY CHECK (sender_id ~ '^[A-Za-z0-9][A-Za-z0-9._:@-]{0,98}$'),
    client_role       name NOT NULL,
    token_sha256      bytea NOT NULL CHECK (length(token_sha256) = 32),
    callback_prefixes text[] NOT NULL DEFAULT '{}',
    description       text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    created_by        text NOT NULL DEFAULT sp_internal.caller(),
    revoked_at        timestamptz,
    revoked_by        text
);
CREATE UNIQUE INDEX api_client_token_idx ON sp.api_client (token_sha256);
-- a role serves one client, even once revoked: its kept messages (transaction
-- status) and subscriptions are that client's
CREATE UNIQUE INDEX api_client_role_idx ON sp.api_client (client_role);
COMMENT ON TABLE sp.api_client IS 'DCI API clients: the sender_id a client puts in its message headers, the database role it acts as (its grants and area scope decide what it may search and see), the SHA-256 of its bearer token (the token itself is never stored) and the URL prefixes its callbacks (on-search, notify) may go to. Written by sp.register_api_client and sp.revoke_api_client; a revoked client keeps its row.';
COMMENT ON COLUMN sp.api_client.token_sha256 IS 'SHA-256 of the bearer token. Tokens are at least 32 characters of high entropy (generate them, do not choose them), so a plain hash suffices and a gateway can check one per request.';
COMMENT ON COLUMN sp.api_client.callback_prefixes IS 'A callback URL (the header''s sender_uri) must start with one of these, e.g. https://spmis.example.org/dci/. Anything else is refused (err.sender_uri.invalid): the registry never calls a URL its administrators did not register.';

CREATE TABLE sp.api_client_history (
    history_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sender_id   text NOT NULL,
    client_role name NOT NULL,
    callback_prefixes text[] NOT NULL,
    description text,
    operation   text NOT NULL CHECK (operation IN ('register', 'replace', 'revoke')),
    changed_at  timestamptz NOT NULL DEFAULT now(),
    changed_by  text NOT NULL DEFAULT sp_internal.caller()
);
COMMENT ON TABLE sp.api_client_history IS 'Every registration, replacement (new token, role or prefixes) and revocation of an API client, with who and when. Tokens and their hashes are not kept here.';
CREATE TRIGGER api_client_history_append_only BEFORE UPDATE OR DELETE ON sp.api_client_history
    FOR EACH ROW EXECUTE FUNCTION sp_internal.history_is_append_only();

-- A callback URL prefix: http(s), a host, a path ending in "/" (so that
-- https://a.org/ cannot be stretched to https://a.org.evil.net), no user
-- info, query or fragment.
CREATE FUNCTION sp_internal.dci_prefix_valid(prefix text)
    RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT length(prefix) <= 500 AND prefix ~ '^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?/([A-Za-z0-9._~%!$&''()*+,=:@-]+/)*$'
           AND prefix !~ '/\.\.?/'
$$;
COMMENT ON FUNCTION sp_internal.dci_prefix_valid(text) IS 'Whether a callback prefix is http(s)://host[:port]/path/ with a path of whole segments ending in "/", no user info, query, fragment, ";" or dot segments. The gateway applies the same rules (src/core/sp_http.c).';

-- A callback URL under one of the prefixes, without dot segments, user info
-- or fragment.
CREATE FUNCTION sp_internal.dci_callback_allowed(uri text, prefixes text[])
    RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT uri IS NOT NULL AND length(uri) <= 2000
           AND uri ~ '^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~%!$&''()*+,=:@/?-]*)?$'
           -- in the path (before any "?"): no dot segment, no empty segment
           AND split_part(substring(uri FROM '^https?://[^/]*(.*)$'), '?', 1) !~ '//|/\.\.?(/|$)'
           AND uri !~* '%2[ef]|%5c'
           AND EXISTS (SELECT 1 FROM unnest(prefixes) p (prefix) WHERE starts_with(uri, p.prefix))
$$;
COMMENT ON FUNCTION sp_internal.dci_callback_allowed(text, text[]) IS 'Whether a callback URL lies under one of the client''s registered prefixes (and has no dot or empty path segments, ";", encoded dots, slashes or backslashes, user info or fragment). The gateway applies the same rules (src/core/sp_http.c).';

CREATE FUNCTION sp.register_api_client(sender_id text, token text, client_role name,
                                       callback_prefixes text[] DEFAULT '{}', description text DEFAULT NULL)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    bad text;
    existed boolean;
    old_role name;
    c sp.api_client;
BEGIN
    PERFORM sp_internal.require_national_scope('registering API clients');
    IF sender_id IS NULL OR sender_id !~ '^[A-Za-z0-9][A-Za-z0-9._:@-]{0,98}$' THEN
        RAISE EXCEPTION 'sender_id must be 1 to 99 letters, digits and . _ : @ -, starting with a letter or digit'
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'sender_id';
    END IF;
    IF token IS NULL OR token !~ '^[!-~]+$' OR length(token) NOT BETWEEN 32 AND 512 THEN
        RAISE EXCEPTION 'token must be 32 to 512 visible ASCII characters (no spaces)'
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'token',
                  HINT = 'Generate it, e.g. SELECT encode(gen_random_bytes(32), ''hex'').';
    END IF;
    IF client_role IS NULL OR NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = client_role) THEN
        RAISE EXCEPTION 'role "%" does not exist', coalesce(client_role::text, 'NULL')
            USING ERRCODE = 'undefined_object', COLUMN = 'client_role';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = client_role
               AND (r.rolsuper OR r.rolbypassrls OR r.rolcreaterole OR r.rolcanlogin OR r.rolname LIKE 'pg\_%'
                    -- what the gateway could become: an administrator, a predefined role's powers, the owner's
                    OR pg_has_role(r.oid, 'sp_admin', 'MEMBER')
                    OR EXISTS (SELECT 1 FROM pg_roles g WHERE g.rolname LIKE 'pg\_%' AND pg_has_role(r.oid, g.oid, 'MEMBER'))
                    OR pg_has_role(r.oid, (SELECT e.extowner FROM pg_extension e WHERE e.extname = 'sp_registry'), 'MEMBER')
                    OR r.rolname IN ('sp_admin', 'sp_registrar', 'sp_caseworker', 'sp_programme_officer', 'sp_payment_officer',
                                     'sp_grievance_officer', 'sp_analyst', 'sp_auditor', 'sp_pii_reader', 'sp_integration', 'sp_gateway')
                    OR pg_has_role(r.oid, 'sp_gateway', 'MEMBER')
                    OR r.oid = (SELECT e.extowner FROM pg_extension e WHERE e.extname = 'sp_registry'))) THEN
        RAISE EXCEPTION 'an API client acts as a role of its own, not as "%"', client_role
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'client_role',
                  DETAIL = 'Refused: superusers, roles that bypass row-level security, create roles or log in, the shipped group roles (sp_admin, sp_registrar, ..., sp_gateway), and members of sp_admin, of sp_gateway (the gateway''s own login), of a pg_ role or of the extension owner: the gateway may act as the client''s role, and must not become more than a client.',
                  HINT = 'CREATE ROLE ministry_x_api NOLOGIN IN ROLE sp_analyst; then grant it an area scope.';
    END IF;
    IF callback_prefixes IS NULL OR array_position(callback_prefixes, NULL) IS NOT NULL OR cardinality(callback_prefixes) > 20 THEN
        RAISE EXCEPTION 'callback_prefixes must be an array of at most 20 URL prefixes without NULLs'
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'callback_prefixes';
    END IF;
    SELECT p INTO bad FROM unnest(callback_prefixes) p WHERE NOT sp_internal.dci_prefix_valid(p) LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'callback prefix "%" is not http(s)://host[:port]/path/ ending in "/"', left(bad, 200)
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'callback_prefixes',
                  DETAIL = 'A prefix names a whole path: https://spmis.example.org/dci/ allows https://spmis.example.org/dci/on-search but not https://spmis.example.org.evil.net/.';
    END IF;
    IF EXISTS (SELECT 1 FROM sp.api_client a WHERE a.client_role = client_role
               AND a.sender_id <> register_api_client.sender_id) THEN
        RAISE EXCEPTION 'role "%" is already the role of another API client', client_role
            USING ERRCODE = 'unique_violation', COLUMN = 'client_role',
                  DETAIL = 'Each client acts as a role of its own, even once revoked, so that its searches, scope, audit records, kept answers and subscriptions are its own.';
    END IF;
    existed := EXISTS (SELECT 1 FROM sp.api_client a WHERE a.sender_id = register_api_client.sender_id);
    -- a client that changes role: the gateway may no longer act as the old one
    SELECT a.client_role INTO old_role FROM sp.api_client a
    WHERE a.sender_id = register_api_client.sender_id AND a.revoked_at IS NULL AND a.client_role <> register_api_client.client_role;
    IF old_role IS NOT NULL THEN
        EXECUTE pg_catalog.format('REVOKE %I FROM sp_gateway', old_role);
    END IF;
    EXECUTE pg_catalog.format('GRANT %I TO sp_gateway', client_role);
    INSERT INTO sp.api_client AS a (sender_id, client_role, token_sha256, callback_prefixes, description)
    VALUES (sender_id, client_role, sha256(convert_to(token, 'UTF8')), callback_prefixes, left(description, 1000))
    ON CONFLICT ON CONSTRAINT api_client_pkey DO UPDATE
        SET client_role = excluded.client_role, token_sha256 = excluded.token_sha256,
            callback_prefixes = excluded.callback_prefixes, description = excluded.description,
            created_at = now(), created_by = sp_internal.caller(), revoked_at = NULL, revoked_by = NULL
    RETURNING * INTO c;
    INSERT INTO sp.api_client_history (sender_id, client_role, callback_prefixes, description, operation)
    VALUES (c.sender_id, c.client_role, c.callback_prefixes, c.description, CASE WHEN existed THEN 'replace' ELSE 'register' END);
    RETURN to_jsonb(c) - 'token_sha256';
EXCEPTION WHEN unique_violation THEN
    IF SQLERRM LIKE '%api_client_token_idx%' THEN
        RAISE EXCEPTION 'this token is already another client''s' USING ERRCODE = 'unique_violation', COLUMN = 'token';
    END IF;
    RAISE;
END
$$;
COMMENT ON FUNCTION sp.register_api_client(text, text, name, text[], text) IS 'Registers (or replaces: new token, role, prefixes) a DCI API client: its sender_id, its bearer token (32 to 512 characters; only its SHA-256 is stored), the role it acts as (a role of its own, not a superuser or shipped group role; one client per role) and the URL prefixes its callbacks may go to. The role is granted to sp_gateway, so that the HTTP gateway may act as it. Administrators with national scope. Kept in sp.api_client_history.';

CREATE FUNCTION sp.revoke_api_client(sender_id text)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    c sp.api_client;
BEGIN
    PERFORM sp_internal.require_national_scope('revoking API clients');
    UPDATE sp.api_client a SET revoked_at = now(), revoked_by = sp_internal.caller()
    WHERE a.sender_id = revoke_api_client.sender_id AND a.revoked_at IS NULL
    RETURNING * INTO c;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no active API client "%"', coalesce(left(sender_id, 100), 'NULL')
            USING ERRCODE = 'no_data_found', COLUMN = 'sender_id';
    END IF;
    INSERT INTO sp.api_client_history (sender_id, client_role, callback_prefixes, description, operation)
    VALUES (c.sender_id, c.client_role, c.callback_prefixes, c.description, 'revoke');
    IF EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = c.client_role) THEN
        EXECUTE pg_catalog.format('REVOKE %I FROM sp_gateway', c.client_role);
    END IF;
    -- its subscriptions end, and their outbox consumer goes (it would hold the outbox back from pruning)
    UPDATE sp.dci_subscription x SET unsubscribed_at = now(), unsubscribed_by = sp_internal.caller()
    WHERE x.caller_role = c.client_role AND x.unsubscribed_at IS NULL;
    DELETE FROM sp.outbox_consumer o WHERE o.name = sp_internal.dci_consumer_name(c.client_role);
    RETURN to_jsonb(c) - 'token_sha256';
END
$$;
COMMENT ON FUNCTION sp.revoke_api_client(text) IS 'Revokes an API client: its token stops working (the gateway caches a token for at most a few seconds), the gateway may no longer act as its role, its subscriptions end and their outbox consumer goes. The row stays, with who revoked it and when; its role cannot serve another client.';

-- For the gateway: the client of a bearer token.
-- (the gateway hashes the token itself: the token never reaches the server,
-- so no statement log can hold it)
CREATE FUNCTION sp.api_client_authenticate(token_sha256 bytea)
    RETURNS TABLE (sender_id text, client_role name, callback_prefixes text[])
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT a.sender_id, a.client_role, a.callback_prefixes
    FROM sp.api_client a
    WHERE a.token_sha256 = api_client_authenticate.token_sha256 AND a.revoked_at IS NULL
$$;
COMMENT ON FUNCTION sp.api_client_authenticate(bytea) IS 'The active API client whose bearer token has this SHA-256 (sender_id, the role to act as, callback prefixes); no row for an unknown or revoked token. For the HTTP gateway (sp_gateway), which hashes the token itself.';

-- The client a caller acts as: the active one whose role the caller is (or
-- holds).  NULL when the caller is no registered client (a direct SQL user).
CREATE FUNCTION sp_internal.dci_caller_client()
    RETURNS sp.api_client
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT a.* FROM sp.api_client a JOIN pg_roles r ON r.rolname = a.client_role
    WHERE a.revoked_at IS NULL AND r.oid = sp_internal.caller_oid()
$$;
COMMENT ON FUNCTION sp_internal.dci_caller_client() IS 'The active API client whose role is the caller''s role in effect, or NULL.';

-- ---------------------------------------------------------------------------
-- Messages: every request's message_id, once per role (replays are
-- refused), with the response sent, for transaction status.

CREATE TABLE sp_internal.dci_message (
    message_no      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    caller_role     text NOT NULL,
    sender_id       text NOT NULL,
    message_id      text NOT NULL,
    action          text NOT NULL,
    transaction_id  text,
    correlation_id  text NOT NULL UNIQUE,
    message_ts      timestamptz,
    received_at     timestamptz NOT NULL DEFAULT now(),
    reference_ids   text[] NOT NULL DEFAULT '{}',
    status          text,
    response        jsonb,
    UNIQUE (caller_role, message_id)
);
CREATE INDEX dci_message_transaction_idx ON sp_internal.dci_message (caller_role, transaction_id);
CREATE INDEX dci_message_received_idx ON sp_internal.dci_message (received_at);
COMMENT ON TABLE sp_internal.dci_message IS 'Every DCI request by message_id (unique per calling role: a replay is refused) with the response it got, for transaction status. Responses to searches hold personal data: sp.prune_dci_messages removes them after their retention. Read only through sp.dci_txn_status (a client''s own messages).';

CREATE FUNCTION sp.prune_dci_messages(older_than interval DEFAULT '7 days')
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
BEGIN
    PERFORM sp_internal.require_national_scope('pruning DCI messages');
    IF older_than IS NULL OR older_than < interval '1 day' THEN
        RAISE EXCEPTION 'older_than must be at least 1 day'
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'older_than',
                  DETAIL = 'A message_ts is accepted up to 1 day old; its message_id must be kept that long for a replay to be refused.';
    END IF;
    -- (a message_ts may be 5 minutes ahead: its id is kept until both times are past)
    DELETE FROM sp_internal.dci_message m WHERE greatest(m.received_at, coalesce(m.message_ts, m.received_at)) < now() - older_than;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION sp.prune_dci_messages(interval) IS 'Deletes DCI messages (message ids and the responses kept for transaction status, which hold personal data) received more than older_than ago (at least 1 day: a message may be up to 1 day old, and a replay must still find its id). Returns how many. National administrators; schedule it with pg_cron.';

-- ---------------------------------------------------------------------------
-- Attributes a predicate or expression may name, beyond the built-in ones:
-- catalogue variables an administrator chose to make searchable.

CREATE TABLE sp.dci_attribute (
    attribute_name text PRIMARY KEY CHECK (attribute_name ~ '^[A-Za-z][A-Za-z0-9_.:-]{0,62}$'),
    variable_code  text NOT NULL REFERENCES sp.variable (code),
    description    text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    created_by     text NOT NULL DEFAULT sp_internal.caller()
);
CREATE UNIQUE INDEX dci_attribute_lower_idx ON sp.dci_attribute (lower(attribute_name));
COMMENT ON TABLE sp.dci_attribute IS 'Catalogue variables DCI searches and subscriptions may filter on, under the attribute name clients use (e.g. pin-code for the variable postal_code). Only variables listed here are searchable; de-identified clients still cannot filter on text or identifying variables. National administrators write it.';
CREATE TRIGGER dci_attribute_national BEFORE INSERT OR UPDATE OR DELETE ON sp.dci_attribute
    FOR EACH ROW EXECUTE FUNCTION sp_internal.national_configuration('changing the DCI search attributes');

-- The built-in attributes: (name, entity, type, the tiers allowed).
CREATE FUNCTION sp_internal.dci_builtin_attributes()
    RETURNS TABLE (attribute_name text, entity text, value_type text, tiers text[], description text)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    VALUES ('household_id', 'household', 'integer', '{identified,deidentified,keys}'::text[], 'The registry''s household id.'),
           ('area', 'household', 'area', '{identified,deidentified,keys}', 'An admin area code (P-code): households in it or below it. De-identified clients: areas at the de-identified level or above.'),
           ('group_size', 'household', 'integer', '{identified,deidentified}', 'Active members.'),
           ('poverty_score', 'household', 'numeric', '{identified,deidentified}', 'The latest PMT score (any model); needs the right to read assessments.'),
           ('registration_date', 'household', 'date', '{identified}', 'Date the household was registered.'),
           ('registration_year', 'household', 'integer', '{identified,deidentified}', 'Year the household was registered.'),
           ('household_status', 'household', 'category', '{identified,deidentified}', 'active, inactive or merged.'),
           ('person_id', 'person', 'integer', '{identified,deidentified}', 'The registry''s person id.'),
           ('sex', 'person', 'sex', '{identified,deidentified}', 'male, female or other (M, F, X).'),
           ('birth_date', 'person', 'date', '{identified}', 'Birth date (1 January or the 1st of the month when only the year or month is known).'),
           ('birth_year', 'person', 'integer', '{identified,deidentified}', 'Year of birth.'),
           ('age', 'person', 'integer', '{identified,deidentified}', 'Age in whole years today; for de-identified clients the age reached this year.'),
           ('relationship_to_head', 'person', 'category', '{identified,deidentified}', 'A code of sp.relationship_type.'),
           ('person_status', 'person', 'category', '{identified,deidentified}', 'active, deceased or merged.')
$$;
COMMENT ON FUNCTION sp_internal.dci_builtin_attributes() IS 'The attributes every DCI search may name (with their entity, type and the caller tiers allowed), besides the variables of sp.dci_attribute.';

CREATE FUNCTION sp_internal.dci_attribute_not_builtin()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF lower(NEW.attribute_name) IN (SELECT b.attribute_name FROM sp_internal.dci_builtin_attributes() b)
       OR lower(NEW.attribute_name) IN ('area_code', 'area-code', 'admin_area_code') THEN
        RAISE EXCEPTION 'attribute "%" is built in', NEW.attribute_name USING ERRCODE = 'unique_violation', COLUMN = 'attribute_name';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER dci_attribute_not_builtin BEFORE INSERT OR UPDATE ON sp.dci_attribute
    FOR EACH ROW EXECUTE FUNCTION sp_internal.dci_attribute_not_builtin();

-- ---------------------------------------------------------------------------
-- Small helpers.

-- ISO 8601 date-time with a time zone, or NULL (PostgreSQL's own input would
-- take 'now', 'epoch' or a time without zone in the session's zone).
CREATE FUNCTION sp_internal.dci_timestamp(value jsonb)
    RETURNS timestamptz
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF jsonb_typeof(value) IS DISTINCT FROM 'string'
       OR (value #>> '{}') !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)$' THEN
        RETURN NULL;
    END IF;
    RETURN (value #>> '{}')::timestamptz;
EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format OR invalid_time_zone_displacement_value THEN
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION sp_internal.dci_timestamp(jsonb) IS 'A JSON string in ISO 8601 date-time form with a time zone (Z or an offset) as timestamptz; NULL for anything else.';

CREATE FUNCTION sp_internal.dci_ts(t timestamptz)
    RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') $$;
COMMENT ON FUNCTION sp_internal.dci_ts(timestamptz) IS 'A time as the DCI writes it: ISO 8601 in UTC with milliseconds.';

-- The ACK-shaped error (err.*) for a request that cannot be read as one.
CREATE FUNCTION sp_internal.dci_error(code text, message text)
    RETURNS jsonb
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object('message', jsonb_build_object(
        'ack_status', 'ERR', 'timestamp', sp_internal.dci_ts(now()), 'correlation_id', gen_random_uuid()::text,
        'error', jsonb_build_object('code', code, 'message', left(message, 999))))
$$;
COMMENT ON FUNCTION sp_internal.dci_error(text, text) IS 'The DCI error object: {"message": {"ack_status": "ERR", "timestamp", "correlation_id", "error": {"code", "message"}}}.';

-- A search or subscription problem: raised with the item reason code as its
-- hint, caught by the item loop.
CREATE FUNCTION sp_internal.dci_reject(reason_code text, message text)
    RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION '%', message USING ERRCODE = 'invalid_parameter_value', HINT = reason_code;
END
$$;
COMMENT ON FUNCTION sp_internal.dci_reject(text, text) IS 'Raises 22023 with the DCI reason code as hint; the DCI functions turn it into a rejected item.';

-- What the caller may see (see the top of this file).
CREATE FUNCTION sp_internal.dci_tier()
    RETURNS text
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN has_column_privilege(sp_internal.caller_oid(), 'sp.person'::regclass, 'given_name', 'SELECT') THEN 'identified'
                WHEN has_table_privilege(sp_internal.caller_oid(), 'sp.person_deidentified'::regclass, 'SELECT') THEN 'deidentified'
                ELSE 'keys' END
$$;
COMMENT ON FUNCTION sp_internal.dci_tier() IS 'identified when the caller may read persons'' names, deidentified when it may read sp.person_deidentified, else keys (household ids and areas only).';

-- ---------------------------------------------------------------------------
-- Queries: predicate lists and NoSQL-style expressions become one tree
--   {"and": [..]} | {"or": [..]} | {"not": node} | {"leaf": {attribute_name, operator, attribute_value}}
-- compiled to a SQL condition over h (sp.household) and p (sp.person).

-- An attribute: its entity, type and SQL (over h or p); rejects what the
-- tier may not use.
CREATE FUNCTION sp_internal.dci_attribute_sql(name text, tier text, reason text,
                                              OUT entity text, OUT value_type text, OUT expr text)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n text := lower(name);
    b record;
    v record;
BEGIN
    IF n IN ('area_code', 'area-code', 'admin_area_code') THEN
        n := 'area';
    END IF;
    SELECT * INTO b FROM sp_internal.dci_builtin_attributes() x WHERE x.attribute_name = n;
    IF FOUND THEN
        IF NOT tier = ANY (b.tiers) THEN
            PERFORM sp_internal.dci_reject(reason, pg_catalog.format('attribute "%s" is not available to this client', left(name, 64)));
        END IF;
        IF n = 'poverty_score' AND NOT has_table_privilege(sp_internal.caller_oid(), 'sp.assessment'::regclass, 'SELECT') THEN
            PERFORM sp_internal.dci_reject(reason, 'attribute "poverty_score" is not available to this client');
        END IF;
        entity := b.entity;
        value_type := b.value_type;
        expr := CASE n
            WHEN 'household_id' THEN 'h.household_id'
            WHEN 'area' THEN 'h.admin_area_code'
            -- (the status in a FILTER, not the WHERE: else the planner ANDs a bitmap of every active person into each household's lookup)
            WHEN 'group_size' THEN '(SELECT count(*) FILTER (WHERE gp.status = ''active'') FROM sp.person gp WHERE gp.household_id = h.household_id)'
            WHEN 'poverty_score' THEN '(SELECT a.score FROM sp.assessment a WHERE a.household_id = h.household_id ORDER BY a.assessed_at DESC, a.assessment_id DESC LIMIT 1)'
            WHEN 'registration_date' THEN '(h.registered_at AT TIME ZONE ''UTC'')::date'
            WHEN 'registration_year' THEN 'extract(year FROM h.registered_at AT TIME ZONE ''UTC'')::integer'
            WHEN 'household_status' THEN 'h.status'
            WHEN 'person_id' THEN 'p.person_id'
            WHEN 'sex' THEN 'p.sex'
            WHEN 'birth_date' THEN 'p.birth_date'
            WHEN 'birth_year' THEN 'extract(year FROM p.birth_date)::integer'
            WHEN 'age' THEN CASE tier WHEN 'identified' THEN 'extract(year FROM age(current_date, p.birth_date))::integer'
                                      ELSE '(extract(year FROM current_date) - extract(year FROM p.birth_date))::integer' END
            WHEN 'relationship_to_head' THEN 'p.relationship_to_head'
            WHEN 'person_status' THEN 'p.status'
        END;
        RETURN;
    END IF;
    SELECT va.code, va.entity, va.value_type INTO v
    FROM sp.dci_attribute d JOIN sp.variable va ON va.code = d.variable_code
    WHERE lower(d.attribute_name) = n;
    IF NOT FOUND THEN
        PERFORM sp_internal.dci_reject(reason, pg_catalog.format('unknown attribute "%s"', left(name, 64)));
    END IF;
    IF tier = 'keys' OR (tier = 'deidentified' AND v.code = ANY (sp_internal.withheld_variables(v.entity))) THEN
        PERFORM sp_internal.dci_reject(reason, pg_catalog.format('attribute "%s" is not available to this client', left(name, 64)));
    END IF;
    entity := v.entity;
    value_type := v.value_type;
    expr := pg_catalog.format(CASE WHEN v.value_type IN ('integer', 'numeric') THEN '(%s.attributes ->> %L)::numeric'
                                   WHEN v.value_type = 'boolean' THEN '(%s.attributes ->> %L)::boolean'
                                   ELSE '(%s.attributes ->> %L)' END,
                              CASE v.entity WHEN 'household' THEN 'h' ELSE 'p' END, v.code);
    IF v.value_type = 'date' THEN
        value_type := 'partial_date';
    END IF;
END
$$;
COMMENT ON FUNCTION sp_internal.dci_attribute_sql(text, text, text) IS 'A DCI attribute name (built in, or a catalogue variable listed in sp.dci_attribute) as entity, value type and SQL over h (household) or p (person); rejects (with the given reason code) unknown names and names the caller''s tier may not use.';

-- One value of an attribute's type as a SQL literal.
CREATE FUNCTION sp_internal.dci_literal(value jsonb, value_type text, tier text, name text)
    RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t text := jsonb_typeof(value);
    s text := value #>> '{}';
    lvl integer;
    pth text;
BEGIN
    IF value_type IN ('integer', 'numeric') THEN
        IF (t = 'number' OR (t = 'string' AND s ~ '^\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)\s*$')) AND length(s) <= 40 THEN
            RETURN pg_catalog.format('%L::numeric', s::numeric);
        END IF;
    ELSIF value_type = 'date' THEN
        IF t = 'string' AND s ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' THEN
            BEGIN
                RETURN pg_catalog.format('%L::date', to_char(s::date, 'YYYY-MM-DD'));
            EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format THEN
                NULL;
            END;
        END IF;
    ELSIF value_type = 'partial_date' THEN
        IF t = 'string' AND s ~ '^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$' THEN
            RETURN pg_catalog.format('%L', s);
        END IF;
    ELSIF value_type = 'boolean' THEN
        IF t = 'boolean' THEN
            RETURN pg_catalog.format('%L::boolean', s);
        END IF;
    ELSIF value_type = 'sex' THEN
        IF t = 'string' AND lower(s) IN ('male', 'female', 'other', 'm', 'f', 'x') THEN
            RETURN pg_catalog.format('%L', CASE lower(s) WHEN 'male' THEN 'M' WHEN 'female' THEN 'F' WHEN 'other' THEN 'X' ELSE upper(s) END);
        END IF;
    ELSIF value_type = 'area' THEN
        IF t = 'string' THEN
            SELECT a.level, a.path INTO lvl, pth FROM sp.admin_area a WHERE a.code = s;
            IF NOT FOUND THEN
                PERFORM sp_internal.dci_reject('rjct.search_criteria.invalid', pg_catalog.format('unknown area "%s"', left(s, 64)));
            END IF;
            IF tier = 'deidentified' AND lvl > sp_internal.privacy_setting('deidentified_area_level') THEN
                PERFORM sp_internal.dci_reject('rjct.search_criteria.invalid',
                    pg_catalog.format('area "%s" is below the level this client may see (%s)', s, sp_internal.privacy_setting('deidentified_area_level')));
            END IF;
            -- the subtree, as a LIKE pattern on the materialised path
            RETURN pg_catalog.format('%L', replace(replace(replace(pth, '\', '\\'), '_', '\_'), '%', '\%') || '%');
        END IF;
    ELSE  -- text, category
        IF t = 'string' AND length(s) <= 1000 THEN
            RETURN pg_catalog.format('%L', s);
        END IF;
    END IF;
    PERFORM sp_internal.dci_reject('rjct.search_criteria.invalid',
        pg_catalog.format('value of "%s" must be %s', left(name, 64),
            CASE value_type WHEN 'integer' THEN 'a number' WHEN 'numeric' THEN 'a number' WHEN 'date' THEN 'a date YYYY-MM-DD'
                            WHEN 'partial_date' THEN 'a date YYYY, YYYY-MM or YYYY-MM-DD' WHEN 'boolean' THEN 'true or false'
                            WHEN 'sex' THEN 'male, female or other' WHEN 'area' THEN 'an area code' ELSE 'a string (at most 1000 characters)' END));
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION sp_internal.dci_literal(jsonb, text, text, text) IS 'A JSON value as a quoted SQL literal of the attribute''s type (for an area, the LIKE pattern of its subtree); rejects values of the wrong type, unknown areas and, for de-identified callers, areas below the de-identified level.';

-- A leaf {attribute_name, operator, attribute_value} as a SQL condition.
CREATE FUNCTION sp_internal.dci_leaf_sql(leaf jsonb, tier text, entity text)
    RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    a record;
    op text := leaf ->> 'operator';
    val jsonb := leaf -> 'attribute_value';
    lits text[];
    cond text;
BEGIN
    IF jsonb_typeof(leaf) IS DISTINCT FROM 'object' OR jsonb_typeof(leaf -> 'attribute_name') IS DISTINCT FROM 'string'
       OR jsonb_typeof(leaf -> 'operator') IS DISTINCT FROM 'string' OR val IS NULL OR jsonb_typeof(val) = 'null' THEN
        PERFORM sp_internal.dci_reject('rjct.search_criteria.invalid', 'each expression needs attribute_name, operator and attribute_value');
    END IF;
    IF op NOT IN ('gt', 'lt', 'eq', 'ge', 'le', 'in') THEN
        PERFORM sp_internal.dci_reject('rjct.search_criteria.invalid', pg_catalog.format('unknown operator "%s" (gt, lt, eq, ge, le, in)', left(op, 20)));
    END IF;
    a := sp_internal.dci_attribute_sql(leaf ->> 'attribute_name', tier, 'rjct.search_criteria.invalid');
    IF op NOT IN ('eq', 'in') AND a.value_type NOT IN ('integer', 'numeric', 'date') THEN
        PERFORM sp_internal.dci_reject('rjct.search_criteria.invalid',
            pg_catalog.format('attribute "%s" takes eq and in only', left(leaf ->> 'attribute_name', 64)));
    END IF;
    IF op = 'in' THEN
        IF jsonb_typeof(val) IS DISTINCT FROM 'array' OR jsonb_array_length(val) NOT BETWEEN 1 AND 1000 THEN
            PERFORM sp_internal.dci_reject('rjct.search_criteria.invalid', 'the value of "in" must be an array of 1 to 1000 values');
        END IF;
        SELECT array_agg(sp_internal.dci_literal(e, a.value_type, tier, leaf ->> 'attribute_name') ORDER BY o) INTO lits
        FROM jsonb_array_elements(val) WITH ORDINALITY x (e, o);
    ELSE
        lits := ARRAY[sp_internal.dci_literal(val, a.value_type, tier, leaf ->> 'attribute_name')];
    END IF;
    IF a.value_type = 'area' THEN
        cond := pg_catalog.format('h.admin_area_code IN (SELECT ar.code FROM sp.admin_area ar WHERE %s)',
                                  (SELECT string_agg('ar.path LIKE ' || l, ' OR ') FROM unnest(lits) l));
    ELSIF op = 'in' THEN
        cond := pg_catalog.format('%s IN (%s)', a.expr, array_to_string(lits, ', '));
    ELSE
        cond := pg_catalog.format('%s %s %s', a.expr,
                                  CASE op WHEN 'gt' THEN '>' WHEN 'lt' THEN '<' WHEN 'eq' THEN '=' WHEN 'ge' THEN '>=' ELSE '<=' END, lits[1]);
    END IF;
    cond := 'coalesce(' || cond || ', false)';
    IF a.entity = 'person' AND entity = 'household' THEN
        cond := pg_catalog.format('EXISTS (SELECT 1 FROM sp.person p WHERE p.household_id = h.household_id AND p.status <> ''merged'' AND %s)', cond);
    END IF;
    RETURN cond;
END
$$;
COMMENT ON FUNCTION sp_internal.dci_leaf_sql(jsonb, text, text) IS 'One comparison as a SQL condition (false where the attribute has no value); over a household search, a person attribute means "a member with".';

CREATE FUNCTION sp_internal.dci_tree_sql(node jsonb, tier text, entity text)
    RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF node ? 'leaf' THEN
        RETURN sp_internal.dci_leaf_sql(node -> 'leaf', tier, entity);
    ELSIF node ? 'not' THEN
        RETURN '(NOT ' || sp_internal.dci_tree_sql(node -> 'not', tier, entity) || ')';
    ELSE
        RETURN '(' || (SELECT string_agg(sp_internal.dci_tree_sql(c, tier, entity), CASE WHEN node ? 'and' THEN ' AND ' ELSE ' OR ' END ORDER BY o)
                       FROM jsonb_array_elements(coalesce(node -> 'and', node -> 'or')) WITH ORDINALITY x (c, o)) || ')';
    END IF;
END
$$;
COMMENT ON FUNCTION sp_internal.dci_tree_sql(jsonb, text, text) IS 'A query tree ({"and"|"or": [..]}, {"not": ..}, {"leaf": ..}) as a SQL condition.';

-- A predicate list: items in seq_num order, all of which must hold; an
-- item is expression1 alone, "expression1 and|or expression2", "not
-- expression1", or "expression1 not expression2" (the first and not the
-- second).
CREATE FUNCTION sp_internal.dci_predicate_tree(query jsonb)
    RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    item jsonb;
    items jsonb := '[]';
    cond text;
BEGIN
    IF jsonb_typeof(query) IS DISTINCT FROM 'array' OR jsonb_array_length(query) NOT BETWEEN 1 AND 20 THEN
        PERFORM sp_internal.dci_reject('rjct.search_criteria.invalid', 'a predicate query is an array of 1 to 20 items');
    END IF;
    IF EXISTS (SELECT 1 FROM jsonb_array_elements(query) e WHERE jsonb_typeof(e) IS DISTINCT FROM 'object'
                                                            OR jsonb_typeof(e -> 'seq_num') IS DISTINCT FROM 'number') THEN
        PERFORM sp_internal.dci_reject('rjct.search_criteria.invalid', 'each predicate item is an object with a numeric seq_num');
    END IF;
    IF (SELECT count(DISTINCT (e ->> 'seq_num')::numeric) FROM jsonb_array_elements(query) e) < jsonb_array_length(query) THEN
        PERFORM sp_internal.dci_reject('rjct.search_criteria.invalid', 'seq_num must differ between predicate items');
    END IF;
    FOR item IN SELECT e FROM jsonb_array_elements(query) e ORDER BY (e ->> 'seq_num')::numeric LOOP
        cond := item ->> 'condition';
        IF item -> 'expression1' IS NULL THEN
            PERFORM sp_internal.dci_reject('rjct.search_criteria.invalid', pg_catalog.format('predicate item %s has no expression1', item ->> 'seq_num'));
        END IF;
        IF item ? 'condition' AND (jsonb_typeof(item -> 'condition') IS DISTINCT FROM 'string' OR cond NOT IN ('and', 'or', 'not')) THEN
            PERFORM sp_internal.dci_reject('rjct.search_criteria.invalid', 'condition must be and, or or not');
        END IF;
        IF coalesce(cond IN ('and', 'or'), false) <> (item ? 'expression2') AND cond IS DISTINCT FROM 'not' THEN
            PERFORM sp_internal.dci_reject('rjct.search_criteria.invalid',
                pg_catalog.format('predicate item %s: expression2 goes with the condition and or or', item ->> 'seq_num'));
        END IF;
        items := items || jsonb_build_array(CASE
            WHEN cond IS NULL THEN jsonb_build_object('leaf', item -> 'expression1')
            WHEN cond = 'not' AND NOT item ? 'expression2' THEN jsonb_build_object('not', jsonb_build_object('leaf', item -> 'expression1'))
            WHEN cond = 'not' THEN jsonb_build_object('and', jsonb_build_array(jsonb_build_object('leaf', item -> 'expression1'),
                                                                               jsonb_build_object('not', jsonb_build_object('leaf', item -> 'expression2'))))
            ELSE jsonb_build_object(cond, jsonb_build_array(jsonb_build_object('leaf', item -> 'expression1'),
                                                            jsonb_build_object('leaf', item -> 'expression2'))) END);
    END LOOP;
    RETURN jsonb_build_object('and', items);
END
$$;
COMMENT ON FUNCTION sp_internal.dci_predicate_tree(jsonb) IS 'A DCI predicate list as a query tree: items in seq_num order, all of which must hold; an item is expression1, "expression1 and|or expression2", "not" with expression1 alone (its negation) or "expression1 not expression2" (the first and not the second).';

-- A NoSQL-style expression ({"$and": [..]}, {"$or": [..]}, {"$not": {..}},
-- {"attr": value}, {"attr": {"$lt": 5, ..}}) as a query tree.
CREATE FUNCTION sp_internal.dci_expression_tree(q jsonb, depth integer DEFAULT 0)
    RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k text;
    v jsonb;
    ops record;
    parts jsonb := '[]';
BEGIN
    IF depth > 8 THEN
        PERFORM sp_internal.dci_reject('rjct.search_criteria.invalid', 'the expression is nested more than 8 levels deep');
    END IF;
    IF jsonb_typeof(q) IS DISTINCT FROM 'object' OR q = '{}' THEN
        PERFORM sp_internal.dci_reject('rjct.search_criteria.invalid', 'each part of an expression query is a non-empty object');
    END IF;
    -- (before anything is built from it: the whole query has at most 50 comparisons anyway)
    IF (SELECT count(*) FROM jsonb_object_keys(q)) > 50 THEN
        PERFORM sp_internal.dci_reject('rjct.search_criteria.invalid', 'a query has at most 50 comparisons');
    END IF;
    FOR k, v IN SELECT e.key, e.value FROM jsonb_each(q) e ORDER BY e.key LOOP
        IF k IN ('$and', '$or') THEN
            IF jsonb_typeof(v) IS DISTINCT FROM 'array' OR jsonb_array_length(v) NOT BETWEEN 1 AND 20 THEN
                PERFORM sp_internal.dci_reject('rjct.search_criteria.invalid', pg_catalog.format('%s takes an array of 1 to 20 expressions', k));
            END IF;
            parts := parts || jsonb_build_array(jsonb_build_object(substr(k, 2),
                (SELECT jsonb_agg(sp_internal.dci_expression_tree(e, depth + 1) ORDER BY o) FROM jsonb_array_elements(v) WITH ORDINALITY x (e, o))));
        ELSIF k = '$not' THEN
            parts := parts || jsonb_build_array(jsonb_build_object('not', sp_internal.dci_expression_tree(v, depth + 1)));
        ELSIF left(k, 1) = '$' THEN
            PERFORM sp_internal.dci_reject('rjct.search_criteria.invalid',
                pg_catalog.format('unknown operator "%s" (expressions take $and, $or, $not, $eq, $gt, $gte, $lt, $lte, $in)', left(k, 20)));
        ELSIF jsonb_typeof(v) = 'object' THEN
            IF v = '{}' THEN
                PERFORM sp_internal.dci_reject('rjct.search_criteria.invalid', pg_catalog.format('no operator for "%s"', left(k, 64)));
            END IF;
            FOR ops IN SELECT e.key, e.value FROM jsonb_each(v) e ORDER BY e.key LOOP
                IF ops.key NOT IN ('$eq', '$gt', '$gte', '$ge', '$lt', '$lte', '$le', '$in') THEN
                    PERFORM sp_internal.dci_reject('rjct.search_criteria.invalid',
                        pg_catalog.format('unknown operator "%s" (expressions take $and, $or, $not, $eq, $gt, $gte, $lt, $lte, $in)', left(ops.key, 20)));
                END IF;
                parts := parts || jsonb_build_array(jsonb_build_object('leaf', jsonb_build_object(
                    'attribute_name', k,
                    'operator', CASE ops.key WHEN '$gte' THEN 'ge' WHEN '$lte' THEN 'le' ELSE substr(ops.key, 2) END,
                    'attribute_value', ops.value)));
            END LOOP;
        ELSE
            parts := parts || jsonb_build_array(jsonb_build_object('leaf', jsonb_build_object('attribute_name', k, 'operator', 'eq', 'attribute_value', v)));
        END IF;
    END LOOP;
    RETURN CASE WHEN jsonb_array_length(parts) = 1 THEN parts -> 0 ELSE jsonb_build_object('and', parts) END;
END
$$;
COMMENT ON FUNCTION sp_internal.dci_expression_tree(jsonb, integer) IS 'A NoSQL-style expression query ($and, $or, $not; per attribute a value, or $eq, $gt, $gte, $lt, $lte, $in) as a query tree; at most 8 levels deep.';

-- The query of a search or subscription criteria as a query tree, or NULL for
-- idtype-value (handled apart: it looks identifiers up).
CREATE FUNCTION sp_internal.dci_query_tree(query_type text, query jsonb, entity text)
    RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t jsonb;
    collection text;
BEGIN
    IF query_type = 'predicate' THEN
        t := sp_internal.dci_predicate_tree(query);
    ELSIF query_type = 'expression' THEN
        IF jsonb_typeof(query) IS DISTINCT FROM 'object' OR jsonb_typeof(query -> 'type') IS DISTINCT FROM 'string'
           OR lower(regexp_replace(query ->> 'type', '^.*:', '')) <> 'nosql' THEN
            PERFORM sp_internal.dci_reject('rjct.search_criteria.invalid', 'an expression query has the type ns:org:QueryType:NoSql (the only expression language supported)');
        END IF;
        collection := query #>> '{value,expression,collection}';
        IF collection IS NULL OR collection NOT IN ('Group', 'Member') THEN
            PERFORM sp_internal.dci_reject('rjct.search_criteria.invalid', 'an expression names its collection: Group or Member');
        END IF;
        IF collection <> (CASE entity WHEN 'household' THEN 'Group' ELSE 'Member' END) THEN
            PERFORM sp_internal.dci_reject('rjct.search_criteria.invalid', 'the expression''s collection differs from the response entity');
        END IF;
        t := sp_internal.dci_expression_tree(query #> '{value,expression,query}');
    ELSE
        PERFORM sp_internal.dci_reject('rjct.search_criteria.invalid',
            pg_catalog.format('unknown query_type "%s" (idtype-value, predicate, expression)', left(query_type, 40)));
    END IF;
    IF (SELECT count(*) FROM jsonb_path_query(t, 'strict $.**.leaf')) > 50 THEN
        PERFORM sp_internal.dci_reject('rjct.search_criteria.invalid', 'a query has at most 50 comparisons');
    END IF;
    RETURN t;
END
$$;
COMMENT ON FUNCTION sp_internal.dci_query_tree(text, jsonb, text) IS 'A predicate or expression query as a query tree (at most 50 comparisons).';

-- ORDER BY of a search: up to 3 keys of number or date attributes, then the
-- id, so that pages never overlap whatever the physical order.
CREATE FUNCTION sp_internal.dci_sort_sql(sort jsonb, tier text, entity text)
    RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s jsonb;
    a record;
    keys text[] := '{}';
BEGIN
    IF sort IS NOT NULL AND jsonb_typeof(sort) <> 'null' THEN
        IF jsonb_typeof(sort) <> 'array' OR jsonb_array_length(sort) > 3 THEN
            PERFORM sp_internal.dci_reject('rjct.sort.invalid', 'sort is an array of at most 3 {attribute_name, sort_order}');
        END IF;
        FOR s IN SELECT e FROM jsonb_array_elements(sort) WITH ORDINALITY x (e, o) ORDER BY o LOOP
            IF jsonb_typeof(s) IS DISTINCT FROM 'object' OR jsonb_typeof(s -> 'attribute_name') IS DISTINCT FROM 'string'
               OR coalesce(s ->> 'sort_order', 'asc') NOT IN ('asc', 'desc') THEN
                PERFORM sp_internal.dci_reject('rjct.sort.invalid', 'each sort key is {attribute_name, sort_order: asc or desc}');
            END IF;
            a := sp_internal.dci_attribute_sql(s ->> 'attribute_name', tier, 'rjct.sort.invalid');
            IF a.value_type NOT IN ('integer', 'numeric', 'date') OR (a.entity = 'person' AND entity = 'household') THEN
                PERFORM sp_internal.dci_reject('rjct.sort.invalid',
                    pg_catalog.format('cannot sort %s by "%s"', CASE entity WHEN 'household' THEN 'groups' ELSE 'members' END, left(s ->> 'attribute_name', 64)));
            END IF;
            keys := keys || (a.expr || CASE WHEN s ->> 'sort_order' = 'desc' THEN ' DESC' ELSE '' END || ' NULLS LAST');
        END LOOP;
    END IF;
    RETURN array_to_string(keys || CASE entity WHEN 'household' THEN 'h.household_id' ELSE 'p.person_id' END, ', ');
END
$$;
COMMENT ON FUNCTION sp_internal.dci_sort_sql(jsonb, text, text) IS 'A DCI sort list as ORDER BY keys (numbers and dates only; members may sort by their household''s attributes, groups not by members''), ending with the record id.';

-- An idtype-value query as a SQL condition.  National IDs and phone numbers
-- are looked up through the blind index and the lookup is audited with every
-- match (like sp.find_person_by_national_id), before anything is returned.
CREATE FUNCTION sp_internal.dci_id_condition(query jsonb, tier text, entity text, purpose text, context jsonb)
    RETURNS text
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    kind text;
    t text := lower(query ->> 'type');
    v text := query #>> '{value}';
    hs bytea[];
    matched bigint[];
BEGIN
    IF jsonb_typeof(query) IS DISTINCT FROM 'object' OR jsonb_typeof(query -> 'type') IS DISTINCT FROM 'string'
       OR coalesce(jsonb_typeof(query -> 'value'), 'missing') NOT IN ('string', 'number') THEN
        PERFORM sp_internal.dci_reject('rjct.search_criteria.invalid', 'an idtype-value query is {"type": identifier type, "value": string}');
    END IF;
    kind := CASE WHEN t IN ('nationalid', 'national_id', 'uin', 'nid') THEN 'national_id'
                 WHEN t IN ('mobile', 'phone', 'msisdn') THEN 'phone'
                 WHEN t IN ('householdid', 'household_id', 'groupid', 'group_id') THEN 'household'
                 WHEN t IN ('personid', 'person_id', 'memberid', 'member_id') THEN 'person' END;
    IF kind IS NULL THEN
        PERFORM sp_internal.dci_reject('rjct.search_criteria.invalid',
            pg_catalog.format('identifier type "%s" is not supported (NationalID or UIN, MOBILE, HouseholdID, PersonID)', left(query ->> 'type', 40)));
    END IF;
    IF kind IN ('household', 'person') THEN
        IF v !~ '^[0-9]{1,18}$' OR (kind = 'person' AND tier = 'keys') THEN
            PERFORM sp_internal.dci_reject('rjct.search_criteria.invalid',
                CASE WHEN tier = 'keys' AND kind = 'person' THEN 'identifier type PersonID is not available to this client'
                     ELSE pg_catalog.format('a %s is a positive integer', query ->> 'type') END);
        END IF;
        RETURN CASE WHEN kind = 'household' AND entity = 'household' THEN pg_catalog.format('h.household_id = %s', v::bigint)
                    WHEN kind = 'household' THEN pg_catalog.format('p.household_id = %s', v::bigint)
                    WHEN entity = 'person' THEN pg_catalog.format('p.person_id = %s', v::bigint)
                    ELSE pg_catalog.format('h.household_id IN (SELECT p.household_id FROM sp.person p WHERE p.person_id = %s)', v::bigint) END;
    END IF;
    -- the same right as sp.find_person_by_national_id
    IF NOT has_function_privilege(sp_internal.caller_oid(), 'sp.find_person_by_national_id(text, text)', 'EXECUTE') THEN
        PERFORM sp_internal.dci_reject('rjct.search_criteria.invalid',
            pg_catalog.format('identifier type "%s" is not available to this client', left(query ->> 'type', 40)));
    END IF;
    IF length(v) > 100 THEN
        PERFORM sp_internal.dci_reject('rjct.search_criteria.invalid', 'an identifier has at most 100 characters');
    END IF;
    BEGIN
        hs := sp_internal.blind_indexes(kind, CASE kind WHEN 'national_id' THEN sp.normalize_national_id(v) ELSE sp.normalize_phone(v) END);
    EXCEPTION WHEN invalid_text_representation OR invalid_parameter_value THEN
        PERFORM sp_internal.dci_reject('rjct.search_criteria.invalid',
            pg_catalog.format('the value is not a valid %s', CASE kind WHEN 'national_id' THEN 'national ID' ELSE 'phone number' END));
    END;
    IF kind = 'national_id' THEN
        SELECT coalesce(array_agg(p.person_id ORDER BY p.person_id), '{}') INTO matched FROM sp.person p WHERE p.national_id_hash = ANY (hs);
    ELSE
        SELECT coalesce(array_agg(p.person_id ORDER BY p.person_id), '{}') INTO matched FROM sp.person p WHERE p.phone_hash = ANY (hs);
    END IF;
    -- returns only once the record has committed (raises otherwise, 53400 over the quota)
    PERFORM sp_internal.audit_write('lookup_' || kind, matched, purpose,
                                    jsonb_build_object('matches', cardinality(matched), 'dci', context), 1);
    RETURN CASE entity WHEN 'person' THEN pg_catalog.format('p.person_id = ANY (%L::bigint[])', matched)
                       ELSE pg_catalog.format('h.household_id IN (SELECT p.household_id FROM sp.person p WHERE p.person_id = ANY (%L::bigint[]))', matched) END;
END
$$;
COMMENT ON FUNCTION sp_internal.dci_id_condition(jsonb, text, text, text, jsonb) IS 'An idtype-value query (NationalID/UIN/NID, MOBILE/PHONE, HouseholdID, PersonID) as a SQL condition. National IDs and phone numbers need the right to call sp.find_person_by_national_id; they are found through the blind index and the lookup, with every match, the purpose and the DCI message, is recorded in sp.audit_log (durably, against the hourly quota) first.';

-- ---------------------------------------------------------------------------
-- Records in the DCI shapes, with what the tier may see.

CREATE FUNCTION sp_internal.dci_member_record(p sp.person, tier text)
    RETURNS jsonb
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
        '@type', 'Member',
        'member_identifier', jsonb_build_array(jsonb_build_object('@type', 'Identifier', 'identifier_type', 'PersonID',
                                                                  'identifier_value', p.person_id::text)),
        'demographic_info', jsonb_build_object(
            '@type', 'SRPerson',
            'name', CASE WHEN tier = 'identified' THEN jsonb_build_object('@type', 'Name', 'surname', p.family_name,
                                                                           'given_name', p.given_name, 'second_name', p.other_names) END,
            'sex', CASE p.sex WHEN 'M' THEN 'male' WHEN 'F' THEN 'female' WHEN 'X' THEN 'other' END,
            'birth_date', CASE WHEN tier = 'identified' THEN to_char(p.birth_date, 'YYYY-MM-DD') END),
        'relationship_head', p.relationship_to_head,
        'registration_date', CASE WHEN tier = 'identified' THEN sp_internal.dci_ts(p.registered_at) END,
        'last_updated', CASE WHEN tier = 'identified' THEN sp_internal.dci_ts(p.updated_at) END,
        'additional_attributes',
            jsonb_build_array(jsonb_build_object('status', p.status))
            || CASE WHEN p.birth_date IS NULL THEN '[]'::jsonb
                    WHEN tier = 'identified' THEN jsonb_build_array(jsonb_build_object('birth_date_precision', p.birth_date_precision))
                    ELSE jsonb_build_array(jsonb_build_object('birth_year', extract(year FROM p.birth_date)::integer)) END
            || (SELECT coalesce(jsonb_agg(jsonb_build_object(k, v) ORDER BY k), '[]')
                FROM jsonb_each(CASE WHEN tier = 'identified' THEN p.attributes
                                     ELSE p.attributes - sp_internal.withheld_variables('person') END) x (k, v))))
$$;
COMMENT ON FUNCTION sp_internal.dci_member_record(sp.person, text) IS 'A person as a DCI Member: PersonID, and for identified callers name, birth date, registration and update times; for de-identified callers sex, relationship, birth year and attributes without withheld variables.';

-- (PostGIS lives in the schema chosen at its install: its names are
-- written @gis@ and resolved once, now; see sql/70_geo.sql)
DO $geo$
DECLARE
    gis text;
BEGIN
    SELECT pg_catalog.quote_ident(n.nspname) INTO STRICT gis
    FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'postgis';
    EXECUTE pg_catalog.replace($ddl$
CREATE FUNCTION sp_internal.dci_group_record(h sp.household, tier text, with_score boolean)
    RETURNS jsonb
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_strip_nulls(CASE WHEN tier = 'keys' THEN jsonb_build_object(
        '@type', 'Group',
        'group_identifier', jsonb_build_array(jsonb_build_object('@type', 'Identifier', 'identifier_type', 'HouseholdID',
                                                                 'identifier_value', h.household_id::text)),
        'place', jsonb_build_object('@type', 'Place', 'admin_area_code', h.admin_area_code))
    ELSE jsonb_build_object(
        '@type', 'Group',
        'group_identifier', jsonb_build_array(jsonb_build_object('@type', 'Identifier', 'identifier_type', 'HouseholdID',
                                                                 'identifier_value', h.household_id::text)),
        'group_type', 'household',
        'group_size', (SELECT count(*) FILTER (WHERE p.status = 'active') FROM sp.person p WHERE p.household_id = h.household_id),
        'place', (SELECT jsonb_build_object('@type', 'Place', 'admin_area_code', da.shown_code, 'address', ar.name,
                                            'geo', CASE WHEN tier = 'identified' AND h.location IS NOT NULL THEN
                                                   jsonb_build_object('@type', 'GeoCoordinates',
                                                                      'latitude', round(@gis@.ST_Y(h.location)::numeric, 6),
                                                                      'longitude', round(@gis@.ST_X(h.location)::numeric, 6)) END)
                  FROM (SELECT CASE WHEN tier = 'identified' THEN h.admin_area_code ELSE d.shown_code END AS shown_code
                        FROM sp_internal.disclosed_area d WHERE d.code = h.admin_area_code) da
                  JOIN sp.admin_area ar ON ar.code = da.shown_code),
        'poverty_score', CASE WHEN with_score THEN sc.score END,
        'poverty_score_type', CASE WHEN with_score THEN sc.model END,
        'group_head_info', (SELECT sp_internal.dci_member_record(p, tier) FROM sp.person p
                            WHERE p.household_id = h.household_id AND p.relationship_to_head = 'head' AND p.status = 'active'),
        'member_list', (SELECT coalesce(jsonb_agg(sp_internal.dci_member_record(p, tier) ORDER BY p.person_id), '[]')
                        FROM sp.person p WHERE p.household_id = h.household_id AND p.status <> 'merged'),
        'registration_date', CASE WHEN tier = 'identified' THEN sp_internal.dci_ts(h.registered_at) END,
        'last_updated', CASE WHEN tier = 'identified' THEN sp_internal.dci_ts(h.updated_at) END,
        'additional_attributes',
            jsonb_build_array(jsonb_build_object('status', h.status))
            || CASE WHEN tier = 'identified' THEN '[]'::jsonb
                    ELSE jsonb_build_array(jsonb_build_object('registration_year', extract(year FROM h.registered_at AT TIME ZONE 'UTC')::integer)) END
            || (SELECT coalesce(jsonb_agg(jsonb_build_object(k, v) ORDER BY k), '[]')
                FROM jsonb_each(CASE WHEN tier = 'identified' THEN h.attributes
                                     ELSE h.attributes - sp_internal.withheld_variables('household') END) x (k, v)))
    END)
    FROM (SELECT 1) one
    LEFT JOIN LATERAL (SELECT a.score, a.model FROM sp.assessment a WHERE with_score AND a.household_id = h.household_id
                       ORDER BY a.assessed_at DESC, a.assessment_id DESC LIMIT 1) sc ON true
$$;
$ddl$, '@gis@', gis);
END
$geo$;
COMMENT ON FUNCTION sp_internal.dci_group_record(sp.household, text, boolean) IS 'A household as a DCI Group: HouseholdID and area for every caller; for de-identified callers also size, area at the de-identified level, the latest PMT score (when the caller reads assessments), head and members as de-identified Members, attributes without withheld variables; for identified callers the exact area, location, names and times.';

-- ---------------------------------------------------------------------------
-- Envelopes.

-- Opens a request: the error object (err) when it cannot be read as one;
-- else its header and message, the claimed message (replays refused), and a
-- header reason code when the header is wrong.
CREATE FUNCTION sp_internal.dci_open(request jsonb, p_action text, items_key text, p_correlation_id text,
                                     OUT err jsonb, OUT hdr jsonb, OUT msg jsonb, OUT header_code text, OUT header_message text,
                                     OUT correlation_id text, OUT message_no bigint, OUT item_count integer)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    client sp.api_client;
    ts timestamptz;
    f text;
BEGIN
    IF jsonb_typeof(request) IS DISTINCT FROM 'object' THEN
        err := sp_internal.dci_error('err.request.bad', 'the request is not a JSON object');
        RETURN;
    END IF;
    hdr := request -> 'header';
    msg := request -> 'message';
    IF jsonb_typeof(hdr) IS DISTINCT FROM 'object' THEN
        err := sp_internal.dci_error('err.request.bad', 'header is missing or not an object');
        RETURN;
    END IF;
    IF jsonb_typeof(msg) IS DISTINCT FROM 'object' THEN
        err := sp_internal.dci_error('err.request.bad', 'message is missing or not an object');
        RETURN;
    END IF;
    IF hdr -> 'is_msg_encrypted' = 'true' OR msg ? 'ciphertext' THEN
        err := sp_internal.dci_error('err.encryption.invalid', 'encrypted messages are not supported; use TLS between client and gateway');
        RETURN;
    END IF;
    FOREACH f IN ARRAY ARRAY['message_id', 'message_ts', 'action', 'sender_id'] LOOP
        IF jsonb_typeof(hdr -> f) IS DISTINCT FROM 'string' OR length(hdr ->> f) NOT BETWEEN 1 AND 200 THEN
            err := sp_internal.dci_error('err.request.bad', pg_catalog.format('header.%s is missing or not a string of 1 to 200 characters', f));
            RETURN;
        END IF;
    END LOOP;
    IF jsonb_typeof(hdr -> 'total_count') IS DISTINCT FROM 'number' OR (hdr ->> 'total_count')::numeric <> trunc((hdr ->> 'total_count')::numeric) THEN
        err := sp_internal.dci_error('err.request.bad', 'header.total_count is missing or not an integer');
        RETURN;
    END IF;
    client := sp_internal.dci_caller_client();
    IF client.sender_id IS NOT NULL AND client.sender_id <> hdr ->> 'sender_id' THEN
        err := sp_internal.dci_error('err.sender_id.invalid', 'header.sender_id is not the sender this client is registered as');
        RETURN;
    END IF;
    IF jsonb_typeof(msg -> 'transaction_id') IS DISTINCT FROM 'string' OR length(msg ->> 'transaction_id') NOT BETWEEN 1 AND 99 THEN
        err := sp_internal.dci_error('err.request.bad', 'message.transaction_id is missing or not a string of 1 to 99 characters');
        RETURN;
    END IF;
    IF items_key IS NOT NULL THEN
        IF jsonb_typeof(msg -> items_key) IS DISTINCT FROM 'array' THEN
            err := sp_internal.dci_error('err.request.bad', pg_catalog.format('message.%s is missing or not an array', items_key));
            RETURN;
        END IF;
        item_count := jsonb_array_length(msg -> items_key);
    ELSE
        item_count := 1;
    END IF;

    -- the gateway's, for an asynchronous route: the one its ACK gave the client
    IF p_correlation_id IS NOT NULL AND p_correlation_id !~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,98}$' THEN
        RAISE EXCEPTION 'correlation_id must be 1 to 99 letters, digits and . _ : -, starting with a letter or digit'
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'correlation_id';
    END IF;
    correlation_id := coalesce(p_correlation_id, gen_random_uuid()::text);
    ts := sp_internal.dci_timestamp(hdr -> 'message_ts');
    BEGIN
        INSERT INTO sp_internal.dci_message (caller_role, sender_id, message_id, action, transaction_id, correlation_id, message_ts)
        VALUES (sp_internal.caller(), hdr ->> 'sender_id', hdr ->> 'message_id', p_action, msg ->> 'transaction_id', correlation_id, ts)
        RETURNING dci_message.message_no INTO message_no;
    EXCEPTION WHEN unique_violation THEN
        GET STACKED DIAGNOSTICS f = CONSTRAINT_NAME;
        IF f = 'dci_message_correlation_id_key' THEN
            RAISE EXCEPTION 'correlation_id "%" was used before', p_correlation_id
                USING ERRCODE = 'unique_violation', COLUMN = 'correlation_id';
        END IF;
        header_code := 'rjct.message_id.duplicate';
        header_message := 'this message_id was sent before';
        RETURN;
    END;
    IF hdr ? 'version' AND hdr -> 'version' <> '"1.0.0"' THEN
        header_code := 'rjct.version.invalid';
        header_message := 'version 1.0.0 is supported';
    ELSIF hdr ->> 'action' <> p_action THEN
        header_code := 'rjct.action.invalid';
        header_message := pg_catalog.format('this route takes action "%s"', p_action);
    ELSIF ts IS NULL THEN
        header_code := 'rjct.message_ts.invalid';
        header_message := 'message_ts is not an ISO 8601 date-time with a time zone';
    ELSIF ts < now() - interval '1 day' OR ts > now() + interval '5 minutes' THEN
        header_code := 'rjct.message_ts.invalid';
        header_message := 'message_ts is more than 1 day old or more than 5 minutes ahead';
    ELSIF (hdr ->> 'total_count')::numeric <> item_count THEN
        header_code := 'rjct.total_count.invalid';
        header_message := pg_catalog.format('total_count is %s but the message holds %s', hdr ->> 'total_count', item_count);
    ELSIF item_count > 100 THEN
        header_code := 'rjct.total_count.limit_exceeded';
        header_message := 'at most 100 requests per message';
    ELSIF item_count = 0 THEN
        header_code := 'rjct.total_count.invalid';
        header_message := 'the message holds no request';
    END IF;
END
$$;
COMMENT ON FUNCTION sp_internal.dci_open(jsonb, text, text, text) IS 'Reads a DCI request envelope: the ERR object for what is not a request (err.request.bad, err.sender_id.invalid, err.encryption.invalid); else header and message, the message claimed in sp_internal.dci_message (a replayed message_id gives rjct.message_id.duplicate) and the header reason code, if any (version, action, message_ts within the last day, total_count equal to the items, at most 100).';

-- The response envelope (MsgCallbackHeader unless plain_header) around a
-- message, kept with the claimed message for transaction status.
CREATE FUNCTION sp_internal.dci_reply(o record, p_action text, status text, completed integer, body jsonb, plain_header boolean DEFAULT false)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    resp jsonb;
BEGIN
    resp := jsonb_build_object(
        'header', jsonb_strip_nulls(jsonb_build_object(
            'version', '1.0.0', 'message_id', gen_random_uuid()::text, 'message_ts', sp_internal.dci_ts(now()),
            'action', p_action,
            'status', CASE WHEN NOT plain_header OR o.header_code IS NOT NULL THEN status END,
            'status_reason_code', CASE WHEN NOT plain_header OR o.header_code IS NOT NULL THEN o.header_code END,
            'status_reason_message', CASE WHEN NOT plain_header OR o.header_code IS NOT NULL THEN o.header_message END,
            'total_count', o.item_count, 'completed_count', CASE WHEN NOT plain_header OR o.header_code IS NOT NULL THEN completed END,
            'sender_id', coalesce(CASE WHEN jsonb_typeof(o.hdr -> 'receiver_id') = 'string' THEN left(o.hdr ->> 'receiver_id', 200) END, 'sp_registry'),
            'receiver_id', o.hdr ->> 'sender_id',
            'is_msg_encrypted', false)),
        'message', jsonb_build_object('transaction_id', o.msg ->> 'transaction_id', 'correlation_id', o.correlation_id) || body);
    IF o.message_no IS NOT NULL THEN
        UPDATE sp_internal.dci_message m
        SET status = dci_reply.status, response = resp,
            reference_ids = coalesce((SELECT array_agg(e ->> 'reference_id' ORDER BY n)
                                      FROM jsonb_array_elements(coalesce(body -> 'search_response', body -> 'subscribe_response', '[]')) WITH ORDINALITY x (e, n)
                                      WHERE e ->> 'reference_id' <> ''), '{}')
        WHERE m.message_no = o.message_no;
    END IF;
    RETURN resp;
END
$$;
COMMENT ON FUNCTION sp_internal.dci_reply(record, text, text, integer, jsonb, boolean) IS 'A DCI response envelope (header with status, reason, total and completed counts, or for plain_header (on-subscribe, on-unsubscribe) the plain MsgHeader unless the header was rejected; message with the transaction and correlation ids and the body), stored with the request for transaction status.';

-- One search request of a message (its reference_id already checked).
CREATE FUNCTION sp_internal.dci_search_item(item jsonb, tier text, context jsonb)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    crit jsonb := item -> 'search_criteria';
    entity text;
    query_type text := crit ->> 'query_type';
    page_size integer := 100;
    page_number integer := 1;
    pg jsonb;
    order_sql text;
    cond text;
    from_where text;
    purpose text;
    total bigint;
    max_records integer := sp_internal.privacy_setting('dci_max_records');
    ids bigint[];
    records jsonb;
    with_score boolean;
BEGIN
    IF sp_internal.dci_timestamp(item -> 'timestamp') IS NULL THEN
        PERFORM sp_internal.dci_reject('rjct.timestamp.invalid', 'timestamp is missing or not an ISO 8601 date-time with a time zone');
    END IF;
    IF item ? 'locale' AND (jsonb_typeof(item -> 'locale') IS DISTINCT FROM 'string' OR item ->> 'locale' !~ '^[a-z]{3}$') THEN
        PERFORM sp_internal.dci_reject('rjct.search_criteria.invalid', 'locale is three lower-case letters (ISO 639-3), e.g. eng');
    END IF;
    IF jsonb_typeof(crit) IS DISTINCT FROM 'object' THEN
        PERFORM sp_internal.dci_reject('rjct.search_criteria.invalid', 'search_criteria is missing or not an object');
    END IF;
    IF crit ? 'version' AND crit -> 'version' <> '"1.0.0"' THEN
        PERFORM sp_internal.dci_reject('rjct.search_criteria.invalid', 'search_criteria.version 1.0.0 is supported');
    END IF;
    IF jsonb_typeof(crit -> 'query_type') IS DISTINCT FROM 'string' OR NOT crit ? 'query' THEN
        PERFORM sp_internal.dci_reject('rjct.search_criteria.invalid', 'search_criteria needs query_type and query');
    END IF;
    entity := CASE coalesce(crit ->> 'response_entity', 'Group') WHEN 'Group' THEN 'household' WHEN 'Member' THEN 'person' END;
    IF entity IS NULL THEN
        PERFORM sp_internal.dci_reject('rjct.search_criteria.invalid', 'response_entity is Group or Member');
    END IF;
    IF entity = 'person' AND tier = 'keys' THEN
        PERFORM sp_internal.dci_reject('rjct.search_criteria.invalid', 'this client may not read members; ask for Group');
    END IF;
    pg := crit -> 'pagination';
    IF pg IS NOT NULL AND jsonb_typeof(pg) <> 'null' THEN
        IF jsonb_typeof(pg) <> 'object' OR jsonb_typeof(pg -> 'page_size') IS DISTINCT FROM 'number'
           OR (pg ? 'page_number' AND jsonb_typeof(pg -> 'page_number') IS DISTINCT FROM 'number')
           OR (pg ->> 'page_size')::numeric <> trunc((pg ->> 'page_size')::numeric) OR (pg ->> 'page_size')::numeric NOT BETWEEN 1 AND 1000
           OR coalesce((pg ->> 'page_number')::numeric, 1) <> trunc(coalesce((pg ->> 'page_number')::numeric, 1))
           OR coalesce((pg ->> 'page_number')::numeric, 1) NOT BETWEEN 1 AND 1000000 THEN
            PERFORM sp_internal.dci_reject('rjct.pagination.invalid', 'pagination is {page_size: 1 to 1000, page_number: from 1}');
        END IF;
        page_size := (pg ->> 'page_size')::integer;
        page_number := coalesce((pg ->> 'page_number')::integer, 1);
    END IF;
    order_sql := sp_internal.dci_sort_sql(crit -> 'sort', tier, entity);

    IF query_type = 'idtype-value' THEN
        purpose := coalesce(left(coalesce(crit #>> '{authorize,purpose,text}', crit #>> '{consent,purpose,text}'), 300) || ' (', '')
                   || pg_catalog.format('DCI search by %s, transaction %s', context ->> 'sender_id', context ->> 'transaction_id')
                   || CASE WHEN coalesce(crit #>> '{authorize,purpose,text}', crit #>> '{consent,purpose,text}') IS NOT NULL THEN ')' ELSE '' END;
        cond := sp_internal.dci_id_condition(crit -> 'query', tier, entity, left(purpose, 500), context || jsonb_build_object('reference_id', item ->> 'reference_id'));
    ELSE
        -- merged records are duplicates of their survivors: only lookups by id find them
        cond := CASE entity WHEN 'household' THEN 'h.status <> ''merged'' AND ' ELSE 'p.status <> ''merged'' AND ' END
                || sp_internal.dci_tree_sql(sp_internal.dci_query_tree(query_type, crit -> 'query', entity), tier, entity);
    END IF;
    from_where := CASE entity
        WHEN 'household' THEN 'sp.household h WHERE h.admin_area_code IN (SELECT v.code FROM sp_internal.visible_areas() v (code)) AND '
        ELSE 'sp.person p JOIN sp.household h ON h.household_id = p.household_id WHERE p.admin_area_code IN (SELECT v.code FROM sp_internal.visible_areas() v (code)) AND ' END
        || cond;
    EXECUTE pg_catalog.format('SELECT count(*) FROM (SELECT 1 FROM %s LIMIT %s) c', from_where, max_records + 1) INTO total;
    IF total > max_records THEN
        PERFORM sp_internal.dci_reject('rjct.search.too_many_records_found',
            pg_catalog.format('more than %s records match; narrow the search', max_records));
    END IF;
    EXECUTE pg_catalog.format('SELECT ARRAY(SELECT %s FROM %s ORDER BY %s LIMIT %s OFFSET %s)',
                              CASE entity WHEN 'household' THEN 'h.household_id' ELSE 'p.person_id' END,
                              from_where, order_sql, page_size, (page_number - 1)::bigint * page_size) INTO ids;
    with_score := tier <> 'keys' AND has_table_privilege(sp_internal.caller_oid(), 'sp.assessment'::regclass, 'SELECT');
    IF entity = 'household' THEN
        SELECT coalesce(jsonb_agg(sp_internal.dci_group_record(h, tier, with_score) ORDER BY u.o), '[]') INTO records
        FROM unnest(ids) WITH ORDINALITY u (id, o) JOIN sp.household h ON h.household_id = u.id;
    ELSE
        SELECT coalesce(jsonb_agg(sp_internal.dci_member_record(p, tier) ORDER BY u.o), '[]') INTO records
        FROM unnest(ids) WITH ORDINALITY u (id, o) JOIN sp.person p ON p.person_id = u.id;
    END IF;
    RETURN jsonb_build_object(
        'reference_id', item ->> 'reference_id', 'timestamp', sp_internal.dci_ts(now()), 'status', 'succ',
        'data', jsonb_build_object('version', '1.0.0', 'reg_type', 'ns:org:RegistryType:Social',
                                   'reg_record_type', CASE entity WHEN 'household' THEN 'Group' ELSE 'Member' END,
                                   'reg_records', records),
        'pagination', jsonb_build_object('page_size', page_size, 'page_number', page_number, 'total_count', total),
        'locale', coalesce(item ->> 'locale', 'eng'));
END
$$;
COMMENT ON FUNCTION sp_internal.dci_search_item(jsonb, text, jsonb) IS 'Answers one DCI search request: criteria checked, the query compiled from whitelisted attributes and quoted values, matches counted (at most the privacy setting dci_max_records) and one page of records built for the caller''s tier. Raises 22023 with the item reason code as hint.';

-- A rejected item: reference_id, timestamp, status and reason.
CREATE FUNCTION sp_internal.dci_rejected_item(reference_id text, reason_code text, reason_message text)
    RETURNS jsonb
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object('reference_id', coalesce(reference_id, ''), 'timestamp', sp_internal.dci_ts(now()), 'status', 'rjct',
                              'status_reason_code', reason_code, 'status_reason_message', left(reason_message, 999))
$$;
COMMENT ON FUNCTION sp_internal.dci_rejected_item(text, text, text) IS 'A rejected response item of a DCI search or subscription.';

-- The reason code of a reference_id: invalid, a duplicate in the message,
-- or NULL when it is fine.
CREATE FUNCTION sp_internal.dci_reference_problem(item jsonb, seen text[])
    RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN jsonb_typeof(item) IS DISTINCT FROM 'object' OR jsonb_typeof(item -> 'reference_id') IS DISTINCT FROM 'string'
                     OR length(item ->> 'reference_id') NOT BETWEEN 1 AND 99 THEN 'rjct.reference_id.invalid'
                WHEN item ->> 'reference_id' = ANY (seen) THEN 'rjct.reference_id.duplicate' END
$$;
COMMENT ON FUNCTION sp_internal.dci_reference_problem(jsonb, text[]) IS 'rjct.reference_id.invalid (not a string of 1 to 99 characters), rjct.reference_id.duplicate (earlier in the message) or NULL.';

-- The items of a search or subscribe message, each answered on its own: a
-- bad or repeated reference_id, or a problem the item raised with its
-- reason code (22023 with the code as hint), becomes a rejected item.
CREATE FUNCTION sp_internal.dci_answer_items(o record, kind text, tier text, context jsonb)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    item jsonb;
    problem text;
    seen text[] := '{}';
    results jsonb := '[]';
    m text;
    h text;
BEGIN
    FOR item IN SELECT e FROM jsonb_array_elements(o.msg -> (kind || '_request')) WITH ORDINALITY x (e, n) ORDER BY n LOOP
        problem := sp_internal.dci_reference_problem(item, seen);
        IF problem IS NOT NULL THEN
            results := results || sp_internal.dci_rejected_item(left(item ->> 'reference_id', 99), problem,
                CASE problem WHEN 'rjct.reference_id.invalid' THEN 'reference_id is missing or not a string of 1 to 99 characters'
                             ELSE 'reference_id appears twice in this message' END);
            CONTINUE;
        END IF;
        seen := seen || (item ->> 'reference_id');
        BEGIN
            results := results || CASE kind WHEN 'search' THEN sp_internal.dci_search_item(item, tier, context)
                                            ELSE sp_internal.dci_subscribe_item(item, tier, o) END;
        EXCEPTION WHEN invalid_parameter_value THEN
            GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, h = PG_EXCEPTION_HINT;
            IF h NOT LIKE 'rjct.%' THEN
                RAISE;
            END IF;
            results := results || sp_internal.dci_rejected_item(item ->> 'reference_id', h, m);
        END;
    END LOOP;
    RETURN results;
END
$$;
COMMENT ON FUNCTION sp_internal.dci_answer_items(record, text, text, jsonb) IS 'The response items of a search or subscribe message (kind search or subscribe), each answered or rejected with its reason code.';

CREATE FUNCTION sp.dci_search(request jsonb, correlation_id text DEFAULT NULL)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    o record;
    tier text := sp_internal.dci_tier();
    results jsonb;
    context jsonb;
BEGIN
    o := sp_internal.dci_open(request, 'search', 'search_request', correlation_id);
    IF o.err IS NOT NULL THEN
        RETURN o.err;
    END IF;
    IF o.header_code IS NOT NULL THEN
        RETURN sp_internal.dci_reply(o, 'on-search', 'rjct', 0, jsonb_build_object('search_response', '[]'::jsonb));
    END IF;
    context := jsonb_build_object('sender_id', o.hdr ->> 'sender_id', 'message_id', o.hdr ->> 'message_id',
                                  'transaction_id', o.msg ->> 'transaction_id', 'correlation_id', o.correlation_id);
    results := sp_internal.dci_answer_items(o, 'search', tier, context);
    RETURN sp_internal.dci_reply(o, 'on-search', 'succ', jsonb_array_length(results), jsonb_build_object('search_response', results));
EXCEPTION WHEN configuration_limit_exceeded THEN
    -- over the hourly quota of identifier lookups: nothing of this message is
    -- kept (its id may be sent again once the quota allows)
    RETURN sp_internal.dci_error('err.request.too_many_requests', 'identifier lookups of this client are over their hourly quota');
END
$$;
COMMENT ON FUNCTION sp.dci_search(jsonb, text) IS 'DCI social registry search (/registry/sync/search, and the result of /registry/search): takes the whole envelope {signature, header, message: {transaction_id, search_request: [..]}} and returns the on-search envelope. Query types idtype-value (NationalID/UIN, MOBILE: through the blind index, audited; HouseholdID, PersonID), predicate and expression (NoSql, collection Group or Member) over the attributes of docs/interoperability.md; never caller text as SQL. Records are the Group or Member shape with only the fields the caller''s grants allow, from its area scope, a page at a time with total_count. Per-item status and reason codes; a malformed envelope gets the DCI error object, a replayed message_id rjct.message_id.duplicate. correlation_id: the id the gateway''s ACK gave the client on an asynchronous route (default a new UUID).';

-- ---------------------------------------------------------------------------
-- Subscriptions: what a client wants to be notified of.  Notifications are
-- drawn from the transactional outbox (sql/78_outbox.sql) through one outbox
-- consumer per subscribing role, created with its first subscription, so no
-- event written after it is lost.

CREATE TABLE sp.dci_subscription (
    subscription_code  text PRIMARY KEY,
    caller_role        text NOT NULL,
    sender_id          text NOT NULL,
    callback_uri       text,
    reg_event_type     text NOT NULL CHECK (reg_event_type IN ('REGISTER', 'UPDATE', 'NewHouseHoldMember', 'DEATH', 'ENROL', 'EXIT',
                                                               'PAYMENT', 'LINK', 'UNLINK')),
    filter_type        text NOT NULL CHECK (filter_type IN ('idtype-value', 'predicate', 'expression')),
    filter             jsonb NOT NULL,
    notify_record_type text NOT NULL CHECK (notify_record_type IN ('Group', 'Member')),
    starts_at          timestamptz,
    ends_at            timestamptz,
    frequency          text,
    locale             text NOT NULL DEFAULT 'eng',
    transaction_id     text NOT NULL,
    reference_id       text NOT NULL,
    correlation_id     text NOT NULL,
    outbox_consumer    text NOT NULL,
    subscribed_at      timestamptz NOT NULL DEFAULT now(),
    unsubscribed_at    timestamptz,
    unsubscribed_by    text,
    CHECK (ends_at IS NULL OR starts_at IS NULL OR ends_at > starts_at)
);
CREATE INDEX dci_subscription_role_idx ON sp.dci_subscription (caller_role) WHERE unsubscribed_at IS NULL;
COMMENT ON TABLE sp.dci_subscription IS 'DCI subscriptions (sp.dci_subscribe): who (role and sender), the event type, the filter records must match (checked against the subscriber''s rights when subscribing), the record shape to notify with, the callback URL (under the client''s registered prefixes), and the period (frequency start and end). Unsubscribing stamps unsubscribed_at; rows are kept.';
COMMENT ON COLUMN sp.dci_subscription.frequency IS 'The cron expression the client gave, kept as given: notifications are sent as events occur (at least as often as asked), within starts_at and ends_at.';
COMMENT ON COLUMN sp.dci_subscription.outbox_consumer IS 'The outbox consumer (one per subscribing role) the notifications of this subscription are drawn from.';

-- The outbox consumer of a subscribing role; created with its first
-- subscription, starting from the events written from now on.
CREATE FUNCTION sp_internal.dci_consumer_name(p_role text)
    RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$ SELECT 'dci.' || left(encode(sha256(convert_to(p_role, 'UTF8')), 'hex'), 24) $$;
COMMENT ON FUNCTION sp_internal.dci_consumer_name(text) IS 'The name of the outbox consumer of a role''s DCI subscriptions: dci. and 24 hex digits of the SHA-256 of the role name.';

CREATE FUNCTION sp_internal.dci_outbox_consumer(p_role text)
    RETURNS text
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n text := sp_internal.dci_consumer_name(p_role);
BEGIN
    INSERT INTO sp.outbox_consumer (name, consumer_role, lease, description, acked_txid, acked_event_id)
    SELECT n, p_role, interval '5 minutes', pg_catalog.format('DCI notifications of role %s', p_role),
           coalesce(last.txid, '0'), coalesce(last.event_id, 0)
    FROM (SELECT 1) one
    LEFT JOIN LATERAL (SELECT e.txid, e.event_id FROM sp.outbox_event e WHERE e.txid < pg_snapshot_xmin(pg_current_snapshot())
                       ORDER BY e.txid DESC, e.event_id DESC LIMIT 1) last ON true
    ON CONFLICT (name) DO NOTHING;
    RETURN n;
END
$$;
COMMENT ON FUNCTION sp_internal.dci_outbox_consumer(text) IS 'The name of the outbox consumer (dci.<hash of the role>) that a role''s DCI notifications are drawn from, created when missing.';

-- A subscription filter, checked as a search by the subscriber would be.
CREATE FUNCTION sp_internal.dci_check_filter(filter_type text, filter jsonb, tier text, entity text)
    RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t text := lower(filter ->> 'type');
BEGIN
    IF filter_type = 'idtype-value' THEN
        -- (no identifier lookups at subscription time: the registry's own ids only)
        IF jsonb_typeof(filter) IS DISTINCT FROM 'object'
           OR coalesce(t, '') NOT IN ('householdid', 'household_id', 'groupid', 'group_id', 'personid', 'person_id', 'memberid', 'member_id')
           OR coalesce(jsonb_typeof(filter -> 'value'), 'missing') NOT IN ('string', 'number') OR coalesce(filter #>> '{value}', '') !~ '^[0-9]{1,18}$' THEN
            PERFORM sp_internal.dci_reject('rjct.notify_details.invalid', 'an idtype-value filter names a HouseholdID or PersonID');
        END IF;
        IF tier = 'keys' AND t NOT IN ('householdid', 'household_id', 'groupid', 'group_id') THEN
            PERFORM sp_internal.dci_reject('rjct.notify_details.invalid', 'identifier type PersonID is not available to this client');
        END IF;
        RETURN;
    END IF;
    PERFORM sp_internal.dci_tree_sql(sp_internal.dci_query_tree(filter_type, filter, entity), tier, entity);
EXCEPTION WHEN invalid_parameter_value THEN
    PERFORM sp_internal.dci_reject('rjct.notify_details.invalid', SQLERRM);
END
$$;
COMMENT ON FUNCTION sp_internal.dci_check_filter(text, jsonb, text, text) IS 'Rejects (rjct.notify_details.invalid) a subscription filter that a search by the subscriber could not use.';

CREATE FUNCTION sp_internal.dci_subscription_info(s sp.dci_subscription)
    RETURNS jsonb
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
        'version', '1.0.0', 'code', s.subscription_code,
        'status', CASE WHEN s.unsubscribed_at IS NULL THEN 'subscribe' ELSE 'unsubscribe' END,
        'timestamp', sp_internal.dci_ts(coalesce(s.unsubscribed_at, s.subscribed_at)),
        'reg_type', 'ns:org:RegistryType:Social', 'reg_event_type', s.reg_event_type,
        'frequency', CASE WHEN s.starts_at IS NOT NULL THEN jsonb_build_object('start_time', sp_internal.dci_ts(s.starts_at),
                                                                              'end_time', sp_internal.dci_ts(s.ends_at), 'frequency', s.frequency) END,
        'filter_type', s.filter_type, 'filter', s.filter, 'notify_record_type', s.notify_record_type, 'locale', s.locale))
$$;
COMMENT ON FUNCTION sp_internal.dci_subscription_info(sp.dci_subscription) IS 'A subscription as the DCI SubscriptionInfo.';

CREATE FUNCTION sp_internal.dci_subscribe_item(item jsonb, tier text, o record)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    crit jsonb := item -> 'subscribe_criteria';
    ev text;
    entity text;
    freq jsonb;
    s_start timestamptz;
    s_end timestamptz;
    s sp.dci_subscription;
BEGIN
    IF sp_internal.dci_timestamp(item -> 'timestamp') IS NULL THEN
        PERFORM sp_internal.dci_reject('rjct.timestamp.invalid', 'timestamp is missing or not an ISO 8601 date-time with a time zone');
    END IF;
    IF jsonb_typeof(crit) IS DISTINCT FROM 'object' THEN
        PERFORM sp_internal.dci_reject('rjct.notify_details.invalid', 'subscribe_criteria is missing or not an object');
    END IF;
    IF item ? 'locale' AND (jsonb_typeof(item -> 'locale') IS DISTINCT FROM 'string' OR item ->> 'locale' !~ '^[a-z]{3}$') THEN
        PERFORM sp_internal.dci_reject('rjct.notify_details.invalid', 'locale is three lower-case letters (ISO 639-3), e.g. eng');
    END IF;
    -- REGISTER, NewHouseHoldMember, ..., also written as spdci-common:RegistryEventType:NewHouseHoldMember
    ev := regexp_replace(crit ->> 'reg_event_type', '^.*:', '');
    IF jsonb_typeof(crit -> 'reg_event_type') IS DISTINCT FROM 'string'
       OR ev NOT IN ('REGISTER', 'UPDATE', 'NewHouseHoldMember', 'DEATH', 'ENROL', 'EXIT', 'PAYMENT', 'LINK', 'UNLINK') THEN
        PERFORM sp_internal.dci_reject('rjct.notify_types.invalid',
            'reg_event_type is one of REGISTER, UPDATE, NewHouseHoldMember, DEATH, ENROL, EXIT, PAYMENT, LINK, UNLINK');
    END IF;
    entity := CASE coalesce(crit ->> 'notify_record_type', '') WHEN 'Group' THEN 'household' WHEN 'Member' THEN 'person' END;
    IF entity IS NULL THEN
        PERFORM sp_internal.dci_reject('rjct.notify_details.invalid', 'notify_record_type is Group or Member');
    END IF;
    IF entity = 'person' AND tier = 'keys' THEN
        PERFORM sp_internal.dci_reject('rjct.notify_details.invalid', 'this client may not read members; ask for Group');
    END IF;
    IF jsonb_typeof(crit -> 'filter_type') IS DISTINCT FROM 'string' OR crit ->> 'filter_type' NOT IN ('idtype-value', 'predicate', 'expression')
       OR crit -> 'filter' IS NULL OR jsonb_typeof(crit -> 'filter') = 'null' THEN
        PERFORM sp_internal.dci_reject('rjct.notify_details.invalid', 'filter_type (idtype-value, predicate or expression) and filter are required');
    END IF;
    PERFORM sp_internal.dci_check_filter(crit ->> 'filter_type', crit -> 'filter', tier, entity);
    freq := crit -> 'frequency';
    IF freq IS NOT NULL AND jsonb_typeof(freq) <> 'null' THEN
        s_start := sp_internal.dci_timestamp(freq -> 'start_time');
        s_end := sp_internal.dci_timestamp(freq -> 'end_time');
        IF s_start IS NULL OR s_end IS NULL OR s_end <= s_start OR s_end <= now()
           OR jsonb_typeof(freq -> 'frequency') IS DISTINCT FROM 'string' OR length(freq ->> 'frequency') NOT BETWEEN 1 AND 100 THEN
            PERFORM sp_internal.dci_reject('rjct.notify_details.invalid',
                'frequency is {start_time, end_time (later, and not past), frequency (a cron expression)}');
        END IF;
    END IF;
    IF EXISTS (SELECT 1 FROM sp.dci_subscription x WHERE x.caller_role = sp_internal.caller() AND x.unsubscribed_at IS NULL
               AND x.reg_event_type = ev AND x.filter_type = crit ->> 'filter_type' AND x.filter = crit -> 'filter'
               AND x.notify_record_type = crit ->> 'notify_record_type') THEN
        PERFORM sp_internal.dci_reject('rjct.event.already_subscribed', 'this client is already subscribed to these events with this filter');
    END IF;
    INSERT INTO sp.dci_subscription (subscription_code, caller_role, sender_id, callback_uri, reg_event_type, filter_type, filter,
                                     notify_record_type, starts_at, ends_at, frequency, locale, transaction_id, reference_id,
                                     correlation_id, outbox_consumer)
    VALUES ('sub-' || gen_random_uuid(), sp_internal.caller(), o.hdr ->> 'sender_id', o.hdr ->> 'sender_uri', ev, crit ->> 'filter_type',
            crit -> 'filter', crit ->> 'notify_record_type', s_start, s_end, freq ->> 'frequency', coalesce(item ->> 'locale', 'eng'),
            o.msg ->> 'transaction_id', item ->> 'reference_id', o.correlation_id, sp_internal.dci_outbox_consumer(sp_internal.caller()))
    RETURNING * INTO s;
    RETURN jsonb_build_object('reference_id', item ->> 'reference_id', 'timestamp', sp_internal.dci_ts(now()), 'status', 'succ',
                              'subscriptions', jsonb_build_array(sp_internal.dci_subscription_info(s)), 'locale', s.locale);
END
$$;
COMMENT ON FUNCTION sp_internal.dci_subscribe_item(jsonb, text, record) IS 'Records one DCI subscription request (event type, filter checked as a search by the subscriber, record type, period); raises 22023 with the item reason code as hint.';

CREATE FUNCTION sp.dci_subscribe(request jsonb, correlation_id text DEFAULT NULL)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    o record;
    tier text := sp_internal.dci_tier();
    client sp.api_client := sp_internal.dci_caller_client();
    results jsonb;
BEGIN
    IF jsonb_typeof(request -> 'header') = 'object' AND request -> 'header' ? 'sender_uri'
       AND (client.sender_id IS NULL OR NOT sp_internal.dci_callback_allowed(request #>> '{header,sender_uri}', client.callback_prefixes)) THEN
        RETURN sp_internal.dci_error('err.sender_uri.invalid', 'header.sender_uri is not under a callback prefix registered for this client');
    END IF;
    IF client.sender_id IS NOT NULL AND jsonb_typeof(request -> 'header') = 'object' AND NOT request -> 'header' ? 'sender_uri' THEN
        RETURN sp_internal.dci_error('err.sender_uri.invalid', 'a registered client subscribes with a callback (header.sender_uri) for its notifications');
    END IF;
    o := sp_internal.dci_open(request, 'subscribe', 'subscribe_request', correlation_id);
    IF o.err IS NOT NULL THEN
        RETURN o.err;
    END IF;
    IF o.header_code IS NOT NULL THEN
        RETURN sp_internal.dci_reply(o, 'on-subscribe', 'rjct', 0, jsonb_build_object('subscribe_response', '[]'::jsonb));
    END IF;
    results := sp_internal.dci_answer_items(o, 'subscribe', tier, NULL);
    RETURN sp_internal.dci_reply(o, 'on-subscribe', 'succ', jsonb_array_length(results), jsonb_build_object('subscribe_response', results), true);
END
$$;
COMMENT ON FUNCTION sp.dci_subscribe(jsonb, text) IS 'DCI subscribe (/registry/subscribe): takes the whole envelope {header, message: {transaction_id, subscribe_request: [..]}} and returns the on-subscribe message with a subscription code per accepted request. Event types are those of the outbox (REGISTER, UPDATE, NewHouseHoldMember, DEATH, ENROL, EXIT, PAYMENT, LINK, UNLINK); the filter is checked as a search by the subscriber would be; the callback (header.sender_uri) must be under the client''s registered prefixes. Notifications come from the transactional outbox, in the subscriber''s area scope. correlation_id: the id the gateway''s ACK gave the client on an asynchronous route (default a new UUID).';

CREATE FUNCTION sp.dci_unsubscribe(request jsonb, correlation_id text DEFAULT NULL)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    o record;
    codes text[];
    bad text[];
    gone text[];
    body jsonb;
BEGIN
    o := sp_internal.dci_open(request, 'unsubscribe', 'subscription_codes', correlation_id);
    IF o.err IS NOT NULL THEN
        RETURN o.err;
    END IF;
    -- the spec's own spelling (timesstamp) is taken too
    IF o.header_code IS NULL AND sp_internal.dci_timestamp(coalesce(o.msg -> 'timestamp', o.msg -> 'timesstamp')) IS NULL THEN
        body := jsonb_build_object('timestamp', sp_internal.dci_ts(now()), 'status', 'rjct', 'status_reason_code', 'rjct.timestamp.invalid',
                                   'status_reason_message', 'message.timestamp is missing or not an ISO 8601 date-time with a time zone');
    ELSIF o.header_code IS NULL THEN
        IF EXISTS (SELECT 1 FROM jsonb_array_elements(o.msg -> 'subscription_codes') c WHERE jsonb_typeof(c) <> 'string') THEN
            body := jsonb_build_object('timestamp', sp_internal.dci_ts(now()), 'status', 'rjct', 'status_reason_code', 'rjct.subscription_code.invalid',
                                       'status_reason_message', 'subscription_codes holds strings');
        ELSE
            SELECT array_agg(c ORDER BY n) INTO codes FROM jsonb_array_elements_text(o.msg -> 'subscription_codes') WITH ORDINALITY x (c, n);
            -- another client's code is answered as an unknown one
            SELECT array_agg(c ORDER BY c) FILTER (WHERE s.subscription_code IS NULL),
                   array_agg(c ORDER BY c) FILTER (WHERE s.unsubscribed_at IS NOT NULL)
            INTO bad, gone
            FROM unnest(codes) c
            LEFT JOIN sp.dci_subscription s ON s.subscription_code = c AND s.caller_role = sp_internal.caller();
            IF bad IS NOT NULL THEN
                body := jsonb_build_object('timestamp', sp_internal.dci_ts(now()), 'status', 'rjct', 'status_reason_code', 'rjct.subscription_code.invalid',
                                           'status_reason_message', left('unknown subscription codes: ' || array_to_string(bad, ', '), 999));
            ELSIF gone IS NOT NULL THEN
                body := jsonb_build_object('timestamp', sp_internal.dci_ts(now()), 'status', 'rjct', 'status_reason_code', 'rjct.event.already_unsubscribed',
                                           'status_reason_message', left('already unsubscribed: ' || array_to_string(gone, ', '), 999));
            ELSE
                UPDATE sp.dci_subscription s SET unsubscribed_at = now(), unsubscribed_by = sp_internal.caller()
                WHERE s.subscription_code = ANY (codes) AND s.caller_role = sp_internal.caller();
                -- the last one: its outbox consumer goes (it would hold the outbox's events back from pruning)
                IF NOT EXISTS (SELECT 1 FROM sp.dci_subscription s WHERE s.caller_role = sp_internal.caller() AND s.unsubscribed_at IS NULL) THEN
                    DELETE FROM sp.outbox_consumer c WHERE c.name = sp_internal.dci_consumer_name(sp_internal.caller());
                END IF;
                body := jsonb_build_object('timestamp', sp_internal.dci_ts(now()), 'status', 'succ',
                                           'subscription_status', (SELECT jsonb_agg(jsonb_build_object('code', c, 'status', 'unsubscribe') ORDER BY n)
                                                                   FROM unnest(codes) WITH ORDINALITY x (c, n)));
            END IF;
        END IF;
    ELSE
        body := jsonb_build_object('timestamp', sp_internal.dci_ts(now()), 'status', 'rjct');
    END IF;
    RETURN sp_internal.dci_reply(o, 'on-unsubscribe', CASE WHEN o.header_code IS NULL THEN body ->> 'status' ELSE 'rjct' END,
                                 1, body, true);
END
$$;
COMMENT ON FUNCTION sp.dci_unsubscribe(jsonb, text) IS 'DCI unsubscribe (/registry/unsubscribe): takes {header, message: {transaction_id, timestamp, subscription_codes}} (total_count: the number of codes) and returns the on-unsubscribe message. All or nothing: an unknown code (or another client''s) gives rjct.subscription_code.invalid, an ended one rjct.event.already_unsubscribed, and nothing changes. With the caller''s last subscription its outbox consumer goes. correlation_id: the id the gateway''s ACK gave the client on an asynchronous route (default a new UUID).';

-- ---------------------------------------------------------------------------
-- Transaction status: what this registry answered to one of the caller's own
-- earlier requests (by transaction id, correlation id or reference ids), or
-- the state of its subscriptions.

CREATE FUNCTION sp.dci_txn_status(request jsonb, correlation_id text DEFAULT NULL)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    o record;
    r jsonb;
    txn_type text;
    act text;
    attr_type text;
    val jsonb;
    found_msg jsonb;
    refs text[];
    why text;
BEGIN
    o := sp_internal.dci_open(request, 'txn-status', NULL, correlation_id);
    IF o.err IS NOT NULL THEN
        RETURN o.err;
    END IF;
    IF o.header_code IS NOT NULL THEN
        RETURN sp_internal.dci_reply(o, 'txn-on-status', 'rjct', 0, jsonb_build_object('txnstatus_response', jsonb_build_object()));
    END IF;
    r := o.msg -> 'txnstatus_request';
    txn_type := r ->> 'txn_type';
    attr_type := r ->> 'attribute_type';
    val := r -> 'attribute_value';
    -- the request's search/subscribe/unsubscribe, and the spec's "subscibe"
    act := CASE txn_type WHEN 'search' THEN 'search' WHEN 'subscribe' THEN 'subscribe' WHEN 'subscibe' THEN 'subscribe'
                         WHEN 'unsubscribe' THEN 'unsubscribe' END;
    IF jsonb_typeof(r) IS DISTINCT FROM 'object' OR jsonb_typeof(r -> 'reference_id') IS DISTINCT FROM 'string' THEN
        why := 'txnstatus_request needs reference_id, txn_type, attribute_type and attribute_value';
    ELSIF act IS NULL THEN
        why := 'txn_type is search, subscribe or unsubscribe';
    ELSIF attr_type IN ('transaction_id', 'correlation_id') AND jsonb_typeof(val) = 'string' THEN
        SELECT m.response -> 'message' INTO found_msg FROM sp_internal.dci_message m
        WHERE m.caller_role = sp_internal.caller() AND m.action = act AND m.response IS NOT NULL
          AND CASE attr_type WHEN 'transaction_id' THEN m.transaction_id ELSE m.correlation_id END = val #>> '{}'
        ORDER BY m.message_no DESC LIMIT 1;
    ELSIF attr_type = 'reference_id_list' AND jsonb_typeof(val) = 'array' AND act IN ('search', 'subscribe')
          AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(val) e WHERE jsonb_typeof(e) <> 'string') THEN
        SELECT array_agg(e) INTO refs FROM jsonb_array_elements_text(val) e;
        -- the latest answer to each reference id, as one response
        SELECT jsonb_build_object('transaction_id', o.msg ->> 'transaction_id', 'correlation_id', o.correlation_id,
                                  CASE act WHEN 'search' THEN 'search_response' ELSE 'subscribe_response' END,
                                  jsonb_agg(x.item ORDER BY x.ref))
        INTO found_msg
        FROM (SELECT DISTINCT ON (e ->> 'reference_id') e ->> 'reference_id' AS ref, e AS item
              FROM sp_internal.dci_message m
              CROSS JOIN jsonb_array_elements(m.response #> ARRAY['message', CASE act WHEN 'search' THEN 'search_response' ELSE 'subscribe_response' END]) e
              WHERE m.caller_role = sp_internal.caller() AND m.action = act AND m.reference_ids && refs AND e ->> 'reference_id' = ANY (refs)
              ORDER BY e ->> 'reference_id', m.message_no DESC) x
        HAVING count(*) > 0;
    ELSIF attr_type = 'subscription_code_list' AND act IN ('subscribe', 'unsubscribe') AND jsonb_typeof(val) = 'array' THEN
        SELECT jsonb_build_object('transaction_id', o.msg ->> 'transaction_id', 'correlation_id', o.correlation_id,
                                  'subscribe_response', jsonb_agg(jsonb_build_object(
                                      'reference_id', s.reference_id, 'timestamp', sp_internal.dci_ts(now()), 'status', 'succ',
                                      'subscriptions', jsonb_build_array(sp_internal.dci_subscription_info(s))) ORDER BY s.subscription_code))
        INTO found_msg
        FROM sp.dci_subscription s
        WHERE s.caller_role = sp_internal.caller() AND s.subscription_code IN (SELECT jsonb_array_elements_text(val))
        HAVING count(*) > 0;
        act := 'subscribe';
    ELSE
        why := 'attribute_type is transaction_id, correlation_id (a string), reference_id_list or subscription_code_list (an array)';
    END IF;
    IF why IS NULL AND found_msg IS NULL THEN
        why := pg_catalog.format('no %s of this client matches', act);
    END IF;
    IF why IS NOT NULL THEN
        o.header_message := why;
        RETURN sp_internal.dci_reply(o, 'txn-on-status', 'rjct', 1,
                                     jsonb_build_object('txnstatus_response', jsonb_build_object('txn_type', 'on-' || coalesce(act, 'search'))));
    END IF;
    RETURN sp_internal.dci_reply(o, 'txn-on-status', 'succ', 1,
                                 jsonb_build_object('txnstatus_response', jsonb_build_object('txn_type', 'on-' || act, 'txn_status', found_msg)));
END
$$;
COMMENT ON FUNCTION sp.dci_txn_status(jsonb, text) IS 'DCI transaction status (/registry/sync/txn/status, /registry/txn/status): takes {header, message: {transaction_id, txnstatus_request: {reference_id, txn_type, attribute_type, attribute_value}}} and returns the txn-on-status envelope holding what this registry answered to the caller''s own search, subscribe or unsubscribe (by transaction_id, correlation_id or reference_id_list), or the state of its subscriptions (subscription_code_list). Another client''s transactions are answered as unknown. Answers are kept until sp.prune_dci_messages removes them. correlation_id: the id the gateway''s ACK gave the client on an asynchronous route (default a new UUID).';

-- ---------------------------------------------------------------------------
-- Notifications: the gateway (or a subscriber itself, in SQL) claims the
-- outbox events of the caller's subscriptions as DCI notify messages, sends
-- them, and acknowledges the events once every message was delivered: at
-- least once, in commit order, within the caller's area scope.

-- The records of one subscription for one event (the record as it is now),
-- if they match its filter; NULL when the filter can no longer be used.
CREATE FUNCTION sp_internal.dci_notify_records(s sp.dci_subscription, p_household_id bigint, p_person_id bigint, tier text)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    entity text := CASE s.notify_record_type WHEN 'Group' THEN 'household' ELSE 'person' END;
    cond text;
    records jsonb;
BEGIN
    cond := CASE WHEN s.filter_type = 'idtype-value' THEN sp_internal.dci_id_condition(s.filter, tier, entity, NULL, NULL)
                 ELSE sp_internal.dci_tree_sql(sp_internal.dci_query_tree(s.filter_type, s.filter, entity), tier, entity) END;
    IF entity = 'household' THEN
        EXECUTE pg_catalog.format(
            'SELECT coalesce(jsonb_agg(sp_internal.dci_group_record(h, %L, %L)), ''[]'') FROM sp.household h
             WHERE h.household_id = $1 AND h.admin_area_code IN (SELECT v.code FROM sp_internal.visible_areas() v (code)) AND %s',
            tier, tier <> 'keys' AND has_table_privilege(sp_internal.caller_oid(), 'sp.assessment'::regclass, 'SELECT'), cond)
        INTO records USING p_household_id;
    ELSE
        -- a person's event: that person; a household's: its members that match
        EXECUTE pg_catalog.format(
            'SELECT coalesce(jsonb_agg(sp_internal.dci_member_record(p, %L) ORDER BY p.person_id), ''[]'')
             FROM sp.person p JOIN sp.household h ON h.household_id = p.household_id
             WHERE (p.person_id = $2 OR ($2 IS NULL AND p.household_id = $1 AND p.status <> ''merged''))
               AND p.admin_area_code IN (SELECT v.code FROM sp_internal.visible_areas() v (code)) AND %s', tier, cond)
        INTO records USING p_household_id, p_person_id;
    END IF;
    RETURN records;
EXCEPTION WHEN invalid_parameter_value THEN
    -- (a filter the subscriber's grants no longer allow matches nothing)
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION sp_internal.dci_notify_records(sp.dci_subscription, bigint, bigint, text) IS 'The Group or Member records of an event''s household or person, as they are now, that match a subscription''s filter within the caller''s scope; NULL when the filter is no longer allowed to the caller.';

CREATE FUNCTION sp.dci_notify_claim(max integer DEFAULT 100)
    RETURNS TABLE (subscription_code text, callback_uri text, notification jsonb, event_ids bigint[])
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    consumer text := sp_internal.dci_consumer_name(sp_internal.caller());
    tier text := sp_internal.dci_tier();
    ev record;
    s sp.dci_subscription;
    recs jsonb;
    acc jsonb := '{}';
    entry jsonb;
    matched boolean;
    unmatched bigint[] := '{}';
BEGIN
    IF max IS NULL OR max NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION 'max must be from 1 to 1000' USING ERRCODE = 'invalid_parameter_value', COLUMN = 'max';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM sp.outbox_consumer c WHERE c.name = consumer) THEN
        RETURN;  -- no subscription yet
    END IF;
    -- (in the claim's own order: commit order)
    FOR ev IN SELECT * FROM sp.outbox_claim(consumer, max) WITH ORDINALITY c ORDER BY c.ordinality LOOP
        matched := false;
        FOR s IN SELECT * FROM sp.dci_subscription x
                 WHERE x.caller_role = sp_internal.caller() AND x.unsubscribed_at IS NULL AND x.reg_event_type = ev.event_type
                   AND x.subscribed_at <= ev.occurred_at
                   AND (x.starts_at IS NULL OR ev.occurred_at BETWEEN x.starts_at AND x.ends_at)
                 ORDER BY x.subscription_code LOOP
            recs := sp_internal.dci_notify_records(s, ev.household_id, ev.person_id, tier);
            IF recs IS NULL OR jsonb_array_length(recs) = 0 THEN
                CONTINUE;
            END IF;
            matched := true;
            entry := coalesce(acc -> s.subscription_code,
                              jsonb_build_object('callback', s.callback_uri, 'sender_id', s.sender_id, 'transaction_id', s.transaction_id,
                                                 'items', '[]'::jsonb, 'events', '[]'::jsonb));
            entry := jsonb_set(entry, '{items}', (entry -> 'items') || jsonb_build_array(jsonb_build_object(
                'reference_id', 'ev-' || ev.event_id, 'timestamp', sp_internal.dci_ts(ev.occurred_at),
                'data', jsonb_build_object('version', '1.0.0', 'reg_type', 'ns:org:RegistryType:Social', 'reg_event_type', ev.event_type,
                                           'reg_record_type', s.notify_record_type, 'reg_records', recs),
                'locale', s.locale)));
            entry := jsonb_set(entry, '{events}', (entry -> 'events') || to_jsonb(ev.event_id));
            acc := jsonb_set(acc, ARRAY[s.subscription_code], entry);
        END LOOP;
        IF NOT matched THEN
            unmatched := unmatched || ev.event_id;
        END IF;
    END LOOP;
    -- events no subscription wants are done with
    IF cardinality(unmatched) > 0 THEN
        PERFORM sp.outbox_ack(consumer, unmatched);
    END IF;
    RETURN QUERY
    SELECT x.key, x.value ->> 'callback',
           jsonb_build_object(
               'header', jsonb_build_object('version', '1.0.0', 'message_id', gen_random_uuid()::text, 'message_ts', sp_internal.dci_ts(now()),
                                            'action', 'notify', 'status', 'succ',
                                            'total_count', jsonb_array_length(x.value -> 'items'), 'completed_count', jsonb_array_length(x.value -> 'items'),
                                            'sender_id', 'sp_registry', 'receiver_id', x.value ->> 'sender_id', 'is_msg_encrypted', false,
                                            'meta', jsonb_build_object('subscription_code', x.key)),
               'message', jsonb_build_object('transaction_id', x.value ->> 'transaction_id', 'notify_event', x.value -> 'items')),
           ARRAY(SELECT e::bigint FROM jsonb_array_elements_text(x.value -> 'events') e)
    FROM jsonb_each(acc) x
    ORDER BY x.key;
END
$$;
COMMENT ON FUNCTION sp.dci_notify_claim(integer) IS 'Claims up to max outbox events for the caller''s DCI subscriptions (in commit order, within its area scope) and returns one notify message per subscription that has matching events: its code, callback URL, the DCI notify envelope (records as they are now, in the shape and fields the caller may see; the subscription code in header.meta) and the event ids to acknowledge with sp.dci_notify_ack once delivered. Events no subscription wants are acknowledged at once. Unacknowledged events are claimed again after 5 minutes (at least once).';

CREATE FUNCTION sp.dci_notify_ack(event_ids bigint[])
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    consumer text := sp_internal.dci_consumer_name(sp_internal.caller());
BEGIN
    IF NOT EXISTS (SELECT 1 FROM sp.outbox_consumer c WHERE c.name = consumer) THEN
        RAISE EXCEPTION 'this role has no DCI subscription' USING ERRCODE = 'no_data_found';
    END IF;
    RETURN sp.outbox_ack(consumer, event_ids);
END
$$;
COMMENT ON FUNCTION sp.dci_notify_ack(bigint[]) IS 'Acknowledges the events of notifications delivered (from sp.dci_notify_claim); idempotent, like sp.outbox_ack.';

-- For the gateway: the clients with subscriptions to notify.
CREATE FUNCTION sp.dci_subscribers()
    RETURNS TABLE (sender_id text, client_role name, callback_prefixes text[])
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT a.sender_id, a.client_role, a.callback_prefixes FROM sp.api_client a
    WHERE a.revoked_at IS NULL
      AND EXISTS (SELECT 1 FROM sp.dci_subscription s WHERE s.caller_role = a.client_role AND s.unsubscribed_at IS NULL)
    ORDER BY a.sender_id
$$;
COMMENT ON FUNCTION sp.dci_subscribers() IS 'The active API clients that have subscriptions, with their callback prefixes: the HTTP gateway claims their notifications as each client''s role (sp_gateway).';
