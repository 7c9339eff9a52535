-- Upgrade path: installing the oldest shipped version and updating to the
-- default must give exactly what a fresh install of the default gives.  With
-- a single version this checks the mechanism; it keeps checking as
-- sql/updates/sp_registry--A--B.sql scripts are added.
SET client_min_messages = warning;

-- the registry holds persons from the earlier tests: dropping it is refused...
DROP EXTENSION sp_registry CASCADE;
DROP SCHEMA sp CASCADE;
SELECT count(*) > 0 AS persons_still_there FROM sp.person;
-- ...unless a superuser says so explicitly
SET sp_registry.allow_hard_delete = on;

-- each member object with its definition: function source and settings,
-- relation columns (by name, since an upgrade appends new columns)
CREATE FUNCTION pg_temp.extension_fingerprint() RETURNS TABLE (object text)
LANGUAGE sql AS $$
    SELECT pg_describe_object(d.classid, d.objid, d.objsubid) || ' ' || coalesce(
        CASE d.classid
        WHEN 'pg_proc'::regclass THEN md5(pg_get_functiondef(d.objid))
        WHEN 'pg_class'::regclass THEN (
            SELECT string_agg(a.attname || ':' || format_type(a.atttypid, a.atttypmod)
                              || CASE WHEN a.attnotnull THEN '!' ELSE '' END, ',' ORDER BY a.attname)
            FROM pg_attribute a WHERE a.attrelid = d.objid AND a.attnum > 0 AND NOT a.attisdropped)
        END, '')
    FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
    WHERE e.extname = 'sp_registry' AND d.deptype = 'e'
$$;

CREATE FUNCTION pg_temp.oldest_version() RETURNS text
LANGUAGE sql AS $$
    SELECT version FROM pg_available_extension_versions WHERE name = 'sp_registry'
    ORDER BY string_to_array(version, '.')::int[] LIMIT 1
$$;

SELECT default_version FROM pg_available_extensions WHERE name = 'sp_registry';
SELECT pg_temp.oldest_version();

DROP EXTENSION sp_registry CASCADE;
CREATE EXTENSION sp_registry;
CREATE TEMP TABLE fresh AS SELECT * FROM pg_temp.extension_fingerprint();

DROP EXTENSION sp_registry CASCADE;
SELECT format('CREATE EXTENSION sp_registry VERSION %L', pg_temp.oldest_version()) \gexec
ALTER EXTENSION sp_registry UPDATE;
SELECT extversion = (SELECT default_version FROM pg_available_extensions WHERE name = 'sp_registry') AS at_default
FROM pg_extension WHERE extname = 'sp_registry';
CREATE TEMP TABLE upgraded AS SELECT * FROM pg_temp.extension_fingerprint();

SELECT 'only after upgrade' AS side, object FROM (TABLE upgraded EXCEPT TABLE fresh) a
UNION ALL
SELECT 'only in fresh install', object FROM (TABLE fresh EXCEPT TABLE upgraded) b
ORDER BY 1, 2;
SELECT count(*) > 50 AS fingerprint_has_objects FROM fresh;

-- every version is reachable from the oldest
SELECT target, path IS NOT NULL AS reachable
FROM pg_extension_update_paths('sp_registry')
WHERE source = pg_temp.oldest_version()
ORDER BY target;
