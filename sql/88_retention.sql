-- Retention: sp.apply_retention() pseudonymises what the registry no longer
-- needs to know, following sp.privacy_setting and sp.variable_policy
-- (sql/17_disclosure.sql).  Records are never deleted: statistics (sex, birth
-- year, area, status, non-identifying attributes, enrolment history) stay;
-- names, identifiers, phone, exact birth dates, locations and identifying
-- attributes go, from the live rows and from their history.

CREATE TABLE sp.retention_run (
    run_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_at      timestamptz NOT NULL DEFAULT now(),
    run_by      text NOT NULL DEFAULT sp_internal.caller(),
    result      jsonb NOT NULL
);
COMMENT ON TABLE sp.retention_run IS 'Every sp.apply_retention run that changed the registry: who, when and what it pseudonymised or removed (counts). Also in sp.audit_log (action retention).';

CREATE FUNCTION sp.apply_retention(dry_run boolean DEFAULT false)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    closed_days integer := sp_internal.privacy_setting('closed_record_retention_days');
    error_days integer := sp_internal.privacy_setting('import_error_retention_days');
    cutoff timestamptz;
    withheld_h text[] := sp_internal.withheld_variables('household');
    withheld_p text[] := sp_internal.withheld_variables('person');
    v record;
    n bigint;
    n_hh bigint := 0;
    n_p bigint := 0;
    held_hh bigint := 0;
    held_p bigint := 0;
    n_errors bigint := 0;
    vars jsonb := '{}';
    previous text;
    outcome jsonb;
BEGIN
    PERFORM sp_internal.require_national_scope('applying retention');
    IF dry_run IS NULL THEN
        RAISE EXCEPTION 'dry_run must be true or false' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    CREATE TEMP TABLE sp_ret_household (household_id bigint PRIMARY KEY) ON COMMIT DROP;
    CREATE TEMP TABLE sp_ret_person (person_id bigint PRIMARY KEY) ON COMMIT DROP;

    -- 1. closed records past retention, unless a benefit is still being paid
    -- or suspended (an enrolment enrolled or suspended: the case is not closed)
    IF closed_days IS NOT NULL THEN
        cutoff := now() - make_interval(days => closed_days);
        -- locked as chosen: a household reactivated meanwhile by another session
        -- is re-checked (and left alone) rather than pseudonymised
        INSERT INTO sp_ret_household
        SELECT h.household_id FROM sp.household h
        WHERE h.status IN ('inactive', 'merged') AND h.pseudonymised_at IS NULL AND h.updated_at < cutoff
          AND NOT EXISTS (SELECT 1 FROM sp.enrolment e WHERE e.household_id = h.household_id AND e.state IN ('enrolled', 'suspended'))
        FOR UPDATE OF h;
        GET DIAGNOSTICS n_hh = ROW_COUNT;
        SELECT count(*) INTO held_hh FROM sp.household h
        WHERE h.status IN ('inactive', 'merged') AND h.pseudonymised_at IS NULL AND h.updated_at < cutoff
          AND NOT EXISTS (SELECT 1 FROM sp_ret_household r WHERE r.household_id = h.household_id);
        INSERT INTO sp_ret_person
        SELECT p.person_id FROM sp.person p
        WHERE p.pseudonymised_at IS NULL
          AND (p.household_id IN (SELECT r.household_id FROM sp_ret_household r)
               OR (p.status IN ('deceased', 'merged') AND p.updated_at < cutoff))
          AND NOT EXISTS (SELECT 1 FROM sp.enrolment e WHERE e.person_id = p.person_id AND e.state IN ('enrolled', 'suspended'))
        FOR UPDATE OF p;
        GET DIAGNOSTICS n_p = ROW_COUNT;
        SELECT count(*) INTO held_p FROM sp.person p
        WHERE p.pseudonymised_at IS NULL AND p.status IN ('deceased', 'merged') AND p.updated_at < cutoff
          AND NOT EXISTS (SELECT 1 FROM sp_ret_person r WHERE r.person_id = p.person_id);
    END IF;

    -- 2. variables with a retention period: values not re-surveyed for that
    -- long leave the live rows and the history (a version's updated_at is
    -- when its values were written).  All are chosen before any is removed.
    CREATE TEMP TABLE sp_ret_value (entity text, id bigint, code text, retention interval) ON COMMIT DROP;
    FOR v IN SELECT p.code, p.retention, x.entity FROM sp.variable_policy p JOIN sp.variable x USING (code)
             WHERE p.retention IS NOT NULL ORDER BY p.code LOOP
        IF v.entity = 'household' THEN
            INSERT INTO sp_ret_value SELECT 'household', h.household_id, v.code, v.retention FROM sp.household h
            WHERE h.attributes ? v.code AND h.updated_at < now() - v.retention;
        ELSE
            INSERT INTO sp_ret_value SELECT 'person', p.person_id, v.code, v.retention FROM sp.person p
            WHERE p.attributes ? v.code AND p.updated_at < now() - v.retention;
        END IF;
        GET DIAGNOSTICS n = ROW_COUNT;
        vars := vars || jsonb_build_object(v.code, n);
    END LOOP;
    IF NOT dry_run THEN
        -- the version goes up, updated_at stays (sp_internal.stamp_update), so
        -- removing one value does not restart the clock of the others
        PERFORM set_config('sp_registry.applying_retention', 'on', true);
        FOR v IN SELECT DISTINCT r.code, r.retention, r.entity FROM sp_ret_value r ORDER BY r.code LOOP
            previous := sp_internal.begin_change(format('retention: %s kept longer than %s', v.code, v.retention));
            IF v.entity = 'household' THEN
                UPDATE sp.household h SET attributes = h.attributes - v.code
                WHERE h.household_id IN (SELECT r.id FROM sp_ret_value r WHERE r.entity = 'household' AND r.code = v.code);
                UPDATE sp.household_history h SET attributes = h.attributes - v.code
                WHERE h.attributes ? v.code AND h.updated_at < now() - v.retention;
            ELSE
                UPDATE sp.person p SET attributes = p.attributes - v.code
                WHERE p.person_id IN (SELECT r.id FROM sp_ret_value r WHERE r.entity = 'person' AND r.code = v.code);
                UPDATE sp.person_history p SET attributes = p.attributes - v.code
                WHERE p.attributes ? v.code AND p.updated_at < now() - v.retention;
            END IF;
            PERFORM sp_internal.end_change(previous);
        END LOOP;
        PERFORM set_config('sp_registry.applying_retention', 'off', true);
    END IF;

    -- 3. the closed records chosen in 1 (chosen before 2 touched any row)
    IF NOT dry_run THEN
        previous := sp_internal.begin_change('retention: record closed longer than its retention period, pseudonymised');
        PERFORM set_config('sp_registry.applying_retention', 'on', true);
        UPDATE sp.person p
        SET given_name = NULL, family_name = NULL, other_names = NULL,
            birth_date = CASE WHEN p.birth_date IS NULL THEN NULL ELSE make_date(extract(year FROM p.birth_date)::integer, 1, 1) END,
            birth_date_precision = CASE WHEN p.birth_date IS NULL THEN NULL ELSE 'year' END,
            national_id_enc = NULL, national_id_hash = NULL, phone_enc = NULL, phone_hash = NULL,
            attributes = p.attributes - withheld_p,
            pseudonymised_at = now()
        WHERE p.person_id IN (SELECT r.person_id FROM sp_ret_person r);
        UPDATE sp.household h
        SET location = NULL, attributes = h.attributes - withheld_h, pseudonymised_at = now()
        WHERE h.household_id IN (SELECT r.household_id FROM sp_ret_household r);
        -- the versions kept in history (including the ones just written)
        UPDATE sp.person_history p
        SET given_name = NULL, family_name = NULL, other_names = NULL,
            birth_date = CASE WHEN p.birth_date IS NULL THEN NULL ELSE make_date(extract(year FROM p.birth_date)::integer, 1, 1) END,
            birth_date_precision = CASE WHEN p.birth_date IS NULL THEN NULL ELSE 'year' END,
            national_id_enc = NULL, national_id_hash = NULL, phone_enc = NULL, phone_hash = NULL,
            attributes = p.attributes - withheld_p
        WHERE p.person_id IN (SELECT r.person_id FROM sp_ret_person r);
        UPDATE sp.household_history h
        SET location = NULL, attributes = h.attributes - withheld_h
        WHERE h.household_id IN (SELECT r.household_id FROM sp_ret_household r);
        -- free text that staff wrote about these records: reasons name people
        -- and places ("Amina moved to her sister in the capital")
        UPDATE sp.person_history p SET change_reason = 'removed by retention'
        WHERE p.person_id IN (SELECT r.person_id FROM sp_ret_person r) AND p.change_reason NOT LIKE 'retention:%';
        UPDATE sp.household_history h SET change_reason = 'removed by retention'
        WHERE h.household_id IN (SELECT r.household_id FROM sp_ret_household r) AND h.change_reason NOT LIKE 'retention:%';
        UPDATE sp.enrolment e SET reason = 'removed by retention'
        WHERE (e.household_id IN (SELECT r.household_id FROM sp_ret_household r)
               OR e.person_id IN (SELECT r.person_id FROM sp_ret_person r)) AND e.reason <> 'removed by retention';
        UPDATE sp.enrolment_history e SET reason = 'removed by retention'
        WHERE (e.household_id IN (SELECT r.household_id FROM sp_ret_household r)
               OR e.person_id IN (SELECT r.person_id FROM sp_ret_person r)) AND e.reason <> 'removed by retention';
        UPDATE sp.eligibility_review e SET reason = 'removed by retention'
        WHERE (e.household_id IN (SELECT r.household_id FROM sp_ret_household r)
               OR e.person_id IN (SELECT r.person_id FROM sp_ret_person r)) AND e.reason IS NOT NULL;
        UPDATE sp.match_review m SET reason = 'removed by retention'
        WHERE (m.person_id IN (SELECT r.person_id FROM sp_ret_person r)
               OR m.other_person_id IN (SELECT r.person_id FROM sp_ret_person r)) AND m.reason IS NOT NULL;
        UPDATE sp.person_merge m SET reason = 'removed by retention',
               undo_reason = CASE WHEN m.undo_reason IS NOT NULL THEN 'removed by retention' END
        WHERE m.survivor_id IN (SELECT r.person_id FROM sp_ret_person r)
           OR m.merged_id IN (SELECT r.person_id FROM sp_ret_person r);
        UPDATE sp.consent c SET reason = 'removed by retention'
        WHERE c.person_id IN (SELECT r.person_id FROM sp_ret_person r) AND c.reason IS NOT NULL;
        PERFORM set_config('sp_registry.applying_retention', 'off', true);
        PERFORM sp_internal.end_change(previous);
    END IF;

    -- 4. rejected documents (names and birth dates; identifiers are redacted)
    IF error_days IS NOT NULL THEN
        SELECT count(*) INTO n_errors FROM sp.import_error e WHERE e.received_at < now() - make_interval(days => error_days);
        IF NOT dry_run THEN
            DELETE FROM sp.import_error e WHERE e.received_at < now() - make_interval(days => error_days);
        END IF;
    END IF;

    outcome := jsonb_build_object(
        'dry_run', dry_run,
        'closed_record_retention_days', closed_days,
        'households_pseudonymised', n_hh, 'persons_pseudonymised', n_p,
        'households_held_by_open_enrolments', held_hh, 'persons_held_by_open_enrolments', held_p,
        'variable_values_removed', vars,
        'import_error_retention_days', error_days, 'import_errors_deleted', n_errors);
    IF NOT dry_run AND (n_hh + n_p + n_errors > 0 OR EXISTS (SELECT 1 FROM jsonb_each(vars) e WHERE e.value <> '0')) THEN
        INSERT INTO sp.retention_run (result) VALUES (outcome);
        PERFORM sp_internal.audit_write('retention', '{}', 'retention policy (sp.apply_retention)', outcome, 0);
    END IF;
    DROP TABLE sp_ret_household;
    DROP TABLE sp_ret_person;
    DROP TABLE sp_ret_value;
    RETURN outcome;
END
$$;
COMMENT ON FUNCTION sp.apply_retention(boolean) IS 'Applies the retention policy (sp.privacy_setting, sp.variable_policy): households closed (inactive, merged) and persons closed (deceased, merged, or of such a household) for longer than closed_record_retention_days lose names, identifiers, phone, exact birth date (kept: the year), location and identifying attributes, in their history too, unless an enrolment of theirs is enrolled or suspended; values of variables with a retention period leave records not updated for that long; rejected documents older than import_error_retention_days are deleted. Nothing else is deleted. dry_run = true counts without changing anything. Needs national scope; recorded in sp.retention_run and sp.audit_log. Schedule it (pg_cron).';
