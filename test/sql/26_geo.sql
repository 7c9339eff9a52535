-- Geo-targeting (issue 13): boundaries imported from COD-AB GeoJSON with
-- their versions, point-in-polygon on borders, holes and multipolygons,
-- footprints with buffers in metres at the equator and at 60 degrees, index
-- use, area scopes, and every refusal naming its feature.
\set SHOW_CONTEXT never
\set VERBOSITY terse

-- the real boundaries of Somalia (OCHA COD-AB, 18 regions, 74 districts)
\set adm1 `cat ../shared/data/cod-ab/somalia/som_admbnda_adm1_ocha_20230308_dv.geojson`
\set adm2 `cat ../shared/data/cod-ab/somalia/som_admbnda_adm2_ocha_20230308_dv.geojson`
INSERT INTO sp.admin_area (code, parent_code, level, name, valid_from) VALUES ('SO', NULL, 0, 'Somalia', '2023-03-08');
SELECT r - 'import_id' AS adm1 FROM sp.import_admin_areas(:'adm1'::jsonb, 1, 'COD-AB 2023-03-08') r;
SELECT r - 'import_id' AS adm2 FROM sp.import_admin_areas(:'adm2'::jsonb, 2, 'COD-AB 2023-03-08') r;
-- the same file again: a replay, nothing changes
SELECT r ->> 'replayed' AS replayed, r ->> 'added' AS added FROM sp.import_admin_areas(:'adm1'::jsonb, 1, 'COD-AB 2023-03-08') r;
SELECT level, count(*), count(*) FILTER (WHERE starts_with(path, '/SO/')) AS under_so, min(valid_from), count(DISTINCT boundary_version)
FROM sp.admin_area WHERE code LIKE 'SO%' GROUP BY level ORDER BY level;
SELECT code, name, names, path FROM sp.admin_area WHERE code IN ('SO11', 'SO1101', 'SO22') ORDER BY code;
-- every piece has at most 256 vertices, and the pieces cover each area exactly
SELECT max(ST_NPoints(geom)) <= 256 AS small_pieces, count(DISTINCT code) AS areas FROM sp.admin_area_part WHERE code LIKE 'SO%';
SELECT count(*) AS areas_not_covered_by_their_pieces
FROM sp.admin_area a WHERE a.code LIKE 'SO%' AND a.level > 0
  AND abs(ST_Area(a.geom) - (SELECT sum(ST_Area(p.geom)) FROM sp.admin_area_part p WHERE p.code = a.code)) > 1e-9;
-- Mogadishu, Hargeisa, Kismayo; a point in the Indian Ocean is in no area
SELECT sp.area_at_point(ST_SetSRID(ST_MakePoint(45.3182, 2.0469), 4326)) AS mogadishu,
       sp.area_at_point(ST_SetSRID(ST_MakePoint(45.3182, 2.0469), 4326), 1) AS mogadishu_region,
       sp.area_at_point(ST_SetSRID(ST_MakePoint(44.0650, 9.5600), 4326)) AS hargeisa,
       sp.area_at_point(ST_MakePoint(42.5454, -0.3582)) AS kismayo_no_srid,
       sp.area_at_point(ST_Transform(ST_SetSRID(ST_MakePoint(45.3182, 2.0469), 4326), 3857)) AS mogadishu_web_mercator,
       sp.area_at_point(ST_SetSRID(ST_MakePoint(50, -5), 4326)) AS ocean;

-- a country drawn by hand, with answers known: GX01 a square with a hole,
-- GX02 its neighbour sharing the line x = 1, GX03 two squares (a
-- multipolygon), GX04 an island inside GX01's hole
INSERT INTO sp.admin_area (code, parent_code, level, name, valid_from) VALUES ('GX', NULL, 0, 'Gridland', '2020-01-01');
CREATE FUNCTION pg_temp.fc(VARIADIC features jsonb[]) RETURNS jsonb LANGUAGE sql AS
$$ SELECT jsonb_build_object('type', 'FeatureCollection', 'features', to_jsonb(features)) $$;
CREATE FUNCTION pg_temp.feature(code text, parent text, name text, wkt text, valid_on text DEFAULT '2024-01-01') RETURNS jsonb LANGUAGE sql AS
$$ SELECT jsonb_build_object('type', 'Feature', 'properties', jsonb_build_object('ADM1_PCODE', code, 'ADM0_PCODE', parent, 'ADM1_EN', name,
                                                                               'ADM1_FR', name || ' (fr)', 'validOn', valid_on, 'validTo', NULL),
                             'geometry', ST_AsGeoJSON(ST_GeomFromText(wkt))::jsonb) $$;
SELECT r - 'import_id' AS gridland FROM sp.import_admin_areas(pg_temp.fc(
    pg_temp.feature('GX01', 'GX', 'West', 'POLYGON((0 0, 1 0, 1 1, 0 1, 0 0), (0.4 0.4, 0.6 0.4, 0.6 0.6, 0.4 0.6, 0.4 0.4))'),
    pg_temp.feature('GX02', 'GX', 'East', 'POLYGON((1 0, 2 0, 2 1, 1 1, 1 0))'),
    pg_temp.feature('GX03', 'GX', 'Islands', 'MULTIPOLYGON(((3 0, 4 0, 4 1, 3 1, 3 0)), ((5 0, 6 0, 6 1, 5 1, 5 0)))'),
    -- a bow tie: self-intersecting, repaired and reported
    pg_temp.feature('GX04', 'GX', 'Lake island', 'POLYGON((0.45 0.45, 0.55 0.55, 0.55 0.45, 0.45 0.55, 0.45 0.45))')), 1, 'v1') r;
SELECT code, names, ST_GeometryType(geom) AS type, ST_IsValid(geom) AS valid FROM sp.admin_area WHERE code LIKE 'GX0%' ORDER BY code;
SELECT x AS point, sp.area_at_point(ST_SetSRID(ST_GeomFromText(x), 4326)) AS area
FROM unnest(ARRAY['POINT(0.2 0.2)', 'POINT(0.42 0.5)', 'POINT(0.48 0.5)', 'POINT(1 0.5)', 'POINT(1 0)',
                  'POINT(1.5 0.5)', 'POINT(3.5 0.5)', 'POINT(4.5 0.5)', 'POINT(5.5 0.5)', 'POINT(6 1)']) x;

-- refusals: each names the feature; nothing is written
SELECT count(*) AS areas_before FROM sp.admin_area \gset
SELECT sp.import_admin_areas('{"type": "Feature"}', 1, 'bad');
SELECT sp.import_admin_areas('{"type": "FeatureCollection", "features": []}', 1, 'bad');
SELECT sp.import_admin_areas(jsonb_set(pg_temp.fc(pg_temp.feature('GX05', 'GX', 'A', 'POLYGON((7 0, 8 0, 8 1, 7 0))')),
                             '{crs}', '{"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3857"}}'), 1, 'bad');
SELECT sp.import_admin_areas(pg_temp.fc(pg_temp.feature('GX05', 'GX', 'A', 'POLYGON((7 0, 8 0, 8 1, 7 0))'),
                                        jsonb_set(pg_temp.feature('GX06', 'GX', 'B', 'POLYGON((9 0, 10 0, 10 1, 9 0))'),
                                                  '{geometry}', '{"type": "Polygon", "coordinates": "nowhere"}')), 1, 'bad');
SELECT sp.import_admin_areas(pg_temp.fc(jsonb_set(pg_temp.feature('GX05', 'GX', 'A', 'POLYGON((7 0, 8 0, 8 1, 7 0))'),
                             '{geometry,crs}', '{"type": "name", "properties": {"name": "EPSG:32638"}}')), 1, 'bad');
SELECT sp.import_admin_areas(pg_temp.fc(pg_temp.feature('GX05', 'GX', 'A', 'POLYGON((700000 0, 800000 0, 800000 100000, 700000 0))')), 1, 'bad');
SELECT sp.import_admin_areas(pg_temp.fc(pg_temp.feature('GX05', 'GX', 'A', 'POLYGON((7 0, 8 0, 9 0, 7 0))')), 1, 'bad');
SELECT sp.import_admin_areas(pg_temp.fc(pg_temp.feature('GX05', 'GX', 'A', 'LINESTRING(7 0, 8 0)')), 1, 'bad');
SELECT sp.import_admin_areas(pg_temp.fc(pg_temp.feature('GX0105', 'GX99', 'A', 'POLYGON((0 0, 0.1 0, 0.1 0.1, 0 0))')), 2, 'bad', '{"code": "ADM1_PCODE", "parent_code": "ADM0_PCODE", "name": "ADM1_EN"}');
SELECT sp.import_admin_areas(pg_temp.fc(pg_temp.feature('GY0105', 'GX01', 'A', 'POLYGON((0 0, 0.1 0, 0.1 0.1, 0 0))')), 2, 'bad', '{"code": "ADM1_PCODE", "parent_code": "ADM0_PCODE", "name": "ADM1_EN"}');
SELECT sp.import_admin_areas(pg_temp.fc(pg_temp.feature('GX05', 'GX', NULL, 'POLYGON((7 0, 8 0, 8 1, 7 0))') #- '{properties,ADM1_FR}'), 1, 'bad');
SELECT sp.import_admin_areas(pg_temp.fc(pg_temp.feature('GX05', 'GX', 'A', 'POLYGON((7 0, 8 0, 8 1, 7 0))', 'soon')), 1, 'bad');
SELECT sp.import_admin_areas(pg_temp.fc(pg_temp.feature('GX 05', 'GX', 'A', 'POLYGON((7 0, 8 0, 8 1, 7 0))')), 1, 'bad');
SELECT sp.import_admin_areas(pg_temp.fc(pg_temp.feature('GX05', 'GX', 'A', 'POLYGON((7 0, 8 0, 8 1, 7 0))'),
                                        pg_temp.feature('GX05', 'GX', 'A', 'POLYGON((7 0, 8 0, 8 1, 7 0))')), 1, 'bad');
SELECT sp.import_admin_areas(pg_temp.fc(pg_temp.feature('GX05', 'GX', 'A', 'POLYGON((7 0, 8 0, 8 1, 7 0))')), 1, 'bad', '{"pcode": "x"}');
SELECT sp.import_admin_areas(pg_temp.fc(pg_temp.feature('GX05', 'GX', 'A', 'POLYGON((7 0, 8 0, 8 1, 7 0))')), 11, 'bad');
SELECT sp.import_admin_areas(pg_temp.fc(pg_temp.feature('GX05', 'GX', 'A', 'POLYGON((7 0, 8 0, 8 1, 7 0))')), 1, 'v1');
SELECT count(*) = :areas_before AS nothing_written, (SELECT count(*) FROM sp.boundary_import WHERE version = 'bad') AS bad_imports
FROM sp.admin_area;
-- another field mapping (countries name their properties differently)
SELECT r ->> 'added' AS added_by_mapping FROM sp.import_admin_areas(pg_temp.fc(
    jsonb_build_object('type', 'Feature', 'properties', jsonb_build_object('admin2Pcod', 'GX0101', 'admin1Pcod', 'GX01', 'admin2Name', 'Corner',
                                                                          'admin2Name_fr', 'Coin', 'date', '2024-01-01'),
                       'geometry', ST_AsGeoJSON(ST_GeomFromText('POLYGON((0 0, 0.2 0, 0.2 0.2, 0 0.2, 0 0))'))::jsonb)), 2, 'v1',
    '{"code": "admin2Pcod", "parent_code": "admin1Pcod", "name": "admin2Name", "names": {"en": "admin2Name", "fr": "admin2Name_fr"}, "valid_from": "date"}') r;
SELECT code, parent_code, name, names, valid_from FROM sp.admin_area WHERE code = 'GX0101';
SELECT sp.area_at_point(ST_SetSRID(ST_MakePoint(0.1, 0.1), 4326)) AS lowest, sp.area_at_point(ST_SetSRID(ST_MakePoint(0.1, 0.1), 4326), 1) AS region;

-- households: at the equator (GX02), at 60 degrees north (no boundary there),
-- near a river, in GX03 (retired below)
CREATE TEMP TABLE hh (label text, household_id bigint);
WITH x (label, area, lon, lat) AS (VALUES ('eq_111m', 'GX02', 1.501, 0.5), ('eq_origin', 'GX02', 1.5, 0.5),
                                          ('n60_56m', 'GX', 10.001, 60.0), ('river_99m', 'GX', 20.5, 0.0009),
                                          ('river_far', 'GX', 20.5, 0.01), ('islands', 'GX03', 3.5, 0.5),
                                          ('declared_east_lives_west', 'GX02', 0.2, 0.2), ('declared_country', 'GX', 0.3, 0.3),
                                          ('west_home', 'GX01', 0.7, 0.7))
, ins AS (INSERT INTO sp.household (admin_area_code, location)
          SELECT area, ST_SetSRID(ST_MakePoint(lon, lat), 4326) FROM x ORDER BY label RETURNING household_id, location)
INSERT INTO hh SELECT x.label, ins.household_id FROM ins JOIN x ON ST_Equals(ins.location, ST_SetSRID(ST_MakePoint(x.lon, x.lat), 4326));
-- a point with a radius: 111 m east of the point at the equator, 56 m at 60 degrees
SELECT b AS buffer_m, string_agg(hh.label || ' ' || round(f.distance_m), ', ' ORDER BY hh.label) AS found
FROM unnest(ARRAY[0, 100, 120]) b, sp.households_in_footprint(ST_SetSRID(ST_MakePoint(1.5, 0.5), 4326), b) f JOIN hh USING (household_id)
GROUP BY b ORDER BY b;
SELECT b AS buffer_m, count(f.*) FILTER (WHERE hh.label = 'n60_56m') AS at_60n
FROM unnest(ARRAY[50, 60]) b LEFT JOIN LATERAL sp.households_in_footprint(ST_SetSRID(ST_MakePoint(10, 60), 4326), b) f ON true
LEFT JOIN hh USING (household_id) GROUP BY b ORDER BY b;
-- a river with a buffer
SELECT b AS buffer_m, string_agg(hh.label, ', ' ORDER BY hh.label) AS along_the_river
FROM unnest(ARRAY[90, 110, 1200]) b, sp.households_in_footprint(ST_GeomFromText('LINESTRING(20 0, 21 0)', 4326), b) f JOIN hh USING (household_id)
GROUP BY b ORDER BY b;
-- a polygon (GX01's boundary, hole and all)
SELECT string_agg(hh.label || ' ' || round(f.distance_m), ', ' ORDER BY hh.label) AS in_west
FROM sp.households_in_footprint((SELECT geom FROM sp.admin_area WHERE code = 'GX01')) f JOIN hh USING (household_id);
-- a buffer only ever adds households: a point 2 km inside the straight edge
-- of a large square is found with and without a buffer (the edge is the line
-- drawn in longitude and latitude, not a great circle)
INSERT INTO sp.household (admin_area_code, location) VALUES ('GX', ST_SetSRID(ST_MakePoint(45, 10.02), 4326)) RETURNING household_id AS edge_point \gset
SELECT b AS buffer_m, count(*) FILTER (WHERE f.household_id = :edge_point) AS edge_point_found
FROM unnest(ARRAY[0, 1000]) b, sp.households_in_footprint(ST_GeomFromText('POLYGON((40 10, 50 10, 50 20, 40 20, 40 10))', 4326), b) f
GROUP BY b ORDER BY b;
-- a polygon with a buffer: a household inside is 0 m away however deep; one
-- in the hole is as far as the hole's ring (553 m, 8.8 km); one outside, as
-- far as the outer ring (east of GX01's edge at 1 degree: 1,113 m)
CREATE TEMP TABLE near_west (label text, household_id bigint);
WITH x (label, lon, lat) AS (VALUES ('hole_edge', 0.5, 0.405), ('hole_deep', 0.5, 0.48), ('east_of_edge', 1.01, 0.7))
, ins AS (INSERT INTO sp.household (admin_area_code, location)
          SELECT 'GX', ST_SetSRID(ST_MakePoint(lon, lat), 4326) FROM x ORDER BY label RETURNING household_id, location)
INSERT INTO near_west SELECT x.label, ins.household_id FROM ins JOIN x ON ST_Equals(ins.location, ST_SetSRID(ST_MakePoint(x.lon, x.lat), 4326));
SELECT b AS buffer_m, string_agg(l.label || ' ' || round(f.distance_m), ', ' ORDER BY l.label) AS near_west
FROM unnest(ARRAY[0, 1000, 1200, 12000]) b, sp.households_in_footprint((SELECT geom FROM sp.admin_area WHERE code = 'GX01'), b) f
JOIN (SELECT * FROM near_west UNION ALL SELECT * FROM hh) l USING (household_id)
GROUP BY b ORDER BY b;
-- across the antimeridian (Fiji): 2 km away on the other side of 180 degrees
INSERT INTO sp.household (admin_area_code, location) VALUES ('GX', ST_SetSRID(ST_MakePoint(-179.99, -16.8), 4326)) RETURNING household_id AS fiji \gset
SELECT round(distance_m) AS fiji_distance_m FROM sp.households_in_footprint(ST_SetSRID(ST_MakePoint(179.99, -16.8), 4326), 5000)
WHERE household_id = :fiji;
-- bad footprints
SELECT * FROM sp.households_in_footprint(NULL);
SELECT * FROM sp.households_in_footprint(ST_SetSRID(ST_MakePoint(1.5, 0.5), 3857));
SELECT * FROM sp.households_in_footprint(ST_MakePoint(500, 0.5));
SELECT * FROM sp.households_in_footprint(ST_SetSRID(ST_MakePoint(1.5, 0.5), 4326), -1);
SELECT * FROM sp.households_in_footprint(ST_SetSRID(ST_MakePoint(1.5, 0.5), 4326), 'NaN');
SELECT * FROM sp.households_in_footprint(ST_GeomFromText('POLYGON((0 0, 1 1, 1 0, 0 1, 0 0))', 4326));
SELECT * FROM sp.households_in_footprint(ST_GeomFromText('POLYGON EMPTY', 4326));
-- the search is the location index's: its scans go up by the function's own query
SET enable_seqscan = off;
SELECT idx_scan AS scans_before FROM pg_stat_user_indexes WHERE indexrelname = 'household_location_idx' \gset
SELECT count(*) AS found FROM sp.households_in_footprint(ST_SetSRID(ST_MakePoint(1.5, 0.5), 4326), 200);
SELECT pg_stat_force_next_flush();
RESET enable_seqscan;
SELECT pg_stat_clear_snapshot();
SELECT idx_scan > :scans_before AS location_index_used FROM pg_stat_user_indexes WHERE indexrelname = 'household_location_idx';

-- a location outside the declared area is listed, not moved; a coarser
-- declared area (the country) agrees with a point in one of its regions
SELECT hh.label, m.declared_area, m.located_area FROM sp.household_area_mismatches('GX') m JOIN hh USING (household_id) ORDER BY hh.label;
SELECT admin_area_code FROM sp.household h JOIN hh USING (household_id) WHERE hh.label = 'declared_east_lives_west';

-- a new version: East redrawn, Islands gone (retired; its household keeps
-- it), the old boundaries kept with their validity
SELECT r - 'import_id' - 'repaired' AS v2 FROM sp.import_admin_areas(pg_temp.fc(
    pg_temp.feature('GX01', 'GX', 'West', 'POLYGON((0 0, 1 0, 1 1, 0 1, 0 0), (0.4 0.4, 0.6 0.4, 0.6 0.6, 0.4 0.6, 0.4 0.4))', '2025-01-01'),
    pg_temp.feature('GX02', 'GX', 'East', 'POLYGON((1 0, 2.5 0, 2.5 1, 1 1, 1 0))', '2025-01-01'),
    pg_temp.feature('GX04', 'GX', 'Lake island', 'POLYGON((0.45 0.45, 0.55 0.45, 0.55 0.55, 0.45 0.55, 0.45 0.45))', '2025-01-01')), 1, 'v2') r;
SELECT code, version, valid_from, valid_to, ST_XMax(geom) AS east_edge FROM sp.admin_area_boundary WHERE code IN ('GX02', 'GX03') ORDER BY code, valid_from;
SELECT code, valid_to, boundary_version FROM sp.admin_area WHERE code LIKE 'GX0_' ORDER BY code;
SELECT sp.area_at_point(ST_SetSRID(ST_MakePoint(3.5, 0.5), 4326)) AS retired_islands, sp.area_at_point(ST_SetSRID(ST_MakePoint(2.2, 0.5), 4326)) AS new_east;
SELECT h.admin_area_code FROM sp.household h JOIN hh USING (household_id) WHERE hh.label = 'islands';
-- a registration without an area but with a GPS point gets the area of the
-- point (here the redrawn East); a point in no boundary still needs one
SELECT (sp.register_household('{"location": {"lat": 0.5, "lon": 2.2}, "members": [{"given_name": "Located", "relationship_to_head": "head"}]}')
        ->> 'household_id')::bigint AS located \gset
SELECT admin_area_code AS located_in FROM sp.household WHERE household_id = :located;
SELECT sp.register_household('{"location": {"lat": -5, "lon": 50}, "members": [{"given_name": "Adrift", "relationship_to_head": "head"}]}');
SELECT sp.register_household('{"location": {"lat": 95, "lon": 2.2}, "members": [{"given_name": "Pole", "relationship_to_head": "head"}]}');
-- households of the retired Islands move to the area of their point, as a new
-- version (history kept); one whose point is in no current boundary stays
INSERT INTO sp.household (admin_area_code, location) VALUES ('GX03', ST_SetSRID(ST_MakePoint(2.3, 0.6), 4326)) RETURNING household_id AS moved_one \gset
SELECT sp.reassign_households('COD v2: Islands dissolved', 'GX') AS reassigned;
SELECT admin_area_code, version FROM sp.household WHERE household_id = :moved_one;
SELECT admin_area_code, change_reason FROM sp.household_history WHERE household_id = :moved_one ORDER BY history_id;
SELECT h.admin_area_code AS still_in_retired FROM sp.household h JOIN hh USING (household_id) WHERE hh.label = 'islands';
SELECT sp.reassign_households(' ', 'GX');
-- an older version than the one in force is refused
SELECT sp.import_admin_areas(pg_temp.fc(pg_temp.feature('GX02', 'GX', 'East', 'POLYGON((1 0, 2 0, 2 1, 1 1, 1 0))', '2024-06-01')), 1, 'v1b');
-- a registrar of West sees West's households only, whatever the footprint
CREATE ROLE sp_test_geo_registrar IN ROLE sp_registrar;
SELECT sp.grant_area_scope('sp_test_geo_registrar', 'GX01') ->> 'admin_area_code' AS scope;
GRANT SELECT ON hh TO sp_test_geo_registrar;
SET ROLE sp_test_geo_registrar;
SELECT string_agg(hh.label, ', ') AS seen_in_the_whole_country FROM sp.households_in_footprint(ST_MakeEnvelope(-1, -1, 30, 61, 4326)) f JOIN hh USING (household_id);
SELECT sp.import_admin_areas(pg_temp.fc(pg_temp.feature('GX05', 'GX', 'A', 'POLYGON((7 0, 8 0, 8 1, 7 0))')), 1, 'v3');
RESET ROLE;
SELECT sp.revoke_area_scope('sp_test_geo_registrar', 'GX01') IS NOT NULL AS revoked;
DROP OWNED BY sp_test_geo_registrar;
DROP ROLE sp_test_geo_registrar;
