-- The role matrix of docs/security.md, generated from the catalog of a
-- database with the extension installed (psql -XAt -f scripts/role-matrix.sql).
-- scripts/run-tests.sh compares it with the copy in docs/security.md, so the
-- documentation cannot drift from the grants; `make role-matrix` rewrites it.
--
-- One row per table, view and function of schema sp (and of sp_internal where
-- a shipped role has any privilege), one column per shipped role:
--   r  SELECT on every column        c  SELECT on some columns only
--   w  INSERT/UPDATE/DELETE on some columns (configuration tables only)
--   x  EXECUTE
-- Privileges held through membership (sp_admin holds four roles) are shown.
\pset footer off
WITH roles (ord, r, label) AS (
    VALUES (1, 'sp_admin', 'admin'), (2, 'sp_registrar', 'registrar'), (3, 'sp_caseworker', 'caseworker'),
           (4, 'sp_programme_officer', 'programme'), (5, 'sp_payment_officer', 'payment'),
           (6, 'sp_grievance_officer', 'grievance'), (7, 'sp_analyst', 'analyst'), (8, 'sp_auditor', 'auditor'),
           (9, 'sp_pii_reader', 'pii_reader'), (10, 'sp_integration', 'integration'), (11, 'sp_gateway', 'gateway')
),
rels AS (
    SELECT c.oid, n.nspname, c.relname AS name, CASE c.relkind WHEN 'v' THEN 'view' ELSE 'table' END AS kind
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname IN ('sp', 'sp_internal') AND c.relkind IN ('r', 'v', 'p')
),
rel_cells AS (
    SELECT x.nspname, x.name, x.kind, ro.ord,
           concat(CASE WHEN has_table_privilege(ro.r, x.oid, 'SELECT') THEN 'r'
                       WHEN has_any_column_privilege(ro.r, x.oid, 'SELECT') THEN 'c' ELSE '' END,
                  CASE WHEN has_any_column_privilege(ro.r, x.oid, 'INSERT') OR has_any_column_privilege(ro.r, x.oid, 'UPDATE')
                            OR has_table_privilege(ro.r, x.oid, 'DELETE') THEN 'w' ELSE '' END) AS cell
    FROM rels x CROSS JOIN roles ro
),
funcs AS (
    SELECT p.oid, n.nspname, p.oid::regprocedure::text AS name, 'function' AS kind
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname IN ('sp', 'sp_internal') AND p.prokind = 'f'
      AND p.prorettype NOT IN ('trigger'::regtype, 'event_trigger'::regtype)
),
func_cells AS (
    SELECT f.nspname, f.name, f.kind, ro.ord,
           CASE WHEN has_function_privilege(ro.r, f.oid, 'EXECUTE') THEN 'x' ELSE '' END AS cell
    FROM funcs f CROSS JOIN roles ro
),
cells AS (SELECT * FROM rel_cells UNION ALL SELECT * FROM func_cells),
rows AS (
    SELECT nspname, kind, name, string_agg(cell, '|' ORDER BY ord) AS line, bool_or(cell <> '') AS granted
    FROM cells GROUP BY nspname, kind, name
)
SELECT line FROM (
    SELECT 0 AS k, '' AS s, '' AS n,
           '| object | kind | ' || (SELECT string_agg(label, ' | ' ORDER BY ord) FROM roles) || ' |' AS line
    UNION ALL
    SELECT 1, '', '', '|---|---|' || (SELECT string_agg('---', '|') FROM roles) || '|'
    UNION ALL
    SELECT 2, CASE nspname WHEN 'sp' THEN '0' ELSE '1' END || kind, name,
           '| `' || CASE WHEN kind = 'function' THEN name ELSE nspname || '.' || name END || '` | ' || kind || ' | '
           || replace(line, '|', ' | ') || ' |'
    FROM rows WHERE nspname = 'sp' OR granted
) m
ORDER BY k, s, n;
