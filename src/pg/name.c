/*
 * name.c - SQL wrappers of src/core/sp_name.c: sp.normalize_name and
 * sp.name_key.  The ICU transliterator is compiled on first use and cached
 * for the life of the backend.
 */
#include "postgres.h"

#include <stdlib.h>

#include "fmgr.h"
#include "utils/builtins.h"

#include "sp_name.h"

PG_FUNCTION_INFO_V1(sp_normalize_name_sql);
PG_FUNCTION_INFO_V1(sp_name_key_sql);

/* Normalised name as a palloc'd text; raises on bad input. */
static text *
normalize_text(text *t)
{
	char	   *out;
	size_t		out_len;
	char		err[128];
	sp_name_status st = sp_normalize_name(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), &out, &out_len,
										  err, sizeof(err));
	text	   *result;

	switch (st)
	{
		case SP_NAME_OK:
			break;
		case SP_NAME_TOO_LONG:
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("name is longer than %d characters", SP_NAME_MAX_CHARS)));
			break;
		case SP_NAME_INVALID_UTF8:
			ereport(ERROR,
					(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
					 errmsg("name is not valid UTF-8")));
			break;
		case SP_NAME_OUT_OF_MEMORY:
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory while normalising a name")));
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
					 errmsg("ICU transliteration failed: %s", err)));
	}
	result = cstring_to_text_with_len(out, out_len);
	free(out);
	return result;
}

/* sp.normalize_name(text) returns text */
Datum
sp_normalize_name_sql(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(normalize_text(PG_GETARG_TEXT_PP(0)));
}

/* sp.name_key(text) returns text */
Datum
sp_name_key_sql(PG_FUNCTION_ARGS)
{
	text	   *n = normalize_text(PG_GETARG_TEXT_PP(0));
	size_t		len = VARSIZE_ANY_EXHDR(n);
	char	   *key = palloc(2 * len + 1);
	size_t		key_len = sp_name_key(VARDATA_ANY(n), len, key);

	PG_RETURN_TEXT_P(cstring_to_text_with_len(key, key_len));
}
