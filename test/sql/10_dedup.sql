-- Deduplication of the registry: clusters, the review queue, merge and unmerge.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
\set ECHO none
\i scripts/synth_country.sql
\set ECHO all
RESET client_min_messages;
SELECT synth.create_country() AS wards;

-- 400 synthetic households (about 3% registered twice, with noise) through the API
SELECT sp.import_registrations(jsonb_agg(d)) - 'errors' - 'batch_id' AS imported
FROM synth.household_docs(400, 21, date '2026-01-01') d;
-- plus one person registered twice by hand: swapped names, same national ID
SELECT sp.register_household('{"admin_area_code": "SY010101", "members": [{"given_name": "Wanjiku", "family_name": "Nyambura",
  "birth_date": "1979-08-12", "sex": "F", "relationship_to_head": "head", "national_id": "SY-777-001"}]}') ->> 'household_id' AS first;
SELECT sp.register_household('{"admin_area_code": "SY010102", "members": [{"given_name": "Nyambura", "family_name": "Wanjiku",
  "birth_date": "1979-08-12", "sex": "F", "relationship_to_head": "head", "national_id": "sy 777 001"}]}') ->> 'household_id' AS second;

-- bad thresholds are refused before anything is written
SELECT sp.deduplicate_persons('person', 0.5, 0.9);
SELECT sp.deduplicate_persons('person', 1.5, 0.5);
SELECT count(*) AS runs FROM sp.dedup_run;

SELECT (sp.train_linkage_model('person', 'sp_internal.person_linkage_input') -> 'training' ->> 'em_converged')::boolean AS trained;
SELECT r ? 'run_id' AS has_run, (r ->> 'exact_id_pairs')::int > 0 AS found_exact_ids,
       (r ->> 'clusters')::int > 0 AS found_clusters
FROM sp.deduplicate_persons('person', 0.9, 0.5) r;

-- the hand-made duplicate is clustered; nobody was merged or deleted by the run
SELECT count(DISTINCT c.cluster_id) = 1 AS same_cluster
FROM sp.person_cluster c JOIN sp.person p USING (person_id)
WHERE p.given_name IN ('Wanjiku', 'Nyambura');
SELECT count(*) FILTER (WHERE status = 'merged') AS merged_by_run,
       count(*) = (SELECT sum(cardinality(person_ids)) FROM sp.registration_submission) + 2 AS everyone_still_there
FROM sp.person;
-- clusters are connected components: every member shares the smallest id of its group
SELECT count(*) AS bad_cluster_ids FROM sp.person_cluster c
WHERE c.cluster_id <> (SELECT min(person_id) FROM sp.person_cluster c2 WHERE c2.run_id = c.run_id AND c2.cluster_id = c.cluster_id);
SELECT count(*) AS pending_reviews_below_threshold FROM sp.match_review WHERE status = 'pending' AND match_probability >= 0.9;

-- union-find itself
SELECT cluster_id, array_agg(person_id ORDER BY person_id) AS members
FROM sp_internal.clusters(ARRAY[5, 3, 10, 7], ARRAY[3, 1, 11, 10]) GROUP BY 1 ORDER BY 1;
SELECT * FROM sp_internal.clusters(ARRAY[1, 2], ARRAY[3]);

-- a run with threshold 1 queues every model pair below certainty for review
SELECT (r ->> 'queued_for_review')::int > 0 AS queued FROM sp.deduplicate_persons('person', 1, 0.5) r;

-- a review decision needs a reason; accepting merges, and the merge is undone exactly
CREATE TEMP TABLE before AS SELECT * FROM sp.person;
SELECT review_id AS rid, person_id AS keep_id, other_person_id AS dup_id FROM sp.match_review
WHERE status = 'pending' ORDER BY match_probability DESC, review_id LIMIT 1 \gset
SELECT sp.review_match(:rid, 'accept', '');
SELECT sp.review_match(:rid, 'maybe', 'unsure');
SELECT sp.review_match(:rid, 'accept', 'same person: birth certificate and photo') -> 'merge' ? 'merge_id' AS merged;
SELECT sp.review_match(:rid, 'reject', 'changed my mind');
SELECT status, merged_into = :keep_id AS points_to_survivor FROM sp.person WHERE person_id = :dup_id;
SELECT status, decided_by = session_user AS by_me, reason FROM sp.match_review WHERE review_id = :rid;
-- a merged person cannot absorb another, and merging twice is refused
SELECT sp.merge_persons(:dup_id, :keep_id, 'wrong way round');
SELECT sp.merge_persons(:keep_id, :dup_id, 'again');
SELECT sp.unmerge_person(:dup_id, 'reviewer error') ->> 'status' AS restored_status;
SELECT sp.unmerge_person(:dup_id);
-- every column of every person is as before, except the version counters
SELECT count(*) AS rows_changed FROM (
    SELECT person_id, household_id, given_name, family_name, other_names, birth_date, birth_date_precision, sex,
           relationship_to_head, national_id_enc, national_id_hash, phone_enc, phone_hash, attributes, status, merged_into
    FROM sp.person
    EXCEPT
    SELECT person_id, household_id, given_name, family_name, other_names, birth_date, birth_date_precision, sex,
           relationship_to_head, national_id_enc, national_id_hash, phone_enc, phone_hash, attributes, status, merged_into
    FROM before) d;
SELECT operation, status, change_reason FROM sp.person_history WHERE person_id = :dup_id ORDER BY history_id;
SELECT merged_status, undone_at IS NOT NULL AS undone, undo_reason FROM sp.person_merge WHERE merged_id = :dup_id;
-- the undone pair is not proposed again
SELECT (sp.deduplicate_persons('person', 0.9, 0.5) ->> 'queued_for_review')::int >= 0 AS rerun;
SELECT count(*) AS requeued FROM sp.match_review WHERE person_id = :keep_id AND other_person_id = :dup_id AND status = 'pending';
-- a rejected pair stays rejected on later runs
SELECT review_id AS rid2, person_id AS a2, other_person_id AS b2 FROM sp.match_review
WHERE status = 'pending' ORDER BY match_probability, review_id LIMIT 1 \gset
SELECT sp.review_match(:rid2, 'reject', 'different people: siblings with similar names') ->> 'decision' AS decision;
SELECT (sp.deduplicate_persons('person', 0.9, 0.5) ->> 'queued_for_review')::int >= 0 AS rerun;
SELECT count(*) AS proposed_again FROM sp.match_review WHERE person_id = :a2 AND other_person_id = :b2 AND status = 'pending';
SELECT count(*) AS runs_recorded, count(*) FILTER (WHERE finished_at IS NOT NULL) AS finished FROM sp.dedup_run;
-- with a trained model, registering someone already registered is flagged, not refused
SELECT sp.register_household('{"admin_area_code": "SY020101", "members": [{"given_name": "Wanjiku", "family_name": "Nyambura",
  "birth_date": "1979", "sex": "F", "relationship_to_head": "head", "phone": "+254 700 000 001"}]}') -> 'possible_duplicates' AS flagged;
SELECT count(*) AS flags_kept FROM sp.registration_duplicate d JOIN sp.person p ON p.person_id = d.candidate_person_id
WHERE p.given_name IN ('Wanjiku', 'Nyambura');
SELECT r - 'batch_id' - 'errors' AS batch_with_a_duplicate FROM sp.import_registrations($$[
  {"submission_id": "00000000-0000-4000-8000-00000000d001", "admin_area_code": "SY020102",
   "members": [{"given_name": "Nyambura", "family_name": "Wanjiku", "birth_date": "1979-08-12", "sex": "F",
                "relationship_to_head": "head"}]}]$$) r;

-- the reviewers' decisions are the registry's labels: the merge accepted above
-- and undone is a rejected pair now, and the next training reads it
SELECT (t -> 'labels' ->> 'non_matches')::int >= 1 AS reviews_used, (t -> 'labels' ->> 'skipped')::int AS skipped
FROM (SELECT sp.train_linkage_model('person', 'sp_internal.person_linkage_input') -> 'training' AS t) s;

-- the cluster threshold set by precision: the lowest at which the model expects
-- 99 % of its pairs to be right; the review band lies below it
SELECT sp.deduplicate_persons('person', NULL, 0.5, 0.99) AS r \gset
SELECT (r ->> 'threshold')::float8 BETWEEN 0.5 AND 1 AS threshold_chosen,
       (r ->> 'estimated_precision_at_threshold')::float8 >= 0.99 AS precise_enough,
       r -> 'review_band' ->> 1 = r ->> 'threshold' AS band_ends_there,
       (SELECT d.threshold FROM sp.dedup_run d WHERE d.run_id = (r ->> 'run_id')::bigint) = (r ->> 'threshold')::float8 AS run_recorded
FROM (SELECT :'r'::jsonb AS r) s;
SELECT sp.deduplicate_persons('person', NULL, 0.5, 1.5);
