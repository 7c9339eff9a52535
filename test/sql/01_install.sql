-- Install, inspect, uninstall, reinstall.
SET client_min_messages = warning;
CREATE EXTENSION sp_registry CASCADE;
RESET client_min_messages;

SELECT extname, extversion, extrelocatable, n.nspname AS schema
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE extname = 'sp_registry';

-- no member object lives in public
SELECT count(*) AS objects_in_public
FROM pg_depend d
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'sp_registry'
WHERE d.deptype = 'e'
  AND pg_describe_object(d.classid, d.objid, d.objsubid) ~ '(^| )public\.';

-- every public table, view and function in sp carries a comment
SELECT c.relname AS uncommented_relation
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'sp' AND c.relkind IN ('r', 'v', 'm') AND obj_description(c.oid, 'pg_class') IS NULL;
SELECT p.oid::regprocedure AS uncommented_function
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'sp' AND obj_description(p.oid, 'pg_proc') IS NULL;

-- SECURITY DEFINER only with search_path = pg_catalog, pg_temp
SELECT p.oid::regprocedure AS unsafe_security_definer
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname IN ('sp', 'sp_internal') AND p.prosecdef
  AND NOT coalesce(p.proconfig, '{}') @> ARRAY['search_path=pg_catalog, pg_temp'];

-- SQL and PL/pgSQL functions pin their search_path (bodies never rely on the caller's)
SELECT p.oid::regprocedure AS unpinned_function
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
WHERE n.nspname IN ('sp', 'sp_internal') AND l.lanname IN ('sql', 'plpgsql')
  AND NOT coalesce(p.proconfig, '{}')::text ~ 'search_path=';

-- PII functions are not executable by PUBLIC
SELECT p.oid::regprocedure AS pii_function, has_function_privilege('public', p.oid, 'EXECUTE') AS public_can_execute
FROM pg_proc p
WHERE p.oid IN ('sp.person_national_id(bigint,text)'::regprocedure, 'sp.person_phone(bigint,text)'::regprocedure,
                'sp.find_person_by_national_id(text,text)'::regprocedure,
                'sp_internal.decrypt_pii(bytea)'::regprocedure, 'sp_internal.read_pii(bigint,text,text)'::regprocedure)
ORDER BY 1::text;

-- the shipped roles exist and cannot log in
SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname LIKE 'sp\_%' ORDER BY 1;

-- GUCs are reserved under sp_registry.
SELECT sp.normalize_national_id('ab-1');  -- loads the module
SELECT name, setting, context FROM pg_settings WHERE name LIKE 'sp_registry.%' ORDER BY 1;
SET sp_registry.no_such_setting = 1;

-- uninstall removes every object (the schema sp, which CREATE EXTENSION made
-- from the control file, stays behind empty) and leaves PostGIS and pgcrypto
DROP EXTENSION sp_registry;
SELECT nspname, (SELECT count(*) FROM pg_class c WHERE c.relnamespace = n.oid) AS relations,
       (SELECT count(*) FROM pg_proc p WHERE p.pronamespace = n.oid) AS functions
FROM pg_namespace n WHERE nspname IN ('sp', 'sp_internal');
SELECT extname FROM pg_extension WHERE extname IN ('postgis', 'pgcrypto') ORDER BY 1;

-- and it installs again over the surviving roles
CREATE EXTENSION sp_registry;
SELECT count(*) > 0 AS reinstalled FROM pg_proc WHERE proname = 'register_household';
