-- Coverage by area (issue 13): figures per area against hand-counted ones,
-- small-cell suppression (no count from 1 to k - 1, and no published total
-- that gives one back), analysts' stricter threshold, GeoJSON, vector tiles
-- and the offline map.
\set SHOW_CONTEXT never
\set VERBOSITY terse

-- Coverland: two regions, four districts as unit squares
INSERT INTO sp.admin_area (code, parent_code, level, name, valid_from) VALUES ('CV', NULL, 0, 'Coverland', '2020-01-01');
CREATE FUNCTION pg_temp.sq(code text, parent text, level int, x0 float8, y0 float8, w float8) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object('type', 'Feature',
        'properties', jsonb_build_object('ADM' || level || '_PCODE', code, 'ADM' || (level - 1) || '_PCODE', parent,
                                         'ADM' || level || '_EN', 'Area ' || code, 'validOn', '2024-01-01'),
        'geometry', ST_AsGeoJSON(ST_MakeEnvelope(x0, y0, x0 + w, y0 + 1))::jsonb) $$;
SELECT sp.import_admin_areas(jsonb_build_object('type', 'FeatureCollection', 'features', jsonb_build_array(
    pg_temp.sq('CV01', 'CV', 1, 10, 10, 3), pg_temp.sq('CV02', 'CV', 1, 13, 10, 1))), 1, 'v1') ->> 'added' AS regions;
SELECT sp.import_admin_areas(jsonb_build_object('type', 'FeatureCollection', 'features', jsonb_build_array(
    pg_temp.sq('CV0101', 'CV01', 2, 10, 10, 1), pg_temp.sq('CV0102', 'CV01', 2, 11, 10, 1),
    pg_temp.sq('CV0103', 'CV01', 2, 12, 10, 1), pg_temp.sq('CV0201', 'CV02', 2, 13, 10, 1))), 2, 'v1') ->> 'added' AS districts;
-- households per district: (registered, eligible, enrolled)
--   CV0101 (10, 8, 6)   CV0102 (3, 2, 1)   CV0103 (7, 6, 0)   CV0201 (12, 12, 9)
INSERT INTO sp.programme (name, title, benefit_type, rule) VALUES ('cv_cash', 'Coverland cash transfer', 'cash', '{"area": "CV"}');
CREATE TEMP TABLE plan (area text, registered int, eligible int, enrolled int);
INSERT INTO plan VALUES ('CV0101', 10, 8, 6), ('CV0102', 3, 2, 1), ('CV0103', 7, 6, 0), ('CV0201', 12, 12, 9);
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

-- by hand, before suppression
SELECT area_code, registered, eligible, enrolled, paid FROM sp_internal.coverage_counts('cv_cash', 2, 'CV') ORDER BY area_code;
-- suppressed (k = 5): CV0102's 3, 2 and 1 are small; under CV01 each is the
-- only small count of its column, so the smallest other non-zero one goes
-- too (CV0103's 7 and 6, CV0101's 6 enrolled: CV0103 enrolled none)
SELECT * FROM sp.coverage_by_area('cv_cash', 2, 'CV');
SELECT * FROM sp.coverage_by_area('cv_cash', 1, 'CV');
SELECT * FROM sp.coverage_by_area('cv_cash', 0, 'CV');
-- no published total gives back a withheld count: for every parent and
-- column, the children withheld are none or at least two, or the parent's
-- own count is withheld
CREATE TEMP TABLE published AS
SELECT 1 AS level, * FROM sp.coverage_by_area('cv_cash', 1, 'CV') UNION ALL SELECT 2, * FROM sp.coverage_by_area('cv_cash', 2, 'CV')
UNION ALL SELECT 0, * FROM sp.coverage_by_area('cv_cash', 0, 'CV');
SELECT count(*) AS recoverable_cells FROM (
    SELECT c.parent_code, col.name
    FROM published c CROSS JOIN unnest(ARRAY['registered', 'eligible', 'enrolled', 'paid']) col (name)
    WHERE c.level > 0
    GROUP BY c.parent_code, c.level, col.name
    HAVING count(*) FILTER (WHERE col.name = ANY (c.suppressed)) = 1
       AND NOT EXISTS (SELECT 1 FROM published p WHERE p.area_code = c.parent_code AND col.name = ANY (p.suppressed))) x;
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
-- script; the three areas without a rate are hatched (and the legend's swatch)
SELECT (SELECT count(*) FROM regexp_matches(h, '<path ', 'g')) AS paths,
       h LIKE '%id="legend"%' AS legend, h NOT LIKE '%<script%' AS no_script,
       h LIKE '%<title>Area CV0201 (CV0201): 75\% of eligible households enrolled</title>%' AS tooltip,
       h LIKE '%<title>Area CV0102 (CV0102): no rate (no eligible household, or withheld to protect small numbers)</title>%' AS withheld_tooltip,
       (SELECT count(*) FROM regexp_matches(h, 'fill="url\(#nodata\)"', 'g')) AS hatched
FROM sp.coverage_map_html('cv_cash', 2, NULL, 'CV') h;
SELECT sp.coverage_map_html('cv_cash', 3, NULL, 'CV');
SELECT * FROM sp.coverage_by_area('cv_cash', 1, 'XX');

DROP OWNED BY sp_test_cov_analyst;
DROP ROLE sp_test_cov_analyst;
DELETE FROM sp.privacy_setting WHERE name = 'coverage_min_cell_size';
