-- Consent: what a person agreed to (or refused) beyond the registry's own
-- purpose of targeting and delivering programmes.  Append-only: the latest
-- record per person and purpose is in force.  No record means no consent
-- (opt-in).  Functions that share data outside the registry (the DCI API,
-- the integrated beneficiary registry, exports) must call
-- sp_internal.has_consent() for every person they would share.  A consent
-- holds through its valid_until date in UTC, whatever time zone the session
-- chose (a session could otherwise stretch an expired consent by a day).

CREATE TABLE sp.consent (
    consent_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id   bigint NOT NULL REFERENCES sp.person (person_id),
    purpose     text NOT NULL CHECK (purpose IN ('data_sharing', 'contact', 'research')),
    granted     boolean NOT NULL,
    valid_until date,
    source      text NOT NULL CHECK (length(source) BETWEEN 1 AND 100),
    reason      text CHECK (reason IS NULL OR length(reason) <= 1000),
    recorded_at timestamptz NOT NULL DEFAULT now(),
    recorded_by text NOT NULL DEFAULT sp_internal.caller()
);
CREATE INDEX consent_person_idx ON sp.consent (person_id, purpose, consent_id);
COMMENT ON TABLE sp.consent IS 'Every consent given or withdrawn: person, purpose (data_sharing: with other agencies and systems; contact: SMS and calls beyond programme notices; research), granted or refused, optional end date, where it was recorded (registration, a form, a call) and by whom. Append-only; the latest record per person and purpose is in force (sp.current_consent). No record means no consent.';
CREATE TRIGGER consent_append_only BEFORE UPDATE OR DELETE ON sp.consent
    FOR EACH ROW EXECUTE FUNCTION sp_internal.history_is_append_only();

CREATE VIEW sp.current_consent AS
SELECT DISTINCT ON (c.person_id, c.purpose)
       c.person_id, c.purpose,
       c.granted AND (c.valid_until IS NULL OR c.valid_until >= (now() AT TIME ZONE 'UTC')::date) AS in_force,
       c.granted, c.valid_until, c.source, c.recorded_at, c.recorded_by
FROM sp.consent c
ORDER BY c.person_id, c.purpose, c.consent_id DESC;
COMMENT ON VIEW sp.current_consent IS 'The consent in force per person and purpose: in_force is true only for a granted consent not past its valid_until (a date in UTC).';

CREATE FUNCTION sp_internal.has_consent(person_id bigint, purpose text)
    RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce((SELECT c.granted AND (c.valid_until IS NULL OR c.valid_until >= (now() AT TIME ZONE 'UTC')::date)
                     FROM sp.consent c
                     WHERE c.person_id = has_consent.person_id AND c.purpose = has_consent.purpose
                     ORDER BY c.consent_id DESC LIMIT 1), false)
$$;
COMMENT ON FUNCTION sp_internal.has_consent(bigint, text) IS 'True when the person''s latest consent record for the purpose grants it and has not expired; false when refused, expired or never recorded. Every function that shares data outward calls it.';

-- Consents named in member documents ("consent": {"data_sharing": true}),
-- validated by sp_internal.member_problem.
CREATE FUNCTION sp_internal.record_member_consents(person_ids bigint[], members jsonb[], source text, reason text)
    RETURNS void
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
    INSERT INTO sp.consent (person_id, purpose, granted, source, reason)
    SELECT u.pid, c.key, c.value::boolean, source, reason
    FROM unnest(person_ids, members) AS u (pid, m),
         jsonb_each(CASE WHEN jsonb_typeof(u.m -> 'consent') = 'object' THEN u.m -> 'consent' ELSE '{}' END) c
    WHERE jsonb_typeof(c.value) = 'boolean'
    ORDER BY u.pid, c.key
$$;
COMMENT ON FUNCTION sp_internal.record_member_consents(bigint[], jsonb[], text, text) IS 'Records the "consent" object of member documents (registration, added members, corrections).';

CREATE FUNCTION sp.record_consent(person_id bigint, purpose text, granted boolean, source text,
                                  reason text DEFAULT NULL, valid_until date DEFAULT NULL)
    RETURNS sp.consent
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c sp.consent;
BEGIN
    IF purpose IS NULL OR purpose NOT IN ('data_sharing', 'contact', 'research') THEN
        RAISE EXCEPTION 'unknown consent purpose "%"', left(purpose, 64)
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Purposes: data_sharing, contact, research.';
    END IF;
    IF granted IS NULL THEN
        RAISE EXCEPTION 'granted must be true or false' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF source IS NULL OR length(btrim(source)) = 0 OR length(source) > 100 THEN
        RAISE EXCEPTION 'source must name where the consent was recorded (1 to 100 characters)'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF length(reason) > 1000 THEN
        RAISE EXCEPTION 'reason longer than 1000 characters' USING ERRCODE = 'string_data_right_truncation';
    END IF;
    IF valid_until < (now() AT TIME ZONE 'UTC')::date THEN
        RAISE EXCEPTION 'valid_until % is in the past', valid_until USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM sp_internal.person_household_in_scope(record_consent.person_id);
    -- one consent record of a person at a time, so that the latest id is the
    -- latest decision even when two offices record at once
    PERFORM 1 FROM sp.person p WHERE p.person_id = record_consent.person_id FOR UPDATE;
    INSERT INTO sp.consent (person_id, purpose, granted, valid_until, source, reason)
    VALUES (record_consent.person_id, record_consent.purpose, record_consent.granted, record_consent.valid_until,
            btrim(record_consent.source), record_consent.reason)
    RETURNING * INTO c;
    RETURN c;
END
$$;
COMMENT ON FUNCTION sp.record_consent(bigint, text, boolean, text, text, date) IS 'Records that a person of the caller''s scope gave (granted = true) or withdrew/refused (false) consent for a purpose (data_sharing, contact, research), where (source) and optionally why and until when. Appends; the latest record is in force.';
