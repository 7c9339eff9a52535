-- Coverage by area (issue 13): figures per area against hand-counted ones,
-- small-cell suppression (no count from 1 to k - 1, and no published total
-- that gives one back), analysts' stricter threshold, GeoJSON, vector tiles
-- and the offline map.
\set SHOW_CONTEXT never
\set VERBOSITY terse

-- Coverland: two regions of three districts (unit squares), one district cut into two wards
INSERT INTO sp.admin_area (code, parent_code, level, name, valid_from) VALUES ('CV', NULL, 0, 'Coverland', '2020-01-01');
CREATE FUNCTION pg_temp.sq(code text, parent text, level int, x0 float8, y0 float8, w float8) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object('type', 'Feature',
        'properties', jsonb_build_object('ADM' || level || '_PCODE', code, 'ADM' || (level - 1) || '_PCODE', parent,
                                         'ADM' || level || '_EN', 'Area ' || code, 'validOn', '2024-01-01'),
        'geometry', ST_AsGeoJSON(ST_MakeEnvelope(x0, y0, x0 + w, y0 + 1))::jsonb) $$;
SELECT sp.import_admin_areas(jsonb_build_object('type', 'FeatureCollection', 'features', jsonb_build_array(
    pg_temp.sq('CV01', 'CV', 1, 10, 10, 3), pg_temp.sq('CV02', 'CV', 1, 13, 10, 3))), 1, 'v1') ->> 'added' AS regions;
SELECT sp.import_admin_areas(jsonb_build_object('type', 'FeatureCollection', 'features', jsonb_build_array(
    pg_temp.sq('CV0101', 'CV01', 2, 10, 10, 1), pg_temp.sq('CV0102', 'CV01', 2, 11, 10, 1), pg_temp.sq('CV0103', 'CV01', 2, 12, 10, 1),
    pg_temp.sq('CV0201', 'CV02', 2, 13, 10, 1), pg_temp.sq('CV0202', 'CV02', 2, 14, 10, 1), pg_temp.sq('CV0203', 'CV02', 2, 15, 10, 1))),
    2, 'v1') ->> 'added' AS districts;
SELECT sp.import_admin_areas(jsonb_build_object('type', 'FeatureCollection', 'features', jsonb_build_array(
    pg_temp.sq('CV010301', 'CV0103', 3, 12, 10, 0.5), pg_temp.sq('CV010302', 'CV0103', 3, 12.5, 10, 0.5))), 3, 'v1') ->> 'added' AS wards;
-- households: (registered, eligible, enrolled)
--   CV0101 (12, 8, 6)   CV0102 (3, 2, 1)   CV0103 = CV010301 (5, 3, 0) + CV010302 (5, 3, 0)
--   CV0201 (12, 10, 7)  CV0202 (1, 1, 1)   CV0203 (8, 4, 2)
INSERT INTO sp.programme (name, title, benefit_type, rule) VALUES ('cv_cash', 'Coverland cash transfer', 'cash', '{"area": "CV"}');
CREATE TEMP TABLE plan (area text, registered int, eligible int, enrolled int);
INSERT INTO plan VALUES ('CV0101', 12, 8, 6), ('CV0102', 3, 2, 1), ('CV010301', 5, 3, 0), ('CV010302', 5, 3, 0),
                        ('CV0201', 12, 10, 7), ('CV0202', 1, 1, 1), ('CV0203', 8, 4, 2);
CREATE TEMP TABLE hh AS
SELECT p.area, i, p.eligible, p.enrolled,
       (SELECT household_id FROM sp.household WHERE false) AS household_id FROM plan p, generate_series(1, p.registered) i;
WITH ins AS (INSERT INTO sp.household (admin_area_code) SELECT area FROM hh ORDER BY area, i RETURNING household_id, admin_area_code)
UPDATE hh SET household_id = x.household_id
FROM (SELECT household_id, admin_area_code, row_number() OVER (PARTITION BY admin_area_code ORDER BY household_id) AS i FROM ins) x
WHERE x.admin_area_code = hh.area AND x.i = hh.i;
INSERT INTO sp.enrolment (programme, household_id, state, reason)
SELECT 'cv_cash', household_id, CASE WHEN i <= enrolled THEN 'enrolled' ELSE 'eligible' END, 'coverage test'
FROM hh WHERE i <= eligible ORDER BY household_id;

-- by hand, before suppression (rolled up the P-code paths)
CREATE TEMP TABLE truth AS
SELECT l AS level, c.area_code, max(c.v) FILTER (WHERE c.measure = 'households') AS registered,
       max(c.v) FILTER (WHERE c.measure = 'eligible') AS eligible, max(c.v) FILTER (WHERE c.measure = 'enrolled') AS enrolled,
       max(c.v) FILTER (WHERE c.measure = 'paid') AS paid
FROM generate_series(0, 3) l, sp_internal.registry_area_cells(ARRAY['cv_cash'], l, 1) c
WHERE c.area_code LIKE 'CV%' GROUP BY 1, 2;
SELECT * FROM truth ORDER BY level, area_code;
-- suppressed, k = 5, by hand.  Each count is a part of its parent area's,
-- and eligible a part of registered, enrolled of eligible (the other parts:
-- not eligible, eligible not enrolled), so a count is also withheld where
-- the difference with the count it is nested in is from 1 to 4:
--  regions CV01 (25, 16, 7) and CV02 (21, 15, 10): all differences 5 or more
--  CV0101 (12, 8, 6): 12 - 8 = 4, so 8 goes; under CV01's 7 enrolled, 6 and
--    1* would give each other back: 6 goes; CV0102 (3, 2, 1): all small
--  CV0103 (10, 6, 0): 10 - 6 = 4, so 6 goes; its 0 enrolled stays shown
--  under CV01's 25 registered: 12, 3*, 10: the 3 would come back, 10 goes
--  CV0201 (12, 10, 7): 12 - 10 = 2, so 10 goes; under CV02's 10 enrolled:
--    7, 1*, 2*: the two small ones add up to 3 only, 7 goes
--  CV0202 (1, 1, 1) and CV0203's 4 eligible and 2 enrolled: small; under
--    CV02's 21 registered: 12, 1*, 8: 8 goes
--  wards of CV0103 (its 10 withheld): 5 and 5 would add up to it, the first
--    goes; their eligible (3, 3) are small, so each ward's 5 registered less
--    3 eligible (2) is withheld with them
SELECT * FROM sp.coverage_by_area('cv_cash', 3, 'CV');
SELECT * FROM sp.coverage_by_area('cv_cash', 2, 'CV');
SELECT * FROM sp.coverage_by_area('cv_cash', 1, 'CV');
SELECT * FROM sp.coverage_by_area('cv_cash', 0, 'CV');
-- asking for one area alone, or for the country without an area, shows the same pattern
SELECT area_code, registered, suppressed FROM sp.coverage_by_area('cv_cash', 2, 'CV0103');
SELECT area_code, registered, suppressed FROM sp.coverage_by_area('cv_cash', 2) WHERE area_code LIKE 'CV%' ORDER BY area_code;
-- no published count of any level gives back a withheld one.  Every count
-- and every difference a reader can take (not eligible = registered -
-- eligible, not enrolled = eligible - enrolled, not paid = registered -
-- paid; known when both are shown) is a cell: none shown is from 1 to 4;
-- under a shown parent area the withheld children are none, or two or more
-- adding up to 5 or more; under a withheld parent at least one child with
-- households is withheld
CREATE TEMP TABLE published AS
SELECT 0 AS level, * FROM sp.coverage_by_area('cv_cash', 0, 'CV') UNION ALL SELECT 1, * FROM sp.coverage_by_area('cv_cash', 1, 'CV')
UNION ALL SELECT 2, * FROM sp.coverage_by_area('cv_cash', 2, 'CV') UNION ALL SELECT 3, * FROM sp.coverage_by_area('cv_cash', 3, 'CV');
CREATE TEMP VIEW figure AS
SELECT p.level, p.area_code, p.parent_code, f.name, f.v, f.shown
FROM published p JOIN truth t ON t.area_code = p.area_code
CROSS JOIN LATERAL (VALUES ('registered', t.registered, p.registered IS NOT NULL), ('eligible', t.eligible, p.eligible IS NOT NULL),
                           ('enrolled', t.enrolled, p.enrolled IS NOT NULL), ('paid', t.paid, p.paid IS NOT NULL),
                           ('not eligible', t.registered - t.eligible, p.registered IS NOT NULL AND p.eligible IS NOT NULL),
                           ('not enrolled', t.eligible - t.enrolled, p.eligible IS NOT NULL AND p.enrolled IS NOT NULL),
                           ('not paid', t.registered - t.paid, p.registered IS NOT NULL AND p.paid IS NOT NULL)) f (name, v, shown);
SELECT count(*) AS small_figures_shown FROM figure WHERE shown AND v BETWEEN 1 AND 4;
SELECT count(*) AS recoverable_groups FROM (
    SELECT c.parent_code, c.name
    FROM figure c JOIN figure p ON p.area_code = c.parent_code AND p.name = c.name
    GROUP BY c.parent_code, c.name, p.shown, p.v
    HAVING CASE WHEN NOT p.shown THEN p.v > 0 AND count(*) FILTER (WHERE NOT c.shown AND c.v > 0) = 0 AND count(*) FILTER (WHERE c.v > 0) > 0
                ELSE count(*) FILTER (WHERE NOT c.shown AND c.v > 0) = 1
                     OR coalesce(sum(c.v) FILTER (WHERE NOT c.shown), 5) < 5 END) x;
SELECT count(DISTINCT (c.parent_code, c.name)) AS groups_checked FROM figure c JOIN figure p ON p.area_code = c.parent_code AND p.name = c.name;
-- the same checks find what a table without suppression gives away
INSERT INTO sp.privacy_setting (name, value) VALUES ('coverage_min_cell_size', 1);
TRUNCATE published;
INSERT INTO published
SELECT 0 AS level, * FROM sp.coverage_by_area('cv_cash', 0, 'CV') UNION ALL SELECT 1, * FROM sp.coverage_by_area('cv_cash', 1, 'CV')
UNION ALL SELECT 2, * FROM sp.coverage_by_area('cv_cash', 2, 'CV') UNION ALL SELECT 3, * FROM sp.coverage_by_area('cv_cash', 3, 'CV');
SELECT count(*) AS small_figures_shown_unsuppressed, count(*) FILTER (WHERE name LIKE 'not %') AS of_them_differences
FROM figure WHERE shown AND v BETWEEN 1 AND 4;
DELETE FROM sp.privacy_setting WHERE name = 'coverage_min_cell_size';
-- a stricter threshold, set by a national administrator
INSERT INTO sp.privacy_setting (name, value) VALUES ('coverage_min_cell_size', 11);
SELECT area_code, registered, eligible, enrolled, suppressed FROM sp.coverage_by_area('cv_cash', 2, 'CV');
DELETE FROM sp.privacy_setting WHERE name = 'coverage_min_cell_size';
-- (a threshold of 0 would publish everything: refused)
INSERT INTO sp.privacy_setting (name, value) VALUES ('coverage_min_cell_size', 0);
-- analysts: at least min_cell_size (10), and no level below the de-identified one
CREATE ROLE sp_test_cov_analyst IN ROLE sp_analyst;
SELECT sp.grant_area_scope('sp_test_cov_analyst', 'CV') ->> 'admin_area_code' AS scope;
SET ROLE sp_test_cov_analyst;
SELECT area_code, registered, eligible, enrolled, suppressed FROM sp.coverage_by_area('cv_cash', 2, 'CV');
SELECT * FROM sp.coverage_by_area('cv_cash', 3, 'CV');
-- a table the analyst leaves in the session under the name the owner-run
-- code once used, with a trigger of its own, is never touched: the code uses
-- no temporary table
CREATE TEMP TABLE sp_coverage_cells (level integer, area_code text, parent_code text, col integer, v bigint, hidden boolean);
CREATE FUNCTION pg_temp.hijack() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'hijacked'; END $$;
CREATE TRIGGER hijack BEFORE INSERT OR UPDATE OR TRUNCATE ON pg_temp.sp_coverage_cells FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.hijack();
SELECT count(*) AS districts FROM sp.coverage_by_area('cv_cash', 2, 'CV');
SELECT count(*) AS planted_rows FROM pg_temp.sp_coverage_cells;
DROP TABLE pg_temp.sp_coverage_cells;
-- coverage is read-only work: it runs in a read-only transaction (as on a
-- standby, where analysts often query)
BEGIN READ ONLY;
SELECT count(*) AS districts_read_only FROM sp.coverage_by_area('cv_cash', 2, 'CV');
SELECT length(sp.coverage_map_html('cv_cash', 2)) > 0 AS map_read_only;
COMMIT;
RESET ROLE;
-- bad calls
SELECT * FROM sp.coverage_by_area('nope', 1);
SELECT * FROM sp.coverage_by_area('cv_cash', -1);
SELECT * FROM sp.coverage_by_area(NULL, 1);

-- GeoJSON: one feature per area, withheld counts null
SELECT jsonb_array_length(g -> 'features') AS features,
       g #> '{features,1,properties}' AS cv0102,
       g #>> '{features,0,geometry,type}' AS geometry_type
FROM sp.coverage_geojson('cv_cash', 2, 'CV') g;
-- vector tiles: the tile over Coverland has the areas; one over the ocean is empty
SELECT length(sp.coverage_mvt('cv_cash', 4, 8, 7)) > 0 AS tile_has_areas, length(sp.coverage_mvt('cv_cash', 4, 0, 0)) AS empty_tile;
SELECT sp.coverage_mvt('cv_cash', 23, 0, 0);
SELECT sp.coverage_mvt('cv_cash', 2, 4, 0);
SELECT sp.coverage_mvt('cv_cash', 2, 0, -1);
-- the offline map: one path per area, each with its tooltip, the legend, no
-- script; districts without a rate are hatched (all six here, and the legend's swatch)
SELECT (SELECT count(*) FROM regexp_matches(h, '<path ', 'g')) AS paths,
       h LIKE '%id="legend"%' AS legend, h NOT LIKE '%<script%' AS no_script,
       h LIKE '%<title>Area CV0202 (CV0202): no rate%' AS tooltip,
       h LIKE '%<title>Area CV0102 (CV0102): no rate (no eligible household, or withheld to protect small numbers)</title>%' AS withheld_tooltip,
       (SELECT count(*) FROM regexp_matches(h, 'fill="url\(#nodata\)"', 'g')) AS hatched
FROM sp.coverage_map_html('cv_cash', 2, NULL, 'CV') h;
-- regions: both have a rate, each in its class
SELECT (SELECT count(*) FROM regexp_matches(h, '<path ', 'g')) AS paths,
       h LIKE '%<title>Area CV01 (CV01): 44\% of eligible households enrolled</title>%' AS cv01_tooltip,
       h LIKE '%<title>Area CV02 (CV02): 67\% of eligible households enrolled</title>%' AS cv02_tooltip,
       h LIKE '%fill="#fdcc8a" stroke="#ffffff" stroke-width="0.6"><title>Area CV01 %' AS cv01_40_to_60,
       h LIKE '%fill="#a1d99b" stroke="#ffffff" stroke-width="0.6"><title>Area CV02 %' AS cv02_60_to_80
FROM sp.coverage_map_html('cv_cash', 1, 'Coverland', 'CV') h;
SELECT sp.coverage_map_html('cv_cash', 4, NULL, 'CV');
SELECT * FROM sp.coverage_by_area('cv_cash', 1, 'XX');

DROP OWNED BY sp_test_cov_analyst;
DROP ROLE sp_test_cov_analyst;
DELETE FROM sp.privacy_setting WHERE name = 'coverage_min_cell_size';
