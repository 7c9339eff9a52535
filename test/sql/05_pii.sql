-- National IDs: encrypted at rest, blind index for lookups, audited reads, least privilege.
\set SHOW_CONTEXT never

-- lookups need a purpose and normalise the ID: case, spaces and hyphens do not matter
SELECT person_id, given_name FROM sp.find_person_by_national_id('12345678', 'grievance 16');
SELECT person_id, given_name FROM sp.find_person_by_national_id(' 12 345 678 ', 'grievance 17');
SELECT person_id, given_name FROM sp.find_person_by_national_id('a1234567', 'duplicate check') ORDER BY person_id LIMIT 3;
SELECT count(*) AS no_match FROM sp.find_person_by_national_id('00000000', 'grievance 18');
SELECT sp.find_person_by_national_id('12#45', 'grievance 19');
SELECT sp.find_person_by_national_id(NULL, 'grievance 20');

-- purpose is required and bounded, and never echoed back
SELECT sp.find_person_by_national_id('12345678');
SELECT sp.find_person_by_national_id('12345678', NULL);
SELECT sp.find_person_by_national_id('12345678', '   ');
SELECT sp.find_person_by_national_id('12345678', ' ab ');
SELECT sp.find_person_by_national_id('12345678', repeat('x', 501));
SELECT sp.find_person_by_national_id('12345678', repeat('é', 10000000));
SELECT count(*) AS five_hundred_is_enough FROM sp.find_person_by_national_id('12345678', repeat('é', 500));

-- the blind index is keyed: a plain SHA-256 of the ID does not match it
SELECT national_id_hash <> sha256(convert_to('national_id:12345678', 'UTF8')) AS keyed
FROM sp.person WHERE person_id = 1;
-- the keys are not in any function or view definition
SELECT count(*) AS functions_with_key_literal FROM pg_proc p, sp_internal.pii_key k
WHERE p.prosrc LIKE '%' || encode(k.key, 'hex') || '%';

-- decryption needs a purpose and is recorded
SELECT sp.person_national_id(1, 'payment reconciliation') AS national_id, sp.person_phone(1, 'SMS notice') AS phone;
SELECT sp.person_national_id(2, 'check') AS none_registered;
SELECT sp.person_national_id(1, '');
SELECT sp.person_phone(1, NULL);
SELECT sp.person_national_id(424242, 'check');
SELECT * FROM sp.decrypt_identifiers(ARRAY[2, 1, 1], 'payroll 2026-03');
SELECT * FROM sp.decrypt_identifiers(ARRAY[1, 424242], 'payroll 2026-03');
SELECT * FROM sp.decrypt_identifiers(ARRAY[1, NULL], 'payroll 2026-03');

-- a rollback does not erase the record: the audit writer committed it first
BEGIN;
SELECT sp.person_national_id(1, 'read then rolled back') AS rolled_back_read;
ROLLBACK;
BEGIN;
SAVEPOINT before_lookup;
SELECT count(*) AS lookup_in_savepoint FROM sp.find_person_by_national_id('12345678', 'lookup in a savepoint');
ROLLBACK TO SAVEPOINT before_lookup;
COMMIT;

SELECT log_id, action, outcome, person_ids, accesses, left(purpose, 24) AS purpose, length(purpose) AS chars, detail,
       login_role = session_user AS by_me, acting_role = session_user AS acting_me
FROM sp.audit_log ORDER BY log_id;
SELECT * FROM sp.verify_audit_chain();
-- the former log is a view of the new one
SELECT log_id, action, purpose FROM sp.pii_access_log ORDER BY log_id DESC LIMIT 2;

-- the audit log is append-only, even for its owner
UPDATE sp.audit_log SET purpose = 'nothing to see' WHERE log_id = 1;
DELETE FROM sp.audit_log WHERE log_id = 1;
TRUNCATE sp.audit_log;
UPDATE sp_internal.audit_chain_head SET last_log_id = 0;
-- and only the audit writer appends to the chain
SELECT * FROM sp_internal.audit_append('me', 'me', 'lookup_national_id', '{}', 'forged entry', '{}', 0, 0);

-- least privilege: an analyst sees no names and no keys; a registrar cannot decrypt
CREATE ROLE sp_test_analyst IN ROLE sp_analyst;
CREATE ROLE sp_test_registrar IN ROLE sp_registrar;
CREATE ROLE sp_test_reader IN ROLE sp_pii_reader;
CREATE ROLE sp_test_auditor IN ROLE sp_auditor;
SELECT count(*) AS scopes_granted FROM unnest(ARRAY['sp_test_analyst', 'sp_test_registrar', 'sp_test_reader', 'sp_test_auditor']) r,
     LATERAL sp.grant_area_scope(r, 'TL');
SET ROLE sp_test_analyst;
SELECT count(*) > 0 AS analyst_reads_households FROM sp.household;
SELECT count(*) > 0 AS analyst_reads_deidentified FROM sp.person_deidentified;
SELECT given_name FROM sp.person LIMIT 1;
SELECT * FROM sp_internal.pii_key;
SELECT sp.find_person_by_national_id('12345678', 'curious analyst');
SELECT count(*) FROM sp.audit_log;
RESET ROLE;
SET ROLE sp_test_registrar;
SELECT count(*) AS registrar_lookup FROM sp.find_person_by_national_id('12345678', 'household visit 12');
SELECT sp.person_national_id(1, 'curious');
SELECT sp_internal.decrypt_pii(national_id_enc) FROM sp.person WHERE person_id = 1;
SELECT key FROM sp_internal.pii_key;
-- the blind index of a guess is a lookup: not without the audited API
SELECT sp_internal.blind_index('national_id', '12345678');
DELETE FROM sp.audit_log;
SELECT sp_internal.audit_write('lookup_national_id', '{}', 'forged entry', '{}', 0);
SELECT sp.register_household('{"admin_area_code": "TL0101", "members": [{"given_name": "Registrar test",
  "relationship_to_head": "head", "national_id": "RT-1"}]}') ? 'household_id' AS registrar_registers;
RESET ROLE;
SET ROLE sp_test_reader;
SELECT sp.person_national_id(1, 'case 88 verification') AS reader_decrypts;
SELECT person_id, national_id FROM sp.decrypt_identifiers(ARRAY[1], 'case 89 verification');
RESET ROLE;
SET ROLE sp_test_auditor;
SELECT action, purpose, acting_role, login_role = session_user AS by_me FROM sp.audit_log ORDER BY log_id DESC LIMIT 3;
SELECT ok, rows_checked FROM sp.verify_audit_chain();
SELECT sp.person_national_id(1, 'curious auditor');
RESET ROLE;

-- optional hourly quota per acting role: only a superuser sets it
SET ROLE sp_test_reader;
SET sp_registry.pii_lookups_per_hour = 1;
RESET ROLE;
SET sp_registry.pii_lookups_per_hour = 3;
SET ROLE sp_test_reader;
-- two accesses this hour already; one more is allowed, then refused
SELECT sp.person_phone(1, 'case 90 callback') AS third_access;
SELECT sp.person_phone(1, 'case 91 callback');
SELECT person_id FROM sp.decrypt_identifiers(ARRAY[1, 2], 'case 92 list');
RESET ROLE;
-- other roles have their own count
SET ROLE sp_test_registrar;
SELECT count(*) AS registrar_second_lookup FROM sp.find_person_by_national_id('12345678', 'household visit 13');
RESET ROLE;
RESET sp_registry.pii_lookups_per_hour;
SELECT action, outcome, accesses, purpose FROM sp.audit_log WHERE acting_role = 'sp_test_reader' ORDER BY log_id;
SELECT ok FROM sp.verify_audit_chain();

DROP ROLE sp_test_analyst;
DROP ROLE sp_test_registrar;
DROP ROLE sp_test_reader;
DROP ROLE sp_test_auditor;
