/*
 * lifecycle.c - sp_internal.lifecycle_guard(), a BEFORE INSERT OR UPDATE row
 * trigger that enforces a record's lifecycle and keeps what must never
 * change from changing.
 *
 * It does what a PL/pgSQL guard does, for tables whose statements change a
 * million rows at once (a payment cycle approved, sent, reconciled): there
 * the PL/pgSQL guard cost more than the update itself.  It is configured by
 * the trigger's arguments, read once per statement:
 *
 *   0  what a row is called in messages ("payment")
 *   1  the id column, named in messages ("payment_id")
 *   2  the status column ("status")
 *   3  the reason column, emptied when the status changes without a new
 *      reason ("status_reason"; '' for none)
 *   4  the states a new row may start in, '|'-separated ("created")
 *   5  the lifecycle (src/core/sp_lifecycle.h): "created>approved|cancelled; ..."
 *   6  columns that never change, ','-separated
 *   7  columns set once: NULL until set, then never changed (',' list or '')
 *   8  a hint for a change of those columns
 *
 * On UPDATE it also stamps the columns version (+1), updated_at (now()) and
 * updated_by (sp_internal.caller()) when the table has them.  A superuser's
 * COPY ... FROM into the table (a restore, sp_internal.loading_rows) is let
 * through unchecked.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"
#include "access/xact.h"

#include "sp_lifecycle.h"
#include "sp_registry.h"

#define GUARD_NARGS 9
#define GUARD_MAX_COLUMNS 64

typedef struct GuardColumn
{
	AttrNumber	attnum;
	Oid			collation;
	FmgrInfo	eq;				/* the type's equality */
	char	   *name;
} GuardColumn;

typedef struct GuardConfig
{
	Oid			tgoid;
	int			natts;			/* of the tuple descriptor it was built for */
	const char *label;
	AttrNumber	id_att;
	AttrNumber	status_att;
	GuardColumn status;
	GuardColumn reason;			/* attnum 0: none */
	AttrNumber	version_att;	/* 0: none */
	AttrNumber	updated_at_att;
	AttrNumber	updated_by_att;
	unsigned int initial;		/* bit per lifecycle state */
	sp_lifecycle lc;
	char	   *described;
	int			nfrozen;
	GuardColumn frozen[GUARD_MAX_COLUMNS];
	int			nonce;
	GuardColumn once[GUARD_MAX_COLUMNS];
	const char *hint;
	/* the caller's name, looked up once per role per statement */
	Oid			caller;
	Datum		caller_name;
} GuardConfig;

static AttrNumber
guard_column(TupleDesc desc, const char *table, const char *name, bool required)
{
	int			attnum = SPI_fnumber(desc, name);

	if (attnum <= 0)
	{
		if (!required)
			return 0;
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lifecycle_guard on %s: column \"%s\" does not exist", table, name)));
	}
	return (AttrNumber) attnum;
}

static int
guard_columns(TupleDesc desc, const char *table, const char *list, GuardColumn *out, int max, MemoryContext cxt)
{
	char	   *copy = pstrdup(list);
	char	   *save = NULL;
	int			n = 0;

	for (char *tok = strtok_r(copy, ", ", &save); tok != NULL; tok = strtok_r(NULL, ", ", &save))
	{
		GuardColumn *c;
		Form_pg_attribute att;
		TypeCacheEntry *tc;

		if (n >= max)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("lifecycle_guard on %s: more than %d columns in \"%s\"", table, max, list)));
		c = &out[n++];
		c->attnum = guard_column(desc, table, tok, true);
		att = TupleDescAttr(desc, c->attnum - 1);
		c->collation = att->attcollation;
		c->name = MemoryContextStrdup(cxt, tok);
		tc = lookup_type_cache(att->atttypid, TYPECACHE_EQ_OPR_FINFO);
		if (!OidIsValid(tc->eq_opr_finfo.fn_oid))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FUNCTION),
					 errmsg("lifecycle_guard on %s: column \"%s\" has a type without equality", table, tok)));
		fmgr_info_copy(&c->eq, &tc->eq_opr_finfo, cxt);
	}
	pfree(copy);
	return n;
}

static GuardConfig *
guard_config(FunctionCallInfo fcinfo, TriggerData *td)
{
	GuardConfig *cfg = (GuardConfig *) fcinfo->flinfo->fn_extra;
	Trigger    *tg = td->tg_trigger;
	TupleDesc	desc = RelationGetDescr(td->tg_relation);
	const char *table = RelationGetRelationName(td->tg_relation);
	MemoryContext cxt = fcinfo->flinfo->fn_mcxt;
	MemoryContext old;
	char		err[256];
	size_t		need;
	char	   *initial;
	char	   *save = NULL;

	if (cfg != NULL && cfg->tgoid == tg->tgoid && cfg->natts == desc->natts)
		return cfg;
	if (tg->tgnargs != GUARD_NARGS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lifecycle_guard on %s takes %d arguments, not %d", table, GUARD_NARGS, tg->tgnargs)));
	old = MemoryContextSwitchTo(cxt);
	cfg = (GuardConfig *) palloc0(sizeof(GuardConfig));
	cfg->tgoid = tg->tgoid;
	cfg->natts = desc->natts;
	cfg->label = pstrdup(tg->tgargs[0]);
	cfg->id_att = guard_column(desc, table, tg->tgargs[1], true);
	cfg->status_att = guard_column(desc, table, tg->tgargs[2], true);
	if (TupleDescAttr(desc, cfg->status_att - 1)->atttypid != TEXTOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("lifecycle_guard on %s: the status column must be text", table)));
	(void) guard_columns(desc, table, tg->tgargs[2], &cfg->status, 1, cxt);
	if (tg->tgargs[3][0] == '\0' || guard_columns(desc, table, tg->tgargs[3], &cfg->reason, 1, cxt) != 1)
		cfg->reason.attnum = 0;
	if (!sp_lifecycle_parse(tg->tgargs[5], strlen(tg->tgargs[5]), &cfg->lc, err, sizeof(err)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lifecycle_guard on %s: the lifecycle is not valid: %s", table, err)));
	need = sp_lifecycle_describe(&cfg->lc, NULL, 0);
	cfg->described = palloc(need + 1);
	sp_lifecycle_describe(&cfg->lc, cfg->described, need + 1);
	initial = pstrdup(tg->tgargs[4]);
	for (char *tok = strtok_r(initial, "| ", &save); tok != NULL; tok = strtok_r(NULL, "| ", &save))
	{
		int			s = sp_lifecycle_state(&cfg->lc, tok, strlen(tok));

		if (s < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("lifecycle_guard on %s: initial state \"%s\" is not in the lifecycle", table, tok)));
		cfg->initial |= 1u << s;
	}
	cfg->nfrozen = guard_columns(desc, table, tg->tgargs[6], cfg->frozen, GUARD_MAX_COLUMNS, cxt);
	cfg->nonce = guard_columns(desc, table, tg->tgargs[7], cfg->once, GUARD_MAX_COLUMNS, cxt);
	cfg->hint = pstrdup(tg->tgargs[8]);
	cfg->version_att = guard_column(desc, table, "version", false);
	if (cfg->version_att && TupleDescAttr(desc, cfg->version_att - 1)->atttypid != INT4OID)
		cfg->version_att = 0;
	cfg->updated_at_att = guard_column(desc, table, "updated_at", false);
	if (cfg->updated_at_att && TupleDescAttr(desc, cfg->updated_at_att - 1)->atttypid != TIMESTAMPTZOID)
		cfg->updated_at_att = 0;
	cfg->updated_by_att = guard_column(desc, table, "updated_by", false);
	if (cfg->updated_by_att && TupleDescAttr(desc, cfg->updated_by_att - 1)->atttypid != TEXTOID)
		cfg->updated_by_att = 0;
	cfg->caller = InvalidOid;
	MemoryContextSwitchTo(old);
	fcinfo->flinfo->fn_extra = cfg;
	return cfg;
}

/* The state a status datum names, or -1. */
static int
guard_state(GuardConfig *cfg, Datum d, bool isnull)
{
	text	   *t;

	if (isnull)
		return -1;
	t = DatumGetTextPP(d);
	return sp_lifecycle_state(&cfg->lc, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

static char *
guard_status_text(Datum d, bool isnull)
{
	return isnull ? pstrdup("NULL") : TextDatumGetCString(d);
}

/* IS DISTINCT FROM, by the type's own equality. */
static bool
guard_distinct(GuardColumn *c, HeapTuple a, HeapTuple b, TupleDesc desc)
{
	bool		anull,
				bnull;
	Datum		ad = heap_getattr(a, c->attnum, desc, &anull);
	Datum		bd = heap_getattr(b, c->attnum, desc, &bnull);

	if (anull || bnull)
		return anull != bnull;
	return !DatumGetBool(FunctionCall2Coll(&c->eq, c->collation, ad, bd));
}

PG_FUNCTION_INFO_V1(sp_lifecycle_guard);

Datum
sp_lifecycle_guard(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	GuardConfig *cfg;
	TupleDesc	desc;
	HeapTuple	oldtup,
				newtup;
	bool		onull,
				nnull;
	Datum		ostatus,
				nstatus;
	int			from,
				to;
	int			ncols = 0;
	int			cols[4];
	Datum		vals[4];
	bool		nulls[4];

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(td->tg_event) || !TRIGGER_FIRED_FOR_ROW(td->tg_event)
		|| !(TRIGGER_FIRED_BY_INSERT(td->tg_event) || TRIGGER_FIRED_BY_UPDATE(td->tg_event)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("sp_internal.lifecycle_guard() must be a BEFORE INSERT OR UPDATE row trigger")));
	cfg = guard_config(fcinfo, td);
	desc = RelationGetDescr(td->tg_relation);

	if (TRIGGER_FIRED_BY_INSERT(td->tg_event))
	{
		newtup = td->tg_trigtuple;
		if (sp_is_loading_rows(RelationGetRelid(td->tg_relation)))
			return PointerGetDatum(newtup);
		nstatus = heap_getattr(newtup, cfg->status_att, desc, &nnull);
		to = guard_state(cfg, nstatus, nnull);
		if (to < 0 || !((cfg->initial >> to) & 1u))
			ereport(ERROR,
					(errcode(ERRCODE_CHECK_VIOLATION),
					 errmsg("a new %s starts as %s, not %s", cfg->label, td->tg_trigger->tgargs[4],
							guard_status_text(nstatus, nnull)),
					 errtablecol(td->tg_relation, cfg->status_att)));
		return PointerGetDatum(newtup);
	}

	oldtup = td->tg_trigtuple;
	newtup = td->tg_newtuple;
	for (int i = 0; i < cfg->nfrozen; i++)
		if (guard_distinct(&cfg->frozen[i], oldtup, newtup, desc))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("%s %s cannot change its %s", cfg->label,
							SPI_getvalue(oldtup, desc, cfg->id_att), cfg->frozen[i].name),
					 cfg->hint[0] ? errhint("%s", cfg->hint) : 0,
					 errtablecol(td->tg_relation, cfg->frozen[i].attnum)));
	for (int i = 0; i < cfg->nonce; i++)
	{
		bool		isnull;

		(void) heap_getattr(oldtup, cfg->once[i].attnum, desc, &isnull);
		if (!isnull && guard_distinct(&cfg->once[i], oldtup, newtup, desc))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("%s %s cannot change its %s once set", cfg->label,
							SPI_getvalue(oldtup, desc, cfg->id_att), cfg->once[i].name),
					 cfg->hint[0] ? errhint("%s", cfg->hint) : 0,
					 errtablecol(td->tg_relation, cfg->once[i].attnum)));
	}

	ostatus = heap_getattr(oldtup, cfg->status_att, desc, &onull);
	nstatus = heap_getattr(newtup, cfg->status_att, desc, &nnull);
	if (guard_distinct(&cfg->status, oldtup, newtup, desc))
	{
		from = guard_state(cfg, ostatus, onull);
		to = guard_state(cfg, nstatus, nnull);
		if (!sp_lifecycle_allows(&cfg->lc, from, to))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("%s %s cannot go from %s to %s", cfg->label,
							SPI_getvalue(oldtup, desc, cfg->id_att),
							guard_status_text(ostatus, onull), guard_status_text(nstatus, nnull)),
					 errdetail("Allowed: %s.", cfg->described),
					 errtablecol(td->tg_relation, cfg->status_att)));
		/* a reason belongs to the change it explains */
		if (cfg->reason.attnum && !guard_distinct(&cfg->reason, oldtup, newtup, desc))
		{
			cols[ncols] = cfg->reason.attnum;
			vals[ncols] = (Datum) 0;
			nulls[ncols++] = true;
		}
	}

	if (cfg->version_att)
	{
		bool		isnull;
		Datum		v = heap_getattr(oldtup, cfg->version_att, desc, &isnull);

		cols[ncols] = cfg->version_att;
		vals[ncols] = Int32GetDatum(isnull ? 1 : DatumGetInt32(v) + 1);
		nulls[ncols++] = false;
	}
	if (cfg->updated_at_att)
	{
		cols[ncols] = cfg->updated_at_att;
		vals[ncols] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
		nulls[ncols++] = false;
	}
	if (cfg->updated_by_att)
	{
		Oid			caller = sp_caller_role();

		if (caller != cfg->caller)
		{
			MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);

			cfg->caller_name = CStringGetTextDatum(GetUserNameFromId(caller, false));
			cfg->caller = caller;
			MemoryContextSwitchTo(old);
		}
		cols[ncols] = cfg->updated_by_att;
		vals[ncols] = cfg->caller_name;
		nulls[ncols++] = false;
	}
	if (ncols > 0)
		newtup = heap_modify_tuple_by_cols(newtup, desc, ncols, cols, vals, nulls);
	return PointerGetDatum(newtup);
}
