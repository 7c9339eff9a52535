/*
 * guard.c - refuse to drop the registry with its data, whatever the path.
 *
 * The registry tables belong to the extension, so whatever drops the
 * extension drops every household, person, history row and the encryption
 * keys: DROP EXTENSION sp_registry and DROP SCHEMA sp, but also a cascade
 * from anything the extension depends on (DROP EXTENSION postgis, pgcrypto
 * or plpgsql CASCADE; DROP SCHEMA public CASCADE when PostGIS or pgcrypto
 * live there, as CREATE EXTENSION ... CASCADE puts them) and DROP OWNED BY
 * the role that owns the extension.
 *
 * A parse tree does not show cascades, and an sql_drop event trigger that
 * belongs to the extension is dropped in the same statement and never
 * fires.  So the guard is an object access hook: PostgreSQL calls it for
 * each object of a DROP just before deleting it, after the objects that
 * depend on it are gone.  When that object is sp.person and it still has
 * rows, the hook raises and the whole statement rolls back.  The table is
 * counted directly (no SQL, no permission check, no row-level security):
 * a cascade runs as whoever issued it, who may not be able to read it.
 *
 * ALTER EXTENSION sp_registry DROP, which detaches a member and so takes it
 * out of this protection, is refused by the ddl_command_start event trigger,
 * which also makes sure the module (and the hook) is loaded before any DDL
 * statement runs.  A superuser who means it sets
 * sp_registry.allow_hard_delete.  The event trigger is ENABLE ALWAYS, so
 * session_replication_role = replica does not switch it off; a superuser
 * can still disable it: this is a safety net against accidents, not a
 * boundary against superusers.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/objectaccess.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_class.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_extension.h"
#include "commands/event_trigger.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "lib/stringinfo.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "tcop/cmdtag.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "sp_registry.h"

PG_FUNCTION_INFO_V1(sp_guard_drop);

static object_access_hook_type prev_object_access_hook = NULL;

/* The DDL statement under way, for the message; set at ddl_command_start. */
static CommandTag current_tag = CMDTAG_UNKNOWN;

#define HINT_OVERRIDE \
	"Take a dump first. A superuser who means it runs SET sp_registry.allow_hard_delete = on " \
	"in the same session and repeats the statement."

/*
 * "1,234 persons", "1 person", or "persons" when they could not be counted:
 * the number a DBA reads in the message.
 */
static char *
persons_text(int64 n)
{
	char		digits[32];
	StringInfoData out;
	int			len;

	if (n < 0)
		return "persons";
	len = snprintf(digits, sizeof(digits), INT64_FORMAT, n);
	initStringInfo(&out);
	for (int i = 0; i < len; i++)
	{
		appendStringInfoChar(&out, digits[i]);
		if (i < len - 1 && (len - i - 1) % 3 == 0)
			appendStringInfoChar(&out, ',');
	}
	appendStringInfoString(&out, n == 1 ? " person" : " persons");
	return out.data;
}

/* Is relid the table sp.person? */
static bool
is_person_table(Oid relid)
{
	char	   *name = get_rel_name(relid);
	Oid			sp = get_namespace_oid("sp", true);

	return name != NULL && OidIsValid(sp) && strcmp(name, "person") == 0 &&
		get_rel_namespace(relid) == sp;
}

/*
 * Rows of a table, read with a fresh snapshot: a drop waits for writers to
 * finish before it gets here, and their rows are lost too.  -1 when the
 * relation has no storage of its own (say, a DBA made it partitioned), so
 * its rows cannot be counted here.
 */
static int64
count_rows(Oid relid)
{
	Relation	rel = table_open(relid, AccessShareLock);
	Snapshot	snapshot;
	TableScanDesc scan;
	TupleTableSlot *slot;
	int64		n = 0;

	if (!RELKIND_HAS_TABLE_AM(rel->rd_rel->relkind))
	{
		table_close(rel, AccessShareLock);
		return -1;
	}
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	scan = table_beginscan(rel, snapshot, 0, NULL);
	slot = table_slot_create(rel, NULL);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		n++;
		if (n % 100000 == 0)
			CHECK_FOR_INTERRUPTS();
	}
	ExecDropSingleTupleTableSlot(slot);
	table_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(rel, AccessShareLock);
	return n;
}

/* The extension a relation belongs to, InvalidOid if none (read before its dependencies go). */
static Oid
owning_extension(Oid relid)
{
	Relation	depRel = table_open(DependRelationId, AccessShareLock);
	ScanKeyData key[2];
	SysScanDesc scan;
	HeapTuple	tup;
	Oid			ext = InvalidOid;

	ScanKeyInit(&key[0], Anum_pg_depend_classid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(RelationRelationId));
	ScanKeyInit(&key[1], Anum_pg_depend_objid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	scan = systable_beginscan(depRel, DependDependerIndexId, true, NULL, 2, key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_depend dep = (Form_pg_depend) GETSTRUCT(tup);

		if (dep->deptype == DEPENDENCY_EXTENSION && dep->refclassid == ExtensionRelationId)
			ext = dep->refobjid;
	}
	systable_endscan(scan);
	table_close(depRel, AccessShareLock);
	return ext;
}

static void
guard_object_access(ObjectAccessType access, Oid classId, Oid objectId, int subId, void *arg)
{
	int64		persons;
	Oid			ext;
	const char *what;

	if (prev_object_access_hook)
		prev_object_access_hook(access, classId, objectId, subId, arg);
	if (access != OAT_DROP || classId != RelationRelationId || subId != 0 ||
		sp_allow_hard_delete || !is_person_table(objectId))
		return;
	persons = count_rows(objectId);
	if (persons == 0)
		return;

	/* a member goes only with its extension: name what the DBA asked to drop */
	ext = owning_extension(objectId);
	what = OidIsValid(ext) ? psprintf("extension %s", get_extension_name(ext)) : "table sp.person";
	ereport(ERROR,
			(errcode(ERRCODE_RESTRICT_VIOLATION),
			 errmsg("drop would remove %s and its %s", what, persons_text(persons)),
			 current_tag != CMDTAG_UNKNOWN
			 ? errdetail("This %s reaches the social registry: every household, person, history row and the encryption keys would be deleted with it.",
						 GetCommandTagName(current_tag))
			 : errdetail("Every household, person, history row and the encryption keys would be deleted with it."),
			 errhint(HINT_OVERRIDE)));
}

void
sp_guard_init(void)
{
	prev_object_access_hook = object_access_hook;
	object_access_hook = guard_object_access;
}

/* ALTER EXTENSION sp_registry DROP <member>: refused while persons exist. */
static void
check_detach(AlterExtensionContentsStmt *stmt)
{
	ObjectAddress addr;
	Relation	rel = NULL;
	Oid			sp = get_namespace_oid("sp", true);
	Oid			person_relid = OidIsValid(sp) ? get_relname_relid("person", sp) : InvalidOid;
	int64		persons;
	char	   *what;

	if (stmt->action >= 0 || strcmp(stmt->extname, "sp_registry") != 0)
		return;
	/* an upgrade script of sp_registry removes the members it replaces */
	if (creating_extension)
		return;
	if (!OidIsValid(person_relid) || (persons = count_rows(person_relid)) == 0)
		return;
	/* the same lock as the command itself takes next */
	addr = get_object_address(stmt->objtype, stmt->object, &rel, ShareUpdateExclusiveLock, true);
	if (!OidIsValid(addr.objectId))
		return;					/* the command reports the missing object */
	what = getObjectDescription(&addr, false);
	if (rel)
		relation_close(rel, NoLock);
	ereport(ERROR,
			(errcode(ERRCODE_RESTRICT_VIOLATION),
			 errmsg("detaching %s from extension sp_registry is refused while the registry holds %s",
					what, persons_text(persons)),
			 errdetail("A detached object is no longer protected by the drop guard, and pg_dump writes it out on its own, where it collides with the extension's object on restore."),
			 errhint("A superuser who means it runs SET sp_registry.allow_hard_delete = on in the same session and repeats the statement.")));
}

/* sp_internal.guard_drop(): ddl_command_start, every DDL statement */
Datum
sp_guard_drop(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("sp_internal.guard_drop() must be called as an event trigger")));
	trigdata = (EventTriggerData *) fcinfo->context;
	current_tag = trigdata->tag;
	if (!sp_allow_hard_delete && trigdata->parsetree &&
		IsA(trigdata->parsetree, AlterExtensionContentsStmt))
		check_detach((AlterExtensionContentsStmt *) trigdata->parsetree);
	PG_RETURN_VOID();
}
