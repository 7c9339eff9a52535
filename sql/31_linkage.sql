-- Record linkage: Fellegi-Sunter models as data (src/pg/linkage.c).

CREATE TABLE sp.linkage_model (
    name        text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$'),
    spec        jsonb NOT NULL,
    params      jsonb,
    description text,
    builtin     boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  text NOT NULL DEFAULT sp_internal.caller(),
    trained_at  timestamptz
);
COMMENT ON TABLE sp.linkage_model IS 'Record linkage models: spec (comparisons and blocking rules, docs/linkage.md) and params (m and u per comparison level, prior) estimated by sp.train_linkage_model. Every training run is also kept in sp.linkage_training.';

-- The built-in model is created by CREATE EXTENSION, but its trained
-- parameters are registry data: pg_dump saves the built-in row once trained
-- (sql/90_grants.sql), and a restore, which finds the row already installed,
-- puts the saved parameters into it instead of inserting it again.
CREATE FUNCTION sp_internal.linkage_model_restore_builtin()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.builtin AND sp_internal.loading_rows(TG_RELID)
       AND EXISTS (SELECT 1 FROM sp.linkage_model m WHERE m.name = NEW.name AND m.builtin) THEN
        UPDATE sp.linkage_model m SET params = NEW.params, trained_at = NEW.trained_at
        WHERE m.name = NEW.name AND m.builtin;
        RETURN NULL;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION sp_internal.linkage_model_restore_builtin() IS 'Trigger: a restore (sp_internal.loading_rows) of a trained built-in linkage model updates the installed row with the saved parameters.';
CREATE TRIGGER linkage_model_restore_builtin BEFORE INSERT ON sp.linkage_model
    FOR EACH ROW EXECUTE FUNCTION sp_internal.linkage_model_restore_builtin();

CREATE TABLE sp.linkage_training (
    training_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    model        text NOT NULL REFERENCES sp.linkage_model (name) ON UPDATE CASCADE,
    trained_at   timestamptz NOT NULL DEFAULT now(),
    trained_by   text NOT NULL DEFAULT sp_internal.caller(),
    source       text NOT NULL,
    right_source text,
    params       jsonb NOT NULL
);
CREATE INDEX linkage_training_model_idx ON sp.linkage_training (model, trained_at);
COMMENT ON TABLE sp.linkage_training IS 'Every training run of every linkage model, with the relations it learned from and the parameters it produced: a model is never silently replaced.';

-- Parameters decide who is flagged as a duplicate of whom in every region:
-- training (a direct UPDATE of params) needs national scope.
CREATE TRIGGER linkage_model_national BEFORE INSERT OR UPDATE OR DELETE ON sp.linkage_model
    FOR EACH ROW EXECUTE FUNCTION sp_internal.national_configuration('changing a linkage model');
CREATE TRIGGER linkage_training_national BEFORE INSERT OR UPDATE OR DELETE ON sp.linkage_training
    FOR EACH ROW EXECUTE FUNCTION sp_internal.national_configuration('recording a linkage training');

CREATE FUNCTION sp_internal.validate_linkage_spec(spec jsonb)
    RETURNS void
    AS 'MODULE_PATHNAME', 'sp_validate_linkage_spec'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION sp_internal.validate_linkage_spec(jsonb) IS 'Raises 22023 naming the offending field when a linkage spec is invalid.';

CREATE FUNCTION sp_internal.validate_linkage_params(name text, spec jsonb, params jsonb)
    RETURNS void
    AS 'MODULE_PATHNAME', 'sp_validate_linkage_params'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION sp_internal.validate_linkage_params(text, jsonb, jsonb) IS 'Raises 22023 naming the JSON path (e.g. params.comparisons.given_name.m[1]) unless params hold a prior in (0, 1) and, for every comparison of the spec, m and u arrays of one probability in (0, 1] per level. The same check the scoring code makes when it reads a model.';

-- Every write path (the API, a direct UPDATE by an admin, a restore) goes
-- through the C checks: a model the scoring code could not read is never
-- stored, so it cannot break registration (which scores every new person).
-- SECURITY DEFINER: the check runs whatever the writer may execute.
CREATE FUNCTION sp_internal.linkage_model_check()
    RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM sp_internal.validate_linkage_spec(NEW.spec);
    IF NEW.params IS NOT NULL THEN
        PERFORM sp_internal.validate_linkage_params(NEW.name, NEW.spec, NEW.params);
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION sp_internal.linkage_model_check() IS 'BEFORE INSERT OR UPDATE trigger of sp.linkage_model: the spec and the params must pass the checks of the C code that reads them.';

CREATE TRIGGER linkage_model_check BEFORE INSERT OR UPDATE OF spec, params ON sp.linkage_model
    FOR EACH ROW EXECUTE FUNCTION sp_internal.linkage_model_check();

CREATE FUNCTION sp_internal.estimate_linkage_params(name text, source regclass, right_source regclass,
                                                    labels regclass DEFAULT NULL, label_source regclass DEFAULT NULL)
    RETURNS jsonb
    AS 'MODULE_PATHNAME', 'sp_train_linkage_model'
    LANGUAGE C VOLATILE;
COMMENT ON FUNCTION sp_internal.estimate_linkage_params(text, regclass, regclass, regclass, regclass) IS 'Estimation: u from up to 1,000,000 random pairs (or pairs of one family, u_within), m from anchored and labelled pairs and by EM over blocked pairs, the prior rule by rule. labels: a relation of (left_id, right_id, is_match) whose records are read from label_source (default: source).';

CREATE FUNCTION sp.create_linkage_model(name text, spec jsonb, description text DEFAULT NULL)
    RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF spec IS NULL THEN
        RAISE EXCEPTION 'spec must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- a linkage model decides who is flagged as a duplicate of whom, everywhere
    PERFORM sp_internal.require_national_scope('creating a linkage model');
    PERFORM sp_internal.validate_linkage_spec(spec);
    INSERT INTO sp.linkage_model (name, spec, description) VALUES (create_linkage_model.name, spec, description);
EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION 'linkage model "%" already exists', create_linkage_model.name
        USING ERRCODE = 'unique_violation',
              HINT = 'Choose another name; models are not replaced, so that matches stay explainable.';
END
$$;
COMMENT ON FUNCTION sp.create_linkage_model(text, jsonb, text) IS 'Creates a linkage model from a spec (comparisons and blocking rules, see docs/linkage.md), validated first. Train it with sp.train_linkage_model.';

-- How common each name was in the data a model was trained on, for scoring
-- that reads only a few records (the duplicate check at registration): there,
-- agreeing on a rare name still says more than agreeing on Mohamed.  Values
-- are 64-bit hashes of the normalised value; values seen once are not kept.
CREATE TABLE sp_internal.linkage_term_frequency (
    model      text NOT NULL REFERENCES sp.linkage_model (name) ON UPDATE CASCADE,
    comparison text NOT NULL,
    value_hash bigint NOT NULL,
    records    integer NOT NULL CHECK (records > 1),
    PRIMARY KEY (model, comparison, value_hash)
);
COMMENT ON TABLE sp_internal.linkage_term_frequency IS 'Term frequencies of the last training of each linkage model: records per value (64-bit hash of the normalised value, values seen at least twice) of each comparison with tf_adjust. Replaced by every training; read by the duplicate check at registration.';

CREATE FUNCTION sp_internal.store_term_frequencies(name text, tf jsonb)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
BEGIN
    PERFORM sp_internal.require_national_scope('training a linkage model');
    DELETE FROM sp_internal.linkage_term_frequency f WHERE f.model = store_term_frequencies.name;
    INSERT INTO sp_internal.linkage_term_frequency (model, comparison, value_hash, records)
    SELECT store_term_frequencies.name, c.key, (v.value ->> 0)::bigint, (v.value ->> 1)::int
    FROM jsonb_each(coalesce(tf, '{}')) c, jsonb_array_elements(c.value) v;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION sp_internal.store_term_frequencies(text, jsonb) IS 'Replaces the stored term frequencies of a linkage model with those a training run returned ({"<comparison>": [[value_hash, records], ...]}). Called by sp.train_linkage_model; national scope required.';
REVOKE ALL ON FUNCTION sp_internal.store_term_frequencies(text, jsonb) FROM PUBLIC;

CREATE FUNCTION sp.train_linkage_model(name text, source regclass, right_source regclass DEFAULT NULL,
                                       labels regclass DEFAULT NULL)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    estimated jsonb;
BEGIN
    PERFORM 1 FROM sp.linkage_model m WHERE m.name = train_linkage_model.name FOR UPDATE;
    IF source = 'sp_internal.person_linkage_input'::regclass AND right_source IS NULL THEN
        -- the registry itself: read as the owner, since no role may read that view;
        -- its reviewers' decisions (sp.match_review) are its labels
        IF labels IS NOT NULL THEN
            RAISE EXCEPTION 'the registry is trained on its reviewers'' decisions, not on labels passed in'
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Decide pending pairs with sp.review_match; the next training uses them.';
        END IF;
        estimated := sp_internal.estimate_on_registry(train_linkage_model.name);
    ELSE
        estimated := sp_internal.estimate_linkage_params(train_linkage_model.name, source, right_source, labels);
    END IF;
    PERFORM sp_internal.store_term_frequencies(train_linkage_model.name, estimated -> 'term_frequencies');
    estimated := estimated - 'term_frequencies';
    UPDATE sp.linkage_model m SET params = estimated, trained_at = now()
    WHERE m.name = train_linkage_model.name;
    INSERT INTO sp.linkage_training (model, source, right_source, params)
    VALUES (train_linkage_model.name, source::text, right_source::text, estimated);
    RETURN estimated;
END
$$;
COMMENT ON FUNCTION sp.train_linkage_model(text, regclass, regclass, regclass) IS
'Trains a model on a relation (deduplication) or two (linkage): u from random pairs, m from pairs anchored on the spec''s anchor (national ID) and from labelled matches, the rest by expectation-maximisation over blocked pairs, the prior rule by rule. labels: a relation (left_id, right_id, is_match boolean) of pairs people decided; on the registry (sp_internal.person_linkage_input) the reviewers'' decisions in sp.match_review are used instead. Inputs have id bigint plus the columns the spec names (absent ones are skipped). Returns the parameters with training facts; keeps the run in sp.linkage_training.';

CREATE FUNCTION sp.match_pairs(model text, left_rel regclass, right_rel regclass DEFAULT NULL,
                               min_probability float8 DEFAULT 0)
    RETURNS TABLE (left_id bigint, right_id bigint, match_weight float8, match_probability float8)
    AS 'MODULE_PATHNAME', 'sp_match_pairs'
    LANGUAGE C STABLE ROWS 10000;
COMMENT ON FUNCTION sp.match_pairs(text, regclass, regclass, float8) IS
'Scores the candidate pairs of the model''s blocking rules, each pair once: left_rel against itself (left_id < right_id) when right_rel is NULL, else left_rel against right_rel. match_weight is log2 of the posterior odds; pairs below min_probability are not returned.';

CREATE FUNCTION sp.linkage_candidates(model text, left_rel regclass, right_rel regclass DEFAULT NULL)
    RETURNS jsonb
    AS 'MODULE_PATHNAME', 'sp_linkage_candidates'
    LANGUAGE C STABLE;
COMMENT ON FUNCTION sp.linkage_candidates(text, regclass, regclass) IS
'What the model''s blocking rules would produce, without scoring anything: candidate pairs (each once, counted for the first rule that produces it), pairs per record, and per rule the largest block and the pairs that splitting large blocks left out. For sizing rules before a country-wide run.';

CREATE FUNCTION sp.explain_match(model text, left_rel regclass, left_id bigint, right_rel regclass, right_id bigint)
    RETURNS TABLE (comparison text, level text, weight float8)
    AS 'MODULE_PATHNAME', 'sp_explain_match'
    LANGUAGE C STABLE;
COMMENT ON FUNCTION sp.explain_match(text, regclass, bigint, regclass, bigint) IS
'Why two records match or not: the prior, then each comparison with its level and weight (log2 Bayes factor), then the total weight and match probability. What a reviewer reads before accepting or rejecting a match.';

-- The built-in model for persons.  It uses the conventional columns when the
-- input has them and skips the others.
INSERT INTO sp.linkage_model (name, builtin, description, spec) VALUES ('person', true,
'Persons: names (with given/family swaps and transliteration), birth date, sex, national ID, phone, address, postcode and admin area - whichever the input has. Persons registered together (registration_group) and twins are kept apart; m is anchored on national ID agreement; locality and phone u are measured among people of one family name; common names are blocked with their district.',
$${
  "comparisons": [
    {"name": "given_name", "column": "given_name", "method": "jaro_winkler", "thresholds": [0.92, 0.8],
     "normalize": "name", "swap_with": "family_name", "tf_adjust": true, "phonetic": true},
    {"name": "family_name", "column": "family_name", "method": "jaro_winkler", "thresholds": [0.92, 0.8],
     "normalize": "name", "tf_adjust": true, "phonetic": true},
    {"name": "other_names", "column": "other_names", "method": "jaro_winkler", "thresholds": [0.9], "normalize": "name"},
    {"name": "birth_date", "column": "birth_date", "method": "date"},
    {"name": "sex", "column": "sex", "method": "exact", "normalize": "id", "depends_on": ["given_name"]},
    {"name": "national_id", "column": "national_id", "method": "damerau_levenshtein", "thresholds": [1, 2],
     "normalize": "id"},
    {"name": "phone", "column": "phone", "method": "exact", "normalize": "digits", "u_within": ["given_name", "family_name"]},
    {"name": "address", "column": "address", "method": "jaro_winkler", "thresholds": [0.9, 0.75], "normalize": "name",
     "u_within": ["given_name", "family_name"]},
    {"name": "postcode", "column": "postcode", "method": "exact", "normalize": "id", "u_within": ["given_name", "family_name"]},
    {"name": "admin_area_code", "column": "admin_area_code", "method": "exact", "prefixes": [6],
     "u_within": ["given_name", "family_name"]}
  ],
  "evidence": [
    {"name": "registered_together", "kind": "same_group", "column": "registration_group", "weight": -40},
    {"name": "twins", "kind": "twins", "date": "birth_date", "family": "family_name", "given": "given_name", "weight": -15},
    {"name": "names_swapped", "kind": "swapped_names", "weight": -4},
    {"name": "household", "kind": "household", "column": "registration_group"}
  ],
  "anchor": "national_id",
  "anchor_m_from": ["given_name", "family_name", "birth_date"],
  "blocking": [
    {"keys": ["national_id"], "max_block": 50},
    {"keys": ["sorted(national_id)"], "max_block": 50, "refine": ["year(birth_date)"]},
    {"keys": ["phone"], "max_block": 50},
    {"keys": ["name_keys(given_name, family_name)"], "max_block": 200,
     "refine": ["first(admin_area_code, 6)", "year(birth_date)"]},
    {"keys": ["name_key(family_name)", "year(birth_date)"], "max_block": 200,
     "refine": ["first(admin_area_code, 6)", "name_key(given_name)"]},
    {"keys": ["name_key(given_name)", "birth_date"], "max_block": 200,
     "refine": ["first(admin_area_code, 6)", "name_key(family_name)"]},
    ["birth_date", "postcode"],
    ["first(given_name, 2)", "first(family_name, 2)", "postcode"],
    {"keys": ["address", "postcode"], "max_block": 50, "refine": ["year(birth_date)"]}
  ]
}$$);
