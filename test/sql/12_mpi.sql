-- Multidimensional poverty (Alkire-Foster): deprivation scores by hand,
-- missing values, area aggregates H, A and M0, versions, invalid specs.
\set SHOW_CONTEXT never

INSERT INTO sp.admin_area (code, parent_code, level, name) VALUES
    ('MP', NULL, 0, 'MPI land'), ('MP01', 'MP', 1, 'East'), ('MP02', 'MP', 1, 'West');

-- ages relative to today, so the answers do not change with the date
CREATE FUNCTION pg_temp.born(years int) RETURNS text LANGUAGE sql AS
$$ SELECT to_char(current_date - make_interval(years => years, days => 10), 'YYYY-MM-DD') $$;

SELECT (sp.register_household(format('{"admin_area_code": "MP01",
  "attributes": {"electricity": false, "water_source": "surface", "toilet_type": "flush", "dwelling_type": "house", "roof_material": "concrete"},
  "members": [{"given_name": "M1", "relationship_to_head": "head", "birth_date": "%s", "attributes": {"education_level": "none"}},
              {"given_name": "M1c", "relationship_to_head": "child", "birth_date": "%s", "attributes": {"in_school": false}}]}',
  pg_temp.born(40), pg_temp.born(10))::jsonb) ->> 'household_id')::bigint AS m1 \gset
SELECT (sp.register_household(format('{"admin_area_code": "MP01",
  "attributes": {"electricity": true, "water_source": "piped", "toilet_type": "flush", "dwelling_type": "house", "roof_material": "concrete"},
  "members": [{"given_name": "M2", "relationship_to_head": "head", "birth_date": "%s", "attributes": {"education_level": "secondary"}},
              {"given_name": "M2c", "relationship_to_head": "child", "birth_date": "%s", "attributes": {"in_school": true}}]}',
  pg_temp.born(35), pg_temp.born(8))::jsonb) ->> 'household_id')::bigint AS m2 \gset
-- no electricity answer, no dwelling answer
SELECT (sp.register_household(format('{"admin_area_code": "MP02",
  "attributes": {"water_source": "well", "toilet_type": "none"},
  "members": [{"given_name": "M3", "relationship_to_head": "head", "birth_date": "%s", "attributes": {"education_level": "primary"}}]}',
  pg_temp.born(70))::jsonb) ->> 'household_id')::bigint AS m3 \gset
SELECT (sp.register_household(format('{"admin_area_code": "MP02",
  "attributes": {"electricity": true, "water_source": "piped", "toilet_type": "flush", "dwelling_type": "hut", "roof_material": "metal"},
  "members": [{"given_name": "M4", "relationship_to_head": "head", "birth_date": "%s", "attributes": {"education_level": "none", "disability": true}}]}',
  pg_temp.born(30))::jsonb) ->> 'household_id')::bigint AS m4 \gset

-- the member-derived variables rules and indicators read
SELECT household_id = :m1 AS is_m1, household_size, children_under_15, disabled_members, head_age, head_education, head_female
FROM sp.household_profile WHERE household_id IN (:m1, :m4) ORDER BY household_id;

-- three dimensions of weight 1/3; indicators share their dimension's weight
\set spec '{"k": 0.3333, "dimensions": [ {"name": "education", "indicators": [ {"name": "schooling", "deprived_if": {"members": {"all": [{"age": {"min": 15}}, {"variable": "education_level", "in": ["primary", "secondary", "tertiary"]}]}, "max": 0}}, {"name": "attendance", "deprived_if": {"members": {"all": [{"age": {"min": 6, "max": 14}}, {"variable": "in_school", "value": false}]}}}]}, {"name": "health", "indicators": [ {"name": "disability", "deprived_if": {"variable": "disabled_members", "op": ">", "value": 0}}]}, {"name": "living_standards", "indicators": [ {"name": "electricity", "missing": "deprived", "deprived_if": {"variable": "electricity", "value": false}}, {"name": "water", "deprived_if": {"variable": "water_source", "in": ["surface", "other"]}}, {"name": "sanitation", "deprived_if": {"variable": "toilet_type", "in": ["none", "pit_latrine"]}}, {"name": "housing", "deprived_if": {"any": [{"variable": "dwelling_type", "in": ["hut", "tent"]}, {"variable": "roof_material", "in": ["thatch", "plastic"]}]}}]}]}'
SELECT sp.create_mpi_model('mpi', :'spec', 'MPI 2026') AS version;
SELECT * FROM sp.mpi_household('mpi', :m1);
SELECT sp.activate_mpi_model('mpi', 1);

-- m1: schooling 1/6 + attendance 1/6 + electricity 1/12 + water 1/12 = 1/2, poor
-- m2: nothing; m3: electricity missing counts as deprived 1/12 + sanitation 1/12 = 1/6, not poor
-- m4: schooling 1/6 + disability 1/3 + housing 1/12 = 7/12, poor
SELECT h.n, round(m.deprivation_score::numeric, 9) = round(h.expected, 9) AS by_hand, m.poor, m.deprivations, m.version
FROM (VALUES ('m1', :m1::bigint, 1/2.0), ('m2', :m2, 0), ('m3', :m3, 1/6.0), ('m4', :m4, 7/12.0)) h(n, id, expected),
     sp.mpi_household('mpi', h.id) m
ORDER BY h.n;

SELECT sp.mpi_assess_households('mpi', 'MP') AS assessed;
-- H: share of persons in poor households; A: their average score; M0 = H x A
-- MP01: 2 of 4 persons poor at 1/2; MP02: 1 of 2 poor at 7/12; MP: 3 of 6 at (2 x 1/2 + 7/12) / 3
SELECT area_code, households, persons, poor_households, poor_persons, excluded_households,
       round(h::numeric, 6) AS h, round(a::numeric, 6) AS a, round(m0::numeric, 6) AS m0,
       round((m0 - h * a)::numeric, 12) AS m0_minus_h_times_a
FROM sp.mpi_area_summary('mpi', 1) WHERE area_code LIKE 'MP%'
UNION ALL
SELECT area_code, households, persons, poor_households, poor_persons, excluded_households,
       round(h::numeric, 6), round(a::numeric, 6), round(m0::numeric, 6), round((m0 - h * a)::numeric, 12)
FROM sp.mpi_area_summary('mpi', 0) WHERE area_code = 'MP'
ORDER BY area_code;
SELECT round((2 * 0.5 + 7 / 12.0) / 3, 6) AS a_mp_by_hand, round(0.5 * (2 * 0.5 + 7 / 12.0) / 3, 6) AS m0_mp_by_hand;

-- version 2: a household without an electricity answer is excluded, as
-- Alkire-Foster does with incomplete data; version 1 assessments stay
SELECT sp.create_mpi_model('mpi', jsonb_set(:'spec'::jsonb, '{missing}', '"exclude"') #- '{dimensions,2,indicators,0,missing}', 'exclude incomplete') AS version;
SELECT sp.activate_mpi_model('mpi', 2);
SELECT deprivation_score, poor, deprivations, version FROM sp.mpi_household('mpi', :m3);
SELECT sp.mpi_assess_households('mpi', 'MP02') AS assessed;
SELECT area_code, households, poor_households, excluded_households FROM sp.mpi_area_summary('mpi', 1) WHERE area_code LIKE 'MP%';
SELECT version, count(*) FROM sp.mpi_assessment WHERE model = 'mpi' GROUP BY 1 ORDER BY 1;
SELECT version, household_id = :m3 AS is_m3, deprivation_score IS NULL AS excluded
FROM sp.current_mpi_assessment WHERE model = 'mpi' AND household_id IN (:m3, :m4) ORDER BY household_id;
SELECT name, version, status FROM sp.mpi_model ORDER BY version;

-- frozen versions, no deletes, append-only assessments
UPDATE sp.mpi_model SET spec = spec || '{"k": 0.5}' WHERE name = 'mpi' AND version = 1;
DELETE FROM sp.mpi_model WHERE name = 'mpi';
UPDATE sp.mpi_assessment SET poor = true WHERE household_id = :m2;
SELECT * FROM sp.mpi_household('nope', :m1);
SELECT * FROM sp.mpi_household('mpi', -1);

-- invalid specs name the field
\set VERBOSITY default
SELECT sp.create_mpi_model('bad', '{"dimensions": [{"name": "x", "indicators": [{"name": "a", "deprived_if": {"variable": "roofs", "value": 1}}]}]}');
SELECT sp.create_mpi_model('bad', '{"dimensions": [{"name": "x", "weight": 0.5, "indicators": [{"name": "a", "deprived_if": {"variable": "rooms", "value": 1}}]}]}');
SELECT sp.create_mpi_model('bad', '{"dimensions": [{"name": "x", "indicators": [{"name": "a", "weight": 0.7, "deprived_if": {"variable": "rooms", "value": 1}}, {"name": "b", "weight": 0.2, "deprived_if": {"variable": "rooms", "value": 2}}]}]}');
SELECT sp.create_mpi_model('bad', '{"dimensions": [{"name": "x", "indicators": [{"name": "a", "deprived_if": {"variable": "rooms", "op": "~", "value": 1}}]}]}');
SELECT sp.create_mpi_model('bad', '{"dimensions": [{"name": "x", "indicators": [{"name": "a", "deprived_if": {"variable": "dwelling_type", "op": "<", "value": "hut"}}]}]}');
SELECT sp.create_mpi_model('bad', '{"dimensions": [{"name": "x", "indicators": [{"name": "a", "deprived_if": {"variable": "dwelling_type", "value": "palace"}}]}]}');
SELECT sp.create_mpi_model('bad', '{"dimensions": [{"name": "x", "indicators": [{"name": "a", "deprived_if": {"variable": "in_school", "value": false}}]}]}');
SELECT sp.create_mpi_model('bad', '{"dimensions": [{"name": "x", "indicators": [{"name": "a", "deprived_if": {"pmt": {"model": "national", "below_cutoff": true}}}]}]}');
SELECT sp.create_mpi_model('bad', '{"dimensions": [{"name": "x", "indicators": [{"name": "a", "deprived_if": {"members": {"age": {"min": "old"}}}}]}]}');
SELECT sp.create_mpi_model('bad', '{"dimensions": [{"name": "x", "indicators": [{"name": "a", "deprived_if": {"members": {"sex": "W"}}}]}]}');
SELECT sp.create_mpi_model('bad', '{"dimensions": [{"name": "x", "indicators": [{"name": "a"}]}]}');
SELECT sp.create_mpi_model('bad', '{"dimensions": [{"name": "x", "indicators": [{"name": "a", "deprived_if": {"variable": "rooms", "value": 1}}, {"name": "a", "deprived_if": {"variable": "rooms", "value": 2}}]}]}');
SELECT sp.create_mpi_model('bad', '{"k": 0, "dimensions": [{"name": "x", "indicators": [{"name": "a", "deprived_if": {"variable": "rooms", "value": 1}}]}]}');
SELECT sp.create_mpi_model('bad', '{"dimensions": [{"name": "x", "indicators": [{"name": "a", "deprived_if": {"variable": "rooms", "value": 1, "colour": "red"}}]}]}');
SELECT sp.create_mpi_model('bad', '{"dimensions": [{"name": "x", "indicators": [{"name": "a", "deprived_if": {"all": []}}]}]}');
\set VERBOSITY terse
SELECT count(*) AS bad_models FROM sp.mpi_model WHERE name = 'bad';

-- Member-derived variables are defined twice: in SQL (sp.household_profile,
-- read by MPI indicators and programme rules) and in C (the PMT reader).
-- Over every household registered by the tests so far, they agree.
SELECT sp.create_pmt_model('profile_check', '{"intercept": 0, "cutoffs": [{"value": 0}], "terms": [
  {"variable": "household_size", "coefficient": 1}, {"variable": "children_under_5", "coefficient": 1},
  {"variable": "children_under_15", "coefficient": 1}, {"variable": "members_over_65", "coefficient": 1},
  {"variable": "dependency_ratio", "coefficient": 1}, {"variable": "share_disabled", "coefficient": 1},
  {"variable": "head_female", "coefficient": 1}, {"variable": "head_age", "coefficient": 1},
  {"variable": "head_education", "categories": {"none": 1}}]}') AS version;
SELECT sp.activate_pmt_model('profile_check', 1);
SELECT count(DISTINCT hp.household_id) > 100 AS many_households, count(*) FILTER (WHERE NOT CASE e.variable
        WHEN 'household_size' THEN e.value::float8 = hp.household_size
        WHEN 'children_under_5' THEN e.value::float8 = hp.children_under_5
        WHEN 'children_under_15' THEN e.value::float8 = hp.children_under_15
        WHEN 'members_over_65' THEN e.value::float8 = hp.members_over_65
        WHEN 'dependency_ratio' THEN abs(e.value::float8 - hp.dependency_ratio::float8) < 1e-5 * greatest(1, hp.dependency_ratio::float8)
        WHEN 'share_disabled' THEN (e.value IS NULL AND hp.share_disabled IS NULL)
                                   OR abs(e.value::float8 - hp.share_disabled::float8) < 1e-5
        WHEN 'head_female' THEN e.value IS NOT DISTINCT FROM hp.head_female::int::text
        WHEN 'head_age' THEN e.value IS NOT DISTINCT FROM hp.head_age::text
        WHEN 'head_education' THEN e.value IS NOT DISTINCT FROM hp.head_education
        ELSE true END) AS disagreements
FROM sp.household_profile hp, sp.pmt_explain('profile_check', hp.household_id) e;
