-- Record linkage: model specs, training, scoring, explanations, limits.
\set SHOW_CONTEXT never

-- specs are validated and the offending field is named
SELECT sp.create_linkage_model('bad', '[]');
SELECT sp.create_linkage_model('bad', '{"comparisons": []}');
SELECT sp.create_linkage_model('bad', '{"comparisons": [{"name": "a", "column": "a", "method": "soundex"}], "blocking": [["a"]]}');
SELECT sp.create_linkage_model('bad', '{"comparisons": [{"name": "a", "column": "a", "method": "jaro_winkler", "thresholds": [0.8, 0.9]}], "blocking": [["a"]]}');
SELECT sp.create_linkage_model('bad', '{"comparisons": [{"name": "a", "column": "a", "method": "levenshtein", "thresholds": [1.5]}], "blocking": [["a"]]}');
SELECT sp.create_linkage_model('bad', '{"comparisons": [{"name": "a", "column": "a", "method": "jaro_winkler"}], "blocking": [["a"]]}');
SELECT sp.create_linkage_model('bad', '{"comparisons": [{"name": "a", "column": "a", "method": "jaro_winkler", "thresholds": [0.9], "prefixes": [3]}], "blocking": [["a"]]}');
SELECT sp.create_linkage_model('bad', '{"comparisons": [{"name": "a", "column": "a", "method": "exact", "prefixes": [4, 6]}], "blocking": [["a"]]}');
SELECT sp.create_linkage_model('bad', '{"comparisons": [{"name": "a", "column": "a", "method": "exact", "prefixes": [2.5]}], "blocking": [["a"]]}');
SELECT sp.create_linkage_model('bad', '{"comparisons": [{"name": "a", "column": "a", "method": "exact", "prefixes": "6"}], "blocking": [["a"]]}');
SELECT sp.create_linkage_model('bad', '{"comparisons": [{"name": "a", "column": "a", "method": "exact", "swap_with": "b"}], "blocking": [["a"]]}');
SELECT sp.create_linkage_model('bad', '{"comparisons": [{"name": "a", "column": "a", "method": "exact"}]}');
SELECT sp.create_linkage_model('bad', '{"comparisons": [{"name": "a", "column": "a", "method": "exact"}], "blocking": [["soundex(a)"]]}');
SELECT sp.create_linkage_model('bad', '{"comparisons": [{"name": "a", "column": "a", "method": "exact"}, {"name": "a", "column": "b", "method": "exact"}], "blocking": [["a"]]}');
SELECT sp.create_linkage_model('bad', '{"comparisons": [{"name": "d", "column": "d", "method": "date", "tf_adjust": true}], "blocking": [["d"]]}');
SELECT sp.create_linkage_model('person', '{"comparisons": [{"name": "a", "column": "a", "method": "exact"}], "blocking": [["a"]]}');
SELECT count(*) AS bad_models_stored FROM sp.linkage_model WHERE name = 'bad';

-- an untrained or unknown model cannot score
SELECT * FROM sp.match_pairs('person', 'pg_class');
SELECT * FROM sp.match_pairs('nobody', 'pg_class');

-- FEBRL dataset 1 (1000 records, 500 true duplicate pairs), from the shared data folder
CREATE TEMP TABLE febrl_raw (rec_id text, given_name text, surname text, street_number text, address_1 text,
                             address_2 text, suburb text, postcode text, state text, date_of_birth text, soc_sec_id text);
\copy febrl_raw FROM '../shared/data/febrl/dataset1.csv' WITH (FORMAT csv, HEADER true)
CREATE TEMP TABLE febrl1 AS
SELECT row_number() OVER (ORDER BY rec_id)::bigint AS id, split_part(btrim(rec_id), '-', 2)::int AS entity,
       nullif(btrim(given_name), '') AS given_name, nullif(btrim(surname), '') AS family_name,
       nullif(btrim(date_of_birth), '') AS birth_date, nullif(btrim(soc_sec_id), '') AS national_id,
       nullif(concat_ws(' ', nullif(btrim(street_number), ''), nullif(btrim(address_1), ''), nullif(btrim(address_2), '')), '') AS address,
       nullif(btrim(postcode), '') AS postcode
FROM febrl_raw;
SELECT count(*) AS records, count(DISTINCT entity) AS entities FROM febrl1;

-- the relation needs an id
CREATE TEMP VIEW no_id AS SELECT given_name FROM febrl1;
SELECT sp.train_linkage_model('person', 'no_id');

-- unsupervised training converges
SELECT t ->> 'records' AS records, (t ->> 'em_converged')::boolean AS converged,
       (t ->> 'candidate_pairs')::int > 500 AS enough_candidates, (t ->> 'u_sample_pairs')::int AS u_sample_pairs
FROM (SELECT sp.train_linkage_model('person', 'febrl1') -> 'training' AS t) s;
SELECT model, source, right_source FROM sp.linkage_training;
SELECT name, params IS NOT NULL AS trained FROM sp.linkage_model WHERE name = 'person';

-- and finds the duplicates: precision and recall at probability 0.5
CREATE TEMP TABLE pairs1 AS SELECT * FROM sp.match_pairs('person', 'febrl1');
SELECT count(*) FILTER (WHERE left_id >= right_id) AS misordered,
       count(*) - count(DISTINCT (left_id, right_id)) AS scored_twice,
       count(*) FILTER (WHERE match_probability NOT BETWEEN 0 AND 1) AS bad_probability
FROM pairs1;
WITH truth AS (SELECT a.id AS left_id, b.id AS right_id FROM febrl1 a JOIN febrl1 b ON a.entity = b.entity AND a.id < b.id),
     predicted AS (SELECT left_id, right_id FROM pairs1 WHERE match_probability >= 0.5),
     tp AS (SELECT count(*) AS n FROM predicted JOIN truth USING (left_id, right_id))
SELECT (SELECT count(*) FROM truth) AS true_pairs,
       tp.n::numeric / (SELECT count(*) FROM predicted) >= 0.99 AS precision_at_least_099,
       tp.n::numeric / (SELECT count(*) FROM truth) >= 0.97 AS recall_at_least_097,
       2 * tp.n::numeric / ((SELECT count(*) FROM predicted) + (SELECT count(*) FROM truth)) >= 0.98 AS f1_at_least_098
FROM tp;

-- min_probability filters
SELECT count(*) = (SELECT count(*) FROM pairs1 WHERE match_probability >= 0.9) AS filtered
FROM sp.match_pairs('person', 'febrl1', NULL, 0.9);

-- explanations add up to the match weight
SELECT round((SELECT sum(weight) FROM sp.explain_match('person', 'febrl1', p.left_id, 'febrl1', p.right_id)
              WHERE comparison <> 'total')::numeric, 6) = round(p.match_weight::numeric, 6) AS explained_sum_is_weight
FROM pairs1 p ORDER BY p.match_weight DESC, p.left_id LIMIT 3;
SELECT comparison, level FROM sp.explain_match('person', 'febrl1', 1, 'febrl1', 1) ORDER BY comparison;
SELECT * FROM sp.explain_match('person', 'febrl1', 1, 'febrl1', 999999);

-- what the person model handles: swapped names, other scripts, year-only dates, ID typos, missing values
CREATE TEMP TABLE people (id bigint, given_name text, family_name text, birth_date date, national_id text, phone text);
INSERT INTO people VALUES
    (1, 'Amina', 'Odhiambo', '1985-03-14', '12345678', '+254712345678'),
    (2, 'Odhiambo', 'Amina', '1985-03-14', '12345687', NULL),          -- names swapped, digits swapped
    (3, 'Иван', 'Петров', '1970-06-01', NULL, NULL),
    (4, 'Ivan', 'Petrov', '1970-01-01', NULL, '0722 000 111'),         -- Latin spelling, year-only date
    (5, 'Joseph', 'Kamau', '1990-02-02', '55555555', NULL),
    (6, 'Grace', 'Wanjiru', '1962-11-30', '99999999', NULL),
    (7, NULL, NULL, NULL, NULL, NULL);                                 -- nothing to compare
-- and 300 other people, so that names have realistic frequencies
INSERT INTO people SELECT 100 + i, 'Given' || i, 'Family' || (i % 150), date '1950-01-15' + i * 37, NULL, NULL
FROM generate_series(1, 300) i;
SELECT left_id, right_id, match_probability > 0.5 AS likely_match
FROM sp.match_pairs('person', 'people') WHERE left_id < 100 ORDER BY 1, 2;
SELECT comparison, level FROM sp.explain_match('person', 'people', 1, 'people', 2)
WHERE comparison IN ('given_name', 'family_name', 'national_id', 'birth_date');
SELECT comparison, level FROM sp.explain_match('person', 'people', 3, 'people', 4)
WHERE comparison IN ('given_name', 'family_name', 'birth_date');

-- linking two relations: ids come from each side
CREATE TEMP TABLE programme_list (id bigint, given_name text, family_name text, birth_date date, national_id text);
INSERT INTO programme_list VALUES (100, 'AMINA', 'ODHIAMBO', '1985-03-14', '12-345-678'), (101, 'Peter', 'Otieno', '1950-05-05', '11111111');
SELECT left_id, right_id, match_probability > 0.5 AS likely_match FROM sp.match_pairs('person', 'people', 'programme_list')
ORDER BY 1, 2;

-- blocking that would produce too many pairs is refused before any work
SET sp_registry.linkage_max_pairs_millions = 1;
SELECT sp.create_linkage_model('loose', '{"comparisons": [{"name": "g", "column": "given_name", "method": "exact"}],
                                          "blocking": [["k"]]}');
CREATE TEMP TABLE many AS SELECT i AS id, 'x' AS k, 'n' || i AS given_name FROM generate_series(1, 2000) i;
SELECT sp.train_linkage_model('loose', 'many');
RESET sp_registry.linkage_max_pairs_millions;
