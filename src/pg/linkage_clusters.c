/*
 * linkage_clusters.c - sp_internal.clusters: connected components of
 * matched pairs (union-find of src/core).
 */
#include "postgres.h"

#include <stdlib.h>

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "linkage_internal.h"

/* ------------------------------------------------------------------------
 * sp_internal.clusters(left_ids bigint[], right_ids bigint[])
 *   RETURNS TABLE (cluster_id bigint, person_id bigint)
 * ------------------------------------------------------------------------ */

static int
cmp_int64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a,
				y = *(const int64 *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

PG_FUNCTION_INFO_V1(sp_clusters);

/*
 * Everything is palloc'd in a context of its own, deleted at the end and,
 * on an error (a cancel, a full tuplestore), with the caller's context: no
 * memory outlives the call however it ends.  Any bigint is a valid id, so
 * no id value marks anything: components are numbered by index.
 */
Datum
sp_clusters(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext work = AllocSetContextCreate(CurrentMemoryContext, "sp_clusters", ALLOCSET_DEFAULT_SIZES);
	MemoryContext outer = MemoryContextSwitchTo(work);
	int			nl,
				nr;
	int64		nids = 0;
	int64	   *left = linkage_int8_array(PG_GETARG_ARRAYTYPE_P(0), &nl, "left_ids");
	int64	   *right = linkage_int8_array(PG_GETARG_ARRAYTYPE_P(1), &nr, "right_ids");
	int64	   *ids;
	int64	   *component_min;	/* smallest id of each component, by root index */
	bool	   *component_seen;
	sp_union_find uf;

	if (nl != nr)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("left_ids and right_ids must have the same length, got %d and %d", nl, nr)));
	MemoryContextSwitchTo(outer);
	InitMaterializedSRF(fcinfo, 0);
	MemoryContextSwitchTo(work);

	/* dense numbering of the ids that occur */
	ids = MemoryContextAllocHuge(work, sizeof(int64) * Max(2 * (size_t) nl, 1));
	memcpy(ids, left, sizeof(int64) * nl);
	memcpy(ids + nl, right, sizeof(int64) * nr);
	qsort(ids, 2 * (size_t) nl, sizeof(int64), cmp_int64);
	for (int64 i = 0; i < 2 * (int64) nl; i++)
		if (nids == 0 || ids[nids - 1] != ids[i])
			ids[nids++] = ids[i];

	sp_uf_init_in(&uf, (size_t) nids, MemoryContextAllocHuge(work, sp_uf_bytes((size_t) nids)));
	for (int i = 0; i < nl; i++)
	{
		int64	   *a = bsearch(&left[i], ids, nids, sizeof(int64), cmp_int64);
		int64	   *b = bsearch(&right[i], ids, nids, sizeof(int64), cmp_int64);

		if ((i & 65535) == 0)
			CHECK_FOR_INTERRUPTS();
		Assert(a && b);
		sp_uf_union(&uf, (uint32_t) (a - ids), (uint32_t) (b - ids));
	}
	/* ids are sorted, so the first member seen of each component is its smallest id */
	component_min = MemoryContextAllocHuge(work, sizeof(int64) * Max(nids, 1));
	component_seen = MemoryContextAllocExtended(work, sizeof(bool) * Max(nids, 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	for (int64 i = 0; i < nids; i++)
	{
		uint32_t	r = sp_uf_find(&uf, (uint32_t) i);
		Datum		values[2];
		bool		nulls[2] = {false, false};

		if ((i & 65535) == 0)
			CHECK_FOR_INTERRUPTS();
		if (!component_seen[r])
		{
			component_seen[r] = true;
			component_min[r] = ids[i];
		}
		values[0] = Int64GetDatum(component_min[r]);
		values[1] = Int64GetDatum(ids[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	MemoryContextSwitchTo(outer);
	MemoryContextDelete(work);
	return (Datum) 0;
}
