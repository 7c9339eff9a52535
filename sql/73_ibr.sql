-- The integrated beneficiary registry (issue 14): who receives what, from
-- which programme, the registry's own and other ministries'.  Ministries
-- keep their beneficiary lists in their own systems; each list is imported
-- here whole, again whenever it changes, and every record is linked to the
-- registry's persons without a shared identifier: by national ID through
-- the blind index first, else by the trained person model.  Records that
-- match nobody or several people are kept and queued for a reviewer, never
-- guessed.
--
-- Identifiers of external records are kept only as blind indexes (no
-- ciphertext): the registry needs to match them, not to read them back.

-- ------------------------------------------------------------------------
-- Programmes of other ministries
-- ------------------------------------------------------------------------

CREATE TABLE sp.external_programme (
    name           text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$'),
    title          text NOT NULL CHECK (btrim(title) <> '' AND length(title) <= 200),
    owner_ministry text NOT NULL CHECK (btrim(owner_ministry) <> '' AND length(owner_ministry) <= 200),
    -- the DCI integrated beneficiary registry's benefit types and frequencies
    benefit_type   text NOT NULL CHECK (benefit_type IN ('cash', 'voucher', 'in_kind', 'training', 'work_opportunity', 'insurance')),
    frequency      text NOT NULL CHECK (frequency IN ('one_off', 'daily', 'weekly', 'fortnightly', 'monthly', 'quarterly', 'biannual', 'annual')),
    amount         numeric CHECK (amount >= 0),
    currency       text CHECK (currency ~ '^[A-Z]{3}$'),
    target_unit    text NOT NULL DEFAULT 'person' CHECK (target_unit IN ('person', 'household')),
    -- the role of the ministry's system or data manager that sends the list
    -- (NULL: any role allowed to import, with national scope)
    importer_role  text CHECK (length(importer_role) BETWEEN 1 AND 63),
    status         text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'closed')),
    description    text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    created_by     text NOT NULL DEFAULT sp_internal.caller(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    updated_by     text NOT NULL DEFAULT sp_internal.caller(),
    version        integer NOT NULL DEFAULT 1,
    CHECK ((amount IS NULL) = (currency IS NULL))
);
COMMENT ON TABLE sp.external_programme IS 'Programmes of other ministries whose beneficiary lists are imported (sp.import_external_beneficiaries): owner ministry, benefit type and frequency (DCI IBR code lists), the usual amount per period and its currency, whether it is given to persons or households, the role that sends its list (importer_role; NULL: any role allowed to import). Names are shared with sp.programme: one name, one programme. Every change keeps the previous version in sp.external_programme_history.';

CREATE TABLE sp.external_programme_history (
    LIKE sp.external_programme,
    history_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    operation     text NOT NULL,
    changed_at    timestamptz NOT NULL DEFAULT now(),
    changed_by    text NOT NULL DEFAULT sp_internal.caller(),
    change_reason text
);
CREATE INDEX external_programme_history_name_idx ON sp.external_programme_history (name, version);
COMMENT ON TABLE sp.external_programme_history IS 'Every earlier version of every external programme, with who changed it, when and why. Append-only.';
CREATE TRIGGER external_programme_history_append_only BEFORE UPDATE OR DELETE ON sp.external_programme_history
    FOR EACH ROW EXECUTE FUNCTION sp_internal.history_is_append_only();

CREATE FUNCTION sp_internal.external_programme_guard()
    RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM sp_internal.require_national_scope('defining or changing an external programme');
    -- one name, one programme, also between two transactions defining it at once
    PERFORM pg_advisory_xact_lock(hashtext('sp_registry programme name ' || NEW.name));
    IF TG_OP = 'INSERT' AND EXISTS (SELECT 1 FROM sp.programme g WHERE g.name = NEW.name) THEN
        RAISE EXCEPTION 'programme "%" already exists in the registry', NEW.name
            USING ERRCODE = 'unique_violation', COLUMN = 'name',
                  DETAIL = 'An external programme needs a name no registry programme has: benefits are listed by programme name.';
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF NEW.name <> OLD.name OR NEW.target_unit <> OLD.target_unit THEN
            RAISE EXCEPTION 'the name and target unit of external programme "%" cannot change', OLD.name
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      DETAIL = 'Imported beneficiaries refer to them; define a new programme instead.';
        END IF;
        IF OLD.status = 'closed' AND NEW.status <> 'closed' THEN
            RAISE EXCEPTION 'external programme "%" is closed', OLD.name USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
        IF NEW IS NOT DISTINCT FROM OLD THEN
            RETURN NEW;
        END IF;
        INSERT INTO sp.external_programme_history (name, title, owner_ministry, benefit_type, frequency, amount, currency, target_unit, importer_role,
                                                   status, description, created_at, created_by, updated_at, updated_by, version, operation, change_reason)
        SELECT o.name, o.title, o.owner_ministry, o.benefit_type, o.frequency, o.amount, o.currency, o.target_unit, o.importer_role,
               o.status, o.description, o.created_at, o.created_by, o.updated_at, o.updated_by, o.version, 'UPDATE', sp_internal.change_reason()
        FROM (SELECT OLD.*) o;
        NEW.version := OLD.version + 1;
        NEW.updated_at := now();
        NEW.updated_by := sp_internal.caller();
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION sp_internal.external_programme_guard() IS 'Trigger: needs national scope; a name no registry programme has; name and target unit fixed; keeps every earlier version in sp.external_programme_history.';
CREATE TRIGGER external_programme_guard BEFORE INSERT OR UPDATE ON sp.external_programme
    FOR EACH ROW EXECUTE FUNCTION sp_internal.external_programme_guard();
CREATE TRIGGER external_programme_no_delete BEFORE DELETE ON sp.external_programme
    FOR EACH ROW EXECUTE FUNCTION sp_internal.forbid_delete();

-- ... and the registry's programmes may not take an external one's name
CREATE FUNCTION sp_internal.programme_name_free()
    RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('sp_registry programme name ' || NEW.name));
    IF EXISTS (SELECT 1 FROM sp.external_programme x WHERE x.name = NEW.name) THEN
        RAISE EXCEPTION 'programme "%" already exists as an external programme', NEW.name
            USING ERRCODE = 'unique_violation', COLUMN = 'name',
                  DETAIL = 'Benefits are listed by programme name: a registry programme needs a name no external programme has.';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION sp_internal.programme_name_free() IS 'Trigger on sp.programme: refuses the name of an external programme.';
CREATE TRIGGER programme_name_free BEFORE INSERT ON sp.programme
    FOR EACH ROW EXECUTE FUNCTION sp_internal.programme_name_free();

-- ------------------------------------------------------------------------
-- External beneficiaries
-- ------------------------------------------------------------------------

CREATE TABLE sp.external_import (
    import_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    programme   text NOT NULL REFERENCES sp.external_programme (name),
    imported_at timestamptz NOT NULL DEFAULT now(),
    imported_by text NOT NULL DEFAULT sp_internal.caller(),
    result      jsonb NOT NULL
);
CREATE INDEX external_import_programme_idx ON sp.external_import (programme, imported_at);
COMMENT ON TABLE sp.external_import IS 'Each import of an external beneficiary list: who, when, and what it did (rows added, changed, unchanged, ended, and how the new and changed rows were linked).';
CREATE TRIGGER external_import_no_delete BEFORE DELETE ON sp.external_import
    FOR EACH ROW EXECUTE FUNCTION sp_internal.forbid_delete();

CREATE TABLE sp.external_beneficiary (
    external_beneficiary_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    programme            text NOT NULL REFERENCES sp.external_programme (name),
    source_record_id     text NOT NULL CHECK (btrim(source_record_id) <> '' AND length(source_record_id) <= 200),
    -- the person as the ministry has them
    given_name           text,
    family_name          text,
    other_names          text,
    birth_date           date,
    birth_date_precision text CHECK (birth_date_precision IN ('day', 'month', 'year')),
    sex                  text CHECK (sex IN ('M', 'F', 'X')),
    national_id_hash     bytea,
    phone_hash           bytea,
    admin_area_code      text REFERENCES sp.admin_area (code),
    household_ref        text CHECK (length(household_ref) <= 200),
    -- the benefit
    benefit_start        date,
    benefit_end          date,
    amount               numeric CHECK (amount >= 0),
    currency             text CHECK (currency ~ '^[A-Z]{3}$'),
    status               text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'ended')),
    ended_at             timestamptz,
    end_reason           text,
    -- the link to the registry
    link_status          text NOT NULL DEFAULT 'pending' CHECK (link_status IN ('pending', 'linked', 'ambiguous', 'unmatched')),
    person_id            bigint REFERENCES sp.person (person_id),
    linked_by            text CHECK (linked_by IN ('national_id', 'linkage', 'reviewer')),
    link_probability     float8 CHECK (link_probability BETWEEN 0 AND 1),
    link_note            text,
    candidates           jsonb,
    linked_at            timestamptz,
    -- what the last import said (not the identifiers), to tell a changed row
    row_digest           bytea NOT NULL,
    -- the row exactly as given (identifiers included), keyed with the
    -- blind-index key: a row given again the same is not looked at again
    source_digest        bytea,
    import_id            bigint NOT NULL REFERENCES sp.external_import (import_id),
    first_imported_at    timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    updated_by           text NOT NULL DEFAULT sp_internal.caller(),
    version              integer NOT NULL DEFAULT 1,
    UNIQUE (programme, source_record_id),
    CHECK ((birth_date IS NULL) = (birth_date_precision IS NULL)),
    CHECK (benefit_end IS NULL OR benefit_start IS NULL OR benefit_end >= benefit_start),
    CHECK ((amount IS NULL) = (currency IS NULL)),
    CHECK ((status = 'ended') = (ended_at IS NOT NULL)),
    -- (a pending row exists only inside the import or relinking that links it)
    CHECK (link_status = 'pending' OR (link_status = 'linked') = (person_id IS NOT NULL)),
    CHECK (link_status = 'pending' OR linked_at IS NOT NULL)
);
CREATE INDEX external_beneficiary_person_idx ON sp.external_beneficiary (person_id) WHERE person_id IS NOT NULL;
CREATE INDEX external_beneficiary_review_idx ON sp.external_beneficiary (programme, link_status) WHERE link_status IN ('ambiguous', 'unmatched');
COMMENT ON TABLE sp.external_beneficiary IS 'Beneficiaries of other ministries'' programmes, one row per programme and source record (the ministry''s own id), as the last import gave them, and their link to a registry person: linked (by national ID, by the person model, or by a reviewer), ambiguous (several candidates, in the review queue) or unmatched. Identifiers are kept as blind indexes only. A row the latest import left out is ended, not deleted; every earlier version is in sp.external_beneficiary_history.';
COMMENT ON COLUMN sp.external_beneficiary.row_digest IS 'SHA-256 of the row as imported without its identifiers (compared by blind index): an import that gives the same row again changes nothing.';
COMMENT ON COLUMN sp.external_beneficiary.candidates IS 'For an ambiguous row, the registry persons it may be (person_id, probability, matched_by), best first, at most 10.';
COMMENT ON COLUMN sp.external_beneficiary.source_digest IS 'HMAC, under the blind-index key, of the row exactly as the last import gave it (identifiers included) with the programme''s currency: a row given again byte for byte is not checked, hashed or compared again. Not readable by any role.';

CREATE TABLE sp.external_beneficiary_history (
    LIKE sp.external_beneficiary,
    history_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    operation     text NOT NULL,
    changed_at    timestamptz NOT NULL DEFAULT now(),
    changed_by    text NOT NULL DEFAULT sp_internal.caller(),
    change_reason text
);
CREATE INDEX external_beneficiary_history_id_idx ON sp.external_beneficiary_history (external_beneficiary_id, version);
COMMENT ON TABLE sp.external_beneficiary_history IS 'Every earlier version of every external beneficiary row: what an import changed or ended, and every link a reviewer or a later linking replaced. A row''s first linking, inside the import that added it, is not a version. Append-only.';
CREATE TRIGGER external_beneficiary_history_append_only BEFORE UPDATE OR DELETE ON sp.external_beneficiary_history
    FOR EACH ROW EXECUTE FUNCTION sp_internal.history_is_append_only();

-- History per statement (an import changes up to millions of rows at once).
-- A row still 'pending' exists only inside the import that adds or changes
-- it: its linking is part of that import, not a version.
CREATE FUNCTION sp_internal.external_beneficiary_log()
    RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO sp.external_beneficiary_history (
        external_beneficiary_id, programme, source_record_id, given_name, family_name, other_names,
        birth_date, birth_date_precision, sex, national_id_hash, phone_hash, admin_area_code, household_ref,
        benefit_start, benefit_end, amount, currency, status, ended_at, end_reason, link_status, person_id,
        linked_by, link_probability, link_note, candidates, linked_at, row_digest, import_id,
        first_imported_at, updated_at, updated_by, version,
        operation, changed_at, changed_by, change_reason)
    SELECT o.external_beneficiary_id, o.programme, o.source_record_id, o.given_name, o.family_name,
           o.other_names, o.birth_date, o.birth_date_precision, o.sex, o.national_id_hash, o.phone_hash,
           o.admin_area_code, o.household_ref, o.benefit_start, o.benefit_end, o.amount, o.currency, o.status,
           o.ended_at, o.end_reason, o.link_status, o.person_id, o.linked_by, o.link_probability, o.link_note,
           o.candidates, o.linked_at, o.row_digest, o.import_id, o.first_imported_at, o.updated_at,
           o.updated_by, o.version,
           'UPDATE', now(), sp_internal.caller(), sp_internal.change_reason()
    FROM old_rows o
    WHERE o.link_status <> 'pending';
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION sp_internal.external_beneficiary_log() IS 'Statement trigger: keeps the earlier version of every updated external beneficiary row, except rows still pending (their first linking is part of the import).';
CREATE TRIGGER external_beneficiary_log AFTER UPDATE ON sp.external_beneficiary
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sp_internal.external_beneficiary_log();
CREATE TRIGGER external_beneficiary_no_delete BEFORE DELETE ON sp.external_beneficiary
    FOR EACH ROW EXECUTE FUNCTION sp_internal.forbid_delete();

-- Only the extension's functions write these rows (imports, linking,
-- reviews): no role has INSERT or UPDATE on the table.

-- ------------------------------------------------------------------------
-- Linking to registry persons
-- ------------------------------------------------------------------------

-- External rows waiting for the person model, in the shape of its input:
-- national ID and phone as the same 64 bits of blind index as the
-- registry's view, so they agree only when the identifiers do.  Owner only.
CREATE VIEW sp_internal.external_linkage_input WITH (security_invoker = true) AS
SELECT e.external_beneficiary_id AS id, e.given_name, e.family_name, e.other_names,
       sp_internal.birth_date_text(e.birth_date, e.birth_date_precision) AS birth_date, e.sex,
       encode(substr(e.national_id_hash, 3, 8), 'hex') AS national_id,
       encode(substr(e.phone_hash, 3, 8), 'hex') AS phone,
       e.admin_area_code, 'external:' || e.external_beneficiary_id AS registration_group
FROM sp.external_beneficiary e
WHERE e.link_status = 'pending' AND e.given_name IS NOT NULL AND e.family_name IS NOT NULL;
COMMENT ON VIEW sp_internal.external_linkage_input IS 'External beneficiary rows waiting to be linked, with names, as person linkage input (identifiers as blind-index hex, like sp_internal.person_linkage_input). Owner only.';
REVOKE ALL ON sp_internal.external_linkage_input FROM PUBLIC;

-- Links every pending row: a national ID held by exactly one registered
-- person (active or deceased) links it; held by several, it is ambiguous;
-- else the person model scores it against the active persons, and one
-- candidate at 0.99 or more with no other at 0.5 or more links it, a best
-- candidate at 0.5 or more makes it ambiguous, and otherwise it is
-- unmatched.  The same thresholds as civil-registration events: a wrong link
-- gives a person someone else's benefits.  Runs as the owner, for the
-- importing function, which has checked national scope.
CREATE FUNCTION sp_internal.link_external_beneficiaries()
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    SET jit = off
    SET client_min_messages = warning
AS $$
DECLARE
    b_id integer := (SELECT k.key_id FROM sp_internal.pii_key k WHERE k.purpose = 'blind_index' AND k.state = 'active');
    rotating boolean := EXISTS (SELECT 1 FROM sp_internal.pii_key k WHERE k.purpose = 'blind_index' AND k.state = 'rotating');
    n_id integer;
    n_id_ambiguous integer;
    n_model integer := 0;
    n_model_ambiguous integer := 0;
    n_unmatched integer;
    trained boolean := EXISTS (SELECT 1 FROM sp.linkage_model m WHERE m.name = 'person' AND m.params IS NOT NULL);
BEGIN
    -- 1. national ID, through the blind index (during a key rotation, also
    --    persons not re-indexed yet, their index recomputed under the active key)
    WITH hits AS (
        SELECT e.external_beneficiary_id AS id, p.person_id
        FROM sp.external_beneficiary e
        JOIN sp.person p ON p.national_id_hash = e.national_id_hash
        WHERE e.link_status = 'pending' AND e.national_id_hash IS NOT NULL AND p.status IN ('active', 'deceased')
        UNION
        SELECT e.external_beneficiary_id, p.person_id
        FROM sp.external_beneficiary e
        JOIN sp.person p ON rotating AND p.national_id_hash IS NOT NULL AND sp_internal.pii_key_id(p.national_id_hash) <> b_id
                        AND sp_internal.linkage_hash('national_id', p.national_id_enc, p.national_id_hash, b_id) = e.national_id_hash
        WHERE e.link_status = 'pending' AND e.national_id_hash IS NOT NULL AND p.status IN ('active', 'deceased')
    ),
    per AS (
        SELECT h.id, array_agg(h.person_id ORDER BY h.person_id) AS ids FROM hits h GROUP BY h.id
    ),
    done AS (
        UPDATE sp.external_beneficiary e
        SET link_status = CASE WHEN cardinality(per.ids) = 1 THEN 'linked' ELSE 'ambiguous' END,
            person_id = CASE WHEN cardinality(per.ids) = 1 THEN per.ids[1] END,
            linked_by = CASE WHEN cardinality(per.ids) = 1 THEN 'national_id' END,
            link_probability = CASE WHEN cardinality(per.ids) = 1 THEN 1 END,
            link_note = CASE WHEN cardinality(per.ids) > 1 THEN format('%s registered persons have this national ID', cardinality(per.ids)) END,
            candidates = CASE WHEN cardinality(per.ids) > 1 THEN
                (SELECT jsonb_agg(jsonb_build_object('person_id', i, 'matched_by', 'national_id') ORDER BY i)
                 FROM unnest(per.ids[1:10]) i) END,
            linked_at = now()
        FROM per
        WHERE e.external_beneficiary_id = per.id
        RETURNING e.link_status
    )
    SELECT count(*) FILTER (WHERE d.link_status = 'linked'), count(*) FILTER (WHERE d.link_status = 'ambiguous')
    INTO n_id, n_id_ambiguous FROM done d;

    -- 2. the person model, for the rest that have names
    IF trained AND EXISTS (SELECT 1 FROM sp_internal.external_linkage_input) THEN
        WITH pairs AS (
            SELECT m.left_id AS id, m.right_id AS person_id, m.match_probability AS pr
            FROM sp.match_pairs('person', 'sp_internal.external_linkage_input'::regclass,
                                CASE WHEN rotating THEN 'sp_internal.person_linkage_input_rotating'::regclass
                                     ELSE 'sp_internal.person_linkage_input'::regclass END, 0.5) m
        ),
        ranked AS (
            SELECT p.*, row_number() OVER (PARTITION BY p.id ORDER BY p.pr DESC, p.person_id) AS rk FROM pairs p
        ),
        per AS (
            SELECT r.id, max(r.pr) FILTER (WHERE r.rk = 1) AS best, max(r.pr) FILTER (WHERE r.rk = 2) AS second,
                   min(r.person_id) FILTER (WHERE r.rk = 1) AS best_id,
                   jsonb_agg(jsonb_build_object('person_id', r.person_id, 'probability', round(r.pr::numeric, 4), 'matched_by', 'linkage')
                             ORDER BY r.rk) FILTER (WHERE r.rk <= 10) AS cands
            FROM ranked r GROUP BY r.id
        ),
        done AS (
            UPDATE sp.external_beneficiary e
            SET link_status = CASE WHEN per.best >= 0.99 AND coalesce(per.second, 0) < 0.5 THEN 'linked' ELSE 'ambiguous' END,
                person_id = CASE WHEN per.best >= 0.99 AND coalesce(per.second, 0) < 0.5 THEN per.best_id END,
                linked_by = CASE WHEN per.best >= 0.99 AND coalesce(per.second, 0) < 0.5 THEN 'linkage' END,
                link_probability = CASE WHEN per.best >= 0.99 AND coalesce(per.second, 0) < 0.5 THEN per.best END,
                link_note = CASE WHEN per.best >= 0.99 AND coalesce(per.second, 0) < 0.5 THEN NULL
                                 WHEN per.best >= 0.99 THEN 'several registered persons match'
                                 ELSE format('no registered person matches with certainty (best %s)', round(per.best::numeric, 4)) END,
                candidates = CASE WHEN per.best >= 0.99 AND coalesce(per.second, 0) < 0.5 THEN NULL ELSE per.cands END,
                linked_at = now()
            FROM per
            WHERE e.external_beneficiary_id = per.id AND e.link_status = 'pending'
            RETURNING e.link_status
        )
        SELECT count(*) FILTER (WHERE d.link_status = 'linked'), count(*) FILTER (WHERE d.link_status = 'ambiguous')
        INTO n_model, n_model_ambiguous FROM done d;
    END IF;

    -- 3. the rest: unmatched, and why
    UPDATE sp.external_beneficiary e
    SET link_status = 'unmatched', person_id = NULL, linked_by = NULL, link_probability = NULL, candidates = NULL,
        link_note = CASE WHEN (e.given_name IS NULL OR e.family_name IS NULL) AND e.national_id_hash IS NULL
                             THEN 'no national ID, and not both names to search by'
                         WHEN e.given_name IS NULL OR e.family_name IS NULL
                             THEN 'no registered person has this national ID, and the row has not both names to search by'
                         WHEN NOT trained AND e.national_id_hash IS NULL THEN 'no national ID, and the person linkage model is not trained'
                         WHEN NOT trained THEN 'no registered person has this national ID, and the person linkage model is not trained'
                         ELSE 'no registered person matches' END,
        linked_at = now()
    WHERE e.link_status = 'pending';
    GET DIAGNOSTICS n_unmatched = ROW_COUNT;
    RETURN jsonb_build_object('linked_by_national_id', n_id, 'linked_by_model', n_model,
                              'ambiguous', n_id_ambiguous + n_model_ambiguous, 'unmatched', n_unmatched);
END
$$;
COMMENT ON FUNCTION sp_internal.link_external_beneficiaries() IS 'Links every pending external beneficiary row: national ID through the blind index (one registered person: linked; several: ambiguous), else the trained person model against active persons (one candidate at 0.99 or more and no other at 0.5 or more: linked; a best candidate at 0.5 or more: ambiguous, with up to 10 candidates), else unmatched with the reason. Owner only, for the import and sp.relink_external_beneficiaries.';
REVOKE ALL ON FUNCTION sp_internal.link_external_beneficiaries() FROM PUBLIC;

-- ------------------------------------------------------------------------
-- Importing a list
-- ------------------------------------------------------------------------

-- What is wrong with row i of a list, or NULL.  Cheap checks only, for
-- every row at once; the calendar (2024-02-30) is checked on parsing.
CREATE FUNCTION sp_internal.external_row_problem(r jsonb, i bigint, programme_currency text)
    RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
        WHEN jsonb_typeof(r) IS DISTINCT FROM 'object' THEN format('rows[%s] must be an object', i)
        WHEN EXISTS (SELECT 1 FROM jsonb_object_keys(r) k
                     WHERE k NOT IN ('source_record_id', 'national_id', 'phone', 'given_name', 'family_name', 'other_names',
                                     'birth_date', 'sex', 'admin_area_code', 'household_ref', 'benefit_start', 'benefit_end',
                                     'amount', 'currency'))
            THEN format('unknown field "rows[%s].%s"', i,
                        (SELECT left(min(k), 64) FROM jsonb_object_keys(r) k
                         WHERE k NOT IN ('source_record_id', 'national_id', 'phone', 'given_name', 'family_name', 'other_names',
                                         'birth_date', 'sex', 'admin_area_code', 'household_ref', 'benefit_start', 'benefit_end',
                                         'amount', 'currency')))
        WHEN jsonb_typeof(r -> 'source_record_id') = 'number'
             AND (abs((r -> 'source_record_id')::numeric) >= 1e30 OR (r -> 'source_record_id')::numeric <> trunc((r -> 'source_record_id')::numeric))
            THEN format('rows[%s].source_record_id must be a string or a whole number below 10^30', i)
        WHEN jsonb_typeof(r -> 'amount') = 'number' AND abs((r -> 'amount')::numeric) >= 1e12
            THEN format('rows[%s].amount must be from 0 to 10^12', i)
        WHEN EXISTS (SELECT 1 FROM jsonb_each(r) e WHERE e.key NOT IN ('amount', 'source_record_id') AND jsonb_typeof(e.value) NOT IN ('string', 'null'))
            THEN format('rows[%s].%s must be a string', i,
                        (SELECT min(e.key) FROM jsonb_each(r) e WHERE e.key NOT IN ('amount', 'source_record_id') AND jsonb_typeof(e.value) NOT IN ('string', 'null')))
        WHEN coalesce(jsonb_typeof(r -> 'source_record_id'), 'null') NOT IN ('string', 'number') OR btrim(r ->> 'source_record_id') = ''
            THEN format('rows[%s].source_record_id is missing: each row needs the ministry''s own record id', i)
        WHEN EXISTS (SELECT 1 FROM jsonb_each_text(r) e WHERE length(e.value) > 200)
            THEN format('rows[%s].%s is longer than 200 characters', i, (SELECT min(e.key) FROM jsonb_each_text(r) e WHERE length(e.value) > 200))
        WHEN coalesce(btrim(r ->> 'national_id'), '') = '' AND coalesce(btrim(r ->> 'given_name'), '') = '' AND coalesce(btrim(r ->> 'family_name'), '') = ''
            THEN format('rows[%s] needs a national_id or a name', i)
        WHEN btrim(r ->> 'national_id') <> '' AND NOT regexp_replace(btrim(r ->> 'national_id'), '[ ./_-]', '', 'g') ~ '^[A-Za-z0-9]{1,64}$'
            THEN format('rows[%s].national_id is not a national ID (letters and digits, at most 64)', i)
        WHEN btrim(r ->> 'phone') <> '' AND NOT regexp_replace(btrim(r ->> 'phone'), '[ .()-]', '', 'g') ~ '^\+?[0-9]{5,20}$'
            THEN format('rows[%s].phone is not a phone number (5 to 20 digits, an optional leading +)', i)
        WHEN btrim(r ->> 'birth_date') <> '' AND NOT btrim(r ->> 'birth_date') ~ '^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$'
            THEN format('rows[%s].birth_date is not a date (YYYY-MM-DD, YYYY-MM or YYYY)', i)
        -- (as text: a year or a month compares with today's of the same length)
        WHEN btrim(r ->> 'birth_date') <> ''
             AND btrim(r ->> 'birth_date') > left(to_char(current_date, 'YYYY-MM-DD'), length(btrim(r ->> 'birth_date')))
            THEN format('rows[%s].birth_date is in the future', i)
        WHEN r ->> 'sex' IS NOT NULL AND r ->> 'sex' NOT IN ('M', 'F', 'X')
            THEN format('rows[%s].sex must be "M", "F" or "X"', i)
        WHEN btrim(r ->> 'benefit_start') <> '' AND NOT btrim(r ->> 'benefit_start') ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'
            THEN format('rows[%s].benefit_start is not a date (YYYY-MM-DD)', i)
        WHEN btrim(r ->> 'benefit_end') <> '' AND NOT btrim(r ->> 'benefit_end') ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'
            THEN format('rows[%s].benefit_end is not a date (YYYY-MM-DD)', i)
        WHEN btrim(r ->> 'benefit_start') <> '' AND btrim(r ->> 'benefit_end') <> '' AND btrim(r ->> 'benefit_end') < btrim(r ->> 'benefit_start')
            THEN format('rows[%s].benefit_end is before its benefit_start', i)
        WHEN r ? 'amount' AND jsonb_typeof(r -> 'amount') NOT IN ('number', 'null')
            THEN format('rows[%s].amount must be a number', i)
        WHEN jsonb_typeof(r -> 'amount') = 'number' AND ((r ->> 'amount')::numeric < 0 OR (r ->> 'amount')::numeric > 1e12)
            THEN format('rows[%s].amount must be from 0 to 10^12', i)
        WHEN r ->> 'currency' IS NOT NULL AND NOT (r ->> 'currency') ~ '^[A-Z]{3}$'
            THEN format('rows[%s].currency must be an ISO 4217 code such as "USD"', i)
        WHEN jsonb_typeof(r -> 'amount') = 'number' AND r ->> 'currency' IS NULL AND programme_currency IS NULL
            THEN format('rows[%s].amount needs a currency (the programme has none)', i)
        WHEN r ->> 'currency' IS NOT NULL AND jsonb_typeof(r -> 'amount') IS DISTINCT FROM 'number'
            THEN format('rows[%s].currency is given without an amount', i)
    END
$$;
COMMENT ON FUNCTION sp_internal.external_row_problem(jsonb, bigint, text) IS 'The first problem of row i of an external beneficiary list (fields, types, lengths, formats, a birth date after today), naming the row and field, or NULL.';

-- The row as stored, from the row as given (blind indexes under the active key).
CREATE FUNCTION sp_internal.external_row(r jsonb, programme_currency text,
        OUT source_record_id text, OUT given_name text, OUT family_name text, OUT other_names text,
        OUT birth_date date, OUT birth_date_precision text, OUT sex text, OUT national_id_hash bytea, OUT phone_hash bytea,
        OUT admin_area_code text, OUT household_ref text, OUT benefit_start date, OUT benefit_end date,
        OUT amount numeric, OUT currency text, OUT row_digest bytea)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT x.sid, x.gn, x.fn, x.onm, bd.birth_date, bd.birth_date_precision, x.sex,
           sp_internal.blind_index('national_id', sp.normalize_national_id(x.nid)),
           sp_internal.blind_index('phone', sp.normalize_phone(x.ph)),
           x.area, x.hh, x.bs, x.be, x.amount, x.cur,
           sha256(convert_to(jsonb_build_array(x.gn, x.fn, x.onm, bd.birth_date, bd.birth_date_precision, x.sex, x.area, x.hh,
                                               x.bs, x.be, x.amount, x.cur)::text, 'UTF8'))
    FROM (SELECT btrim(r ->> 'source_record_id') AS sid,
                 nullif(btrim(r ->> 'given_name'), '') AS gn, nullif(btrim(r ->> 'family_name'), '') AS fn,
                 nullif(btrim(r ->> 'other_names'), '') AS onm, nullif(btrim(r ->> 'birth_date'), '') AS bdt,
                 nullif(r ->> 'sex', '') AS sex, nullif(btrim(r ->> 'national_id'), '') AS nid, nullif(btrim(r ->> 'phone'), '') AS ph,
                 nullif(btrim(r ->> 'admin_area_code'), '') AS area, nullif(btrim(r ->> 'household_ref'), '') AS hh,
                 nullif(btrim(r ->> 'benefit_start'), '')::date AS bs, nullif(btrim(r ->> 'benefit_end'), '')::date AS be,
                 (r ->> 'amount')::numeric AS amount,
                 CASE WHEN r ->> 'amount' IS NOT NULL THEN coalesce(r ->> 'currency', programme_currency) END AS cur) x
    LEFT JOIN LATERAL sp.parse_birth_date(x.bdt) bd ON true
$$;
COMMENT ON FUNCTION sp_internal.external_row(jsonb, text) IS 'An external beneficiary row as stored: trimmed, birth date parsed, identifiers as blind indexes under the active key, and the digest of what is not an identifier. Raises on a date that is not in the calendar or an identifier that does not normalise.';

-- Identifiers stored under a blind-index key that is no longer the active
-- one get their index under the active key, without a new version, when
-- the import gives the same identifier (the same row, re-indexed; a key
-- rotation does not reach these rows, which keep no ciphertext).
CREATE FUNCTION sp_internal.reindex_external_rows(p_programme text, rows jsonb)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET session_replication_role = replica
AS $$
DECLARE
    b_id integer := (SELECT k.key_id FROM sp_internal.pii_key k WHERE k.purpose = 'blind_index' AND k.state = 'active');
    n bigint;
BEGIN
    UPDATE sp.external_beneficiary e
    SET national_id_hash = CASE WHEN e.national_id_hash = ANY (x.nids) THEN x.nids[1] ELSE e.national_id_hash END,
        phone_hash = CASE WHEN e.phone_hash = ANY (x.phones) THEN x.phones[1] ELSE e.phone_hash END
    FROM (SELECT btrim(r ->> 'source_record_id') AS sid,
                 ARRAY[sp_internal.blind_index('national_id', sp.normalize_national_id(nullif(btrim(r ->> 'national_id'), '')))]
                     || sp_internal.blind_indexes('national_id', sp.normalize_national_id(nullif(btrim(r ->> 'national_id'), ''))) AS nids,
                 ARRAY[sp_internal.blind_index('phone', sp.normalize_phone(nullif(btrim(r ->> 'phone'), '')))]
                     || sp_internal.blind_indexes('phone', sp.normalize_phone(nullif(btrim(r ->> 'phone'), ''))) AS phones
          FROM jsonb_array_elements(rows) r) x
    WHERE e.programme = p_programme AND e.source_record_id = x.sid
      AND ((e.national_id_hash IS NOT NULL AND sp_internal.pii_key_id(e.national_id_hash) <> b_id)
           OR (e.phone_hash IS NOT NULL AND sp_internal.pii_key_id(e.phone_hash) <> b_id));
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION sp_internal.reindex_external_rows(text, jsonb) IS 'Re-indexes, under the active blind-index key and without a new version, the identifiers of a programme''s external rows stored under an older key, where the list gives the same identifier. Owner only, for sp.import_external_beneficiaries.';
REVOKE ALL ON FUNCTION sp_internal.reindex_external_rows(text, jsonb) FROM PUBLIC;

-- The digest of rows an import gave the same in substance as stored, but
-- not byte for byte: updated without a version (nothing about the row
-- changed) and without the history trigger.
CREATE FUNCTION sp_internal.refresh_external_digests(p_programme text, todo_r jsonb[], todo_sd bytea[])
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET session_replication_role = replica
AS $$
DECLARE
    n bigint;
BEGIN
    UPDATE sp.external_beneficiary e SET source_digest = o.sd
    FROM unnest(todo_r, todo_sd) o (r, sd)
    WHERE e.programme = p_programme AND e.source_record_id = btrim(o.r ->> 'source_record_id')
      AND e.source_digest IS DISTINCT FROM o.sd;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION sp_internal.refresh_external_digests(text, jsonb[], bytea[]) IS 'Sets the stored digest of the rows an import gave in substance unchanged but not byte for byte, without a version or a history row. Owner only, for sp.import_external_beneficiaries.';
REVOKE ALL ON FUNCTION sp_internal.refresh_external_digests(text, jsonb[], bytea[]) FROM PUBLIC;

CREATE FUNCTION sp.import_external_beneficiaries(programme text, rows jsonb, end_most boolean DEFAULT false)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET jit = off
    SET work_mem = '64MB'
AS $$
#variable_conflict use_column
DECLARE
    prog sp.external_programme;
    b_id integer;
    b_key bytea;
    todo_i bigint[];
    todo_r jsonb[];
    todo_sd bytea[];
    problems text[];
    imp_id bigint;
    n_rows bigint;
    n_added bigint;
    n_changed bigint;
    n_ended bigint;
    n_reindexed bigint := 0;
    link jsonb;
    i bigint;
    r jsonb;
    f text;
    res jsonb;
BEGIN
    PERFORM sp_internal.require_national_scope('importing an external beneficiary list');
    SELECT * INTO prog FROM sp.external_programme x WHERE x.name = import_external_beneficiaries.programme FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'external programme "%" does not exist', coalesce(left(programme, 64), 'NULL')
            USING ERRCODE = 'no_data_found', COLUMN = 'programme', HINT = 'Define it in sp.external_programme first.';
    END IF;
    IF prog.status = 'closed' THEN
        RAISE EXCEPTION 'external programme "%" is closed', prog.name USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    -- one ministry's system does not send another's list
    IF prog.importer_role IS NOT NULL
       AND NOT pg_has_role(sp_internal.caller_oid(), 'sp_admin', 'MEMBER')
       AND NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = prog.importer_role
                       AND pg_has_role(sp_internal.caller_oid(), r.oid, 'MEMBER')) THEN
        RAISE EXCEPTION 'the list of external programme "%" is sent by role %', prog.name, prog.importer_role
            USING ERRCODE = 'insufficient_privilege', DETAIL = format('Role %s is not a member of it.', sp_internal.caller());
    END IF;
    IF rows IS NULL OR jsonb_typeof(rows) <> 'array' THEN
        RAISE EXCEPTION 'rows must be a JSON array of objects, one per beneficiary' USING ERRCODE = 'invalid_parameter_value', COLUMN = 'rows',
            DETAIL = 'The whole list, each time: a row the list no longer has ends that benefit.';
    END IF;
    n_rows := jsonb_array_length(rows);

    -- the blind-index key (made on first use; rolled back with a refused list)
    SELECT k.key_id, k.key INTO b_id, b_key FROM sp_internal.pii_key k WHERE k.purpose = 'blind_index' AND k.state = 'active';
    IF b_id IS NULL THEN
        PERFORM sp_internal.pii_key_current('blind_index');
        SELECT k.key_id, k.key INTO b_id, b_key FROM sp_internal.pii_key k WHERE k.purpose = 'blind_index' AND k.state = 'active';
    END IF;
    -- a row given exactly as the last import stored it (the same keyed
    -- digest of the whole row, identifiers included, and of the programme's
    -- currency, which a row's amount may take) was checked, hashed and
    -- compared then: only the others are looked at again
    SELECT coalesce(array_agg(g.i ORDER BY g.i), '{}'), coalesce(array_agg(g.r ORDER BY g.i), '{}'), coalesce(array_agg(g.sd ORDER BY g.i), '{}')
    INTO todo_i, todo_r, todo_sd
    FROM (SELECT o.i, o.r, sp_internal.pii_hmac(convert_to(jsonb_build_array(o.r, prog.currency)::text, 'UTF8'), b_id, b_key) AS sd
          FROM jsonb_array_elements(rows) WITH ORDINALITY o (r, i)) g
    WHERE NOT EXISTS (SELECT 1 FROM sp.external_beneficiary e
                      WHERE e.programme = prog.name AND e.source_record_id = btrim(g.r ->> 'source_record_id')
                        AND e.source_digest = g.sd AND e.status = 'active');

    -- every other row checked before anything is written: one bad row
    -- refuses the list (a list with rows left out would end their benefits)
    SELECT array_agg(x.pr ORDER BY x.i) INTO problems
    FROM (SELECT o.i, sp_internal.external_row_problem(o.r, o.i - 1, prog.currency) AS pr
          FROM unnest(todo_r, todo_i) o (r, i)) x
    WHERE x.pr IS NOT NULL;
    IF problems IS NULL THEN
        SELECT array_agg(format('rows[%s].source_record_id "%s" is given %s times', x.first_i, left(x.sid, 64), x.n) ORDER BY x.first_i) INTO problems
        FROM (SELECT btrim(o.r ->> 'source_record_id') AS sid, min(o.i) - 1 AS first_i, count(*) AS n
              FROM jsonb_array_elements(rows) WITH ORDINALITY o (r, i) GROUP BY 1 HAVING count(*) > 1) x;
    END IF;
    IF problems IS NULL THEN
        SELECT array_agg(format('rows[%s].admin_area_code "%s" is not an area of the registry', o.i - 1, left(btrim(o.r ->> 'admin_area_code'), 64)) ORDER BY o.i)
        INTO problems
        FROM unnest(todo_r, todo_i) o (r, i)
        WHERE nullif(btrim(o.r ->> 'admin_area_code'), '') IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM sp.admin_area a WHERE a.code = btrim(o.r ->> 'admin_area_code'));
    END IF;
    IF problems IS NOT NULL THEN
        RAISE EXCEPTION '%', problems[1] USING ERRCODE = 'invalid_parameter_value', COLUMN = 'rows',
            DETAIL = format('%s row(s) with problems; nothing was imported.%s', cardinality(problems),
                            CASE WHEN cardinality(problems) > 1 THEN ' Also: ' || array_to_string(problems[2:10], '; ') || '.' ELSE '' END);
    END IF;

    IF EXISTS (SELECT 1 FROM sp.external_beneficiary e
               WHERE e.programme = prog.name
                 AND ((e.national_id_hash IS NOT NULL AND sp_internal.pii_key_id(e.national_id_hash) <> b_id)
                      OR (e.phone_hash IS NOT NULL AND sp_internal.pii_key_id(e.phone_hash) <> b_id))) THEN
        n_reindexed := sp_internal.reindex_external_rows(prog.name, rows);
    END IF;

    INSERT INTO sp.external_import (programme, result) VALUES (prog.name, '{}') RETURNING import_id INTO imp_id;
    BEGIN
        WITH up AS (
            INSERT INTO sp.external_beneficiary AS e
                (programme, source_record_id, given_name, family_name, other_names, birth_date, birth_date_precision, sex,
                 national_id_hash, phone_hash, admin_area_code, household_ref, benefit_start, benefit_end, amount, currency,
                 row_digest, import_id, source_digest)
            SELECT prog.name, x.source_record_id, x.given_name, x.family_name, x.other_names, x.birth_date, x.birth_date_precision, x.sex,
                   x.national_id_hash, x.phone_hash, x.admin_area_code, x.household_ref, x.benefit_start, x.benefit_end, x.amount, x.currency,
                   x.row_digest, imp_id, o.sd
            FROM unnest(todo_r, todo_sd) o (r, sd), sp_internal.external_row(o.r, prog.currency) x
            ON CONFLICT (programme, source_record_id) DO UPDATE SET
                given_name = EXCLUDED.given_name, family_name = EXCLUDED.family_name, other_names = EXCLUDED.other_names,
                birth_date = EXCLUDED.birth_date, birth_date_precision = EXCLUDED.birth_date_precision, sex = EXCLUDED.sex,
                national_id_hash = EXCLUDED.national_id_hash, phone_hash = EXCLUDED.phone_hash,
                admin_area_code = EXCLUDED.admin_area_code, household_ref = EXCLUDED.household_ref,
                benefit_start = EXCLUDED.benefit_start, benefit_end = EXCLUDED.benefit_end,
                amount = EXCLUDED.amount, currency = EXCLUDED.currency, row_digest = EXCLUDED.row_digest, import_id = EXCLUDED.import_id,
                source_digest = EXCLUDED.source_digest,
                status = 'active', ended_at = NULL, end_reason = NULL,
                -- who the row is changed: linked again (a reviewer's link included)
                link_status = CASE WHEN (e.given_name, e.family_name, e.other_names, e.birth_date, e.birth_date_precision, e.sex,
                                         e.national_id_hash, e.phone_hash, e.admin_area_code)
                                        IS DISTINCT FROM
                                        (EXCLUDED.given_name, EXCLUDED.family_name, EXCLUDED.other_names, EXCLUDED.birth_date,
                                         EXCLUDED.birth_date_precision, EXCLUDED.sex, EXCLUDED.national_id_hash, EXCLUDED.phone_hash,
                                         EXCLUDED.admin_area_code)
                                   THEN 'pending' ELSE e.link_status END,
                version = e.version + 1, updated_at = now(), updated_by = sp_internal.caller()
            WHERE e.row_digest IS DISTINCT FROM EXCLUDED.row_digest OR e.status = 'ended'
               OR e.national_id_hash IS DISTINCT FROM EXCLUDED.national_id_hash OR e.phone_hash IS DISTINCT FROM EXCLUDED.phone_hash
            RETURNING e.version
        )
        SELECT count(*) FILTER (WHERE up.version = 1), count(*) FILTER (WHERE up.version > 1) INTO n_added, n_changed FROM up;
    EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow OR invalid_text_representation THEN
        -- a date outside the calendar or an identifier that does not
        -- normalise: find the row, to name it
        i := 0;
        FOR r IN SELECT o FROM jsonb_array_elements(rows) o LOOP
            FOREACH f IN ARRAY ARRAY['birth_date', 'benefit_start', 'benefit_end', 'national_id', 'phone'] LOOP
                BEGIN
                    CASE f
                        WHEN 'birth_date' THEN PERFORM sp.parse_birth_date(nullif(btrim(r ->> f), ''));
                        WHEN 'national_id' THEN PERFORM sp.normalize_national_id(nullif(btrim(r ->> f), ''));
                        WHEN 'phone' THEN PERFORM sp.normalize_phone(nullif(btrim(r ->> f), ''));
                        ELSE PERFORM nullif(btrim(r ->> f), '')::date;
                    END CASE;
                EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow OR invalid_text_representation THEN
                    RAISE EXCEPTION 'rows[%].%: %', i, f, SQLERRM USING ERRCODE = 'invalid_parameter_value', COLUMN = 'rows',
                        DETAIL = 'Nothing was imported.';
                END;
            END LOOP;
            i := i + 1;
        END LOOP;
        RAISE;
    END;
    -- rows given the same in substance but not byte for byte (spaces, or
    -- the key rotated since): their digest, without a version (none such
    -- when every row looked at was added or changed)
    IF n_added + n_changed < cardinality(todo_r) THEN
        PERFORM sp_internal.refresh_external_digests(prog.name, todo_r, todo_sd);
    END IF;
    -- a row whose state changed and was linked before needs linking again
    UPDATE sp.external_beneficiary e
    SET person_id = NULL, linked_by = NULL, link_probability = NULL, link_note = NULL, candidates = NULL, linked_at = NULL
    WHERE e.programme = prog.name AND e.link_status = 'pending' AND (e.person_id IS NOT NULL OR e.linked_at IS NOT NULL);

    -- rows the list no longer has: their benefit ends (history kept)
    UPDATE sp.external_beneficiary e
    SET status = 'ended', ended_at = now(), end_reason = format('not in import %s', imp_id),
        version = e.version + 1, updated_at = now(), updated_by = sp_internal.caller()
    WHERE e.programme = prog.name AND e.status = 'active'
      AND e.source_record_id NOT IN (SELECT btrim(o ->> 'source_record_id') FROM jsonb_array_elements(rows) o);
    GET DIAGNOSTICS n_ended = ROW_COUNT;
    -- a list that ends most of the benefits is more likely a truncated file
    -- than a policy: it needs saying so
    IF n_ended > 10 AND n_ended * 2 > n_ended + n_changed + (n_rows - n_added - n_changed) AND NOT coalesce(end_most, false) THEN
        RAISE EXCEPTION 'this list would end % of the % active benefits of external programme "%"', n_ended,
                        n_ended + n_rows - n_added, prog.name
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'rows',
                  DETAIL = 'Nothing was imported.',
                  HINT = 'If the list is whole and right, import it again with end_most => true.';
    END IF;

    link := sp_internal.link_external_beneficiaries();
    res := jsonb_build_object('import_id', imp_id, 'programme', prog.name, 'rows', n_rows, 'added', n_added, 'changed', n_changed,
                                 'unchanged', n_rows - n_added - n_changed, 'ended', n_ended, 'reindexed', n_reindexed, 'linking', link);
    UPDATE sp.external_import x SET result = res WHERE x.import_id = imp_id;
    RETURN res;
END
$$;
COMMENT ON FUNCTION sp.import_external_beneficiaries(text, jsonb, boolean) IS 'Imports the whole beneficiary list of an external programme: rows (a JSON array of objects, each with a national_id or a name: source_record_id, national_id, phone, given_name, family_name, other_names, birth_date, sex, admin_area_code, household_ref, benefit_start, benefit_end, amount, currency) keyed by the ministry''s source_record_id. Idempotent: a row given again unchanged changes nothing; a changed row is a new version (linked again if who it is changed); a row the list no longer has is ended. New and changed rows are linked to registry persons (national ID, then the person model; ambiguous and unmatched rows kept for review). Any bad row refuses the list, naming the row and field. A list that would end most active benefits (more than half, and more than 10) is refused unless end_most is true. National scope required, and the programme''s importer_role when it has one. Returns the counts.';

-- ------------------------------------------------------------------------
-- Reviewing and relinking
-- ------------------------------------------------------------------------

-- A reviewer's decision on an ambiguous or unmatched row: the registry
-- person it is (who must be in the reviewer's scope), or NULL for "nobody
-- registered".  The earlier state is kept in the history.
CREATE FUNCTION sp.review_external_link(external_beneficiary_id bigint, person_id bigint, reason text)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    row_ sp.external_beneficiary;
BEGIN
    PERFORM sp_internal.require_reason(reason, 'A reviewer''s link of an external beneficiary records why.');
    SELECT * INTO row_ FROM sp.external_beneficiary e WHERE e.external_beneficiary_id = review_external_link.external_beneficiary_id FOR UPDATE;
    -- the rows the reviewer may see (the row-level security policy): a
    -- linked row by its person's area only, whatever area the ministry gave;
    -- an unlinked one by that area, or an ambiguous one by a candidate
    IF NOT FOUND OR row_.status <> 'active'
       OR NOT (sp_internal.has_national_scope()
               OR CASE WHEN row_.person_id IS NOT NULL THEN
                           EXISTS (SELECT 1 FROM sp.person p WHERE p.person_id = row_.person_id AND sp_internal.area_in_scope(p.admin_area_code))
                       WHEN row_.admin_area_code IS NOT NULL AND sp_internal.area_in_scope(row_.admin_area_code) THEN true
                       WHEN row_.link_status = 'ambiguous' THEN
                           EXISTS (SELECT 1 FROM jsonb_array_elements(row_.candidates) c JOIN sp.person p ON p.person_id = (c ->> 'person_id')::bigint
                                   WHERE sp_internal.area_in_scope(p.admin_area_code))
                       ELSE false END) THEN
        PERFORM sp_internal.raise_not_found('external beneficiary', review_external_link.external_beneficiary_id);
    END IF;
    -- an ambiguous row with candidates the reviewer may not see is not
    -- theirs to decide: linking their own candidate, or nobody, would
    -- settle it without those (the queue says how many there are)
    IF row_.link_status = 'ambiguous' AND NOT sp_internal.has_national_scope()
       AND EXISTS (SELECT 1 FROM jsonb_array_elements(row_.candidates) c
                   LEFT JOIN sp.person p ON p.person_id = (c ->> 'person_id')::bigint
                   WHERE p.person_id IS NULL OR NOT sp_internal.area_in_scope(p.admin_area_code)) THEN
        RAISE EXCEPTION 'external beneficiary % has candidates outside your area scope', row_.external_beneficiary_id
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'A reviewer whose scope covers every candidate decides it (sp.external_review_queue: candidates_outside_scope).';
    END IF;
    IF review_external_link.person_id IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM sp.person p WHERE p.person_id = review_external_link.person_id
                       AND p.status IN ('active', 'deceased') AND sp_internal.area_in_scope(p.admin_area_code)) THEN
        PERFORM sp_internal.raise_not_found('person', review_external_link.person_id);
    END IF;
    PERFORM set_config('sp_registry.change_reason', reason, true);
    UPDATE sp.external_beneficiary e
    SET link_status = CASE WHEN review_external_link.person_id IS NULL THEN 'unmatched' ELSE 'linked' END,
        person_id = review_external_link.person_id, linked_by = 'reviewer', link_probability = NULL,
        link_note = left(reason, 1000), candidates = NULL, linked_at = now(),
        version = e.version + 1, updated_at = now(), updated_by = sp_internal.caller()
    WHERE e.external_beneficiary_id = row_.external_beneficiary_id
    RETURNING * INTO row_;
    PERFORM set_config('sp_registry.change_reason', '', true);
    RETURN jsonb_build_object('external_beneficiary_id', row_.external_beneficiary_id, 'link_status', row_.link_status,
                              'person_id', row_.person_id, 'version', row_.version);
END
$$;
COMMENT ON FUNCTION sp.review_external_link(bigint, bigint, text) IS 'A reviewer''s decision on an external beneficiary row: the registry person it is (active or deceased, in the reviewer''s scope), or NULL for nobody registered. An ambiguous row with a candidate outside the reviewer''s scope is refused (42501): a reviewer whose scope covers every candidate decides it. Replaces any earlier link (kept in the history) and is not undone by relinking; an import that changes who the row is links it again. Reason required.';

-- The review queue of the caller: active ambiguous and unmatched rows they
-- may see (the rule of the row-level security policy), each with only the
-- candidates in their scope - a district's reviewer does not learn which
-- persons of other districts a row might be, only how many there are.
CREATE FUNCTION sp.external_review_queue(programme text DEFAULT NULL)
    RETURNS TABLE (external_beneficiary_id bigint, programme text, source_record_id text, link_status text,
                   given_name text, family_name text, other_names text, birth_date date, sex text, admin_area_code text,
                   household_ref text, link_note text, candidates jsonb, candidates_outside_scope integer, updated_at timestamptz)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET jit = off
AS $$
    WITH me AS (SELECT sp_internal.has_national_scope() AS national),
    q AS (
        SELECT e.*,
               (SELECT coalesce(jsonb_agg(c.v ORDER BY c.o) FILTER (WHERE me.national OR sp_internal.area_in_scope(p.admin_area_code)), '[]')
                FROM jsonb_array_elements(coalesce(e.candidates, '[]')) WITH ORDINALITY c (v, o)
                LEFT JOIN sp.person p ON p.person_id = (c.v ->> 'person_id')::bigint) AS mine,
               coalesce(jsonb_array_length(e.candidates), 0) AS n_candidates
        FROM sp.external_beneficiary e, me
        WHERE e.status = 'active' AND e.link_status IN ('ambiguous', 'unmatched')
          AND (external_review_queue.programme IS NULL OR e.programme = external_review_queue.programme)
    )
    SELECT q.external_beneficiary_id, q.programme, q.source_record_id, q.link_status, q.given_name, q.family_name, q.other_names,
           q.birth_date, q.sex, q.admin_area_code, q.household_ref,
           -- (the note gives the best candidate's probability: not when that may be another area's)
           CASE WHEN q.link_status = 'ambiguous' AND q.n_candidates > jsonb_array_length(q.mine)
                THEN 'several registered persons may be this row, some outside your area scope' ELSE q.link_note END,
           CASE WHEN q.link_status = 'ambiguous' THEN q.mine END,
           CASE WHEN q.link_status = 'ambiguous' THEN q.n_candidates - jsonb_array_length(q.mine) END,
           q.updated_at
    FROM q, me
    WHERE me.national
       OR (q.admin_area_code IS NOT NULL AND sp_internal.area_in_scope(q.admin_area_code))
       OR (q.link_status = 'ambiguous' AND jsonb_array_length(q.mine) > 0)
    ORDER BY q.programme, q.link_status, q.external_beneficiary_id
$$;
COMMENT ON FUNCTION sp.external_review_queue(text) IS 'The caller''s review queue of external beneficiary rows (of one programme, or all): active rows that are ambiguous or unmatched, seen by the area the ministry gave or, for an ambiguous row, by a candidate in the caller''s scope (national scope: all). candidates lists only the candidates in the caller''s scope (person_id, probability, matched_by; best first), candidates_outside_scope how many others there are: such a row is decided by a reviewer whose scope covers every candidate (sp.review_external_link refuses the others). Decide each with sp.review_external_link.';

-- Links again the rows of a programme that matched nobody (not those a
-- reviewer decided): after the person model is trained, or once more
-- people are registered.
CREATE FUNCTION sp.relink_external_beneficiaries(programme text)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET jit = off
    SET work_mem = '64MB'
AS $$
#variable_conflict use_column
DECLARE
    n bigint;
BEGIN
    PERFORM sp_internal.require_national_scope('linking an external beneficiary list');
    PERFORM 1 FROM sp.external_programme x WHERE x.name = relink_external_beneficiaries.programme FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'external programme "%" does not exist', coalesce(left(programme, 64), 'NULL')
            USING ERRCODE = 'no_data_found', COLUMN = 'programme';
    END IF;
    UPDATE sp.external_beneficiary e
    SET link_status = 'pending', link_note = NULL, linked_at = NULL,
        version = e.version + 1, updated_at = now(), updated_by = sp_internal.caller()
    WHERE e.programme = relink_external_beneficiaries.programme AND e.link_status = 'unmatched'
      AND e.linked_by IS DISTINCT FROM 'reviewer' AND e.status = 'active';
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN jsonb_build_object('programme', programme, 'tried', n, 'linking', sp_internal.link_external_beneficiaries());
END
$$;
COMMENT ON FUNCTION sp.relink_external_beneficiaries(text) IS 'Links again the active rows of an external programme that matched nobody (not rows a reviewer decided): after the person model is trained or more people are registered. National scope required. Returns how many were tried and how they were linked.';

-- ------------------------------------------------------------------------
-- Who receives what
-- ------------------------------------------------------------------------

-- Every benefit of every person: the registry's enrolments (a household
-- programme's benefit listed for each member, unit = household) and the
-- external programmes' rows linked to the person.  Read with the view
-- owner's rights (a caseworker may see what a person was last paid without
-- reading the payments table), limited to the persons of the reader's area
-- scope as row-level security would.
CREATE VIEW sp.benefits_by_person WITH (security_barrier) AS
SELECT p.person_id, p.household_id, 'registry'::text AS source, e.programme, g.benefit_type, g.target_unit AS unit,
       e.state AS status, e.enrolled_at::date AS since, e.exited_at::date AS until,
       y.amount, y.currency, NULL::text AS frequency, e.enrolment_id, NULL::bigint AS external_beneficiary_id
FROM sp.enrolment e
JOIN sp.programme g ON g.name = e.programme
JOIN sp.person p ON (e.person_id IS NOT NULL AND p.person_id = e.person_id)
                 OR (e.person_id IS NULL AND p.household_id = e.household_id AND p.status = 'active')
-- its payment in the programme's latest sent or closed cycle, as in every
-- figure of benefit values (none when that cycle did not pay it)
LEFT JOIN sp_internal.last_sent_cycle l ON l.programme = e.programme
LEFT JOIN sp.payment y ON y.cycle_id = l.cycle_id AND y.enrolment_id = e.enrolment_id AND y.reissue_of IS NULL AND y.live
WHERE e.state IN ('enrolled', 'suspended')
  AND p.admin_area_code IN (SELECT v.code FROM sp_internal.visible_areas() v (code))
UNION ALL
SELECT x.person_id, p.household_id, 'external', x.programme, xp.benefit_type, xp.target_unit,
       CASE WHEN x.benefit_end < current_date THEN 'ended' WHEN x.benefit_start > current_date THEN 'upcoming' ELSE 'receiving' END,
       x.benefit_start, coalesce(x.benefit_end, x.ended_at::date),
       coalesce(x.amount, xp.amount), coalesce(x.currency, xp.currency), xp.frequency, NULL, x.external_beneficiary_id
FROM sp.external_beneficiary x
JOIN sp.external_programme xp ON xp.name = x.programme
JOIN sp.person p ON p.person_id = x.person_id
WHERE x.link_status = 'linked' AND x.status = 'active'
  AND p.admin_area_code IN (SELECT v.code FROM sp_internal.visible_areas() v (code));
COMMENT ON VIEW sp.benefits_by_person IS 'Every current benefit of every registry person: enrolments in registry programmes (enrolled or suspended; a household programme listed for each active member, unit household; amount and currency of its payment in the programme''s latest sent or closed cycle, none when that cycle did not pay it) and linked rows of external programmes (status receiving, upcoming before benefit_start, or ended when past benefit_end; amount per frequency). Persons of the reader''s area scope only.';

CREATE VIEW sp.benefits_by_household WITH (security_invoker = true) AS
SELECT b.household_id, b.source, b.programme, b.benefit_type, b.unit, b.status,
       count(DISTINCT b.person_id) AS persons,
       -- a household programme pays the household once, a person programme each person
       CASE WHEN b.unit = 'household' THEN max(b.amount) ELSE sum(b.amount) END AS amount,
       min(b.currency) AS currency, min(b.frequency) AS frequency
FROM sp.benefits_by_person b
GROUP BY b.household_id, b.source, b.programme, b.benefit_type, b.unit, b.status;
COMMENT ON VIEW sp.benefits_by_household IS 'Current benefits per household and programme, registry and external: how many of its persons receive it and the amount per period (a household benefit once, person benefits added up). Households of the reader''s area scope only.';
