-- Area scopes: which administrative areas each role may see and change.
--
-- A scope is granted to a role (usually a NOLOGIN team role a DBA grants to
-- staff) on one area; it covers the area's whole subtree.  A caller's scope is
-- the union of the scopes of every role it holds (pg_has_role ... USAGE).
-- A caller without any scope sees nothing.  Superusers (and so the extension
-- owner, which the API functions run as) see everything.
--
-- Reads are filtered by row-level security (sql/85_row_security.sql) with the
-- helpers below, which compute the caller's areas once per query; writes go
-- through SECURITY DEFINER API functions that check the scope explicitly.

CREATE TABLE sp.area_scope (
    scope_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    role_name       text NOT NULL CHECK (length(role_name) BETWEEN 1 AND 63),
    admin_area_code text NOT NULL REFERENCES sp.admin_area (code),
    granted_at      timestamptz NOT NULL DEFAULT now(),
    granted_by      text NOT NULL DEFAULT sp_internal.caller(),
    revoked_at      timestamptz,
    revoked_by      text,
    CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
);
CREATE UNIQUE INDEX area_scope_active_idx ON sp.area_scope (role_name, admin_area_code) WHERE revoked_at IS NULL;
COMMENT ON TABLE sp.area_scope IS 'Area scopes granted to roles: a role sees and changes the households (and everything about them) of the area''s subtree. Revoked scopes are kept with who and when. Change with sp.grant_area_scope / sp.revoke_area_scope.';
COMMENT ON COLUMN sp.area_scope.role_name IS 'The role (by name: scopes survive pg_dump/pg_restore onto a server whose roles have other OIDs).';

CREATE TRIGGER area_scope_no_delete BEFORE DELETE ON sp.area_scope
    FOR EACH ROW EXECUTE FUNCTION sp_internal.forbid_delete();

-- Each role reads the scopes it holds (administrators and auditors read all).
-- The caller's own scopes must be readable with the caller's rights: the
-- helper below runs as the reader, so that inside a SECURITY DEFINER function
-- of an ordinary role it computes that role's scope, never the scope of
-- whoever called it (src/pg/security.c).
ALTER TABLE sp.area_scope ENABLE ROW LEVEL SECURITY;
CREATE POLICY area_scope_held ON sp.area_scope FOR SELECT
    USING (role_name IN (SELECT r.rolname FROM pg_catalog.pg_roles r
                         WHERE pg_catalog.pg_has_role(sp_internal.caller_oid(), r.oid, 'USAGE'))
           OR pg_catalog.pg_has_role(sp_internal.caller_oid(), 'sp_admin', 'USAGE')
           OR pg_catalog.pg_has_role(sp_internal.caller_oid(), 'sp_auditor', 'USAGE'));

-- The caller's scope as area paths; '/' (everything) for superusers.
CREATE FUNCTION sp_internal.caller_area_paths()
    RETURNS text[]
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN r.rolsuper THEN ARRAY['/'] ELSE coalesce((
        SELECT array_agg(DISTINCT a.path ORDER BY a.path)
        FROM sp.area_scope s
        JOIN pg_catalog.pg_roles g ON g.rolname = s.role_name
        JOIN sp.admin_area a ON a.code = s.admin_area_code
        WHERE s.revoked_at IS NULL AND pg_catalog.pg_has_role(r.oid, g.oid, 'USAGE')), '{}') END
    FROM pg_catalog.pg_roles r WHERE r.oid = sp_internal.caller_oid()
$$;
COMMENT ON FUNCTION sp_internal.caller_area_paths() IS 'Paths of the areas the calling role may act on (its own scopes and those of every role it holds); {/} for superusers; empty when it has none. Runs with the reader''s rights (see the policy on sp.area_scope).';

CREATE FUNCTION sp_internal.visible_areas()
    RETURNS SETOF text
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT a.code FROM sp.admin_area a
    WHERE EXISTS (SELECT 1 FROM unnest(sp_internal.caller_area_paths()) p (path) WHERE starts_with(a.path, p.path))
$$;
COMMENT ON FUNCTION sp_internal.visible_areas() IS 'Codes of every area in the caller''s scope. Row-level security policies use it as "admin_area_code IN (SELECT v.code FROM sp_internal.visible_areas() v (code))", which PostgreSQL evaluates once per query.';

CREATE FUNCTION sp_internal.area_in_scope(code text)
    RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (SELECT 1 FROM sp.admin_area a, unnest(sp_internal.caller_area_paths()) p (path)
                   WHERE a.code = area_in_scope.code AND starts_with(a.path, p.path))
$$;
COMMENT ON FUNCTION sp_internal.area_in_scope(text) IS 'True when the area is in the caller''s scope.';

CREATE FUNCTION sp_internal.has_national_scope()
    RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT NOT EXISTS (SELECT 1 FROM sp.admin_area a WHERE a.parent_code IS NULL
                         AND NOT EXISTS (SELECT 1 FROM unnest(sp_internal.caller_area_paths()) p (path)
                                         WHERE starts_with(a.path, p.path)))
$$;
COMMENT ON FUNCTION sp_internal.has_national_scope() IS 'True when the caller''s scope covers every country (level-0 area) of the registry.';

CREATE FUNCTION sp_internal.require_area_scope(code text, what text)
    RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT sp_internal.area_in_scope(code) THEN
        RAISE EXCEPTION 'admin area "%" is outside the area scope of role %', left(code, 64), sp_internal.caller()
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = format('%s in area "%s" needs a scope on that area or one above it.', what, left(code, 64)),
                  HINT = 'An administrator grants scopes with sp.grant_area_scope(role, admin_area_code).';
    END IF;
END
$$;
COMMENT ON FUNCTION sp_internal.require_area_scope(text, text) IS 'Raises 42501 unless the area is in the caller''s scope; what names the action for the message.';

CREATE FUNCTION sp_internal.require_national_scope(what text)
    RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT sp_internal.has_national_scope() THEN
        RAISE EXCEPTION '% needs national scope', what
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = format('Role %s does not have a scope on every country of the registry; %s acts on all of them.',
                                  sp_internal.caller(), what),
                  HINT = 'Pass an area your scope covers where the function takes one, or ask an administrator for national scope.';
    END IF;
END
$$;
COMMENT ON FUNCTION sp_internal.require_national_scope(text) IS 'Raises 42501 unless the caller has national scope.';

-- One error for a row that does not exist and a row outside the caller's
-- scope, so that ids outside one's scope cannot be probed for existence.
CREATE FUNCTION sp_internal.raise_not_found(what text, id bigint)
    RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION '% % does not exist%', what, id,
                    CASE WHEN sp_internal.has_national_scope() THEN '' ELSE ' in your area scope' END
        USING ERRCODE = 'no_data_found';
END
$$;
COMMENT ON FUNCTION sp_internal.raise_not_found(text, bigint) IS 'Raises no_data_found "<what> <id> does not exist [in your area scope]": the same message whether the row is missing or outside the caller''s scope.';

-- The area of a household, if the caller may act on it; the same error
-- whether it does not exist or is out of scope.
CREATE FUNCTION sp_internal.household_area_in_scope(p_household_id bigint)
    RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    area text;
BEGIN
    SELECT h.admin_area_code INTO area FROM sp.household h WHERE h.household_id = p_household_id;
    IF area IS NULL OR NOT sp_internal.area_in_scope(area) THEN
        PERFORM sp_internal.raise_not_found('household', p_household_id);
    END IF;
    RETURN area;
END
$$;
COMMENT ON FUNCTION sp_internal.household_area_in_scope(bigint) IS 'Area of the household when it exists and is in the caller''s scope; raises no_data_found otherwise (one message for both, so scope cannot be probed).';

CREATE FUNCTION sp_internal.person_household_in_scope(p_person_id bigint)
    RETURNS bigint
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    hid bigint;
    area text;
BEGIN
    SELECT p.household_id, h.admin_area_code INTO hid, area
    FROM sp.person p JOIN sp.household h USING (household_id) WHERE p.person_id = p_person_id;
    IF hid IS NULL OR NOT sp_internal.area_in_scope(area) THEN
        PERFORM sp_internal.raise_not_found('person', p_person_id);
    END IF;
    RETURN hid;
END
$$;
COMMENT ON FUNCTION sp_internal.person_household_in_scope(bigint) IS 'Household of the person when it exists and is in the caller''s scope; raises no_data_found otherwise.';

-- Is the household in the caller's scope?  False when it does not exist.
CREATE FUNCTION sp_internal.household_in_scope(p_household_id bigint)
    RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce((SELECT sp_internal.area_in_scope(h.admin_area_code) FROM sp.household h
                     WHERE h.household_id = p_household_id), false)
$$;
COMMENT ON FUNCTION sp_internal.household_in_scope(bigint) IS 'True when the household exists and is in the caller''s scope.';

CREATE FUNCTION sp.grant_area_scope(role_name text, admin_area_code text)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    sid bigint;
BEGIN
    IF role_name IS NULL OR NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = grant_area_scope.role_name) THEN
        RAISE EXCEPTION 'role "%" does not exist', left(role_name, 63) USING ERRCODE = 'undefined_object';
    END IF;
    IF admin_area_code IS NULL OR NOT EXISTS (SELECT 1 FROM sp.admin_area a WHERE a.code = grant_area_scope.admin_area_code) THEN
        RAISE EXCEPTION 'admin area "%" does not exist', left(admin_area_code, 64) USING ERRCODE = 'foreign_key_violation';
    END IF;
    -- an administrator hands out only what is in their own scope
    PERFORM sp_internal.require_area_scope(admin_area_code, 'Granting a scope');
    INSERT INTO sp.area_scope (role_name, admin_area_code)
    VALUES (grant_area_scope.role_name, grant_area_scope.admin_area_code)
    ON CONFLICT (role_name, admin_area_code) WHERE revoked_at IS NULL DO NOTHING
    RETURNING scope_id INTO sid;
    RETURN jsonb_build_object('role', role_name, 'admin_area_code', admin_area_code,
                              'scope_id', sid, 'already_granted', sid IS NULL);
END
$$;
COMMENT ON FUNCTION sp.grant_area_scope(text, text) IS 'Lets a role see and change the households of an area''s subtree (the level-0 area gives national scope). Idempotent. Admins only, and only within their own scope; recorded in sp.area_scope.';

CREATE FUNCTION sp.revoke_area_scope(role_name text, admin_area_code text)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n integer;
BEGIN
    PERFORM sp_internal.require_area_scope(admin_area_code, 'Revoking a scope');
    UPDATE sp.area_scope s SET revoked_at = now(), revoked_by = sp_internal.caller()
    WHERE s.role_name = revoke_area_scope.role_name AND s.admin_area_code = revoke_area_scope.admin_area_code
      AND s.revoked_at IS NULL;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN jsonb_build_object('role', role_name, 'admin_area_code', admin_area_code, 'revoked', n > 0);
END
$$;
COMMENT ON FUNCTION sp.revoke_area_scope(text, text) IS 'Ends a role''s scope on an area (the grant stays in sp.area_scope with who revoked it and when). Scopes on areas above or below are not touched.';

CREATE VIEW sp.my_area_scope WITH (security_barrier) AS
SELECT a.code AS admin_area_code, a.level, a.name
FROM sp.admin_area a
WHERE a.path = ANY (sp_internal.caller_area_paths())
   OR (sp_internal.caller_area_paths() = ARRAY['/'] AND a.parent_code IS NULL);
COMMENT ON VIEW sp.my_area_scope IS 'The areas at the top of the caller''s scope (each covers its subtree).';

-- Areas are configuration, but an area's place in the tree decides who sees
-- its households: an administrator changes only areas of its own scope and
-- places areas only under areas of its scope (re-parenting another region
-- under one's own would hand oneself that region).  New countries need
-- national scope.  Superusers (restores, the install script) are not
-- checked.  SECURITY DEFINER: the scope helpers are not granted to roles.
CREATE FUNCTION sp_internal.admin_area_check_scope()
    RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.oid = sp_internal.caller_oid()) THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        PERFORM sp_internal.require_area_scope(OLD.code, 'Changing an area');
    END IF;
    IF NEW.parent_code IS NULL THEN
        IF TG_OP = 'INSERT' OR OLD.parent_code IS NOT NULL THEN
            PERFORM sp_internal.require_national_scope('Adding a country');
        END IF;
    ELSIF TG_OP = 'INSERT' OR NEW.parent_code IS DISTINCT FROM OLD.parent_code THEN
        PERFORM sp_internal.require_area_scope(NEW.parent_code, 'Placing an area');
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION sp_internal.admin_area_check_scope() IS 'Trigger: a role changes only areas in its scope and places areas only under areas in its scope; new countries need national scope.';
CREATE TRIGGER admin_area_check_scope BEFORE INSERT OR UPDATE ON sp.admin_area
    FOR EACH ROW EXECUTE FUNCTION sp_internal.admin_area_check_scope();

-- Configuration that applies to every region (the questionnaire catalogue,
-- linkage models) is written directly by administrators: a trigger requires
-- national scope, as the runs that use it do.  SECURITY DEFINER: the scope
-- helpers are not granted to roles.  Argument: what is being changed.
CREATE FUNCTION sp_internal.national_configuration()
    RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM sp_internal.require_national_scope(TG_ARGV[0]);
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;
COMMENT ON FUNCTION sp_internal.national_configuration() IS 'Trigger: changes of configuration that applies to every region need national scope (superusers have it).';
