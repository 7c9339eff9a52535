/*
 * guard.c - refuse to drop the registry with its data by accident.
 *
 * DROP EXTENSION sp_registry (with or without CASCADE) and DROP SCHEMA sp or
 * sp_internal would remove every household, person, history row and the
 * encryption keys in one statement.  An event trigger on ddl_command_start
 * looks at the parse tree and refuses while the registry holds persons,
 * unless a superuser has turned on sp_registry.allow_hard_delete.  In C
 * because PL/pgSQL cannot see which objects a DROP names at command start.
 */
#include "postgres.h"

#include "commands/event_trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "nodes/parsenodes.h"
#include "nodes/value.h"
#include "utils/builtins.h"

#include "sp_registry.h"

PG_FUNCTION_INFO_V1(sp_guard_drop);

static bool
names_registry(DropStmt *stmt)
{
	ListCell   *lc;

	if (stmt->removeType != OBJECT_EXTENSION && stmt->removeType != OBJECT_SCHEMA)
		return false;
	foreach(lc, stmt->objects)
	{
		Node	   *obj = lfirst(lc);
		const char *name;

		if (!IsA(obj, String))
			continue;
		name = strVal(obj);
		if (stmt->removeType == OBJECT_EXTENSION && strcmp(name, "sp_registry") == 0)
			return true;
		if (stmt->removeType == OBJECT_SCHEMA &&
			(strcmp(name, "sp") == 0 || strcmp(name, "sp_internal") == 0))
			return true;
	}
	return false;
}

/* Does sp.person hold any row?  False when the table does not exist. */
static bool
registry_has_persons(void)
{
	bool		has = false;
	int			ret;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ret = SPI_execute("SELECT pg_catalog.to_regclass('sp.person') IS NOT NULL", true, 1);
	if (ret == SPI_OK_SELECT && SPI_processed == 1)
	{
		bool		isnull;
		bool		exists = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

		if (exists)
		{
			ret = SPI_execute("SELECT EXISTS (SELECT 1 FROM sp.person)", true, 1);
			if (ret == SPI_OK_SELECT && SPI_processed == 1)
				has = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		}
	}
	SPI_finish();
	return has;
}

Datum
sp_guard_drop(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("sp_internal.guard_drop() must be called as an event trigger")));
	trigdata = (EventTriggerData *) fcinfo->context;

	if (trigdata->parsetree && IsA(trigdata->parsetree, DropStmt) &&
		names_registry((DropStmt *) trigdata->parsetree) &&
		!sp_allow_hard_delete && registry_has_persons())
		ereport(ERROR,
				(errcode(ERRCODE_RESTRICT_VIOLATION),
				 errmsg("the social registry still holds persons; refusing to drop it"),
				 errdetail("Dropping the extension or its schemas would delete every household, person, history row and the encryption keys."),
				 errhint("Take a dump first. A superuser who really means it runs SET sp_registry.allow_hard_delete = on in the same session.")));

	PG_RETURN_VOID();
}
