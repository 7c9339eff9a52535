-- Drops that would take the registry with them are refused while sp.person
-- has rows, whatever the path: the extension itself, its schemas, and the
-- cascades from what it depends on (PostGIS, pgcrypto, plpgsql, the schema
-- they live in, the role that owns them).  Each refusal rolls the whole
-- statement back.  Runs in databases of its own, so that the override at the
-- end cannot take the registry of the other tests with it.
\set SHOW_CONTEXT never
\set regress_db :DBNAME

CREATE ROLE regress_sp_dba SUPERUSER;          -- installs and owns the extensions
CREATE ROLE regress_sp_db_owner;               -- owns the database, not a superuser
CREATE DATABASE regress_sp_drop_guard TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C'
    OWNER regress_sp_db_owner;
\c regress_sp_drop_guard

SET ROLE regress_sp_dba;
SET client_min_messages = warning;
CREATE EXTENSION sp_registry CASCADE;          -- PostGIS and pgcrypto land in public
RESET client_min_messages;
INSERT INTO sp.admin_area (code, parent_code, level, name) VALUES ('DG', NULL, 0, 'Drop guard land');
-- 617 households of two: 1,234 persons
SELECT count(sp.register_household(jsonb_build_object(
           'admin_area_code', 'DG', 'location', jsonb_build_object('lat', 1.5, 'lon', 31.5),
           'members', jsonb_build_array(
               jsonb_build_object('given_name', 'Head ' || i, 'relationship_to_head', 'head',
                                  'national_id', 'DG-' || i),
               jsonb_build_object('given_name', 'Child ' || i, 'relationship_to_head', 'child')))))
       AS households
FROM generate_series(1, 617) i;
RESET ROLE;

CREATE FUNCTION pg_temp.registry() RETURNS text LANGUAGE sql AS $$
    SELECT format('%s persons, %s households; extensions %s',
                  (SELECT count(*) FROM sp.person), (SELECT count(*) FROM sp.household),
                  (SELECT string_agg(extname, ', ' ORDER BY extname) FROM pg_extension))
$$;
SELECT pg_temp.registry();

-- the dependencies, dropped with CASCADE (the common "reset" idioms)
DROP EXTENSION postgis CASCADE;
SELECT pg_temp.registry();
DROP EXTENSION pgcrypto CASCADE;
SELECT pg_temp.registry();
DROP SCHEMA public CASCADE;
SELECT pg_temp.registry();
DROP EXTENSION plpgsql CASCADE;
SELECT pg_temp.registry();

-- the role that owns the extensions
DROP OWNED BY regress_sp_dba;
SELECT pg_temp.registry();
DROP OWNED BY regress_sp_dba CASCADE;
SELECT pg_temp.registry();

-- the extension and its schemas, by name
DROP EXTENSION sp_registry;
DROP EXTENSION sp_registry CASCADE;
DROP SCHEMA sp CASCADE;
DROP SCHEMA sp_internal CASCADE;
SELECT pg_temp.registry();

-- members alone: PostgreSQL itself refuses, naming the extension
DROP TYPE geometry CASCADE;
DROP FUNCTION digest(bytea, text) CASCADE;
DROP TABLE sp.person CASCADE;
DROP LANGUAGE plpgsql CASCADE;
SELECT pg_temp.registry();

-- detaching a member would take it out of the guard (and break restores)
ALTER EXTENSION sp_registry DROP TABLE sp.person;
ALTER EXTENSION sp_registry DROP FUNCTION sp_internal.guard_drop();
SELECT count(*) AS members_still_attached FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
WHERE e.extname = 'sp_registry' AND d.deptype = 'e'
  AND d.objid IN ('sp.person'::regclass, 'sp_internal.guard_drop()'::regprocedure);

-- session_replication_role = replica (some restore procedures use it) does not switch the guard off
SET session_replication_role = replica;
DROP EXTENSION pgcrypto CASCADE;
RESET session_replication_role;

-- the database owner (not a superuser) owns schema public, so DROP SCHEMA
-- public CASCADE is theirs to run, although they cannot even read the
-- registry: refused all the same, and they cannot override
SET ROLE regress_sp_db_owner;
SELECT count(*) FROM sp.person;
DROP SCHEMA public CASCADE;
SET sp_registry.allow_hard_delete = on;
RESET ROLE;
SELECT pg_temp.registry();

-- an explicit override by a superuser: the drop goes through
SET sp_registry.allow_hard_delete = on;
SET client_min_messages = warning;
DROP SCHEMA public CASCADE;
RESET client_min_messages;
RESET sp_registry.allow_hard_delete;
SELECT to_regclass('sp.person') AS person_table,
       (SELECT string_agg(extname, ', ' ORDER BY extname) FROM pg_extension) AS extensions;

-- PostGIS and pgcrypto in schemas of their own (as the DBA guide recommends):
-- the registry works with them there, and DROP SCHEMA public CASCADE does
-- not touch it at all
CREATE DATABASE regress_sp_own_schemas TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C';
\c regress_sp_own_schemas
CREATE SCHEMA postgis;
CREATE EXTENSION postgis SCHEMA postgis;
CREATE SCHEMA pgcrypto;
CREATE EXTENSION pgcrypto SCHEMA pgcrypto;
CREATE EXTENSION sp_registry;
-- an empty registry drops and installs again freely
DROP EXTENSION sp_registry;
CREATE EXTENSION sp_registry;
DROP SCHEMA public CASCADE;
SET search_path = "$user";                     -- neither PostGIS nor pgcrypto on the path
INSERT INTO sp.admin_area (code, parent_code, level, name, geom) VALUES
    ('OS', NULL, 0, 'Own schemas', postgis.ST_Multi(postgis.ST_MakeEnvelope(30, -5, 40, 5, 4326)));
SELECT sp.register_household($${
  "admin_area_code": "OS", "location": {"lat": 2.5, "lon": 32.25},
  "members": [{"given_name": "Amina", "family_name": "Odhiambo", "relationship_to_head": "head",
               "national_id": "12-345-678", "phone": "+254 712 345 678"}]}$$) ->> 'person_ids' AS person_ids;
SELECT postgis.ST_AsText(location) AS location,
       postgis.ST_Contains(a.geom, h.location) AS inside_area
FROM sp.household h JOIN sp.admin_area a ON a.code = h.admin_area_code;
SELECT person_id, given_name FROM sp.find_person_by_national_id('12345678', 'drop guard test');
SELECT sp.person_national_id(p.person_id, 'drop guard test') AS national_id,
       sp.person_phone(p.person_id, 'drop guard test') AS phone
FROM sp.person p;
SELECT nspname AS schema, string_agg(e.extname, ', ' ORDER BY e.extname) AS extensions
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
GROUP BY nspname ORDER BY nspname;
-- with persons, the cascade from their schemas is refused like any other
DROP SCHEMA postgis CASCADE;
DROP SCHEMA pgcrypto CASCADE;
SELECT count(*) AS persons FROM sp.person;

\c :regress_db
DROP DATABASE regress_sp_drop_guard;
DROP DATABASE regress_sp_own_schemas;
DROP ROLE regress_sp_dba;
DROP ROLE regress_sp_db_owner;
