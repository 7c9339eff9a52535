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
