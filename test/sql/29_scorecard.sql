-- Scorecard PMTs (issue 13): points per band of a numeric answer
-- (household size 1-4 -> 24, 5-7 -> 5, 8+ -> 0), points per category, a
-- lookup from the total to the likelihood of poverty; scores checked against
-- hand-computed ones, sp.pmt_explain naming the band that applied, and bands
-- that are out of order, overlap, leave a gap or do not cover refused.
\set SHOW_CONTEXT never
\set VERBOSITY terse

INSERT INTO sp.admin_area (code, parent_code, level, name) VALUES ('SC', NULL, 0, 'Scoreland');
CREATE FUNCTION pg_temp.hh(members int, rooms int, dwelling text, land numeric DEFAULT NULL) RETURNS bigint LANGUAGE sql AS $$
    SELECT (sp.register_household(jsonb_build_object('admin_area_code', 'SC',
        'attributes', jsonb_strip_nulls(jsonb_build_object('rooms', rooms, 'dwelling_type', dwelling, 'land_area_ha', land)),
        'members', (SELECT jsonb_agg(jsonb_build_object('given_name', 'M' || i, 'relationship_to_head', CASE WHEN i = 1 THEN 'head' ELSE 'child' END))
                    FROM generate_series(1, members) i))) ->> 'household_id')::bigint
$$;
SELECT pg_temp.hh(3, 1, 'hut') AS a, pg_temp.hh(6, 3, 'house', 0.5) AS b, pg_temp.hh(9, 5, 'apartment', 12) AS c,
       pg_temp.hh(4, 50, 'tent', 2) AS d \gset

SELECT sp.create_pmt_model('scorecard', $${
  "intercept": 0,
  "terms": [
    {"variable": "household_size", "bands": [{"min": 1, "max": 4, "points": 24}, {"min": 5, "max": 7, "points": 5}, {"min": 8, "points": 0}]},
    {"variable": "rooms", "bands": [{"max": 1, "points": 0}, {"min": 2, "max": 3, "points": 4}, {"min": 4, "points": 9}]},
    {"variable": "land_area_ha", "bands": [{"max": 1, "points": 0}, {"min": 1, "max": 10, "points": 3}, {"min": 10, "points": 7}],
     "missing": "zero"},
    {"variable": "dwelling_type", "categories": {"house": 6, "apartment": 8}}
  ],
  "likelihood": [{"min": 0, "likelihood": 0.842}, {"min": 15, "likelihood": 0.517}, {"min": 30, "likelihood": 0.204}],
  "cutoffs": [{"value": 20}]
}$$, 'a points scorecard') AS v \gset
SELECT sp.activate_pmt_model('scorecard', :v);
-- by hand:
--   a: 3 members -> 24, 1 room -> 0, no land -> 0, hut -> 0          = 24
--   b: 6 -> 5, 3 rooms -> 4, 0.5 ha (under 1) -> 0, house -> 6        = 15
--   c: 9 -> 0, 5 rooms -> 9, 12 ha -> 7, apartment -> 8               = 24
--   d: 4 -> 24, 50 rooms -> 9, 2 ha -> 3, tent -> 0                   = 36
SELECT x.label, sp.pmt_score('scorecard', x.h) AS score, x.expected
FROM (VALUES ('a', :a, 24), ('b', :b, 15), ('c', :c, 24), ('d', :d, 36)) x (label, h, expected) ORDER BY x.label;
-- the explanation names each band and adds up to the score; the likelihood row
-- names the score range (for b: exactly on a row's lower bound)
SELECT variable, value, coefficient, contribution, band FROM sp.pmt_explain('scorecard', :b);
SELECT variable, value, band FROM sp.pmt_explain('scorecard', :d) WHERE variable IN ('land_area_ha', 'rooms', '(poverty likelihood)') ORDER BY variable;
SELECT count(*) AS explanations_that_do_not_add_up
FROM (VALUES (:a), (:b), (:c), (:d)) x (h)
WHERE abs((SELECT sum(contribution) FROM sp.pmt_explain('scorecard', x.h)) - sp.pmt_score('scorecard', x.h)) > 1e-9;
SELECT sp.score_households('scorecard', 'SC') AS scored;
SELECT x.label, a.score, a.poverty_line, a.below_cutoff
FROM (VALUES ('a', :a), ('b', :b), ('c', :c), ('d', :d)) x (label, h)
JOIN sp.current_assessment a ON a.household_id = x.h AND a.model = 'scorecard' ORDER BY x.label;

-- bands refused, the band named and what is wrong with it
\set VERBOSITY default
SELECT sp.create_pmt_model('bad', '{"intercept": 0, "terms": [{"variable": "household_size", "bands": [{"min": 1, "max": 4, "points": 24}, {"min": 4, "max": 7, "points": 5}, {"min": 8, "points": 0}]}], "cutoffs": [{"value": 1}]}');
SELECT sp.create_pmt_model('bad', '{"intercept": 0, "terms": [{"variable": "household_size", "bands": [{"min": 1, "max": 4, "points": 24}, {"min": 6, "max": 7, "points": 5}, {"min": 8, "points": 0}]}], "cutoffs": [{"value": 1}]}');
SELECT sp.create_pmt_model('bad', '{"intercept": 0, "terms": [{"variable": "household_size", "bands": [{"min": 2, "max": 4, "points": 24}, {"min": 5, "points": 0}]}], "cutoffs": [{"value": 1}]}');
SELECT sp.create_pmt_model('bad', '{"intercept": 0, "terms": [{"variable": "household_size", "bands": [{"min": 1, "max": 4, "points": 24}, {"min": 5, "max": 9, "points": 0}]}], "cutoffs": [{"value": 1}]}');
SELECT sp.create_pmt_model('bad', '{"intercept": 0, "terms": [{"variable": "household_size", "bands": [{"min": 5, "points": 0}, {"min": 1, "max": 4, "points": 24}]}], "cutoffs": [{"value": 1}]}');
SELECT sp.create_pmt_model('bad', '{"intercept": 0, "terms": [{"variable": "household_size", "bands": [{"min": 1, "max": 4.5, "points": 24}, {"min": 5, "points": 0}]}], "cutoffs": [{"value": 1}]}');
SELECT sp.create_pmt_model('bad', '{"intercept": 0, "terms": [{"variable": "rooms", "bands": [{"min": 0, "max": 50, "points": 1}], "coefficient": 2}], "cutoffs": [{"value": 1}]}');
SELECT sp.create_pmt_model('bad', '{"intercept": 0, "terms": [{"variable": "rooms", "bands": [{"min": 0, "points": 1}], "transform": "log1p"}], "cutoffs": [{"value": 1}]}');
SELECT sp.create_pmt_model('bad', '{"intercept": 0, "terms": [{"variable": "rooms", "bands": [{"min": 0, "max": 10}]}], "cutoffs": [{"value": 1}]}');
SELECT sp.create_pmt_model('bad', '{"intercept": 0, "terms": [{"variable": "rooms", "bands": [{"min": 0, "points": 1, "colour": "red"}]}], "cutoffs": [{"value": 1}]}');
SELECT sp.create_pmt_model('bad', '{"intercept": 0, "terms": [{"variable": "rooms", "bands": []}], "cutoffs": [{"value": 1}]}');
SELECT sp.create_pmt_model('bad', '{"intercept": 0, "terms": [{"variable": "land_area_ha", "bands": [{"min": 0, "max": 1, "points": 0}, {"min": 1.5, "points": 3}]}], "cutoffs": [{"value": 1}]}');
SELECT sp.create_pmt_model('bad', '{"intercept": 0, "terms": [{"variable": "dwelling_type", "bands": [{"min": 0, "points": 1}]}], "cutoffs": [{"value": 1}]}');
SELECT sp.create_pmt_model('bad', '{"intercept": 0, "terms": [{"variable": "rooms", "bands": [{"min": 0, "points": 1}]}], "cutoffs": [{"value": 1}],
                                    "overrides": [{"area_prefix": "SC", "coefficients": {"rooms": 2}}]}');
SELECT sp.create_pmt_model('bad', '{"intercept": 0, "terms": [{"variable": "rooms", "bands": [{"min": 0, "points": 1}]}], "cutoffs": [{"value": 1}],
                                    "likelihood": [{"min": 10, "likelihood": 0.5}, {"min": 5, "likelihood": 0.2}]}');
SELECT sp.create_pmt_model('bad', '{"intercept": 0, "terms": [{"variable": "rooms", "bands": [{"min": 0, "points": 1}]}], "cutoffs": [{"value": 1}],
                                    "likelihood": [{"min": 0, "likelihood": 1.5}]}');
SELECT sp.create_pmt_model('bad', '{"intercept": 0, "terms": [{"variable": "rooms", "bands": [{"max": 3, "points": 0}, {"min": 4, "points": 1}], "missing": {"impute": 3.5}}], "cutoffs": [{"value": 1}]}');
SELECT count(*) AS bad_models FROM sp.pmt_model WHERE name = 'bad';
-- bands must cover what the catalogue allows: rooms up to 80 are not covered by 0 to 50
UPDATE sp.variable SET max_value = 80 WHERE code = 'rooms';
SELECT sp.create_pmt_model('bad', '{"intercept": 0, "terms": [{"variable": "rooms", "bands": [{"min": 0, "max": 50, "points": 1}]}], "cutoffs": [{"value": 1}]}');
UPDATE sp.variable SET max_value = 50 WHERE code = 'rooms';
\set VERBOSITY terse
