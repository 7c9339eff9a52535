-- Linkage on registry-shaped data (issue 11): household co-members, twins,
-- namesakes and parents with their children's names, names in two scripts and
-- in either order, year-only birth dates, and independence of row order.
-- The data: tools/registry_gen (households with members, common names, three
-- naming cultures, re-registrations with errors; the entity column is the truth).
\set SHOW_CONTEXT never
CREATE TEMP TABLE gen (id bigint, entity bigint, household bigint, submission bigint, given_name text, family_name text,
                       birth_date text, birth_precision text, sex text, national_id text, phone text,
                       admin_area_code text, relationship text, tags text);
\copy gen FROM PROGRAM 'tools/registry_gen --records 20000 --seed 11' WITH (FORMAT csv, HEADER true)
SELECT count(*) > 19000 AS generated, count(*) > count(DISTINCT entity) AS has_duplicates FROM gen;

-- hand-built cases, in a village of the generated data (ids from 900001)
SELECT admin_area_code AS village FROM gen WHERE id = 1 \gset
INSERT INTO gen (id, entity, household, submission, given_name, family_name, birth_date, sex, national_id, phone, admin_area_code) VALUES
 -- twins of a household registered twice: same family name, birth date and village, different given names
 (900001, -1, -1, -1, 'Amina',   'Warsame', '2012-03-04', 'F', NULL, '+252615550001', :'village'),
 (900002, -2, -2, -2, 'Fadumo',  'Warsame', '2012-03-04', 'F', NULL, '+252615550001', :'village'),
 -- a father and his son of the same name, the father's birth year only, the family phone
 (900003, -3, -3, -3, 'Mohamed', 'Abdullahi', '1972',       'M', '7700000003', '+252615550003', :'village'),
 (900004, -4, -4, -4, 'Mohamed', 'Abdullahi', '1998-05-10', 'M', NULL,         '+252615550003', :'village'),
 -- namesakes of one village a generation apart, one without an ID
 (900005, -5, -5, -5, 'Ahmed', 'Hassan', '1960-02-02', 'M', '7700000005', NULL, :'village'),
 (900006, -6, -6, -6, 'Ahmed', 'Hassan', '1985-07-21', 'M', NULL,         NULL, :'village'),
 -- two members typed identically in one registration (one submission)
 (900007, -7, -7, -7, 'Halima', 'Yusuf', '2015-01-09', 'F', NULL, NULL, :'village'),
 (900008, -8, -7, -7, 'Halima', 'Yusuf', '2015-01-09', 'F', NULL, NULL, :'village'),
 -- one man re-registered in another region: names swapped and in Arabic script, same ID and birth date
 (900009, -9, -9, -9,   'Mohamed', 'Hassan', '1980-05-05', 'M', '7700000009', NULL, :'village'),
 (900010, -9, -10, -10, 'حسن',     'محمد',   '1980-05-05', 'M', '7700000009', NULL, 'SO0101001'),
 -- one woman re-registered in her village: birth year only the second time, same phone
 (900011, -11, -11, -11, 'Khadija', 'Omar', '1975-06-14', 'F', NULL, '+252615550011', :'village'),
 (900012, -11, -12, -12, 'Khadija', 'Omar', '1975',       'F', NULL, '0615550011',    :'village'),
 -- one woman re-registered in another village of her district (same first six characters of the P-code)
 (900013, -13, -13, -13, 'Sahra', 'Jama',  '1990-03-03', 'F', NULL, NULL, :'village'),
 (900014, -13, -14, -14, 'Sahra', 'Jaama', '1990-03-03', 'F', NULL, NULL, left(:'village', 6) || '999'),
 -- a household registered twice: the mother with her ID both times, a son's
 -- name spelt another way and only his birth year the second time
 (900020, -20, -20, -20, 'Ubah',      'Farah',  '1985-04-02', 'F', '7700000020', '+252615550020', :'village'),
 (900021, -21, -20, -20, 'Ismail',    'Farah',  '2010-08-15', 'M', NULL,         NULL,            :'village'),
 (900022, -22, -20, -20, 'Hodan',     'Farah',  '2013-01-20', 'F', NULL,         NULL,            :'village'),
 (900023, -20, -23, -23, 'Ubah',      'Farah',  '1985-04-02', 'F', '7700000020', '+252615550020', :'village'),
 (900024, -21, -23, -23, 'Ismaaciil', 'Faarah', '2010',       'M', NULL,         NULL,            :'village'),
 (900025, -22, -23, -23, 'Hodan',     'Farah',  '2013-01-20', 'F', NULL,         NULL,            :'village'),
 -- twins of a household registered again, the mother with her ID both times: one
 -- twin's name in Somali spelling the second time (Omar, Cumar), the other the same
 (900030, -30, -30, -30, 'Sahra', 'Guled', '1980-02-02', 'F', '7700000030', NULL, :'village'),
 (900031, -31, -30, -30, 'Omar',  'Guled', '2014-06-06', 'M', NULL,         NULL, :'village'),
 (900032, -32, -30, -30, 'Ali',   'Guled', '2014-06-06', 'M', NULL,         NULL, :'village'),
 (900033, -30, -33, -33, 'Sahra', 'Guled', '1980-02-02', 'F', '7700000030', NULL, :'village'),
 (900034, -31, -33, -33, 'Cumar', 'Guled', '2014-06-06', 'M', NULL,         NULL, :'village'),
 (900035, -32, -33, -33, 'Ali',   'Guled', '2014-06-06', 'M', NULL,         NULL, :'village'),
 -- twin sisters of a household registered again, both under other names the second
 -- time: nothing tells which is which
 (900036, -36, -36, -36, 'Faadumo', 'Hirsi', '1982-03-03', 'F', '7700000036', NULL, :'village'),
 (900037, -37, -36, -36, 'Hodan',   'Hirsi', '2015-07-07', 'F', NULL,         NULL, :'village'),
 (900038, -38, -36, -36, 'Sagal',   'Hirsi', '2015-07-07', 'F', NULL,         NULL, :'village'),
 (900039, -36, -39, -39, 'Faadumo', 'Hirsi', '1982-03-03', 'F', '7700000036', NULL, :'village'),
 (900040, -37, -39, -39, 'Ayan',    'Hirsi', '2015-07-07', 'F', NULL,         NULL, :'village'),
 (900041, -38, -39, -39, 'Deeqa',   'Hirsi', '2015-07-07', 'F', NULL,         NULL, :'village'),
 -- a namesake of the daughter, birth year only, in another family of the village
 (900026, -26, -26, -26, 'Hodan',     'Farah',  '2013',       'F', NULL,         NULL,            :'village'),
 (900027, -27, -26, -26, 'Abdi',      'Farah',  '1979-11-30', 'M', '7700000027', NULL,            :'village');

CREATE TEMP VIEW gen_input AS
SELECT id, given_name, family_name, birth_date, sex, national_id, phone, admin_area_code,
       submission::text AS registration_group
FROM gen;

SELECT sp.create_linkage_model('registry', (SELECT spec FROM sp.linkage_model WHERE name = 'person'));
SELECT t ->> 'anchor' AS anchor, (t ->> 'anchored_pairs')::int > 100 AS anchored,
       (t ->> 'comparisons_anchored')::int >= 5 AS comparisons_anchored,
       t -> 'u_within' ? 'admin_area_code' AS area_u_within_family,
       (t ->> 'pairs_left_out_by_evidence')::int > 0 AS evidence_used
FROM (SELECT sp.train_linkage_model('registry', 'gen_input') -> 'training' AS t) s;

-- the guard rails hold: a generation apart is rare among matches
SELECT (params #>> '{comparisons,birth_date,m,6}')::float8 <= 0.002 AS generation_apart_rare,
       (params #>> '{comparisons,birth_date,m,5}')::float8 <= 0.05 AS years_apart_rare,
       -- the village is worth far less than among random pairs: families live together
       log(2::numeric, ((params #>> '{comparisons,admin_area_code,m,0}')::float8 / (params #>> '{comparisons,admin_area_code,u,0}')::float8)::numeric) < 6
           AS village_weight_below_6_bits
FROM sp.linkage_model WHERE name = 'registry';

CREATE TEMP TABLE cases (a bigint, b bigint, what text, expected text);
INSERT INTO cases VALUES
 (900001, 900002, 'twins', 'different'),
 (900003, 900004, 'father and son of one name', 'different'),
 (900005, 900006, 'namesakes a generation apart', 'different'),
 (900007, 900008, 'typed twice in one registration', 'different'),
 (900009, 900010, 'swapped names in Arabic script, same ID', 'merge'),
 (900011, 900012, 'year-only birth date the second time', 'review or merge'),
 (900013, 900014, 'moved to another village of her district', 'merge'),
 (900021, 900024, 'a son spelt another way, year only, his household registered again', 'review or merge'),
 (900022, 900025, 'a daughter of a household registered again', 'merge'),
 (900022, 900026, 'a namesake in another family, year only', 'not merged'),
 (900031, 900034, 'a twin respelt (Omar, Cumar), his household registered again', 'review or merge'),
 (900032, 900034, 'his twin brother against him', 'different'),
 (900031, 900035, 'the other way round', 'different'),
 (900037, 900040, 'twin sisters both renamed: one pair', 'different'),
 (900037, 900041, 'twin sisters both renamed: the crossed pair', 'different');
CREATE TEMP TABLE scored AS
SELECT c.what, c.expected, e.weight AS total
FROM cases c, LATERAL sp.explain_match('registry', 'gen_input', c.a, 'gen_input', c.b) e
WHERE e.comparison = 'total';
-- decisions: below probability 0.5 (weight 0) is "different", from 0.5 to the
-- auto-merge threshold 0.99 (weight log2(99)) is review
SELECT what, decided, decided = expected OR (expected = 'review or merge' AND decided <> 'different')
                      OR (expected = 'not merged' AND decided <> 'merge') AS as_expected
FROM (SELECT what, expected,
             CASE WHEN total >= log(2::numeric, 99) THEN 'merge' WHEN total >= 0 THEN 'review' ELSE 'different' END AS decided
      FROM scored) d
ORDER BY what;

-- the evidence is shown where it applies
SELECT c.what, e.comparison, e.level, round(e.weight::numeric, 1) AS weight
FROM cases c, LATERAL sp.explain_match('registry', 'gen_input', c.a, 'gen_input', c.b) e
WHERE e.comparison IN ('twins', 'registered_together', 'names_swapped') AND e.weight <> 0
ORDER BY c.what, e.comparison;
SELECT level FROM sp.explain_match('registry', 'gen_input', 900003, 'gen_input', 900004) WHERE comparison = 'birth_date';
-- another village of the same district is its own level, worth more than another district
SELECT level, weight > 0 AS for_a_match
FROM sp.explain_match('registry', 'gen_input', 900013, 'gen_input', 900014)
WHERE comparison = 'admin_area_code';
SELECT (params #>> '{comparisons,admin_area_code,m,1}')::float8 > (params #>> '{comparisons,admin_area_code,u,1}')::float8 * 4
           AS same_district_for_a_match,
       (params #>> '{comparisons,admin_area_code,m,2}')::float8 < (params #>> '{comparisons,admin_area_code,u,2}')::float8
           AS other_district_against
FROM sp.linkage_model WHERE name = 'registry';
-- the household level: pairs of the household registered twice are linked (the
-- mothers' ID match supports the children, who are each other's best match),
-- the namesake's family shares nothing else; people registered together and
-- records alone in their registration are neither
SELECT c.what, split_part(e.level, ':', 1) AS household, e.weight > 0 AS for_a_match
FROM cases c, LATERAL sp.explain_match('registry', 'gen_input', c.a, 'gen_input', c.b) e
WHERE e.comparison = 'household'
ORDER BY c.what;
SELECT (params #>> '{household,linked_match_share}')::float8 > 0.5 AS linked_mostly_matches,
       (params #>> '{household,weights,1}')::float8 < 0 AS unlinked_against,
       (params #>> '{household,u_context,family_name,0}')::float8 > (params #>> '{comparisons,family_name,u,0}')::float8 * 10
           AS family_names_agree_among_members
FROM sp.linkage_model WHERE name = 'registry';

-- on the generated registry: no twins and no parent/child pair is merged
-- automatically (p >= 0.99), and the pairs found are mostly right
CREATE TEMP TABLE found AS SELECT * FROM sp.match_pairs('registry', 'gen_input', NULL, 0.5);
SELECT count(*) FILTER (WHERE a.entity <> b.entity AND a.tags ~ 'twin' AND b.tags ~ 'twin'
                          AND f.match_probability >= 0.99) AS twins_merged,
       count(*) FILTER (WHERE a.entity <> b.entity AND (a.tags ~ 'junior' OR b.tags ~ 'junior')
                          AND abs(left(a.birth_date, 4)::int - left(b.birth_date, 4)::int) >= 12
                          AND f.match_probability >= 0.99) AS parent_child_merged,
       round(avg((a.entity = b.entity)::int) FILTER (WHERE f.match_probability >= 0.99), 2) >= 0.97 AS precise_at_099
FROM found f JOIN gen a ON a.id = f.left_id JOIN gen b ON b.id = f.right_id;

-- order independence: the same rows in another physical order give the same
-- model (but for the name of the relation it was counted in) and the same pairs
CREATE TEMP TABLE gen_shuffled AS SELECT * FROM gen ORDER BY md5(id::text);
CREATE TEMP VIEW shuffled_input AS
SELECT id, given_name, family_name, birth_date, sex, national_id, phone, admin_area_code,
       submission::text AS registration_group
FROM gen_shuffled;
SELECT sp.create_linkage_model('registry_shuffled', (SELECT spec FROM sp.linkage_model WHERE name = 'person'));
SELECT (sp.train_linkage_model('registry_shuffled', 'shuffled_input') -> 'training' ->> 'records')::int AS trained_on;
SELECT s.params - 'tf_source' = r.params - 'tf_source' AS same_parameters FROM sp.linkage_model s, sp.linkage_model r
WHERE s.name = 'registry_shuffled' AND r.name = 'registry';
SELECT count(*) AS pairs_differing FROM (
    (SELECT left_id, right_id, match_weight FROM found
     EXCEPT SELECT left_id, right_id, match_weight FROM sp.match_pairs('registry_shuffled', 'shuffled_input', NULL, 0.5))
    UNION ALL
    (SELECT left_id, right_id, match_weight FROM sp.match_pairs('registry_shuffled', 'shuffled_input', NULL, 0.5)
     EXCEPT SELECT left_id, right_id, match_weight FROM found)) d;

-- blocking that scales: what the rules produce, without scoring, equals what
-- match_pairs scores without household context (which adds the member pairs
-- of households registered twice, blocked or not)
SELECT sp.create_linkage_model('registry_blocking', (SELECT jsonb_set(spec, '{evidence}', (SELECT jsonb_agg(e) FROM jsonb_array_elements(spec -> 'evidence') e WHERE e ->> 'kind' <> 'household')) FROM sp.linkage_model WHERE name = 'person'));
UPDATE sp.linkage_model SET params = (SELECT params - 'household' FROM sp.linkage_model WHERE name = 'registry'), trained_at = now()
WHERE name = 'registry_blocking';
SELECT (SELECT count(*) FROM sp.match_pairs('registry', 'gen_input', NULL, 0.5)) > (SELECT count(*) FROM sp.match_pairs('registry_blocking', 'gen_input', NULL, 0.5))
       AS household_context_adds_pairs;
SELECT (c ->> 'records')::int AS records, (c ->> 'candidate_pairs')::bigint = (SELECT count(*) FROM sp.match_pairs('registry_blocking', 'gen_input')) AS counts_agree,
       (c ->> 'pairs_per_record')::float8 < 50 AS bounded, jsonb_array_length(c -> 'rules') AS rules
FROM sp.linkage_candidates('registry', 'gen_input') c;

-- a block larger than max_block is split by the refine keys; a part still too
-- large is left out, and that is reported, never silent (no training needed)
SELECT sp.create_linkage_model('tiny_blocks', '{"comparisons": [{"name": "family_name", "column": "family_name", "method": "exact"}],
  "blocking": [{"keys": ["family_name"], "max_block": 3, "refine": ["admin_area_code"]}]}');
CREATE TEMP TABLE fam (id bigint, family_name text, admin_area_code text);
INSERT INTO fam VALUES (1, 'Ali', 'A'), (2, 'Ali', 'A'), (3, 'Ali', 'B'), (4, 'Ali', 'B'), (5, 'Ali', 'B'), (6, 'Ali', 'B'),
                       (7, 'Omar', 'A'), (8, 'Omar', 'A'), (9, 'Omar', NULL);
SELECT (r -> 'rules' -> 0) - 'keys' AS rule, r ->> 'candidate_pairs' AS pairs FROM sp.linkage_candidates('tiny_blocks', 'fam') r;
-- refine needs max_block, max_block a whole number, an object rule its keys; evidence, anchor, u_within, m_max and phonetic are checked
SELECT sp.create_linkage_model('bad', '{"comparisons": [{"name": "a", "column": "a", "method": "exact"}], "blocking": [{"keys": ["a"], "refine": ["b"]}]}');
SELECT sp.create_linkage_model('bad', '{"comparisons": [{"name": "a", "column": "a", "method": "exact"}], "blocking": [{"keys": ["a"], "max_block": 1.5}]}');
SELECT sp.create_linkage_model('bad', '{"comparisons": [{"name": "a", "column": "a", "method": "exact"}], "blocking": [{"max_block": 10}]}');
SELECT sp.create_linkage_model('bad', '{"comparisons": [{"name": "a", "column": "a", "method": "exact"}], "blocking": [["a"]],
  "evidence": [{"name": "x", "kind": "same_group", "column": "g", "weight": 5}]}');
SELECT sp.create_linkage_model('bad', '{"comparisons": [{"name": "a", "column": "a", "method": "exact"}], "blocking": [["a"]],
  "evidence": [{"name": "x", "kind": "twins", "date": "a", "family": "a", "given": "a", "weight": -5}]}');
SELECT sp.create_linkage_model('bad', '{"comparisons": [{"name": "a", "column": "a", "method": "exact"}], "blocking": [["a"]], "anchor": "nope"}');
SELECT sp.create_linkage_model('bad', '{"comparisons": [{"name": "a", "column": "a", "method": "exact", "u_within": "a"}], "blocking": [["a"]]}');
SELECT sp.create_linkage_model('bad', '{"comparisons": [{"name": "a", "column": "a", "method": "exact", "m_max": [1]}], "blocking": [["a"]]}');
SELECT sp.create_linkage_model('bad', '{"comparisons": [{"name": "a", "column": "a", "method": "exact", "phonetic": true}], "blocking": [["a"]]}');
SELECT sp.create_linkage_model('bad', '{"comparisons": [{"name": "a", "column": "a", "method": "exact"}], "blocking": [["a"]],
  "evidence": [{"name": "h", "kind": "household", "column": "g", "weight": -3}]}');
SELECT sp.create_linkage_model('bad', '{"comparisons": [{"name": "a", "column": "a", "method": "exact"}], "blocking": [["a"]],
  "evidence": [{"name": "h", "kind": "household", "column": "g"}, {"name": "h2", "kind": "household", "column": "g"}]}');
SELECT sp.create_linkage_model('bad', '{"comparisons": [{"name": "a", "column": "a", "method": "exact"}], "blocking": [["a"]],
  "evidence": [{"name": "h", "kind": "household"}]}');
SELECT count(*) AS bad_models_stored FROM sp.linkage_model WHERE name = 'bad';

-- labelled training: pairs people decided feed the model.  40 re-registrations
-- whose birth years were typed 20 years off are labelled matches: with them,
-- "12 or more years apart" is no longer capped as rare; without, it is.
CREATE TEMP TABLE gen_l AS SELECT * FROM gen;
INSERT INTO gen_l (id, entity, household, submission, given_name, family_name, birth_date, sex, national_id, phone, admin_area_code)
SELECT 910000 + g.id, g.entity, -g.id, -g.id, g.given_name, g.family_name,
       (left(g.birth_date, 4)::int - 20)::text || substr(g.birth_date, 5), g.sex, g.national_id, g.phone, g.admin_area_code
FROM gen g WHERE g.id IN (SELECT id FROM gen WHERE birth_precision = 'day' AND left(birth_date, 4)::int > 1960 ORDER BY id LIMIT 40);
CREATE TEMP VIEW gen_l_input AS
SELECT id, given_name, family_name, birth_date, sex, national_id, phone, admin_area_code, submission::text AS registration_group
FROM gen_l;
CREATE TEMP TABLE labels AS
SELECT id - 910000 AS left_id, id AS right_id, true AS is_match FROM gen_l WHERE id > 910000
UNION ALL SELECT 900001, 900002, false   -- the twins: two people
UNION ALL SELECT 900009, 999999, true;   -- a record that is not there: skipped, counted
SELECT sp.create_linkage_model('registry_labelled', (SELECT spec FROM sp.linkage_model WHERE name = 'person'));
SELECT t -> 'labels' AS labels
FROM (SELECT sp.train_linkage_model('registry_labelled', 'gen_l_input', NULL, 'labels') -> 'training' AS t) s;
SELECT name, (params #>> '{comparisons,birth_date,m,6}')::float8 > 0.002 AS generation_apart_allowed
FROM sp.linkage_model WHERE name IN ('registry', 'registry_labelled') ORDER BY name;
-- labels need their three columns, without NULLs; the registry is trained on its reviews instead
CREATE TEMP TABLE bad_labels (left_id bigint, right_id bigint);
SELECT sp.train_linkage_model('registry_labelled', 'gen_l_input', NULL, 'bad_labels');
INSERT INTO labels VALUES (1, NULL, true);
SELECT sp.train_linkage_model('registry_labelled', 'gen_l_input', NULL, 'labels');
SELECT sp.train_linkage_model('person', 'sp_internal.person_linkage_input', NULL, 'labels');
