-- Adversarial suite, part 3: a hostile search_path.  A registrar plants, in a
-- schema it owns and in its temporary schema, functions and operators that
-- shadow the built-ins the registry's code uses (=, ->>, ||, btrim, format,
-- jsonb_typeof, now, nextval, pg_has_role, unnest, ...) and relations named
-- like catalogs and like the registry's own temporary tables; every one of
-- them raises "hijacked".  Then every call in adv_lab.calls (every function
-- a shipped role may execute, SECURITY DEFINER or not, and the direct
-- writes of configuration whose triggers run as the owner) is run with a
-- normal search_path and with three hostile ones: the outcome must be the
-- same (ids aside: sequences move on).
BEGIN;
SELECT plan(8);
\ir adversarial_setup.psql

-- 1: every SECURITY DEFINER function a shipped role may execute is called below
SELECT is_empty($$
    SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname IN ('sp', 'sp_internal') AND p.prosecdef
      AND EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname LIKE 'sp\_%' AND has_function_privilege(r.oid, p.oid, 'EXECUTE'))
      AND p.oid::regprocedure::text NOT IN (SELECT fn FROM adv_lab.calls)
$$, 'every SECURITY DEFINER function a shipped role may execute is attacked');

GRANT CREATE ON SCHEMA adv_evil TO adv_registrar;
SET LOCAL ROLE adv_registrar;
DO $plant$
DECLARE
    f text;
    op record;
BEGIN
    -- functions: name(argument types) returns type
    FOREACH f IN ARRAY ARRAY[
        'btrim(text) RETURNS text', 'btrim(text, text) RETURNS text', 'length(text) RETURNS integer',
        'lower(text) RETURNS text', 'upper(text) RETURNS text', 'left(text, integer) RETURNS text',
        'replace(text, text, text) RETURNS text', 'starts_with(text, text) RETURNS boolean',
        'format(text) RETURNS text', 'format(text, text) RETURNS text', 'format(text, text, text) RETURNS text',
        'concat(text, text) RETURNS text', 'regexp_replace(text, text, text) RETURNS text',
        'string_to_array(text, text) RETURNS text[]', 'array_to_string(anyarray, text) RETURNS text',
        'unnest(anyarray) RETURNS SETOF anyelement', 'cardinality(anyarray) RETURNS integer',
        'array_remove(anyarray, anyelement) RETURNS anyarray',
        'jsonb_typeof(jsonb) RETURNS text', 'jsonb_array_length(jsonb) RETURNS integer',
        'jsonb_object_keys(jsonb) RETURNS SETOF text', 'jsonb_array_elements(jsonb) RETURNS SETOF jsonb',
        'jsonb_strip_nulls(jsonb) RETURNS jsonb', 'jsonb_build_object(text, text) RETURNS jsonb',
        'jsonb_build_array(jsonb) RETURNS jsonb', 'to_jsonb(text) RETURNS jsonb',
        'jsonb_set(jsonb, text[], jsonb) RETURNS jsonb', 'jsonb_path_exists(jsonb, jsonpath) RETURNS boolean',
        'now() RETURNS timestamptz', 'clock_timestamp() RETURNS timestamptz',
        'current_setting(text) RETURNS text', 'current_setting(text, boolean) RETURNS text',
        'set_config(text, text, boolean) RETURNS text', 'nextval(regclass) RETURNS bigint',
        'pg_has_role(oid, oid, text) RETURNS boolean', 'pg_has_role(name, name, text) RETURNS boolean',
        'pg_has_role(oid, text, text) RETURNS boolean', 'hashtext(text) RETURNS integer', 'md5(text) RETURNS text',
        'pg_advisory_xact_lock(bigint) RETURNS void', 'encode(bytea, text) RETURNS text',
        'convert_to(text, name) RETURNS bytea', 'gen_random_uuid() RETURNS uuid', 'abs(double precision) RETURNS double precision',
        'round(numeric, integer) RETURNS numeric', 'age(timestamptz, timestamptz) RETURNS interval',
        'date_part(text, interval) RETURNS double precision', 'to_regclass(text) RETURNS regclass',
        'jsonb_agg(jsonb) RETURNS jsonb', 'generate_series(integer, integer) RETURNS SETOF integer'] LOOP
        CONTINUE WHEN f LIKE 'jsonb_agg%';   -- aggregates: below
        EXECUTE format('CREATE FUNCTION adv_evil.%s LANGUAGE plpgsql AS $b$ BEGIN RAISE EXCEPTION ''hijacked: %s''; END $b$',
                       f, split_part(f, ')', 1) || ')');
        EXECUTE format('CREATE FUNCTION pg_temp.%s LANGUAGE plpgsql AS $b$ BEGIN RAISE EXCEPTION ''hijacked: pg_temp.%s''; END $b$',
                       f, split_part(f, ')', 1) || ')');
    END LOOP;
    -- operators on the built-in types the code compares and builds with
    FOR op IN SELECT * FROM (VALUES
        ('=', 'text', 'text', 'boolean'), ('<>', 'text', 'text', 'boolean'), ('=', 'bigint', 'bigint', 'boolean'),
        ('=', 'integer', 'integer', 'boolean'), ('<', 'double precision', 'double precision', 'boolean'),
        ('>=', 'double precision', 'double precision', 'boolean'), ('->>', 'jsonb', 'text', 'text'),
        ('->', 'jsonb', 'text', 'jsonb'), ('->', 'jsonb', 'integer', 'jsonb'), ('?', 'jsonb', 'text', 'boolean'),
        ('?|', 'jsonb', 'text[]', 'boolean'), ('||', 'text', 'text', 'text'), ('||', 'jsonb', 'jsonb', 'jsonb'),
        ('#>>', 'jsonb', 'text[]', 'text'), ('@>', 'text[]', 'text[]', 'boolean'), ('~', 'text', 'text', 'boolean'),
        ('~~', 'text', 'text', 'boolean'), ('+', 'integer', 'integer', 'integer'), ('=', 'jsonb', 'jsonb', 'boolean'),
        ('=', 'bytea', 'bytea', 'boolean'), ('=', 'uuid', 'uuid', 'boolean')) v (name, l, r, res) LOOP
        EXECUTE format('CREATE FUNCTION adv_evil.%I(%s, %s) RETURNS %s LANGUAGE plpgsql AS $b$ BEGIN RAISE EXCEPTION ''hijacked: operator %s(%s, %s)''; END $b$',
                       'op_' || md5(op.name || op.l || op.r), op.l, op.r, op.res, op.name, op.l, op.r);
        EXECUTE format('CREATE OPERATOR adv_evil.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = adv_evil.%I)',
                       op.name, op.l, op.r, 'op_' || md5(op.name || op.l || op.r));
    END LOOP;
END
$plant$;
CREATE FUNCTION adv_evil.agg_hijack(jsonb, jsonb) RETURNS jsonb LANGUAGE plpgsql AS
    $$ BEGIN RAISE EXCEPTION 'hijacked: jsonb_agg'; END $$;
CREATE AGGREGATE adv_evil.jsonb_agg(jsonb) (SFUNC = adv_evil.agg_hijack, STYPE = jsonb);
-- relations named like catalogs, in the attacker's schema and temporary schema
CREATE TABLE adv_evil.pg_roles (rolname name, oid oid, rolsuper boolean);
CREATE TABLE adv_evil.pg_class (oid oid, relname name);
CREATE TEMP TABLE pg_roles (rolname name, oid oid, rolsuper boolean);
CREATE TEMP TABLE pg_namespace (oid oid, nspname name);
INSERT INTO adv_evil.pg_roles SELECT 'adv_registrar', oid, true FROM pg_catalog.pg_roles WHERE rolname = 'adv_registrar';
INSERT INTO pg_temp.pg_roles SELECT * FROM adv_evil.pg_roles;
GRANT ALL ON ALL TABLES IN SCHEMA adv_evil TO PUBLIC;
GRANT ALL ON pg_temp.pg_roles, pg_temp.pg_namespace TO PUBLIC;
RESET ROLE;

-- the outcome of every call under a search_path, ids replaced by N
CREATE TEMP TABLE outcomes AS
SELECT c.fn, p.path, regexp_replace(adv_lab.outcome(c.role, p.path, c.sql), '\d+', 'N', 'g') AS outcome
FROM adv_lab.calls c
CROSS JOIN (VALUES ('"$user", public'), ('adv_evil, pg_catalog'), ('adv_evil'), ('pg_temp, adv_evil, pg_catalog, public')) p (path);

-- 2-5
SELECT is_empty($$SELECT fn, outcome FROM outcomes WHERE path = '"$user", public' AND outcome NOT LIKE 'ok:%'
                  AND fn NOT IN ('sp.unmerge_person(bigint,text)')$$,
                'every call succeeds with a normal search_path (the baseline is a real run, not an error)');
SELECT is_empty($$
    SELECT h.fn, n.outcome AS normal, h.outcome AS hostile FROM outcomes n JOIN outcomes h USING (fn)
    WHERE n.path = '"$user", public' AND h.path = 'adv_evil, pg_catalog' AND n.outcome <> h.outcome
$$, 'search_path = adv_evil, pg_catalog (planted functions and operators first): every call behaves the same');
SELECT is_empty($$
    SELECT h.fn, n.outcome AS normal, h.outcome AS hostile FROM outcomes n JOIN outcomes h USING (fn)
    WHERE n.path = '"$user", public' AND h.path = 'adv_evil' AND n.outcome <> h.outcome
$$, 'search_path = adv_evil (temporary relations implicitly first): every call behaves the same');
SELECT is_empty($$
    SELECT h.fn, n.outcome AS normal, h.outcome AS hostile FROM outcomes n JOIN outcomes h USING (fn)
    WHERE n.path = '"$user", public' AND h.path = 'pg_temp, adv_evil, pg_catalog, public' AND n.outcome <> h.outcome
$$, 'search_path = pg_temp, adv_evil, pg_catalog: every call behaves the same');

-- 6: the planted objects are real: they do hijack the attacker's own queries
SELECT is(adv_lab.outcome('adv_registrar', 'adv_evil, pg_catalog', 'SELECT btrim(''x'')'),
          'P0001:hijacked: btrim(text)', '(the planted objects do hijack unqualified calls outside the registry''s code)');

-- 7: the registry's temporary work tables, planted beforehand with a trigger:
-- the runs either replace them or stop with 42P07; the attacker's trigger
-- (which would run as the extension owner) never fires
SET LOCAL ROLE adv_registrar;
CREATE FUNCTION adv_evil.temp_trigger() RETURNS trigger LANGUAGE plpgsql AS
    $$ BEGIN RAISE EXCEPTION 'hijacked: temporary table trigger on %', TG_TABLE_NAME; END $$;
DO $temps$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['sp_eval', 'sp_open', 'sp_held', 'sp_rank', 'sp_pmt_scores', 'sp_dedup_pairs'] LOOP
        EXECUTE format('CREATE TEMP TABLE %I (household_id bigint, person_id bigint, left_id bigint, right_id bigint)', t);
        EXECUTE format('CREATE TRIGGER t BEFORE INSERT OR UPDATE OR DELETE ON pg_temp.%I FOR EACH ROW EXECUTE FUNCTION adv_evil.temp_trigger()', t);
        EXECUTE format('GRANT ALL ON pg_temp.%I TO PUBLIC', t);
    END LOOP;
END
$temps$;
RESET ROLE;
SELECT is_empty($$
    SELECT c.fn, o FROM adv_lab.calls c, LATERAL adv_lab.outcome(c.role, NULL, c.sql) o
    WHERE c.fn IN ('sp.determine_eligibility(text)', 'sp.enrol(text)', 'sp.recertify(text)',
                   'sp.score_households(text,text)', 'sp.deduplicate_persons(text,double precision,double precision,double precision)')
      AND o NOT LIKE 'ok:%' AND o NOT LIKE '42P07:relation "sp\_%" already exists'
$$, 'temporary tables planted under the names of the registry''s work tables are replaced or refused, never written');

-- 8: nothing anywhere was hijacked
SELECT is_empty($$SELECT fn, path, outcome FROM outcomes WHERE outcome LIKE '%hijacked%'$$,
                'no planted function, operator or relation ran inside the registry''s code');

SELECT * FROM finish();
ROLLBACK;
