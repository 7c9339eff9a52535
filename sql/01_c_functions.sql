-- C functions of the module (src/pg/registration.c).

CREATE TYPE sp_internal.problem AS (sqlstate text, field text, message text);
COMMENT ON TYPE sp_internal.problem IS 'A validation failure: SQLSTATE, the offending field (JSON path) and a message.';

CREATE FUNCTION sp.parse_birth_date(value text, OUT birth_date date, OUT birth_date_precision text)
    RETURNS record
    AS 'MODULE_PATHNAME', 'sp_parse_birth_date'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION sp.parse_birth_date(text) IS
'Parses YYYY-MM-DD, YYYY-MM or YYYY into a date (1st of the month / 1 January when unknown) and its precision (day, month, year). Raises 22007 on a bad format and 22008 on an impossible date.';

CREATE FUNCTION sp.normalize_national_id(value text)
    RETURNS text
    AS 'MODULE_PATHNAME', 'sp_normalize_national_id_sql'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION sp.normalize_national_id(text) IS
'Canonical form of a national ID for the blind index: letters upper-cased; spaces, hyphens, dots, slashes and underscores removed; at most 64 characters of A-Z and 0-9. Raises 22P02 otherwise.';

CREATE FUNCTION sp.normalize_phone(value text)
    RETURNS text
    AS 'MODULE_PATHNAME', 'sp_normalize_phone_sql'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION sp.normalize_phone(text) IS 'Canonical phone number for the blind index: spaces, dots, hyphens and parentheses removed; 5-20 digits with an optional leading +. Raises 22P02 otherwise.';

CREATE FUNCTION sp_internal.is_uuid(value text)
    RETURNS boolean
    AS 'MODULE_PATHNAME', 'sp_is_uuid_sql'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION sp_internal.is_uuid(text) IS 'True when value is 32 hex digits, optionally hyphenated 8-4-4-4-12 (so it casts to uuid).';

CREATE FUNCTION sp_internal.forbid_delete()
    RETURNS trigger
    AS 'MODULE_PATHNAME', 'sp_forbid_delete'
    LANGUAGE C;
COMMENT ON FUNCTION sp_internal.forbid_delete() IS
'BEFORE DELETE trigger: registry rows are never deleted unless a superuser sets sp_registry.allow_hard_delete.';

-- The role that called, also inside SECURITY DEFINER functions (src/pg/security.c).
CREATE FUNCTION sp_internal.caller()
    RETURNS name
    AS 'MODULE_PATHNAME', 'sp_caller'
    LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION sp_internal.caller() IS
'The role in effect outside any SECURITY DEFINER function: the login role, or the role chosen with SET ROLE. Inside the API functions (which run as the extension owner) this is who called; role checks, area scopes and the *_by columns use it.';

CREATE FUNCTION sp_internal.caller_oid()
    RETURNS oid
    AS 'MODULE_PATHNAME', 'sp_caller_oid'
    LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION sp_internal.caller_oid() IS 'OID of sp_internal.caller().';

-- Integrity settings, read through the module (see src/pg/security.c for why
-- not current_setting()).
CREATE FUNCTION sp_internal.setting_repointing_enrolments()
    RETURNS boolean
    AS 'MODULE_PATHNAME', 'sp_setting_repointing_enrolments'
    LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION sp_internal.setting_repointing_enrolments() IS 'sp_registry.repointing_enrolments (superuser-only; raised by the merge functions).';

CREATE FUNCTION sp_internal.setting_applying_retention()
    RETURNS boolean
    AS 'MODULE_PATHNAME', 'sp_setting_applying_retention'
    LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION sp_internal.setting_applying_retention() IS 'sp_registry.applying_retention (superuser-only; raised by sp.apply_retention while it scrubs history).';

CREATE FUNCTION sp_internal.setting_duplicate_flag_probability()
    RETURNS float8
    AS 'MODULE_PATHNAME', 'sp_setting_duplicate_flag_probability'
    LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION sp_internal.setting_duplicate_flag_probability() IS 'sp_registry.duplicate_flag_probability (superuser-only).';

CREATE FUNCTION sp_internal.loading_rows(tbl regclass)
    RETURNS boolean
    AS 'MODULE_PATHNAME', 'sp_loading_rows'
    LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION sp_internal.loading_rows(regclass) IS 'True only while a superuser''s COPY ... FROM (the statement the client sent, not one inside a function) loads rows into this table: how pg_restore and a plain dump load saved rows. Guards then skip the checks and stamps that only make sense for live changes (src/pg/restore.c; docs/dba-guide.md). Not a setting: no role can make it true.';

-- A lifecycle enforced in C, for tables whose statements change a million
-- rows at once (src/pg/lifecycle.c documents the nine trigger arguments).
CREATE FUNCTION sp_internal.lifecycle_guard()
    RETURNS trigger
    AS 'MODULE_PATHNAME', 'sp_lifecycle_guard'
    LANGUAGE C;
COMMENT ON FUNCTION sp_internal.lifecycle_guard() IS 'BEFORE INSERT OR UPDATE row trigger: a new row starts in one of its initial states; a status change must be a move of the lifecycle given as "from>to|to; ..."; the listed columns never change and the set-once columns change only from NULL; a status change without a new reason empties the reason; version, updated_at and updated_by are stamped. Arguments: label, id column, status column, reason column, initial states, lifecycle, frozen columns, set-once columns, hint (src/pg/lifecycle.c).';

-- Small-cell suppression in a hierarchy (src/core/sp_suppress.h).
-- forced (NULL: none) withholds cells whatever their count: passes over two
-- hierarchies of the same cells, alternated until nothing changes, protect a
-- table that adds up both ways (areas and programmes).
CREATE FUNCTION sp_internal.suppress_counts(counts bigint[], parents integer[], k bigint, forced boolean[] DEFAULT NULL)
    RETURNS boolean[]
    AS 'MODULE_PATHNAME', 'sp_suppress_counts'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION sp_internal.suppress_counts(bigint[], integer[], bigint, boolean[]) IS 'Which counts of a hierarchy to withhold: counts from 1 to k - 1, and, going down from the roots, enough other counts under each parent that none comes back by addition or subtraction (a withheld parent: at least one non-zero child withheld; a shown parent: no child withheld alone, and those withheld adding up to k or more). parents[i] is the 1-based position of cell i''s parent (NULL or 0: a root); ties go to the earlier position; forced[i] true withholds cell i whatever its count (src/core/sp_suppress.c).';

-- A table that adds up along several hierarchies at once (areas, a total and
-- its breakdown, a count and the one it is nested in), as edges.
CREATE FUNCTION sp_internal.suppress_hierarchies(counts bigint[], children integer[], parents integer[], hierarchies integer[], k bigint,
                                                 known boolean[] DEFAULT NULL)
    RETURNS boolean[]
    AS 'MODULE_PATHNAME', 'sp_suppress_hierarchies'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION sp_internal.suppress_hierarchies(bigint[], integer[], integer[], integer[], bigint, boolean[]) IS 'Which counts of a table that adds up along several hierarchies to withhold: edge e says that cell children[e] (1-based) is a part of cell parents[e] in hierarchy hierarchies[e] (0 or more; at most one parent per cell and hierarchy; an edge with a NULL is none); the rules of sp_internal.suppress_counts are applied over each hierarchy in turn, round after round, until nothing changes. known[i] marks a count the reader can make already from records they read: never withheld, counted as shown, and a 0 beside a withheld count under it may be withheld (src/core/sp_suppress.c). NULL counts, edges or k: NULL.';
