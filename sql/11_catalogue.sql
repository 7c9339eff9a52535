-- Catalogues: questionnaire variables and household relationships.

CREATE TABLE sp.variable (
    code        text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]{0,62}$'),
    label       text NOT NULL,
    entity      text NOT NULL CHECK (entity IN ('household', 'person')),
    value_type  text NOT NULL CHECK (value_type IN ('integer', 'numeric', 'boolean', 'text', 'category', 'date')),
    categories  text[] CHECK (categories IS NULL OR cardinality(categories) > 0),
    min_value   numeric,
    max_value   numeric,
    required    boolean NOT NULL DEFAULT false,
    unit        text,
    description text,
    builtin     boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT variable_categories_iff_category CHECK ((value_type = 'category') = (categories IS NOT NULL)),
    CONSTRAINT variable_min_not_above_max CHECK (min_value IS NULL OR max_value IS NULL OR min_value <= max_value),
    CONSTRAINT variable_range_only_for_numbers CHECK ((min_value IS NULL AND max_value IS NULL) OR value_type IN ('integer', 'numeric'))
);
COMMENT ON TABLE sp.variable IS 'Catalogue of questionnaire variables. Household and person "attributes" documents are validated against it: unknown codes, wrong types, values outside categories or [min_value, max_value], and missing required variables are rejected.';
COMMENT ON COLUMN sp.variable.entity IS 'household: a key of household attributes; person: a key of member attributes.';
COMMENT ON COLUMN sp.variable.value_type IS 'integer, numeric, boolean, text (at most 1000 characters), category (one of categories) or date (YYYY-MM-DD, YYYY-MM or YYYY).';
COMMENT ON COLUMN sp.variable.required IS 'A registration without this variable is rejected.';
COMMENT ON COLUMN sp.variable.builtin IS 'Shipped with the extension; pg_dump saves only rows you added.';

-- A required variable, a category removed or a narrower range changes what
-- every region may register: national scope (sql/10_area_scope.sql).
CREATE TRIGGER variable_national BEFORE INSERT OR UPDATE OR DELETE ON sp.variable
    FOR EACH ROW EXECUTE FUNCTION sp_internal.national_configuration('changing the variable catalogue');

CREATE TABLE sp.relationship_type (
    code        text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]{0,62}$'),
    label       text NOT NULL,
    builtin     boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE sp.relationship_type IS 'Allowed values of person.relationship_to_head. Exactly one active member of a household is the head.';

CREATE TRIGGER relationship_type_national BEFORE INSERT OR UPDATE OR DELETE ON sp.relationship_type
    FOR EACH ROW EXECUTE FUNCTION sp_internal.national_configuration('changing the relationship catalogue');

INSERT INTO sp.relationship_type (code, label, builtin) VALUES
    ('head', 'Head of household', true),
    ('spouse', 'Spouse or partner', true),
    ('child', 'Son or daughter', true),
    ('stepchild', 'Stepchild', true),
    ('child_in_law', 'Son or daughter in law', true),
    ('grandchild', 'Grandchild', true),
    ('parent', 'Father or mother', true),
    ('parent_in_law', 'Father or mother in law', true),
    ('grandparent', 'Grandparent', true),
    ('sibling', 'Brother or sister', true),
    ('other_relative', 'Other relative', true),
    ('non_relative', 'Not related (lodger, domestic worker, foster)', true);

-- A starter questionnaire; countries add their own variables.
INSERT INTO sp.variable (code, label, entity, value_type, categories, min_value, max_value, unit, builtin, description) VALUES
    ('dwelling_type', 'Type of dwelling', 'household', 'category',
        ARRAY['house', 'apartment', 'hut', 'tent', 'other'], NULL, NULL, NULL, true, NULL),
    ('roof_material', 'Main roof material', 'household', 'category',
        ARRAY['concrete', 'metal', 'tiles', 'thatch', 'plastic', 'other'], NULL, NULL, NULL, true, NULL),
    ('water_source', 'Main source of drinking water', 'household', 'category',
        ARRAY['piped', 'well', 'borehole', 'surface', 'vendor', 'other'], NULL, NULL, NULL, true, NULL),
    ('toilet_type', 'Toilet facility', 'household', 'category',
        ARRAY['flush', 'pit_latrine', 'none', 'other'], NULL, NULL, NULL, true, NULL),
    ('electricity', 'Household has electricity', 'household', 'boolean', NULL, NULL, NULL, NULL, true, NULL),
    ('rooms', 'Number of sleeping rooms', 'household', 'integer', NULL, 0, 50, 'rooms', true, NULL),
    ('land_area_ha', 'Agricultural land owned or used', 'household', 'numeric', NULL, 0, 100000, 'hectares', true, NULL),
    ('livestock_tlu', 'Livestock in tropical livestock units', 'household', 'numeric', NULL, 0, 10000, 'TLU', true, NULL),
    ('urban', 'Dwelling is in an urban area', 'household', 'boolean', NULL, NULL, NULL, NULL, true, NULL),
    ('monthly_income', 'Declared monthly household income', 'household', 'numeric', NULL, 0, NULL, 'local currency', true, NULL),
    ('education_level', 'Highest level of education completed', 'person', 'category',
        ARRAY['none', 'primary', 'secondary', 'tertiary'], NULL, NULL, NULL, true, NULL),
    ('disability', 'Has a functional difficulty (Washington Group: a lot / cannot do)', 'person', 'boolean', NULL, NULL, NULL, NULL, true, NULL),
    ('in_school', 'Currently attends school', 'person', 'boolean', NULL, NULL, NULL, NULL, true, NULL),
    ('employment', 'Main activity', 'person', 'category',
        ARRAY['employed', 'self_employed', 'farmer', 'unemployed', 'student', 'inactive'], NULL, NULL, NULL, true, NULL),
    ('pregnant', 'Currently pregnant', 'person', 'boolean', NULL, NULL, NULL, NULL, true, NULL);

-- Validation of one attributes document against the catalogue (C, shared
-- with registration: src/pg/validate.c).  Returns NULL when valid.  partial
-- = true validates a patch: required variables need not be present.
CREATE FUNCTION sp_internal.attributes_problem(attrs jsonb, entity text, prefix text, partial boolean)
    RETURNS sp_internal.problem
    AS 'MODULE_PATHNAME', 'sp_attributes_problem'
    LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION sp_internal.attributes_problem(jsonb, text, text, boolean) IS 'First catalogue violation of an attributes document, or NULL.';

CREATE FUNCTION sp.validate_attributes(attributes jsonb, entity text DEFAULT 'household')
    RETURNS void
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p sp_internal.problem;
BEGIN
    p := sp_internal.attributes_problem(attributes, entity, 'attributes', false);
    IF p.sqlstate IS NOT NULL THEN
        RAISE EXCEPTION '%: %', p.field, p.message USING ERRCODE = p.sqlstate, COLUMN = p.field;
    END IF;
END
$$;
COMMENT ON FUNCTION sp.validate_attributes(jsonb, text) IS 'Raises (with SQLSTATE and the offending field) when an attributes document violates the sp.variable catalogue; returns nothing when it is valid.';
