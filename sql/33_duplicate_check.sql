-- Checking new registrations against the registry: likely duplicates are
-- flagged in the response and kept for review; registration never fails
-- because of them (on-demand registration must not turn people away).

CREATE FUNCTION sp_internal.score_pairs(model text, rel regclass, left_ids bigint[], right_ids bigint[])
    RETURNS TABLE (left_id bigint, right_id bigint, match_weight float8, match_probability float8)
    AS 'MODULE_PATHNAME', 'sp_score_pairs'
    LANGUAGE C STABLE;
COMMENT ON FUNCTION sp_internal.score_pairs(text, regclass, bigint[], bigint[]) IS 'Scores the given pairs (left_ids[i], right_ids[i]) of one relation with a trained model, reading only those records (no term frequency adjustment).';

-- Candidate lookups by name keys, in either order (swapped names).
CREATE INDEX person_name_keys_idx ON sp.person (sp.name_key(family_name), sp.name_key(given_name))
    WHERE status = 'active';

CREATE TABLE sp.registration_duplicate (
    person_id           bigint NOT NULL REFERENCES sp.person (person_id),
    candidate_person_id bigint NOT NULL REFERENCES sp.person (person_id),
    match_probability   float8 NOT NULL,
    flagged_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_id, candidate_person_id)
);
CREATE INDEX registration_duplicate_candidate_idx ON sp.registration_duplicate (candidate_person_id);
COMMENT ON TABLE sp.registration_duplicate IS 'Likely duplicates found when a person was registered: the new person, the registered one it resembles, and the probability from the person linkage model. A finding for review, never a refusal.';

-- SECURITY DEFINER: it compares blind indexes, which registrars may not read.
CREATE FUNCTION sp_internal.check_new_persons(person_ids bigint[])
    RETURNS TABLE (person_id bigint, candidate_person_id bigint, match_probability float8)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    threshold float8 := sp_internal.setting_duplicate_flag_probability();
    l bigint[];
    r bigint[];
    rotating boolean := EXISTS (SELECT 1 FROM sp_internal.pii_key k WHERE k.purpose = 'blind_index' AND k.state = 'rotating');
BEGIN
    -- without a trained person model there is nothing to score with
    IF NOT EXISTS (SELECT 1 FROM sp.linkage_model m WHERE m.name = 'person' AND m.params IS NOT NULL) THEN
        RETURN;
    END IF;
    SELECT coalesce(array_agg(c.pid ORDER BY c.pid, c.cid), '{}'), coalesce(array_agg(c.cid ORDER BY c.pid, c.cid), '{}')
    INTO l, r
    FROM (
        -- while a blind-index rotation runs, registered persons may still be
        -- indexed under the key being replaced: match under either key
        SELECT n.person_id AS pid, o.person_id AS cid
        FROM sp.person n
        CROSS JOIN LATERAL unnest(CASE WHEN rotating THEN sp_internal.stored_blind_indexes('national_id', n.national_id_enc, n.national_id_hash)
                                       ELSE ARRAY[n.national_id_hash] END) AS v (h)
        JOIN sp.person o ON o.national_id_hash = v.h
        WHERE n.person_id = ANY (person_ids) AND o.status = 'active' AND o.household_id <> n.household_id
        UNION
        SELECT n.person_id, o.person_id
        FROM sp.person n
        CROSS JOIN LATERAL unnest(CASE WHEN rotating THEN sp_internal.stored_blind_indexes('phone', n.phone_enc, n.phone_hash)
                                       ELSE ARRAY[n.phone_hash] END) AS v (h)
        JOIN sp.person o ON o.phone_hash = v.h
        WHERE n.person_id = ANY (person_ids) AND o.status = 'active' AND o.household_id <> n.household_id
        UNION
        SELECT n.person_id, o.person_id
        FROM sp.person n JOIN sp.person o
          ON sp.name_key(o.family_name) = sp.name_key(n.family_name) AND sp.name_key(o.given_name) = sp.name_key(n.given_name)
        WHERE n.person_id = ANY (person_ids) AND o.status = 'active' AND o.household_id <> n.household_id
        UNION
        SELECT n.person_id, o.person_id
        FROM sp.person n JOIN sp.person o
          ON sp.name_key(o.family_name) = sp.name_key(n.given_name) AND sp.name_key(o.given_name) = sp.name_key(n.family_name)
        WHERE n.person_id = ANY (person_ids) AND o.status = 'active' AND o.household_id <> n.household_id
    ) c;
    IF cardinality(l) = 0 THEN
        RETURN;
    END IF;
    RETURN QUERY
    WITH flagged AS (
        INSERT INTO sp.registration_duplicate (person_id, candidate_person_id, match_probability)
        SELECT s.left_id, s.right_id, s.match_probability
        FROM sp_internal.score_pairs('person', CASE WHEN rotating THEN 'sp_internal.person_linkage_input_rotating'::regclass
                                                    ELSE 'sp_internal.person_linkage_input'::regclass END, l, r) s
        WHERE s.match_probability >= threshold
        ON CONFLICT ON CONSTRAINT registration_duplicate_pkey DO NOTHING
        RETURNING registration_duplicate.person_id, registration_duplicate.candidate_person_id,
                  registration_duplicate.match_probability
    )
    SELECT * FROM flagged;
END
$$;
COMMENT ON FUNCTION sp_internal.check_new_persons(bigint[]) IS 'Scores newly registered persons against registered ones found by national ID, phone or name keys (either order), with the trained person model; stores and returns pairs at or above sp_registry.duplicate_flag_probability. Does nothing while the person model is untrained.';
REVOKE ALL ON FUNCTION sp_internal.check_new_persons(bigint[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION sp_internal.score_pairs(text, regclass, bigint[], bigint[]) FROM PUBLIC;
