-- National IDs: encrypted at rest, blind index for lookups, audited reads, least privilege.
\set SHOW_CONTEXT never

-- lookups normalise the ID: case, spaces and hyphens do not matter
SELECT person_id, given_name FROM sp.find_person_by_national_id('12345678');
SELECT person_id, given_name FROM sp.find_person_by_national_id(' 12 345 678 ', 'grievance 17');
SELECT person_id, given_name FROM sp.find_person_by_national_id('a1234567') ORDER BY person_id LIMIT 3;
SELECT count(*) AS no_match FROM sp.find_person_by_national_id('00000000');
SELECT sp.find_person_by_national_id('12#45');
SELECT sp.find_person_by_national_id(NULL);

-- the blind index is keyed: a plain SHA-256 of the ID does not match it
SELECT national_id_hash <> sha256(convert_to('national_id:12345678', 'UTF8')) AS keyed
FROM sp.person WHERE person_id = 1;
-- the keys are not in any function or view definition
SELECT count(*) AS functions_with_key_literal FROM pg_proc p, sp_internal.pii_key k
WHERE p.prosrc LIKE '%' || encode(k.key, 'hex') || '%';

-- decryption needs a purpose and is logged
SELECT sp.person_national_id(1, 'payment reconciliation') AS national_id, sp.person_phone(1, 'SMS notice') AS phone;
SELECT sp.person_national_id(2, 'check') AS none_registered;
SELECT sp.person_national_id(1, '');
SELECT sp.person_national_id(424242, 'check');
SELECT action, person_ids, purpose, session_role = session_user AS by_me FROM sp.pii_access_log ORDER BY log_id;

-- least privilege: an analyst sees no names and no keys; a registrar cannot decrypt
CREATE ROLE sp_test_analyst IN ROLE sp_analyst;
CREATE ROLE sp_test_registrar IN ROLE sp_registrar;
CREATE ROLE sp_test_reader IN ROLE sp_pii_reader;
SELECT count(*) AS scopes_granted FROM unnest(ARRAY['sp_test_analyst', 'sp_test_registrar', 'sp_test_reader']) r,
     LATERAL sp.grant_area_scope(r, 'TL');
SET ROLE sp_test_analyst;
SELECT count(*) > 0 AS analyst_reads_households FROM sp.household;
SELECT count(*) > 0 AS analyst_reads_deidentified FROM sp.person_deidentified;
SELECT given_name FROM sp.person LIMIT 1;
SELECT * FROM sp_internal.pii_key;
SELECT sp.find_person_by_national_id('12345678');
RESET ROLE;
SET ROLE sp_test_registrar;
SELECT count(*) AS registrar_lookup FROM sp.find_person_by_national_id('12345678');
SELECT sp.person_national_id(1, 'curious');
SELECT sp_internal.decrypt_pii(national_id_enc) FROM sp.person WHERE person_id = 1;
SELECT key FROM sp_internal.pii_key;
DELETE FROM sp.pii_access_log;
SELECT sp.register_household('{"admin_area_code": "TL0101", "members": [{"given_name": "Registrar test",
  "relationship_to_head": "head", "national_id": "RT-1"}]}') ? 'household_id' AS registrar_registers;
RESET ROLE;
SET ROLE sp_test_reader;
SELECT sp.person_national_id(1, 'case 88 verification') AS reader_decrypts;
RESET ROLE;
SELECT action, purpose FROM sp.pii_access_log WHERE session_role = session_user ORDER BY log_id DESC LIMIT 1;
DROP ROLE sp_test_analyst;
DROP ROLE sp_test_registrar;
DROP ROLE sp_test_reader;
