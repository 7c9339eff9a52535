-- Key rotation: new keys, every value re-keyed in batches, old keys retired,
-- and at every point in between lookups by ID, the duplicate check, replays
-- and decryption keep working.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE ROLE sp_test_key_admin IN ROLE sp_admin;
CREATE ROLE sp_test_key_registrar IN ROLE sp_registrar;
SELECT count(*) FROM (SELECT sp.grant_area_scope(r, 'SY') FROM unnest(ARRAY['sp_test_key_admin', 'sp_test_key_registrar']) r) g;
-- key rotation acts on every area: the administrator gets national scope
SELECT count(*) FROM sp.admin_area a, LATERAL sp.grant_area_scope('sp_test_key_admin', a.code) WHERE a.parent_code IS NULL;
RESET client_min_messages;

\setenv SP_DB :DBNAME
-- Six households, one member each, with IDs and phones; ids kept in :p1 .. :p6
CREATE TEMP TABLE kr_doc AS
SELECT i, format('00000000-0000-4000-8000-0000000ee%s', lpad(i::text, 3, '0'))::uuid AS sid,
       jsonb_build_object('submission_id', format('00000000-0000-4000-8000-0000000ee%s', lpad(i::text, 3, '0')),
                          'admin_area_code', 'SY020101',
                          'members', jsonb_build_array(jsonb_build_object(
                              'given_name', (ARRAY['Amani', 'Baraka', 'Chausiku', 'Dalila', 'Eshe', 'Faraji'])[i],
                              'family_name', (ARRAY['Otieno', 'Kamau', 'Wekesa', 'Mutua', 'Njeri', 'Odhiambo'])[i],
                              'birth_date', format('19%s-0%s-1%s', 60 + i, i, i), 'sex', CASE WHEN i % 2 = 0 THEN 'M' ELSE 'F' END,
                              'relationship_to_head', 'head',
                              'national_id', format('KR-%s', 1000 + i), 'phone', format('+254 711 000 %s', 100 + i)))) AS doc
FROM generate_series(1, 6) i;
SELECT count(*) AS registered FROM kr_doc, sp.register_household(doc) r WHERE NOT (r ->> 'replayed')::boolean;
SELECT max(s.person_ids[1]) FILTER (WHERE d.i = 1) AS p1, max(s.person_ids[1]) FILTER (WHERE d.i = 2) AS p2,
       max(s.person_ids[1]) FILTER (WHERE d.i = 3) AS p3, max(s.person_ids[1]) FILTER (WHERE d.i = 4) AS p4,
       max(s.person_ids[1]) FILTER (WHERE d.i = 5) AS p5, max(s.person_ids[1]) FILTER (WHERE d.i = 6) AS p6
FROM kr_doc d JOIN sp.registration_submission s ON s.submission_id = d.sid \gset
-- a correction, so person history holds identifiers too
SELECT sp.update_person(:p6, '{"phone": "+254 711 000 999"}', 'new phone') ? 'version' AS corrected;

-- What "everything works" means, checked before, during and after:
--  lookups by ID find the right person; decryption of every person and of
--  the history; replays of every earlier submission are recognised (and a
--  changed document under a used id is still refused); a duplicate of an
--  earlier person (other household, same ID, name, birth date) is flagged
--  with the same probability as before the rotation.
CREATE FUNCTION pg_temp.all_works(tag text) RETURNS TABLE (check_name text, ok boolean)
LANGUAGE plpgsql AS $$
DECLARE
    d record;
    r jsonb;
    n integer;
    k integer;
BEGIN
    check_name := 'lookup'; ok := true;
    FOR d IN SELECT * FROM kr_doc LOOP
        -- the original, and only persons with its name (its registered duplicates)
        SELECT count(*) FILTER (WHERE f.person_id = s.person_ids[1]),
               count(*) FILTER (WHERE f.given_name IS DISTINCT FROM d.doc -> 'members' -> 0 ->> 'given_name')
        INTO n, k
        FROM sp.find_person_by_national_id(d.doc -> 'members' -> 0 ->> 'national_id', 'key rotation test') f,
             sp.registration_submission s WHERE s.submission_id = d.sid;
        ok := ok AND n = 1 AND k = 0;
    END LOOP;
    RETURN NEXT;
    check_name := 'decrypt'; ok := true;
    FOR d IN SELECT * FROM kr_doc LOOP
        SELECT count(*) INTO n FROM sp.decrypt_identifiers(ARRAY(SELECT unnest(s.person_ids) FROM sp.registration_submission s
                                                                 WHERE s.submission_id = d.sid), 'key rotation test') x
        WHERE x.national_id = d.doc -> 'members' -> 0 ->> 'national_id'
          AND x.phone = CASE WHEN d.i = 6 THEN '+254 711 000 999' ELSE d.doc -> 'members' -> 0 ->> 'phone' END;
        ok := ok AND n = 1;
    END LOOP;
    RETURN NEXT;
    check_name := 'decrypt history';
    SELECT bool_and(sp_internal.decrypt_pii(h.phone_enc) = '+254 711 000 106') INTO ok
    FROM sp.person_history h JOIN kr_doc k ON k.i = 6
    WHERE h.person_id = (SELECT s.person_ids[1] FROM sp.registration_submission s WHERE s.submission_id = k.sid);
    RETURN NEXT;
    check_name := 'replay'; ok := true;
    FOR d IN SELECT * FROM kr_doc LOOP
        r := sp.register_household(d.doc);
        ok := ok AND (r ->> 'replayed')::boolean;
    END LOOP;
    RETURN NEXT;
    check_name := 'conflict refused';
    BEGIN
        PERFORM sp.register_household(jsonb_set(d.doc, '{members,0,given_name}', '"Someone else"'));
        ok := false;
    EXCEPTION WHEN unique_violation THEN
        ok := true;
    END;
    RETURN NEXT;
    check_name := 'duplicate flagged';
    ok := true;
    FOR d IN SELECT * FROM kr_doc WHERE i IN (1, 4) LOOP
        r := sp.register_household((d.doc - 'submission_id') || jsonb_build_object('admin_area_code', 'SY020102'));
        ok := ok AND EXISTS (
            SELECT 1 FROM jsonb_array_elements(r -> 'possible_duplicates') f
            JOIN sp.registration_submission s ON s.submission_id = d.sid
            WHERE (f ->> 'registered_person_id')::bigint = s.person_ids[1]
              AND (f ->> 'match_probability')::numeric = (SELECT p FROM kr_probability WHERE kr_probability.i = d.i));
    END LOOP;
    RETURN NEXT;
END
$$;
-- the probability a duplicate of persons 1 and 4 gets before any rotation
CREATE TEMP TABLE kr_probability AS
SELECT d.i, (f ->> 'match_probability')::numeric AS p
FROM kr_doc d, sp.register_household((d.doc - 'submission_id') || jsonb_build_object('admin_area_code', 'SY020102')) r,
     jsonb_array_elements(r -> 'possible_duplicates') f, sp.registration_submission s
WHERE d.i IN (1, 4) AND s.submission_id = d.sid AND (f ->> 'registered_person_id')::bigint = s.person_ids[1];
SELECT i, p > 0.5 AS likely FROM kr_probability ORDER BY i;
SELECT * FROM pg_temp.all_works('before');

-- Which key each of our persons is under
CREATE FUNCTION pg_temp.keys_of_ours() RETURNS TABLE (person text, national_id_enc integer, national_id_hash integer,
                                                      phone_enc integer, phone_hash integer, fingerprint integer)
LANGUAGE sql AS $$
    SELECT 'p' || d.i, sp_internal.pii_key_id(p.national_id_enc), sp_internal.pii_key_id(p.national_id_hash),
           sp_internal.pii_key_id(p.phone_enc), sp_internal.pii_key_id(p.phone_hash), sp_internal.pii_key_id(s.document_fingerprint)
    FROM kr_doc d JOIN sp.registration_submission s ON s.submission_id = d.sid JOIN sp.person p ON p.person_id = s.person_ids[1]
    ORDER BY d.i
$$;
SELECT key_id, purpose, state, key IS NOT NULL AS has_key FROM sp_internal.pii_key ORDER BY key_id;
SELECT * FROM pg_temp.keys_of_ours();

-- Who may rotate: not a registrar; an administrator may
SET ROLE sp_test_key_registrar;
SELECT sp.rotate_keys();
SELECT * FROM sp_internal.key_rotation;
RESET ROLE;
SELECT sp.rotate_keys(purpose => 'both');
SELECT sp.rotate_keys(batch_size => 0);

-- 1. Start (as an administrator): new keys active, the old ones rotating
SET ROLE sp_test_key_admin;
SELECT r - 'rotation_id' AS started FROM sp.rotate_keys(NULL, 3) r;
RESET ROLE;
SELECT key_id, purpose, state, key IS NOT NULL AS has_key FROM sp_internal.pii_key ORDER BY key_id;
-- nothing re-keyed yet: every check passes on values under the old keys...
SELECT * FROM pg_temp.all_works('started');
-- ...and what was written since is under the new keys
SELECT count(*) AS new_rows_under_new_keys FROM sp.person p
WHERE p.national_id_hash IS NOT NULL AND sp_internal.pii_key_id(p.national_id_hash) = 4 AND sp_internal.pii_key_id(p.national_id_enc) = 3;
SELECT count(*) AS lookup_of_a_new_row FROM sp.find_person_by_national_id('KR-1004', 'key rotation test');

-- 2. Half-way: the batch step applied to persons 1-3 and their submissions
-- only, so old and new keys are mixed among the persons checked
SELECT sp_internal.rekey_rows('person', ARRAY[:p1, :p2, :p3]::bigint[], NULL) AS persons_rekeyed;
SELECT sp_internal.rekey_rows('submission', NULL, ARRAY(SELECT sid FROM kr_doc WHERE i <= 3)) AS submissions_rekeyed;
SELECT * FROM pg_temp.keys_of_ours();
SELECT * FROM pg_temp.all_works('half-way');

-- 3. Batches through the rotation, each call one step, checking as it goes
CREATE TEMP TABLE kr_steps AS SELECT 0 AS step, NULL::jsonb AS r;
DO $$
DECLARE
    r jsonb;
    k integer := 0;
BEGIN
    LOOP
        r := sp.rotate_keys(NULL, 50);
        k := k + 1;
        INSERT INTO kr_steps VALUES (k, r);
        EXIT WHEN r ->> 'phase' = 'retire' OR k > 1000;
        IF EXISTS (SELECT 1 FROM pg_temp.all_works('step') w WHERE NOT w.ok) THEN
            RAISE EXCEPTION 'a check failed after step %: %', k, r;
        END IF;
    END LOOP;
END
$$;
SELECT array_agg(DISTINCT r ->> 'phase' ORDER BY r ->> 'phase') AS phases_seen, bool_or((r ->> 'done')::boolean) AS done
FROM kr_steps WHERE step > 0;
SELECT * FROM pg_temp.keys_of_ours();

-- 4. One rotation at a time.  While this session holds the rotation (a
-- step in progress), another session is refused at once...
BEGIN;
SELECT rotation_id AS locked FROM sp_internal.key_rotation WHERE state = 'running' FOR UPDATE;
\! psql -XAtq -d "$SP_DB" -c "SELECT sp.rotate_keys()" 2>&1 | grep -v '^CONTEXT'
ROLLBACK;
-- ...and a second start is refused by the catalogue itself (one running)
INSERT INTO sp_internal.key_rotation (rotation_id, purposes, started_by) VALUES (99, '{blind_index}', 'me');

-- 5. A cancelled step leaves the progress as it was; the next call resumes
SELECT steps AS steps_before FROM sp_internal.key_rotation WHERE state = 'running' \gset
BEGIN;
SELECT (sp.rotate_keys() ->> 'steps')::int - :steps_before AS one_more_step;
ROLLBACK;
SELECT steps - :steps_before AS steps_kept FROM sp_internal.key_rotation WHERE state = 'running';

-- 6. Retirement, as a scheduler drives it: each call a transaction of its own
\! i=0; until [ "$(psql -XAtq -d "$SP_DB" -c "SELECT sp.rotate_keys(NULL, 50) ->> 'done'")" = true ] || [ $i -gt 100 ]; do i=$((i+1)); done
SELECT sp.rotate_keys(start_new => false) AS nothing_to_continue;
SELECT key_id, purpose, state, key IS NOT NULL AS has_key, retired_at IS NOT NULL AS retired FROM sp_internal.pii_key ORDER BY key_id;
SELECT purposes, old_key_ids, new_key_ids, state, phase, rows_rekeyed > 0 AS rekeyed, finished_at IS NOT NULL AS finished
FROM sp_internal.key_rotation ORDER BY rotation_id;
SELECT * FROM pg_temp.keys_of_ours();
-- nothing anywhere is under a retired key
SELECT (SELECT count(*) FROM sp.person p WHERE sp_internal.pii_key_id(p.national_id_enc) IN (1, 2) OR sp_internal.pii_key_id(p.national_id_hash) IN (1, 2)
                                             OR sp_internal.pii_key_id(p.phone_enc) IN (1, 2) OR sp_internal.pii_key_id(p.phone_hash) IN (1, 2))
     + (SELECT count(*) FROM sp.person_history p WHERE sp_internal.pii_key_id(p.national_id_enc) IN (1, 2) OR sp_internal.pii_key_id(p.national_id_hash) IN (1, 2)
                                             OR sp_internal.pii_key_id(p.phone_enc) IN (1, 2) OR sp_internal.pii_key_id(p.phone_hash) IN (1, 2))
     + (SELECT count(*) FROM sp.registration_submission s WHERE sp_internal.pii_key_id(s.document_fingerprint) IN (1, 2)
                                             OR sp_internal.pii_key_id(s.document_digest_enc) IN (1, 2)) AS values_under_retired_keys;
-- lookups use the new key only; everything still works
SELECT cardinality(sp_internal.blind_indexes('national_id', 'KR1001')) AS lookup_keys;
SELECT * FROM pg_temp.all_works('retired');
-- re-keying is not a change of the person: no version, no history row
SELECT version, (SELECT count(*) FROM sp.person_history h WHERE h.person_id = p.person_id) AS history_rows
FROM sp.person p WHERE p.person_id IN (:p1, :p6) ORDER BY p.person_id;
-- deduplication runs again once the rotation is over
SELECT sp.deduplicate_persons('person', 0.9, 0.5) IS NOT NULL AS dedup_runs;

-- 7. A second rotation, of the blind index alone; deduplication waits for it
SELECT r ->> 'phase' AS phase, r -> 'old_key_ids' AS old, r -> 'new_key_ids' AS new FROM sp.rotate_keys('blind_index', 1000) r;
SELECT sp.deduplicate_persons('person', 0.9, 0.5);
-- a rotation of the other key cannot start while this one runs
SELECT sp.rotate_keys('encryption');
SELECT * FROM pg_temp.all_works('second rotation started');
\! i=0; until [ "$(psql -XAtq -d "$SP_DB" -c "SELECT sp.rotate_keys('blind_index', 1000, false) ->> 'done'")" = true ] || [ $i -gt 100 ]; do i=$((i+1)); done
SELECT key_id, purpose, state, key IS NOT NULL AS has_key FROM sp_internal.pii_key ORDER BY key_id;
SELECT * FROM pg_temp.all_works('second rotation done');

-- 8. Every step is in the audit log, and the chain holds
SELECT action, count(*) > 0 AS recorded FROM sp.audit_log WHERE action LIKE 'key_rotation%' GROUP BY action ORDER BY action;
SELECT ok FROM sp.verify_audit_chain();
-- keys never appear in function bodies
SELECT count(*) AS functions_with_key_literal FROM pg_proc p, sp_internal.pii_key k
WHERE k.key IS NOT NULL AND p.prosrc LIKE '%' || encode(k.key, 'hex') || '%';

-- the test's roles go, so that the suite runs again in the same cluster
SELECT count(*) FROM (SELECT sp.revoke_area_scope(r, 'SY') FROM unnest(ARRAY['sp_test_key_admin', 'sp_test_key_registrar']) r) g;
DROP ROLE sp_test_key_admin;
DROP ROLE sp_test_key_registrar;
