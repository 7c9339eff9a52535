-- Privacy settings and the per-variable privacy policy of the catalogue:
-- what analysts may see (de-identified views, small-cell suppression) and how
-- long data is kept (sp.apply_retention, sql/88_retention.sql).
--
-- Both tables hold only what an administrator set: absent rows mean the
-- documented defaults, so that built-in values need no rows and pg_dump
-- saves every row (no row is re-created by CREATE EXTENSION on restore).

CREATE TABLE sp.privacy_setting (
    name        text PRIMARY KEY,
    value       integer NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  text NOT NULL DEFAULT sp_internal.caller(),
    CONSTRAINT privacy_setting_known CHECK (
        (name = 'min_cell_size' AND value BETWEEN 1 AND 1000)
        OR (name = 'coverage_min_cell_size' AND value BETWEEN 1 AND 1000)
        OR (name = 'deidentified_area_level' AND value BETWEEN 0 AND 20)
        OR (name = 'closed_record_retention_days' AND value BETWEEN 1 AND 36500)
        OR (name = 'import_error_retention_days' AND value BETWEEN 1 AND 36500)
        OR (name = 'dci_max_records' AND value BETWEEN 1 AND 1000000))
);
COMMENT ON TABLE sp.privacy_setting IS 'Privacy settings an administrator with national scope changed from their defaults: min_cell_size (10: aggregates for readers who may not read exact household areas, i.e. analysts, show counts from 1 to 9 as NULL), coverage_min_cell_size (5: coverage figures and maps, for every reader, show counts from 1 to 4 as NULL, and a second count where one could be recovered from a total), deidentified_area_level (2: de-identified views show areas at this level or above), closed_record_retention_days (not set: sp.apply_retention pseudonymises no closed record), import_error_retention_days (not set: rejected documents are kept) and dci_max_records (10000: a DCI search matching more records is rejected with rjct.search.too_many_records_found, whatever its page size). Delete a row to return to the default.';

CREATE FUNCTION sp_internal.privacy_setting(setting text)
    RETURNS integer
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce((SELECT s.value FROM sp.privacy_setting s WHERE s.name = setting),
                    CASE setting WHEN 'min_cell_size' THEN 10 WHEN 'coverage_min_cell_size' THEN 5 WHEN 'deidentified_area_level' THEN 2 WHEN 'dci_max_records' THEN 10000 END)
$$;
COMMENT ON FUNCTION sp_internal.privacy_setting(text) IS 'A privacy setting''s value, or its default (NULL for retention periods that are not set).';

-- Per variable: why it is collected, how long a value is kept once its record
-- stopped being updated, and whether it identifies a person (never shown in
-- de-identified views, dropped on pseudonymisation).
CREATE TABLE sp.variable_policy (
    code        text PRIMARY KEY REFERENCES sp.variable (code) ON DELETE CASCADE,
    purpose     text NOT NULL CHECK (length(purpose) BETWEEN 3 AND 500),
    retention   interval CHECK (retention IS NULL OR retention >= interval '1 day'),
    identifying boolean NOT NULL DEFAULT false,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  text NOT NULL DEFAULT sp_internal.caller()
);
COMMENT ON TABLE sp.variable_policy IS 'Privacy policy of a catalogue variable: the purpose it is collected for, its retention (a value is removed by sp.apply_retention once its household or person has not been updated for that long; NULL keeps it as long as the record) and whether it identifies a person. Variables without a row: no retention, not identifying, except text variables, which de-identified views never show.';
COMMENT ON COLUMN sp.variable_policy.retention IS 'How long a value is kept after its record was last updated (re-surveyed); NULL: as long as the record.';
COMMENT ON COLUMN sp.variable_policy.identifying IS 'The value can identify a person (a second ID number, a landmark): never in de-identified views; dropped when a record is pseudonymised.';

CREATE TRIGGER privacy_setting_national BEFORE INSERT OR UPDATE OR DELETE ON sp.privacy_setting
    FOR EACH ROW EXECUTE FUNCTION sp_internal.national_configuration('changing privacy settings');
CREATE TRIGGER variable_policy_national BEFORE INSERT OR UPDATE OR DELETE ON sp.variable_policy
    FOR EACH ROW EXECUTE FUNCTION sp_internal.national_configuration('changing the privacy policy of the catalogue');

CREATE FUNCTION sp_internal.stamp_privacy_change()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    NEW.updated_at := now();
    NEW.updated_by := sp_internal.caller();
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION sp_internal.stamp_privacy_change() IS 'Trigger: who and when of a changed privacy setting or policy are set by the server.';
-- On INSERT the defaults set them (roles may insert only the other columns),
-- so that a restore keeps the dumped values.
CREATE TRIGGER privacy_setting_stamp BEFORE UPDATE ON sp.privacy_setting
    FOR EACH ROW EXECUTE FUNCTION sp_internal.stamp_privacy_change();
CREATE TRIGGER variable_policy_stamp BEFORE UPDATE ON sp.variable_policy
    FOR EACH ROW EXECUTE FUNCTION sp_internal.stamp_privacy_change();

-- Keys of an entity's variables that de-identified views leave out.
CREATE FUNCTION sp_internal.withheld_variables(entity text)
    RETURNS text[]
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(array_agg(v.code ORDER BY v.code), '{}')
    FROM sp.variable v LEFT JOIN sp.variable_policy p ON p.code = v.code
    WHERE v.entity = withheld_variables.entity AND (v.value_type = 'text' OR coalesce(p.identifying, false))
$$;
COMMENT ON FUNCTION sp_internal.withheld_variables(text) IS 'Codes of the variables of an entity that de-identified views never show: text variables and those marked identifying in sp.variable_policy.';

-- Whether the caller may read the exact area of households: who can count
-- households by exact area itself gets exact counts; everyone else (analysts)
-- gets aggregates with small cells suppressed.  The test follows the grants,
-- so a DBA who gives analysts exact areas also gives them exact counts.
CREATE FUNCTION sp_internal.reads_exact_areas()
    RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT has_column_privilege(sp_internal.caller(), 'sp.household'::regclass, 'admin_area_code', 'SELECT')
$$;
COMMENT ON FUNCTION sp_internal.reads_exact_areas() IS 'True when the caller may read sp.household.admin_area_code (the owner, superusers and the staff roles that work with records or programmes); false for analysts.';

CREATE FUNCTION sp_internal.suppression_threshold()
    RETURNS integer
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN sp_internal.reads_exact_areas() THEN 0 ELSE sp_internal.privacy_setting('min_cell_size') END
$$;
COMMENT ON FUNCTION sp_internal.suppression_threshold() IS 'Counts below this are suppressed in aggregates returned to the caller: min_cell_size for readers who may not read the exact area of households (analysts), 0 (nothing suppressed) for the others.';

CREATE FUNCTION sp_internal.small_cell(n bigint, threshold integer)
    RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN n > 0 AND n < threshold THEN NULL ELSE n END
$$;
COMMENT ON FUNCTION sp_internal.small_cell(bigint, integer) IS 'NULL for a count between 1 and threshold - 1 (a small cell), the count otherwise; zero is shown.';

-- Aggregates for readers without exact areas are not given below the
-- de-identified level: with one level and the level above, a suppressed cell
-- could be recovered by subtraction, and per-area counts below it locate rows.
CREATE FUNCTION sp_internal.require_disclosable_level(level integer)
    RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    shown integer := sp_internal.privacy_setting('deidentified_area_level');
BEGIN
    IF level > shown AND NOT sp_internal.reads_exact_areas() THEN
        RAISE EXCEPTION 'aggregates below area level % are not available to role %', shown, sp_internal.caller()
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = format('Level %s was asked for; readers without access to exact household areas get level %s or above (privacy setting deidentified_area_level).', level, shown);
    END IF;
END
$$;
COMMENT ON FUNCTION sp_internal.require_disclosable_level(integer) IS 'Raises 42501 when a reader without exact household areas (an analyst) asks for aggregates below the de-identified level.';
