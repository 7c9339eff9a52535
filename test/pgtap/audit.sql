-- Durable, hash-chained audit of lookups and decryptions (src/pg/audit.c, sql/15_audit.sql).
--
-- The records are written by a background worker in transactions of their
-- own: they survive the rollbacks below, including the ROLLBACK that ends
-- this file.  Statements after a call see them (READ COMMITTED).

-- A transaction that is rolled back as a whole: the reads are recorded anyway.
BEGIN;
INSERT INTO sp.admin_area (code, parent_code, level, name) VALUES ('AU', NULL, 0, 'Auditland');
SELECT sp.register_household('{"admin_area_code": "AU", "members": [{"given_name": "Ada", "relationship_to_head": "head",
  "national_id": "AUD-001"}]}') -> 'person_ids' ->> 0 AS gone \gset
SELECT sp.person_national_id(:gone, 'tap: read in a rolled-back transaction') AS gone_value \gset
SELECT count(*) AS gone_matches FROM sp.find_person_by_national_id('AUD-001', 'tap: lookup in a rolled-back transaction') \gset
ROLLBACK;

BEGIN;
SELECT plan(64);

SELECT is(:'gone_value'::text, 'AUD-001', 'the read in the rolled-back transaction returned the value');
SELECT is((SELECT count(*)::int FROM sp.audit_log
           WHERE purpose = 'tap: read in a rolled-back transaction' AND person_ids = ARRAY[:gone]::bigint[]
             AND action = 'decrypt_national_id' AND outcome = 'granted'),
          1, 'a decryption in a transaction that was rolled back is still recorded');
SELECT is((SELECT person_ids FROM sp.audit_log WHERE purpose = 'tap: lookup in a rolled-back transaction'),
          ARRAY[:gone]::bigint[], 'so is a lookup, with the persons it found (who no longer exist)');
SELECT is(:gone_matches::int, 1, 'the lookup found its person before the rollback');

INSERT INTO sp.admin_area (code, parent_code, level, name) VALUES ('AU', NULL, 0, 'Auditland');
SELECT sp.register_household('{"admin_area_code": "AU", "members": [
  {"given_name": "Ada", "relationship_to_head": "head", "national_id": "AUD-001", "phone": "0700 100 001"},
  {"given_name": "Ben", "relationship_to_head": "child", "national_id": "AUD-002"}]}') AS r \gset
SELECT (:'r'::jsonb -> 'person_ids' ->> 0)::bigint AS p1, (:'r'::jsonb -> 'person_ids' ->> 1)::bigint AS p2 \gset

CREATE ROLE tap_a_reader IN ROLE sp_pii_reader;
CREATE ROLE tap_a_registrar IN ROLE sp_registrar;
CREATE ROLE tap_a_quota IN ROLE sp_pii_reader, sp_registrar;
CREATE ROLE tap_a_other IN ROLE sp_pii_reader;
CREATE ROLE tap_a_admin IN ROLE sp_admin;
CREATE ROLE tap_a_auditor IN ROLE sp_auditor;
SELECT count(*) AS scopes FROM unnest(ARRAY['tap_a_reader', 'tap_a_registrar', 'tap_a_quota', 'tap_a_other', 'tap_a_admin', 'tap_a_auditor']) r,
     LATERAL sp.grant_area_scope(r, 'AU');

SELECT is((SELECT ok FROM sp.verify_audit_chain()), true, 'the chain is intact to begin with');

-- commit path: who, what, why
SELECT coalesce(max(log_id), 0) AS before_commit FROM sp.audit_log \gset
SET LOCAL ROLE tap_a_reader;
SELECT is(sp.person_national_id(:p1, 'tap: case 1 verification'), 'AUD-001', 'a PII reader decrypts a national ID');
RESET ROLE;
SELECT results_eq(
    format($$SELECT login_role = session_user, acting_role, action, outcome, person_ids, accesses, purpose, detail
             FROM sp.audit_log WHERE log_id > %s$$, :before_commit),
    format($$VALUES (true, 'tap_a_reader'::text, 'decrypt_national_id'::text, 'granted'::text,
                     ARRAY[%s]::bigint[], 1, 'tap: case 1 verification'::text, '{"field": "national_id"}'::jsonb)$$, :p1),
    'one record: login role, acting role (after SET ROLE), action, person, purpose');
SELECT ok((SELECT xmin <> pg_current_xact_id()::text::xid FROM sp.audit_log WHERE log_id = :before_commit + 1),
          'the record was written by another transaction than the caller''s');
-- make test-future shifts the server's clock with libfaketime, which does not
-- reach the background worker that writes the record: there the comparison
-- of two clocks says nothing, and it is skipped (SP_TEST_FUTURE).
\set sp_test_future off
\getenv sp_test_future SP_TEST_FUTURE
SELECT CASE WHEN :'sp_test_future' = 'on'
            THEN skip('the audit writer''s clock is not shifted by libfaketime (make test-future)', 1)
            ELSE ok((SELECT logged_at <= clock_timestamp() AND logged_at >= now() FROM sp.audit_log WHERE log_id = :before_commit + 1),
                    'logged_at is the clock time of the write, within this transaction''s lifetime') END;

-- a rolled-back savepoint does not erase the record either
SAVEPOINT before_read;
SET LOCAL ROLE tap_a_reader;
SELECT sp.person_phone(:p1, 'tap: read in a rolled-back savepoint') AS phone \gset
RESET ROLE;
ROLLBACK TO SAVEPOINT before_read;
SELECT is(:'phone'::text, '0700 100 001', 'the phone number was returned inside the savepoint');
SELECT is((SELECT count(*)::int FROM sp.audit_log WHERE purpose = 'tap: read in a rolled-back savepoint'
             AND acting_role = 'tap_a_reader' AND action = 'decrypt_phone'),
          1, 'a decryption inside a rolled-back savepoint is still recorded');
SAVEPOINT before_lookup;
SET LOCAL ROLE tap_a_registrar;
SELECT count(*) AS found FROM sp.find_person_by_national_id('aud 002', 'tap: lookup in a rolled-back savepoint') \gset
RESET ROLE;
ROLLBACK TO SAVEPOINT before_lookup;
SELECT is((SELECT person_ids FROM sp.audit_log WHERE purpose = 'tap: lookup in a rolled-back savepoint'
             AND acting_role = 'tap_a_registrar' AND action = 'lookup_national_id'),
          ARRAY[:p2]::bigint[], 'a lookup inside a rolled-back savepoint is still recorded with the persons found');
-- an error after the read, caught by an exception block (a subtransaction)
DO $$
BEGIN
    PERFORM sp.person_national_id((SELECT max(person_id) FROM sp.person), 'tap: read before an error');
    RAISE EXCEPTION 'failure after the read';
EXCEPTION WHEN raise_exception THEN
    NULL;
END
$$;
SELECT is((SELECT count(*)::int FROM sp.audit_log WHERE purpose = 'tap: read before an error'), 1,
          'a read followed by an error in the same subtransaction is still recorded');

-- one record per call, however many persons
SELECT coalesce(max(log_id), 0) AS before_batch FROM sp.audit_log \gset
SET LOCAL ROLE tap_a_reader;
SELECT results_eq(format($$SELECT person_id, national_id, phone FROM sp.decrypt_identifiers(ARRAY[%s, %s, %s], 'tap: payroll')$$,
                         :p2, :p1, :p2),
                  format($$VALUES (%s::bigint, 'AUD-001'::text, '0700 100 001'::text), (%s, 'AUD-002', NULL)$$, :p1, :p2),
                  'decrypt_identifiers returns each person once, in id order');
RESET ROLE;
SELECT results_eq(format('SELECT action, person_ids, accesses FROM sp.audit_log WHERE log_id > %s', :before_batch),
                  format($$VALUES ('decrypt_identifiers'::text, ARRAY[%s, %s]::bigint[], 2)$$, :p1, :p2),
                  'a decryption of two persons is one record naming both and counting two accesses');
SELECT coalesce(max(log_id), 0) AS before_lookup FROM sp.audit_log \gset
SELECT is((SELECT count(*)::int FROM sp.find_person_by_national_id('AUD-404', 'tap: lookup without match')), 0,
          'a lookup that finds nobody returns nothing');
SELECT results_eq(format('SELECT action, person_ids, detail FROM sp.audit_log WHERE log_id > %s', :before_lookup),
                  $$VALUES ('lookup_national_id'::text, '{}'::bigint[], '{"matches": 0}'::jsonb)$$,
                  'and is recorded all the same, never with the identifier itself');

-- purpose: required, 3 to 500 characters, never echoed
SELECT coalesce(max(log_id), 0) AS before_purpose FROM sp.audit_log \gset
SELECT throws_ok(format('SELECT sp.person_national_id(%s, NULL)', :p1), '22023', 'purpose is required',
                 'decrypting without a purpose is refused');
SELECT throws_ok($$SELECT * FROM sp.find_person_by_national_id('AUD-001')$$, '22023', 'purpose is required',
                 'so is a lookup without a purpose');
SELECT throws_ok(format($$SELECT sp.person_phone(%s, E' \t\n ')$$, :p1), '22023', 'purpose must not be blank',
                 'a blank purpose is refused');
SELECT throws_ok(format($$SELECT sp.person_phone(%s, '  ok  ')$$, :p1), '22023', 'purpose must have at least 3 characters',
                 'a purpose of two characters (blanks do not count) is refused');
SELECT throws_ok(format($$SELECT sp.person_phone(%s, repeat('x', 501))$$, :p1), '22023',
                 'purpose must have at most 500 characters', '501 characters are refused');
SELECT throws_ok(format($$SELECT * FROM sp.decrypt_identifiers(ARRAY[%s], repeat('secret ', 1500000))$$, :p1), '22023',
                 'purpose must have at most 500 characters', 'a 10 MB purpose is refused without being echoed');
SELECT is((SELECT count(*)::int FROM sp.audit_log WHERE log_id > :before_purpose), 0,
          'refused purposes write nothing and read nothing');
SELECT lives_ok(format($$SELECT sp.person_phone(%s, repeat('ü', 500))$$, :p1), '500 characters (not bytes) are accepted');
SELECT lives_ok(format($$SELECT sp.person_phone(%s, 'abc')$$, :p1), '3 characters are accepted');

-- quota: per acting role and hour, set by a superuser only
SET LOCAL ROLE tap_a_quota;
SELECT throws_ok('SET sp_registry.pii_lookups_per_hour = 0', '42501', NULL, 'a role cannot lift its quota with SET');
SELECT throws_ok('ALTER ROLE tap_a_quota SET sp_registry.pii_lookups_per_hour = 0', '42501', NULL,
                 'nor with ALTER ROLE ... SET');
RESET ROLE;
SET LOCAL sp_registry.pii_lookups_per_hour = 2;
SET LOCAL ROLE tap_a_quota;
SELECT lives_ok($$SELECT * FROM sp.find_person_by_national_id('AUD-001', 'tap: quota 1')$$, 'first access of the hour');
SELECT lives_ok(format($$SELECT sp.person_phone(%s, 'tap: quota 2')$$, :p1), 'second access of the hour');
SELECT throws_ok(format($$SELECT sp.person_national_id(%s, 'tap: quota 3')$$, :p1), '53400', NULL,
                 'the third access is refused with 53400');
SELECT throws_ok($$SELECT * FROM sp.find_person_by_national_id('AUD-001', 'tap: quota 4')$$, '53400', NULL,
                 'lookups count against the same quota');
RESET ROLE;
SELECT results_eq($$SELECT purpose, outcome FROM sp.audit_log WHERE acting_role = 'tap_a_quota' ORDER BY log_id$$,
                  $$VALUES ('tap: quota 1'::text, 'granted'::text), ('tap: quota 2', 'granted'),
                           ('tap: quota 3', 'refused'), ('tap: quota 4', 'refused')$$,
                  'refusals are recorded as refused');
SET LOCAL ROLE tap_a_other;
SELECT lives_ok(format($$SELECT sp.person_phone(%s, 'tap: not tap_a_quota')$$, :p1),
                'the quota counts per acting role: others are not affected');
RESET ROLE;
SET LOCAL sp_registry.pii_lookups_per_hour = 3;
SET LOCAL ROLE tap_a_quota;
SELECT lives_ok(format($$SELECT sp.person_phone(%s, 'tap: quota 5')$$, :p1), 'refused attempts do not use up the quota');
RESET ROLE;
SET LOCAL sp_registry.pii_lookups_per_hour = 4;
SET LOCAL ROLE tap_a_quota;
SELECT throws_ok(format($$SELECT * FROM sp.decrypt_identifiers(ARRAY[%s, %s], 'tap: quota 6')$$, :p1, :p2), '53400', NULL,
                 'a batch that would overrun the quota is refused as a whole');
RESET ROLE;
SELECT is((SELECT accesses FROM sp.audit_log WHERE purpose = 'tap: quota 6' AND outcome = 'refused'), 2,
          'and recorded with the accesses it asked for');
SET LOCAL sp_registry.pii_lookups_per_hour = 0;
SET LOCAL ROLE tap_a_quota;
SELECT lives_ok(format($$SELECT * FROM sp.decrypt_identifiers(ARRAY[%s, %s], 'tap: quota off')$$, :p1, :p2),
                '0 means no limit');
RESET ROLE;

-- nobody writes the log but the audit writer
SELECT ok((SELECT count(*) FROM pg_roles WHERE rolname IN ('sp_admin', 'sp_registrar', 'sp_caseworker',
           'sp_programme_officer', 'sp_payment_officer', 'sp_grievance_officer', 'sp_analyst', 'sp_auditor',
           'sp_pii_reader', 'sp_integration')) >= 5, 'the shipped roles checked below exist');
SELECT is_empty($$
    SELECT r.rolname, t.rel, p.privilege
    FROM pg_roles r,
         unnest(ARRAY['sp.audit_log', 'sp.pii_access_log', 'sp_internal.audit_chain_head']::regclass[]) AS t (rel),
         unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) AS p (privilege)
    WHERE r.rolname IN ('sp_admin', 'sp_registrar', 'sp_caseworker', 'sp_programme_officer', 'sp_payment_officer',
                        'sp_grievance_officer', 'sp_analyst', 'sp_auditor', 'sp_pii_reader', 'sp_integration')
      AND has_table_privilege(r.oid, t.rel, p.privilege)
$$, 'no shipped role may write, truncate or reference the audit log or its chain head');
SELECT is_empty($$
    SELECT r.rolname, f.fn
    FROM pg_roles r,
         unnest(ARRAY['sp_internal.audit_write(text, bigint[], text, jsonb, integer)',
                      'sp_internal.audit_append(text, text, text, bigint[], text, jsonb, integer, integer)',
                      'sp_internal.audit_row_hash(bytea, bigint, timestamptz, text, text, text, text, bigint[], integer, text, jsonb)']::regprocedure[]) AS f (fn)
    WHERE r.rolname IN ('sp_admin', 'sp_registrar', 'sp_caseworker', 'sp_programme_officer', 'sp_payment_officer',
                        'sp_grievance_officer', 'sp_analyst', 'sp_auditor', 'sp_pii_reader', 'sp_integration')
      AND has_function_privilege(r.oid, f.fn, 'EXECUTE')
$$, 'no shipped role may call the audit writer or the chain append');
SELECT is_empty($$SELECT oid::regprocedure FROM pg_proc WHERE prolang = (SELECT oid FROM pg_language WHERE lanname = 'c')
                  AND prosrc = 'sp_audit_worker_main'$$,
                'the worker entry point is not a SQL function');

SET LOCAL ROLE tap_a_admin;
SELECT throws_ok($$INSERT INTO sp.audit_log VALUES (1000000, now(), 'x', 'x', 'lookup_national_id', 'granted', '{}', 0,
                   'forged entry', '{}', '\x00', '\x00')$$, '42501', NULL, 'admins cannot insert forged records');
SELECT throws_ok($$UPDATE sp.audit_log SET purpose = 'rewritten'$$, '42501', NULL, 'admins cannot rewrite records');
SELECT throws_ok('DELETE FROM sp.audit_log', '42501', NULL, 'admins cannot delete records');
SELECT throws_ok('TRUNCATE sp.audit_log', '42501', NULL, 'admins cannot truncate the log');
SELECT throws_ok($$SELECT sp_internal.audit_write('lookup_national_id', '{}', 'forged entry', '{}', 0)$$, '42501', NULL,
                 'admins cannot call the audit writer with forged content');
SELECT throws_ok('LOCK TABLE sp.audit_log IN SHARE MODE', '42501', NULL,
                 'admins cannot lock the log against the writer');
SELECT throws_ok($$CREATE FUNCTION pg_temp.worker() RETURNS void AS 'sp_registry', 'sp_audit_worker_main' LANGUAGE C$$,
                 '42501', NULL, 'admins cannot bind the worker entry point to a SQL function');
RESET ROLE;
SET LOCAL ROLE tap_a_auditor;
SELECT is((SELECT ok FROM sp.verify_audit_chain()), true, 'auditors verify the chain');
SELECT ok((SELECT count(*) > 0 FROM sp.audit_log WHERE acting_role = 'tap_a_quota'), 'auditors read the log');
SELECT throws_ok($$UPDATE sp.audit_log SET purpose = 'rewritten'$$, '42501', NULL, 'auditors cannot rewrite records');
SELECT throws_ok('SELECT * FROM sp_internal.audit_chain_head FOR UPDATE', '42501', NULL,
                 'auditors cannot lock the chain head');
RESET ROLE;
SET LOCAL ROLE tap_a_reader;
SELECT throws_ok($$SELECT * FROM sp_internal.audit_append('x', 'x', 'lookup_national_id', '{}', 'forged entry', '{}', 0, 0)$$,
                 '42501', NULL, 'PII readers cannot append to the chain');
SELECT throws_ok('SELECT count(*) FROM sp.audit_log', '42501', NULL, 'PII readers do not read the log');
RESET ROLE;
SELECT throws_ok($$SELECT * FROM sp_internal.audit_append('x', 'x', 'lookup_national_id', '{}', 'forged entry', '{}', 0, 0)$$,
                 '42501', 'sp_internal.audit_append runs only in the audit writer',
                 'not even the owner appends outside the audit writer');

-- fail closed: a superuser who locks the log in the calling transaction gets
-- an error after the writer's lock_timeout, and no value
SAVEPOINT locked;
LOCK TABLE sp.audit_log IN SHARE MODE;
SELECT throws_ok(format($$SELECT sp.person_national_id(%s, 'tap: blocked writer')$$, :p1), '55P03',
                 'could not write the audit record', 'no record, no data');
ROLLBACK TO SAVEPOINT locked;

-- tampering, as a superuser with the append-only trigger disabled
SELECT log_id AS k FROM sp.audit_log WHERE purpose = 'tap: case 1 verification' \gset
SELECT max(log_id) AS last FROM sp.audit_log \gset
ALTER TABLE sp.audit_log DISABLE TRIGGER audit_log_append_only;

SAVEPOINT tamper;
UPDATE sp.audit_log SET purpose = 'nothing to see' WHERE log_id = :k;
SELECT results_eq('SELECT ok, first_bad_log_id, problem FROM sp.verify_audit_chain()',
                  format($$VALUES (false, %s::bigint, 'row %s was changed after it was written')$$, :k, :k),
                  'a changed row is found');
ROLLBACK TO SAVEPOINT tamper;

UPDATE sp.audit_log
SET purpose = 'nothing to see',
    row_hash = sp_internal.audit_row_hash(prev_hash, log_id, logged_at, login_role, acting_role, action, outcome,
                                          person_ids, accesses, 'nothing to see', detail)
WHERE log_id = :k;
SELECT results_eq('SELECT ok, first_bad_log_id, problem FROM sp.verify_audit_chain()',
                  format($$VALUES (false, %s::bigint, 'row %s does not follow row %s: a row was removed, inserted or rewritten between them')$$,
                         :k + 1, :k + 1, :k),
                  'a row rewritten with a recomputed hash breaks the link to the next row');
ROLLBACK TO SAVEPOINT tamper;

DELETE FROM sp.audit_log WHERE log_id = :k;
SELECT results_eq('SELECT ok, first_bad_log_id FROM sp.verify_audit_chain()', format('VALUES (false, %s::bigint)', :k + 1),
                  'a removed row is found');
ROLLBACK TO SAVEPOINT tamper;

-- a forged row slipped in after row k, the later rows renumbered
UPDATE sp.audit_log SET log_id = -log_id - 1 WHERE log_id > :k;
UPDATE sp.audit_log SET log_id = -log_id WHERE log_id < 0;
INSERT INTO sp.audit_log
SELECT :k + 1, a.logged_at, a.login_role, a.acting_role, 'lookup_national_id', 'granted', '{}', 1, 'forged entry', '{}',
       a.row_hash,
       sp_internal.audit_row_hash(a.row_hash, :k + 1, a.logged_at, a.login_role, a.acting_role, 'lookup_national_id',
                                  'granted', '{}', 1, 'forged entry', '{}')
FROM sp.audit_log a WHERE a.log_id = :k;
SELECT results_eq('SELECT ok, first_bad_log_id FROM sp.verify_audit_chain()', format('VALUES (false, %s::bigint)', :k + 2),
                  'an inserted row is found: the row after it no longer links');
ROLLBACK TO SAVEPOINT tamper;

INSERT INTO sp.audit_log
SELECT :last + 1, clock_timestamp(), a.login_role, a.acting_role, 'lookup_national_id', 'granted', '{}', 1, 'forged entry', '{}',
       a.row_hash,
       sp_internal.audit_row_hash(a.row_hash, :last + 1, clock_timestamp(), a.login_role, a.acting_role, 'lookup_national_id',
                                  'granted', '{}', 1, 'forged entry', '{}')
FROM sp.audit_log a WHERE a.log_id = :last;
SELECT results_eq('SELECT ok, first_bad_log_id FROM sp.verify_audit_chain()', format('VALUES (false, %s::bigint)', :last + 1),
                  'a well-formed row appended outside the writer is found through the chain head');
ROLLBACK TO SAVEPOINT tamper;

DELETE FROM sp.audit_log WHERE log_id = :last;
SELECT results_eq('SELECT ok, first_bad_log_id, problem FROM sp.verify_audit_chain()',
                  format($$VALUES (false, %s::bigint, 'row %s was removed from the end of the chain')$$, :last, :last),
                  'rows removed from the end are found through the chain head');
ROLLBACK TO SAVEPOINT tamper;

SELECT is((SELECT ok FROM sp.verify_audit_chain()), true, 'untouched, the chain verifies');

SELECT * FROM finish();
ROLLBACK;
