/*
 * security.c - who is calling, as seen from inside SECURITY DEFINER code.
 *
 * The API functions run as the extension owner so that roles need no write
 * privileges on tables.  Inside them current_user is the owner; the role that
 * called is the "outer" user: the one SET ROLE (or the login) established,
 * which a SECURITY DEFINER function cannot change.  Role and area checks and
 * the who-columns use it.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "sp_registry.h"

PG_FUNCTION_INFO_V1(sp_caller);

Datum
sp_caller(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(DirectFunctionCall1(namein,
										CStringGetDatum(GetUserNameFromId(GetOuterUserId(), false))));
}

PG_FUNCTION_INFO_V1(sp_caller_oid);

Datum
sp_caller_oid(PG_FUNCTION_ARGS)
{
	PG_RETURN_OID(GetOuterUserId());
}

/*
 * The integrity settings are read through the module, never through
 * current_setting(): calling into the module loads it, and loading it turns
 * a placeholder a non-superuser set before the load into the default (the
 * settings are PGC_SUSET), so a role cannot pre-set them in a fresh session.
 */
PG_FUNCTION_INFO_V1(sp_setting_change_reason);

Datum
sp_setting_change_reason(PG_FUNCTION_ARGS)
{
	if (sp_change_reason == NULL || sp_change_reason[0] == '\0')
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(sp_change_reason));
}

PG_FUNCTION_INFO_V1(sp_setting_repointing_enrolments);

Datum
sp_setting_repointing_enrolments(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(sp_repointing_enrolments);
}

PG_FUNCTION_INFO_V1(sp_setting_duplicate_flag_probability);

Datum
sp_setting_duplicate_flag_probability(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(sp_duplicate_flag_probability);
}
