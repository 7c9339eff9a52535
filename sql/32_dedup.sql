-- Deduplication of the registry: exact national-ID matches, then the
-- linkage model; confident pairs form clusters, grey-zone pairs wait for a
-- person to decide.  Nothing is deleted: a merge is a status with history,
-- and it can be undone.

-- A stored blind index as the linkage input compares it: under the active
-- key.  During a blind-index rotation a person not yet re-indexed is
-- re-hashed from the decrypted value, so that the same ID under the old and
-- the new key still agrees (the first 2 bytes are the key tag).
CREATE FUNCTION sp_internal.linkage_hash(kind text, cipher bytea, hash bytea, active_key_id integer)
    RETURNS bytea
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN hash IS NULL OR sp_internal.pii_key_id(hash) = active_key_id THEN hash
                ELSE sp_internal.blind_index(kind, CASE kind WHEN 'national_id' THEN sp.normalize_national_id(sp_internal.decrypt_pii(cipher))
                                                             ELSE sp.normalize_phone(sp_internal.decrypt_pii(cipher)) END) END
$$;
COMMENT ON FUNCTION sp_internal.linkage_hash(text, bytea, bytea, integer) IS 'The blind index under the active key: the stored one, or, for a value not yet re-indexed by a running rotation, recomputed from the decrypted value. Owner only.';
REVOKE ALL ON FUNCTION sp_internal.linkage_hash(text, bytea, bytea, integer) FROM PUBLIC;

-- What the linkage model sees of active persons.  Identifiers stay
-- protected: the blind indexes stand in for national ID and phone, so they
-- compare exactly (a mistyped ID counts as different).  The first 64 bits
-- of the HMAC are plenty to tell IDs apart and keep string comparisons short.
-- A birth date as linkage reads it: only the part that is known, so that a
-- year-only date (stored as 1 January) is compared as a year.
CREATE FUNCTION sp_internal.birth_date_text(d date, prec text)
    RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
RETURN CASE prec WHEN 'year' THEN to_char(d, 'YYYY') WHEN 'month' THEN to_char(d, 'YYYY-MM')
                 ELSE to_char(d, 'YYYY-MM-DD') END;
COMMENT ON FUNCTION sp_internal.birth_date_text(date, text) IS 'A birth date as text with only its known part (YYYY, YYYY-MM or YYYY-MM-DD by precision), for linkage.';

-- Persons written by one registration (one household, one transaction) are
-- different people: the model keeps them apart (evidence "registered_together").
-- Members added to the household later are in other groups.
CREATE FUNCTION sp_internal.registration_group(household_id bigint, registered_at timestamptz)
    RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
RETURN household_id::text || ':' || (extract(epoch FROM registered_at) * 1000000)::bigint::text;
COMMENT ON FUNCTION sp_internal.registration_group(bigint, timestamptz) IS 'Household and registration time of a person: equal for the members one registration wrote together, whatever the session''s time zone.';

CREATE VIEW sp_internal.person_linkage_input WITH (security_barrier) AS
SELECT p.person_id AS id, p.given_name, p.family_name, p.other_names,
       sp_internal.birth_date_text(p.birth_date, p.birth_date_precision) AS birth_date, p.sex,
       encode(substr(p.national_id_hash, 3, 8), 'hex') AS national_id,
       encode(substr(p.phone_hash, 3, 8), 'hex') AS phone,
       p.admin_area_code, sp_internal.registration_group(p.household_id, p.registered_at) AS registration_group
FROM sp.person p
WHERE p.status = 'active'
  AND p.admin_area_code IN (SELECT v.code FROM sp_internal.visible_areas() v (code));
COMMENT ON VIEW sp_internal.person_linkage_input IS 'Active persons as linkage input: id = person_id; national ID and phone as blind-index hex (the first 8 HMAC bytes after the 2-byte key tag), so they match only exactly.';

-- The same while a blind-index rotation runs: every identifier as its
-- blind index under the active key (recomputed for persons not yet
-- re-indexed), so the duplicate check scores a new registration against a
-- person indexed under the old key as agreeing on the ID.  Owner only.
CREATE VIEW sp_internal.person_linkage_input_rotating WITH (security_barrier) AS
SELECT p.person_id AS id, p.given_name, p.family_name, p.other_names,
       sp_internal.birth_date_text(p.birth_date, p.birth_date_precision) AS birth_date, p.sex,
       encode(substr(sp_internal.linkage_hash('national_id', p.national_id_enc, p.national_id_hash, k.key_id), 3, 8), 'hex') AS national_id,
       encode(substr(sp_internal.linkage_hash('phone', p.phone_enc, p.phone_hash, k.key_id), 3, 8), 'hex') AS phone,
       p.admin_area_code, sp_internal.registration_group(p.household_id, p.registered_at) AS registration_group
FROM sp.person p
LEFT JOIN sp_internal.pii_key k ON k.purpose = 'blind_index' AND k.state = 'active'
WHERE p.status = 'active'
  AND p.admin_area_code IN (SELECT v.code FROM sp_internal.visible_areas() v (code));
COMMENT ON VIEW sp_internal.person_linkage_input_rotating IS 'sp_internal.person_linkage_input with every blind index under the active key, recomputed from the decrypted value for persons a running rotation has not re-indexed yet. For the duplicate check during a rotation; owner only.';
REVOKE ALL ON sp_internal.person_linkage_input_rotating FROM PUBLIC;

-- Records of reviewed pairs, whatever became of them (a merged person is no
-- longer active, but the pair still teaches what a match looks like).  Owner only.
CREATE VIEW sp_internal.person_linkage_labelled WITH (security_barrier) AS
SELECT p.person_id AS id, p.given_name, p.family_name, p.other_names,
       sp_internal.birth_date_text(p.birth_date, p.birth_date_precision) AS birth_date, p.sex,
       encode(substr(p.national_id_hash, 3, 8), 'hex') AS national_id,
       encode(substr(p.phone_hash, 3, 8), 'hex') AS phone,
       p.admin_area_code, sp_internal.registration_group(p.household_id, p.registered_at) AS registration_group
FROM sp.person p
WHERE p.admin_area_code IN (SELECT v.code FROM sp_internal.visible_areas() v (code));
COMMENT ON VIEW sp_internal.person_linkage_labelled IS 'sp_internal.person_linkage_input without the status filter: the records of pairs reviewers decided, merged ones included, for training. Owner only.';
REVOKE ALL ON sp_internal.person_linkage_labelled FROM PUBLIC;

-- Training the registry's own model reads the view as the owner: the view
-- carries 64 bits of each blind index, which no role may read (with them, a
-- decoy registration would let a reader join on a guessed ID without an
-- audited lookup).  sp.train_linkage_model comes here for this view.  The
-- reviewers' decisions are its labels: accepted pairs are matches, rejected
-- ones (and undone merges, whose review is rejected) are not.
CREATE FUNCTION sp_internal.estimate_on_registry(name text)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM sp_internal.require_national_scope('training a linkage model on the registry');
    RETURN sp_internal.estimate_linkage_params(name, 'sp_internal.person_linkage_input'::regclass, NULL,
                                               'sp_internal.review_labels'::regclass,
                                               'sp_internal.person_linkage_labelled'::regclass);
END
$$;
COMMENT ON FUNCTION sp_internal.estimate_on_registry(text) IS 'Linkage parameters estimated on the registry''s active persons (sp_internal.person_linkage_input), read as the owner, with the reviewers'' decisions as labels; national scope required. Called by sp.train_linkage_model.';
REVOKE ALL ON FUNCTION sp_internal.estimate_on_registry(text) FROM PUBLIC;

CREATE TABLE sp.dedup_run (
    run_id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    model            text NOT NULL REFERENCES sp.linkage_model (name) ON UPDATE CASCADE,
    threshold        float8 NOT NULL,
    review_threshold float8 NOT NULL,
    started_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    run_by           text NOT NULL DEFAULT sp_internal.caller(),
    result           jsonb,
    CHECK (review_threshold > 0 AND review_threshold <= threshold AND threshold <= 1)
);
COMMENT ON TABLE sp.dedup_run IS 'Each sp.deduplicate_persons call: model, thresholds, who, when, and the counts it produced.';

CREATE TABLE sp.person_cluster (
    run_id     bigint NOT NULL REFERENCES sp.dedup_run (run_id),
    cluster_id bigint NOT NULL,
    person_id  bigint NOT NULL REFERENCES sp.person (person_id),
    PRIMARY KEY (run_id, person_id)
);
CREATE INDEX person_cluster_cluster_idx ON sp.person_cluster (run_id, cluster_id);
COMMENT ON TABLE sp.person_cluster IS 'Groups of persons the run found to be the same person with probability at least its threshold (connected components of confident pairs; cluster_id is the smallest person_id of the group). Singletons are not stored.';

CREATE TABLE sp.match_review (
    review_id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id            bigint NOT NULL REFERENCES sp.dedup_run (run_id),
    person_id         bigint NOT NULL REFERENCES sp.person (person_id),
    other_person_id   bigint NOT NULL REFERENCES sp.person (person_id),
    match_probability float8 NOT NULL,
    match_weight      float8,
    status            text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'rejected')),
    decided_by        text,
    decided_at        timestamptz,
    reason            text,
    CHECK (person_id < other_person_id),
    CHECK ((status = 'pending') = (decided_at IS NULL))
);
CREATE UNIQUE INDEX match_review_open_pair_idx ON sp.match_review (person_id, other_person_id) WHERE status = 'pending';
CREATE INDEX match_review_pair_idx ON sp.match_review (person_id, other_person_id);
COMMENT ON TABLE sp.match_review IS 'Possible duplicates for a person to decide: accept (merge) or reject, with who, when and why. A rejected pair is not proposed again.';

-- The reviewers' decisions as training labels: the latest decision on each pair.
CREATE VIEW sp_internal.review_labels WITH (security_invoker) AS
SELECT DISTINCT ON (r.person_id, r.other_person_id)
       r.person_id AS left_id, r.other_person_id AS right_id, r.status = 'accepted' AS is_match
FROM sp.match_review r
WHERE r.status IN ('accepted', 'rejected')
ORDER BY r.person_id, r.other_person_id, r.decided_at DESC, r.review_id DESC;
COMMENT ON VIEW sp_internal.review_labels IS 'Decided reviews as linkage labels (left_id, right_id, is_match): the latest decision on each pair; an undone merge counts as rejected. Read by the registry''s training.';
REVOKE ALL ON sp_internal.review_labels FROM PUBLIC;

CREATE TABLE sp.person_merge (
    merge_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    survivor_id   bigint NOT NULL REFERENCES sp.person (person_id),
    merged_id     bigint NOT NULL REFERENCES sp.person (person_id),
    merged_status text NOT NULL,
    review_id     bigint REFERENCES sp.match_review (review_id),
    merged_at     timestamptz NOT NULL DEFAULT now(),
    merged_by     text NOT NULL DEFAULT sp_internal.caller(),
    reason        text NOT NULL,
    undone_at     timestamptz,
    undone_by     text,
    undo_reason   text
);
CREATE INDEX person_merge_merged_idx ON sp.person_merge (merged_id);
COMMENT ON TABLE sp.person_merge IS 'Every merge of a duplicate person into a survivor and every undo, with who, when and why. merged_status is what the merged person was before.';

CREATE FUNCTION sp_internal.clusters(left_ids bigint[], right_ids bigint[])
    RETURNS TABLE (cluster_id bigint, person_id bigint)
    AS 'MODULE_PATHNAME', 'sp_clusters'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION sp_internal.clusters(bigint[], bigint[]) IS 'Connected components (union-find in C) of the pairs (left_ids[i], right_ids[i]); cluster_id is the smallest id of each component.';

CREATE FUNCTION sp.deduplicate_persons(model text DEFAULT 'person', threshold float8 DEFAULT 0.9,
                                       review_threshold float8 DEFAULT 0.5, target_precision float8 DEFAULT NULL)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rid bigint;
    n_exact bigint;
    n_pairs bigint;
    n_clusters bigint;
    n_clustered bigint;
    n_review bigint;
    est_precision float8;
    reviewed jsonb;
    outcome jsonb;
BEGIN
    IF target_precision IS NOT NULL THEN
        IF NOT (target_precision > 0 AND target_precision < 1) THEN
            RAISE EXCEPTION 'target_precision must lie between 0 and 1, got %', target_precision
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        threshold := 1;         -- chosen below, once the pairs are scored
    END IF;
    IF threshold IS NULL OR review_threshold IS NULL OR NOT (review_threshold > 0 AND review_threshold <= threshold AND threshold <= 1) THEN
        RAISE EXCEPTION 'thresholds must satisfy 0 < review_threshold <= threshold <= 1'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('Got threshold %s and review_threshold %s.', threshold, review_threshold);
    END IF;
    PERFORM sp_internal.require_national_scope('deduplication of the registry');
    -- blind indexes under two keys do not compare: re-index first
    IF EXISTS (SELECT 1 FROM sp_internal.pii_key k WHERE k.purpose = 'blind_index' AND k.state = 'rotating') THEN
        RAISE EXCEPTION 'a blind-index key rotation is running'
            USING ERRCODE = 'object_in_use',
                  DETAIL = 'Until every person is re-indexed, equal national IDs may carry different blind indexes; deduplication would miss them.',
                  HINT = 'Finish the rotation (call sp.rotate_keys() until it reports done), then deduplicate.';
    END IF;
    INSERT INTO sp.dedup_run (model, threshold, review_threshold)
    VALUES (deduplicate_persons.model, threshold, review_threshold) RETURNING run_id INTO rid;

    CREATE TEMP TABLE sp_dedup_pairs (left_id bigint, right_id bigint, match_weight float8, match_probability float8)
        ON COMMIT DROP;

    -- 1. the same national ID (blind index) is the strongest evidence there is
    INSERT INTO sp_dedup_pairs
    SELECT a.person_id, b.person_id, NULL, 1.0
    FROM sp.person a JOIN sp.person b
      ON a.national_id_hash = b.national_id_hash AND a.person_id < b.person_id
    WHERE a.status = 'active' AND b.status = 'active';
    GET DIAGNOSTICS n_exact = ROW_COUNT;

    -- 2. the probabilistic model for everything else
    INSERT INTO sp_dedup_pairs
    SELECT m.left_id, m.right_id, m.match_weight, m.match_probability
    FROM sp.match_pairs(deduplicate_persons.model, 'sp_internal.person_linkage_input', NULL, review_threshold) m
    WHERE NOT EXISTS (SELECT 1 FROM sp_dedup_pairs e WHERE e.left_id = m.left_id AND e.right_id = m.right_id);
    GET DIAGNOSTICS n_pairs = ROW_COUNT;

    -- 2b. a threshold set by precision: the lowest at which the model's pairs at
    -- or above it are expected to be right target_precision of the time (their
    -- mean probability); below it lies the review band
    IF target_precision IS NOT NULL THEN
        SELECT min(s.p) INTO threshold
        FROM (SELECT d.match_probability AS p,
                     avg(d.match_probability) OVER (ORDER BY d.match_probability DESC, d.left_id, d.right_id) AS precision_above
              FROM sp_dedup_pairs d WHERE d.match_weight IS NOT NULL) s
        WHERE s.precision_above >= target_precision;
        threshold := greatest(coalesce(threshold, 1), review_threshold);
        UPDATE sp.dedup_run r SET threshold = deduplicate_persons.threshold WHERE r.run_id = rid;
    END IF;
    SELECT avg(d.match_probability) INTO est_precision
    FROM sp_dedup_pairs d WHERE d.match_weight IS NOT NULL AND d.match_probability >= threshold;
    -- what reviewers decided about pairs the model puts at or above the threshold
    SELECT jsonb_build_object('decided', count(*), 'accepted', count(*) FILTER (WHERE l.is_match),
                              'precision', round((avg(l.is_match::int))::numeric, 4))
    INTO reviewed
    FROM sp_internal.review_labels l JOIN sp_dedup_pairs d ON d.left_id = l.left_id AND d.right_id = l.right_id
    WHERE d.match_probability >= threshold;

    -- 3. confident pairs become clusters
    INSERT INTO sp.person_cluster (run_id, cluster_id, person_id)
    SELECT rid, c.cluster_id, c.person_id
    FROM sp_internal.clusters(
        ARRAY(SELECT left_id FROM sp_dedup_pairs WHERE match_probability >= threshold ORDER BY left_id, right_id),
        ARRAY(SELECT right_id FROM sp_dedup_pairs WHERE match_probability >= threshold ORDER BY left_id, right_id)) c;
    GET DIAGNOSTICS n_clustered = ROW_COUNT;
    SELECT count(DISTINCT cluster_id) INTO n_clusters FROM sp.person_cluster WHERE run_id = rid;

    -- 4. the grey zone goes to people, unless they already decided or it is still pending
    INSERT INTO sp.match_review (run_id, person_id, other_person_id, match_probability, match_weight)
    SELECT rid, d.left_id, d.right_id, d.match_probability, d.match_weight
    FROM sp_dedup_pairs d
    WHERE d.match_probability < threshold
      AND NOT EXISTS (SELECT 1 FROM sp.match_review r
                      WHERE r.person_id = d.left_id AND r.other_person_id = d.right_id
                        AND r.status IN ('pending', 'rejected'));
    GET DIAGNOSTICS n_review = ROW_COUNT;

    outcome := jsonb_build_object('run_id', rid, 'exact_id_pairs', n_exact, 'model_pairs', n_pairs,
                                 'clusters', n_clusters, 'persons_in_clusters', n_clustered,
                                 'queued_for_review', n_review, 'threshold', threshold,
                                 'review_band', jsonb_build_array(review_threshold, threshold),
                                 'estimated_precision_at_threshold', round(est_precision::numeric, 6),
                                 'reviewed_at_or_above_threshold', reviewed);
    UPDATE sp.dedup_run SET finished_at = clock_timestamp(), result = outcome WHERE run_id = rid;
    DROP TABLE sp_dedup_pairs;
    RETURN outcome;
END
$$;
COMMENT ON FUNCTION sp.deduplicate_persons(text, float8, float8, float8) IS
'Finds duplicate registrations among active persons: exact national-ID matches (blind index) first, then the linkage model. Pairs at or above threshold are grouped into sp.person_cluster; pairs between review_threshold and threshold go to sp.match_review for a person to decide (pairs already pending or rejected are not queued again). With target_precision, the threshold is the lowest at which the model''s pairs at or above it have a mean probability of at least target_precision. Never deletes or merges anyone by itself. Returns the counts, the threshold, its estimated precision and what reviewers decided above it; the run is kept in sp.dedup_run.';

CREATE FUNCTION sp.merge_persons(survivor_id bigint, merged_id bigint, reason text, review_id bigint DEFAULT NULL)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s sp.person%ROWTYPE;
    m_status text;
    m_root bigint;
    previous text;
    mid bigint;
BEGIN
    IF survivor_id IS NULL OR merged_id IS NULL OR survivor_id = merged_id THEN
        RAISE EXCEPTION 'a merge needs two different persons' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM sp_internal.person_household_in_scope(survivor_id);
    PERFORM sp_internal.person_household_in_scope(merged_id);
    -- a merge cites only the accepted review of this very pair: unmerge_person
    -- marks the cited review rejected, so any other review id would let a
    -- caller overturn decisions on persons it cannot even see
    IF review_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM sp.match_review r
        WHERE r.review_id = merge_persons.review_id AND r.status = 'accepted'
          AND r.person_id = least(survivor_id, merged_id) AND r.other_person_id = greatest(survivor_id, merged_id)) THEN
        RAISE EXCEPTION 'review % is not an accepted review of persons % and %', review_id, survivor_id, merged_id
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Decide the review with sp.review_match, which merges the pair itself; a merge without a review passes no review_id.';
    END IF;
    -- lock both in id order, so that two merges of one pair cannot deadlock
    PERFORM 1 FROM sp.person p WHERE p.person_id IN (survivor_id, merged_id) ORDER BY p.person_id FOR UPDATE;
    SELECT p.status, p.merged_into INTO s.status, s.merged_into FROM sp.person p WHERE p.person_id = survivor_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'person % does not exist', survivor_id USING ERRCODE = 'no_data_found';
    END IF;
    SELECT p.status INTO m_status FROM sp.person p WHERE p.person_id = merged_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'person % does not exist', merged_id USING ERRCODE = 'no_data_found';
    END IF;
    IF s.status = 'merged' THEN
        RAISE EXCEPTION 'person % was itself merged into person %', survivor_id, s.merged_into
            USING ERRCODE = 'invalid_parameter_value', HINT = format('Merge into person %s instead.', s.merged_into);
    END IF;
    IF m_status = 'merged' THEN
        RAISE EXCEPTION 'person % is already merged', merged_id USING ERRCODE = 'invalid_parameter_value';
    END IF;

    previous := sp_internal.begin_change(reason);
    UPDATE sp.person p SET status = 'merged', merged_into = survivor_id WHERE p.person_id = merged_id;
    -- persons merged earlier into the merged one now point to the survivor
    UPDATE sp.person p SET merged_into = survivor_id WHERE p.merged_into = merged_id;
    INSERT INTO sp.person_merge (survivor_id, merged_id, merged_status, review_id, reason)
    VALUES (survivor_id, merged_id, m_status, review_id, reason) RETURNING merge_id INTO mid;
    -- enrolments follow the person (sql/50_programme.sql)
    PERFORM sp_internal.merge_enrolments(mid, survivor_id, merged_id);
    PERFORM sp_internal.end_change(previous);
    RETURN jsonb_build_object('merge_id', mid, 'survivor_id', survivor_id, 'merged_id', merged_id);
END
$$;
COMMENT ON FUNCTION sp.merge_persons(bigint, bigint, text, bigint) IS 'Marks merged_id as a duplicate of survivor_id (status merged, merged_into) with a reason; the survivor keeps its data and the merged person keeps all of its own, in sp.person and its history. Undo with sp.unmerge_person.';

CREATE FUNCTION sp.unmerge_person(person_id bigint, reason text DEFAULT 'merge undone')
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    mg sp.person_merge%ROWTYPE;
    previous text;
    hid bigint;
BEGIN
    PERFORM sp_internal.person_household_in_scope(unmerge_person.person_id);
    SELECT * INTO mg FROM sp.person_merge g
    WHERE g.merged_id = unmerge_person.person_id AND g.undone_at IS NULL
    ORDER BY g.merge_id DESC LIMIT 1 FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'person % is not merged', unmerge_person.person_id USING ERRCODE = 'no_data_found';
    END IF;
    PERFORM sp_internal.person_household_in_scope(mg.survivor_id);
    -- the member cap of sp.add_member holds here too: merging a member away,
    -- adding one and undoing the merge would otherwise grow a household
    -- without bound
    SELECT p.household_id INTO hid FROM sp.person p WHERE p.person_id = unmerge_person.person_id;
    PERFORM 1 FROM sp.household h WHERE h.household_id = hid FOR UPDATE;
    IF (SELECT count(*) FROM sp.person t WHERE t.household_id = hid AND t.status <> 'merged') >= 100 THEN
        RAISE EXCEPTION 'household % already has 100 members', hid
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('Undoing the merge would bring person %s back as its 101st member.', unmerge_person.person_id);
    END IF;
    previous := sp_internal.begin_change(reason);
    UPDATE sp.person p SET status = mg.merged_status, merged_into = NULL WHERE p.person_id = unmerge_person.person_id;
    UPDATE sp.person_merge g SET undone_at = now(), undone_by = sp_internal.caller(), undo_reason = unmerge_person.reason
    WHERE g.merge_id = mg.merge_id;
    PERFORM sp_internal.unmerge_enrolments(mg.merge_id, mg.survivor_id, unmerge_person.person_id);
    UPDATE sp.match_review r SET status = 'rejected', decided_by = sp_internal.caller(), decided_at = now(),
                                 reason = 'merge undone: ' || unmerge_person.reason
    WHERE r.review_id = mg.review_id;
    PERFORM sp_internal.end_change(previous);
    RETURN jsonb_build_object('person_id', unmerge_person.person_id, 'status', mg.merged_status,
                              'was_merged_into', mg.survivor_id);
END
$$;
COMMENT ON FUNCTION sp.unmerge_person(bigint, text) IS 'Undoes the latest merge of a person: status and merged_into restored, the merge kept in sp.person_merge as undone, its review marked rejected so the pair is not proposed again.';

CREATE FUNCTION sp.review_match(review_id bigint, decision text, reason text)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r sp.match_review%ROWTYPE;
    merged jsonb;
BEGIN
    IF decision IS NULL OR decision NOT IN ('accept', 'reject') THEN
        RAISE EXCEPTION 'decision must be accept or reject, got "%"', left(decision, 64) USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM sp_internal.require_reason(reason, 'Every decision on a possible duplicate records why it was made.');
    -- a review of persons outside the caller's scope does not exist for it
    SELECT * INTO r FROM sp.match_review m WHERE m.review_id = review_match.review_id;
    IF NOT FOUND
       OR NOT sp_internal.household_in_scope((SELECT p.household_id FROM sp.person p WHERE p.person_id = r.person_id))
       OR NOT sp_internal.household_in_scope((SELECT p.household_id FROM sp.person p WHERE p.person_id = r.other_person_id)) THEN
        PERFORM sp_internal.raise_not_found('review', review_match.review_id);
    END IF;
    SELECT * INTO r FROM sp.match_review m WHERE m.review_id = review_match.review_id FOR UPDATE;
    IF r.status <> 'pending' THEN
        RAISE EXCEPTION 'review % was already decided (%)', review_match.review_id, r.status
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A decision is not overwritten; an accepted merge is undone with sp.unmerge_person.';
    END IF;
    UPDATE sp.match_review m SET status = CASE decision WHEN 'accept' THEN 'accepted' ELSE 'rejected' END,
                                 decided_by = sp_internal.caller(), decided_at = now(), reason = review_match.reason
    WHERE m.review_id = review_match.review_id;
    IF decision = 'accept' THEN
        -- the earlier registration survives
        merged := sp.merge_persons(r.person_id, r.other_person_id, reason, review_match.review_id);
    END IF;
    RETURN jsonb_build_object('review_id', review_match.review_id, 'decision', decision, 'merge', merged);
END
$$;
COMMENT ON FUNCTION sp.review_match(bigint, text, text) IS 'Decides a possible duplicate: accept merges the later-registered person into the earlier one (sp.merge_persons), reject keeps both and stops the pair being proposed again. Records who, when and why.';
