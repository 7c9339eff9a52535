-- String comparators for record linkage (src/core/sp_compare.c).  All work on
-- Unicode code points, accept up to 1000 characters per argument (54000
-- beyond), and are case-sensitive: compare sp.normalize_name() output to
-- ignore case, accents and script.

CREATE FUNCTION sp.jaro(a text, b text)
    RETURNS float8
    AS 'MODULE_PATHNAME', 'sp_jaro_sql'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION sp.jaro(text, text) IS
'Jaro similarity in [0, 1] on code points: 1 for identical strings (also two empty ones), 0 when nothing matches or one is empty.';

CREATE FUNCTION sp.jaro_winkler(a text, b text)
    RETURNS float8
    AS 'MODULE_PATHNAME', 'sp_jaro_winkler_sql'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION sp.jaro_winkler(text, text) IS
'Jaro-Winkler similarity in [0, 1] on code points (prefix scale 0.1 for up to 4 leading characters, applied above Jaro 0.7): MARTHA/MARHTA 0.961, DWAYNE/DUANE 0.84, DIXON/DICKSONX 0.813.';

CREATE FUNCTION sp.levenshtein(a text, b text)
    RETURNS integer
    AS 'MODULE_PATHNAME', 'sp_levenshtein_sql'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION sp.levenshtein(text, text) IS
'Levenshtein edit distance in code points (José/Jose = 1). Bit-parallel for strings up to 64 characters.';

CREATE FUNCTION sp.damerau_levenshtein(a text, b text)
    RETURNS integer
    AS 'MODULE_PATHNAME', 'sp_damerau_levenshtein_sql'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION sp.damerau_levenshtein(text, text) IS
'Unrestricted Damerau-Levenshtein distance in code points: adjacent transpositions cost 1 (19850314/19850341 = 1; CA/ABC = 2).';

CREATE FUNCTION sp.normalize_name(name text)
    RETURNS text
    AS 'MODULE_PATHNAME', 'sp_normalize_name_sql'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION sp.normalize_name(text) IS
'Name for comparison: any script transliterated to Latin ASCII with ICU (Any-Latin; Latin-ASCII), lower case, apostrophes dropped, other punctuation and spaces collapsed to single spaces. Иван -> ivan, Ódhiambo-Núñez -> odhiambo nunez. Up to 1000 characters. Immutable for a given ICU version: rebuild expression indexes after an ICU upgrade.';

CREATE FUNCTION sp.name_key(name text)
    RETURNS text
    AS 'MODULE_PATHNAME', 'sp_name_key_sql'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION sp.name_key(text) IS
'Phonetic blocking key of sp.normalize_name(name), one key per word: common digraphs and look-alike letters merged, vowels after the first letter dropped, repeats collapsed. Mohammed/Muhamad/Mahmoud -> md, Odhiambo/Odhaimbo -> admb, Иван/Ivan -> avn. See docs/linkage.md.';
