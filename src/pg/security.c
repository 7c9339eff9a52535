/*
 * security.c - who is calling, as seen from inside SECURITY DEFINER code.
 *
 * The API functions run as the extension owner so that roles need no write
 * privileges on tables.  Inside them current_user is the owner; the role that
 * called is the "outer" user: the one SET ROLE (or the login) established,
 * which a SECURITY DEFINER function cannot change.  Role and area checks and
 * the who-columns use it.
 *
 * Only trusted definer code may speak for the outer user: the extension's
 * own functions, which run as a superuser.  Inside a SECURITY DEFINER
 * function owned by an ordinary role the caller is that role, as
 * current_user says: otherwise a registrar's definer function that a
 * national administrator runs (a trigger, a "helper" in a shared schema)
 * would read the registry with the administrator's area scope and copy it
 * into the registrar's own table.  (A view owned by a registrar is another
 * matter: PostgreSQL evaluates row-level security in it as the querying
 * user, as it does current_user, so a view that passes rows to its owner's
 * functions reads with the querying user's scope.  Users with a wide scope
 * must not query objects owned by roles with a narrower one.)
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "sp_registry.h"

/* The outer user inside superuser-owned code, else the current user. */
Oid
sp_caller_role(void)
{
	Oid			current = GetUserId();

	return superuser_arg(current) ? GetOuterUserId() : current;
}

PG_FUNCTION_INFO_V1(sp_caller);

Datum
sp_caller(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(DirectFunctionCall1(namein,
										CStringGetDatum(GetUserNameFromId(sp_caller_role(), false))));
}

PG_FUNCTION_INFO_V1(sp_caller_oid);

Datum
sp_caller_oid(PG_FUNCTION_ARGS)
{
	PG_RETURN_OID(sp_caller_role());
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

PG_FUNCTION_INFO_V1(sp_setting_applying_retention);

Datum
sp_setting_applying_retention(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(sp_applying_retention);
}

PG_FUNCTION_INFO_V1(sp_setting_duplicate_flag_probability);

Datum
sp_setting_duplicate_flag_probability(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(sp_duplicate_flag_probability);
}
