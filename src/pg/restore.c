/*
 * restore.c - recognising a restore of dumped rows.
 *
 * pg_dump saves the rows of the extension's tables (pg_extension_config_dump)
 * and pg_restore, or psql running a plain dump, loads them back with
 * COPY ... FROM stdin, one table at a time, in an order pg_dump chooses from
 * the foreign keys alone, into tables whose triggers are enabled (CREATE
 * EXTENSION made them).  The rows were checked when they were first written;
 * checks that only make sense for a live change (a reference to a row another
 * table has not loaded yet, a lifecycle that starts at "eligible", a history
 * row written for each new row, a stamp of the current time) must stand
 * aside for them, and for nothing else.
 *
 * sp_internal.loading_rows(table) is true only when the statement the client
 * sent is COPY ... FROM into exactly that table (schema-qualified, as pg_dump
 * writes it) and the role that sent it is a superuser.  It reads the portal
 * the server is executing, not a setting: nothing a role can SET changes it,
 * a COPY inside a function is not the client's statement, COPY (query) TO of
 * an API call is not a load, and a non-superuser who may insert into a
 * configuration table (programmes, quotas) gets every check on its COPY as
 * on its INSERT.  A superuser can disable triggers anyway; this gives the
 * superuser's restore nothing it did not have, it only makes it succeed
 * without special settings.  sp_internal.verify_integrity() re-checks the references
 * and rules of the loaded rows afterwards (docs/dba-guide.md).
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"
#include "tcop/pquery.h"
#include "utils/portal.h"

#include "sp_registry.h"

/* The check itself, for C triggers (src/pg/lifecycle.c) and the SQL function. */
bool
sp_is_loading_rows(Oid relid)
{
	Portal		portal = ActivePortal;
	PlannedStmt *pstmt;
	CopyStmt   *copy;
	Oid			target;

	if (portal == NULL || portal->commandTag != CMDTAG_COPY || list_length(portal->stmts) != 1)
		return false;
	pstmt = linitial_node(PlannedStmt, portal->stmts);
	if (pstmt->commandType != CMD_UTILITY || pstmt->utilityStmt == NULL || !IsA(pstmt->utilityStmt, CopyStmt))
		return false;
	copy = (CopyStmt *) pstmt->utilityStmt;
	if (!copy->is_from || copy->relation == NULL || copy->relation->schemaname == NULL)
		return false;
	if (!superuser_arg(GetOuterUserId()))
		return false;
	target = RangeVarGetRelid(copy->relation, NoLock, true);
	return OidIsValid(target) && target == relid;
}

PG_FUNCTION_INFO_V1(sp_loading_rows);

Datum
sp_loading_rows(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(sp_is_loading_rows(PG_GETARG_OID(0)));
}
