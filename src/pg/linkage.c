/*
 * linkage.c - Fellegi-Sunter record linkage inside PostgreSQL: what the
 * glue shares.
 *
 * A model is data (sp.linkage_model): a spec naming comparisons and
 * blocking rules, and params holding m/u per level and the prior.  The
 * engine (src/core) blocks records in memory (one sort per blocking rule, a
 * pair produced by an earlier rule is never scored twice), compares and
 * scores them, and trains models (u from random pairs, m and the prior by
 * EM over blocked pairs); the glue (linkage_*.c, see linkage_internal.h)
 * reads specs, params and records and returns results.
 *
 * This file holds the settings, the memory limit, progress, and the
 * environment through which the engine allocates and can be cancelled.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "linkage_internal.h"
#include "sp_registry.h"

static int	linkage_memory_mb = 2048;
static int	linkage_max_pairs_millions = 2000;
static size_t call_bytes = 0;	/* allocated by the current call; reset by linkage_load_model */

/* ------------------------------------------------------------------------
 * Memory
 * ------------------------------------------------------------------------ */

void
linkage_reset_memory(void)
{
	call_bytes = 0;
}

void
linkage_check_memory(size_t bytes, const char *what)
{
	call_bytes += bytes;
	if (call_bytes > (size_t) linkage_memory_mb * 1024 * 1024)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("record linkage needs more than sp_registry.linkage_memory_mb (%d MB) for %s",
						linkage_memory_mb, what),
				 errhint("Raise sp_registry.linkage_memory_mb, or link smaller sets (e.g. one region at a time).")));
}

/* Memory given back during a call no longer counts against its limit. */
void
linkage_release_memory(size_t bytes)
{
	call_bytes = bytes > call_bytes ? 0 : call_bytes - bytes;
}

void *
linkage_alloc_huge(size_t bytes, const char *what)
{
	linkage_check_memory(bytes, what);
	return MemoryContextAllocExtended(CurrentMemoryContext, Max(bytes, 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
}

/*
 * The engine's environment: palloc'd memory, freed with the memory context
 * when a call fails, counted against the limit (the comparators' work space
 * is not); every allocator raises rather than return NULL.
 */
static void *
env_alloc(size_t bytes, const char *what, void *ctx)
{
	return linkage_alloc_huge(bytes, what);
}

static void
env_release(void *p, size_t bytes, void *ctx)
{
	linkage_release_memory(bytes);
	pfree(p);
}

static void *
env_scratch(void *p, size_t bytes, void *ctx)
{
	if (bytes == 0)
	{
		if (p)
			pfree(p);
		return NULL;
	}
	return p ? repalloc_huge(p, bytes) : MemoryContextAllocExtended(CurrentMemoryContext, bytes, MCXT_ALLOC_HUGE);
}

static void
env_interrupt(void *ctx)
{
	CHECK_FOR_INTERRUPTS();
}

const sp_link_env linkage_env = {env_alloc, env_release, env_scratch, env_interrupt, NULL};

void
linkage_check(int status)
{
	if (status < 0)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
}

sp_cmp_work *
linkage_new_work(void)
{
	sp_cmp_work *w = palloc(sizeof(sp_cmp_work));

	sp_cmp_work_init(w, &linkage_env);
	return w;
}

/* ------------------------------------------------------------------------
 * Progress
 * ------------------------------------------------------------------------ */

static void
progress_tick(double done, void *arg)
{
	Progress   *p = arg;
	instr_time	now;

	p->done = done;
	CHECK_FOR_INTERRUPTS();
	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, p->last);
	if (INSTR_TIME_GET_DOUBLE(now) >= 5.0)
	{
		INSTR_TIME_SET_CURRENT(p->last);
		ereport(NOTICE,
				(errmsg("%s: %.0f of about %.0f candidate pairs scored", p->what, p->done, p->estimate)));
	}
}

void
linkage_start_progress(Progress *progress, const char *what, const sp_link_spec *spec,
					   const sp_records *ra, const sp_records *rb, bool dedup)
{
	INSTR_TIME_SET_CURRENT(progress->start);
	progress->last = progress->start;
	progress->estimate = sp_estimate_pairs(spec, ra, rb, dedup, &linkage_env);
	linkage_check(progress->estimate < 0 ? SP_LINK_NO_MEMORY : SP_LINK_OK);
	progress->done = 0;
	progress->what = what;
	if (progress->estimate > (double) linkage_max_pairs_millions * 1e6)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("blocking rules produce about %.0f candidate pairs, more than sp_registry.linkage_max_pairs_millions (%d million)",
						progress->estimate, linkage_max_pairs_millions),
				 errhint("Make the blocking rules more selective (add a key), or raise the limit.")));
}

/* ------------------------------------------------------------------------
 * Blocking
 * ------------------------------------------------------------------------ */

void
linkage_load_sides(sp_link_spec *spec, Oid left, Oid right, bool dedup, const char *left_which,
				   const char *right_which, sp_records *ra, sp_records *rb, sp_block_stats *stats)
{
	linkage_load_records(spec, left, ra, left_which, NULL);
	if (dedup)
		*rb = *ra;
	else
		linkage_load_records(spec, right, rb, right_which, NULL);
	linkage_refine_keys(spec, ra, rb, dedup, stats);
}

void
linkage_refine_keys(const sp_link_spec *spec, sp_records *ra, sp_records *rb, bool dedup, sp_block_stats *stats)
{
	linkage_check(sp_refine_keys(spec, ra, rb, dedup, &linkage_env, stats));
}

/* One NOTICE per rule that left candidate pairs out: never silently. */
void
linkage_report_dropped(const sp_link_spec *spec, const sp_block_stats *stats, const char *what)
{
	for (int k = 0; k < spec->nrules; k++)
		if (stats[k].dropped_records > 0)
			ereport(NOTICE,
					(errmsg("%s: blocking rule %d (%s) left out %.0f candidate pairs among %lld records",
							what, k + 1, spec->rules[k].text, stats[k].dropped_pairs,
							(long long) stats[k].dropped_records),
					 errdetail("%lld blocks stayed larger than %lld records after every refine key, or records had no value to refine by. "
							   "Other rules may still pair these records.",
							   (long long) stats[k].dropped_blocks, (long long) spec->rules[k].max_block)));
}

void
linkage_for_each_candidate(const sp_link_spec *spec, const sp_records *ra, const sp_records *rb, bool dedup,
						   bool once, sp_pair_fn pair, void *arg, Progress *progress)
{
	linkage_check(sp_for_each_candidate(spec, ra, rb, dedup, once, pair, arg, progress_tick, progress,
										&linkage_env));
}

/* ------------------------------------------------------------------------
 * Arguments
 * ------------------------------------------------------------------------ */

Oid
linkage_arg_regclass(FunctionCallInfo fcinfo, int n)
{
	return PG_ARGISNULL(n) ? InvalidOid : PG_GETARG_OID(n);
}

int64 *
linkage_int8_array(ArrayType *a, int *n, const char *which)
{
	Datum	   *elems;
	bool	   *nulls;
	int64	   *out;

	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", which)));
	deconstruct_array(a, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &nulls, n);
	out = palloc(sizeof(int64) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not contain NULL", which)));
		out[i] = DatumGetInt64(elems[i]);
	}
	return out;
}

/* ------------------------------------------------------------------------
 * Settings, registered from _PG_init
 * ------------------------------------------------------------------------ */

void
sp_linkage_init(void)
{
	DefineCustomIntVariable("sp_registry.linkage_memory_mb",
							"Most memory record linkage may use for one call, in MB.",
							"Records, their prepared values and blocking keys must fit; beyond it the call stops with an error instead of exhausting the server.",
							&linkage_memory_mb,
							2048, 16, 1024 * 1024,
							PGC_USERSET, GUC_UNIT_MB,
							NULL, NULL, NULL);
	DefineCustomIntVariable("sp_registry.linkage_max_pairs_millions",
							"Most candidate pairs, in millions, that blocking may produce for one call.",
							"Loose blocking rules can produce billions of pairs; the call refuses to start beyond this estimate.",
							&linkage_max_pairs_millions,
							2000, 1, 1000000,
							PGC_USERSET, 0,
							NULL, NULL, NULL);
}
