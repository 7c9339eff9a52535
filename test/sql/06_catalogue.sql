-- The variable catalogue drives validation of attributes.
\set SHOW_CONTEXT never

-- a country adds its own variables
INSERT INTO sp.variable (code, label, entity, value_type, required, min_value, max_value)
VALUES ('household_size_declared', 'Declared household size', 'household', 'integer', true, 1, 60);
INSERT INTO sp.variable (code, label, entity, value_type, categories)
VALUES ('cooking_fuel', 'Main cooking fuel', 'household', 'category', ARRAY['wood', 'charcoal', 'gas', 'electricity']),
       ('survey_date', 'Date of interview', 'household', 'date', NULL),
       ('notes', 'Enumerator notes', 'household', 'text', NULL),
       ('disability_card_no', 'Disability card number', 'person', 'text', NULL);

-- catalogue rows are checked themselves (terse: the failing row carries a timestamp)
\set VERBOSITY terse
INSERT INTO sp.variable (code, label, entity, value_type) VALUES ('Bad Code', 'x', 'household', 'text');
INSERT INTO sp.variable (code, label, entity, value_type) VALUES ('colour', 'x', 'household', 'category');
INSERT INTO sp.variable (code, label, entity, value_type, min_value) VALUES ('flag', 'x', 'household', 'boolean', 0);
INSERT INTO sp.variable (code, label, entity, value_type, min_value, max_value) VALUES ('n', 'x', 'household', 'integer', 5, 1);
INSERT INTO sp.variable (code, label, entity, value_type) VALUES ('x', 'x', 'village', 'text');
\set VERBOSITY default

CREATE FUNCTION pg_temp.check(attrs jsonb, entity text DEFAULT 'household') RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    st text;
    msg text;
BEGIN
    PERFORM sp.validate_attributes(attrs, entity);
    RETURN 'valid';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    RETURN st || ' ' || msg;
END
$$;

SELECT attrs, pg_temp.check(attrs::jsonb) FROM (VALUES
    ('{"household_size_declared": 4}'),
    ('{}'),
    ('{"household_size_declared": null}'),
    ('{"household_size_declared": 0}'),
    ('{"household_size_declared": 4, "cooking_fuel": "gas", "survey_date": "2026-11-02", "notes": "gate locked, neighbour answered"}'),
    ('{"household_size_declared": 4, "cooking_fuel": "dung"}'),
    ('{"household_size_declared": 4, "cooking_fuel": null}'),
    ('{"household_size_declared": 4, "survey_date": "2026-02-30"}'),
    ('{"household_size_declared": 4, "survey_date": 20261102}'),
    ('{"household_size_declared": 4, "notes": ""}'),
    ('{"household_size_declared": 4.0}'),
    ('{"household_size_declared": 1e1}'),
    ('{"household_size_declared": true}'),
    ('{"household_size_declared": 4, "disability_card_no": "D-1"}'),
    ('[]')
) AS t (attrs);
SELECT pg_temp.check('{"disability_card_no": "D-1", "disability": true}', 'person') AS person_attrs;
SELECT pg_temp.check('{}', 'village') AS bad_entity;
SELECT pg_temp.check(NULL) AS null_attributes_need_required;

-- registrations now need the required variable
SELECT sp.register_household('{"admin_area_code": "TL0101", "members": [{"given_name": "A", "relationship_to_head": "head"}]}');
SELECT sp.register_household('{"admin_area_code": "TL0101", "attributes": {"household_size_declared": 1},
  "members": [{"given_name": "A", "relationship_to_head": "head"}]}') ? 'household_id' AS registered;

-- a new relationship type becomes usable at once
INSERT INTO sp.relationship_type (code, label) VALUES ('co_wife', 'Co-wife (polygamous household)');
SELECT sp.register_household('{"admin_area_code": "TL0101", "attributes": {"household_size_declared": 2},
  "members": [{"given_name": "A", "relationship_to_head": "head"}, {"given_name": "B", "relationship_to_head": "co_wife"}]}')
  ? 'household_id' AS polygamous_registered;

DELETE FROM sp.variable WHERE code = 'household_size_declared';
