/*
 * suppress.c - sp_internal.suppress_counts(counts bigint[], parents integer[],
 * k bigint) RETURNS boolean[]: which counts of a hierarchy to withhold
 * (src/core/sp_suppress.h), for coverage maps and the beneficiary
 * registry's tables.  Cells are the array positions; parents[i] is the
 * 1-based position of cell i's parent, NULL or 0 for a root.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/lsyscache.h"

#include "sp_suppress.h"

PG_FUNCTION_INFO_V1(sp_suppress_counts);

static int
read_array(ArrayType *a, Oid type, const char *name, Datum **values, bool **nulls)
{
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			n;

	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", name)));
	get_typlenbyvalalign(type, &typlen, &typbyval, &typalign);
	deconstruct_array(a, type, typlen, typbyval, typalign, values, nulls, &n);
	return n;
}

/* The counts, none NULL (a NULL is refused: an empty cell is 0). */
static int64 *
read_counts(int n, const Datum *cv, const bool *cn)
{
	int64	   *count = palloc(sizeof(int64) * (n > 0 ? n : 1));
	int			i;

	for (i = 0; i < n; i++)
	{
		if (cn[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("count %d is NULL", i + 1),
					 errhint("Give 0 for an empty cell.")));
		count[i] = DatumGetInt64(cv[i]);
	}
	return count;
}

/* A boolean array with one flag per count (NULL: false); name and what for the error. */
static bool *
read_flags(ArrayType *a, int n, const char *name, const char *what)
{
	Datum	   *v;
	bool	   *nulls;
	bool	   *flags;
	int			nf = read_array(a, BOOLOID, name, &v, &nulls),
				i;

	if (nf != n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("counts and %s must be of the same length", name),
				 errdetail("There are %d counts and %d %s.", n, nf, what)));
	flags = palloc(sizeof(bool) * (n > 0 ? n : 1));
	for (i = 0; i < n; i++)
		flags[i] = !nulls[i] && DatumGetBool(v[i]);
	return flags;
}

/* hidden[] as the boolean[] returned. */
static Datum
hidden_array(int n, const bool *hidden)
{
	Datum	   *out = palloc(sizeof(Datum) * (n > 0 ? n : 1));
	int			i;

	for (i = 0; i < n; i++)
		out[i] = BoolGetDatum(hidden[i]);
	PG_RETURN_ARRAYTYPE_P(construct_array(out, n, BOOLOID, 1, true, TYPALIGN_CHAR));
}

Datum
sp_suppress_counts(PG_FUNCTION_ARGS)
{
	ArrayType  *counts_a;
	ArrayType  *parents_a;
	int64		k;
	ArrayType  *forced_a = PG_NARGS() > 3 && !PG_ARGISNULL(3) ? PG_GETARG_ARRAYTYPE_P(3) : NULL;
	bool	   *forced = NULL;
	Datum	   *cv,
			   *pv;
	bool	   *cn,
			   *pn;
	int			n,
				np,
				i;
	int64	   *count,
			   *parent;
	bool	   *hidden;
	size_t		bad = 0;
	sp_suppress_status st;

	/* NULL counts, parents or k: NULL, as a strict function (forced may be NULL) */
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_NULL();
	counts_a = PG_GETARG_ARRAYTYPE_P(0);
	parents_a = PG_GETARG_ARRAYTYPE_P(1);
	k = PG_GETARG_INT64(2);
	n = read_array(counts_a, INT8OID, "counts", &cv, &cn);
	np = read_array(parents_a, INT4OID, "parents", &pv, &pn);
	if (n != np)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("counts and parents must be of the same length"),
				 errdetail("There are %d counts and %d parents.", n, np)));
	if (k < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the threshold k must be at least 1, not " INT64_FORMAT, k)));
	if (forced_a)
		forced = read_flags(forced_a, n, "forced", "forced flags");
	count = read_counts(n, cv, cn);
	parent = palloc(sizeof(int64) * (n > 0 ? n : 1));
	hidden = palloc(sizeof(bool) * (n > 0 ? n : 1));
	for (i = 0; i < n; i++)
	{
		parent[i] = pn[i] ? -1 : (int64) DatumGetInt32(pv[i]) - 1;
		if (parent[i] < -1)
			parent[i] = -2;		/* refused below, as out of range */
	}
	st = sp_suppress((size_t) n, count, parent, k, forced, hidden, &bad);
	if (st == SP_SUPPRESS_NO_MEMORY)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	if (st != SP_SUPPRESS_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot suppress these counts: %s", sp_suppress_message(st)),
				 errdetail("At position %zu of %d.", bad + 1, n)));
	return hidden_array(n, hidden);
}

/*
 * sp_internal.suppress_hierarchies(counts bigint[], children integer[],
 * parents integer[], hierarchies integer[], k bigint) RETURNS boolean[]:
 * edge e says that cell children[e] (1-based) is a part of cell parents[e]
 * in hierarchy hierarchies[e]; an edge with a NULL is no edge (a root);
 * known (optional, NULL: none) marks the cells the reader knows already.
 * See sp_suppress_multi.
 */
PG_FUNCTION_INFO_V1(sp_suppress_hierarchies);

Datum
sp_suppress_hierarchies(PG_FUNCTION_ARGS)
{
	Datum	   *cv,
			   *chv,
			   *pv,
			   *hv;
	bool	   *cn,
			   *chn,
			   *pn,
			   *hn;
	int			n,
				nc,
				np,
				nh,
				i;
	int64		k;
	int64	   *count,
			   *child,
			   *parent,
			   *hier;
	size_t		n_edges = 0,
				bad = 0;
	bool	   *hidden;
	bool	   *known = NULL;
	sp_suppress_status st;

	for (i = 0; i < 5; i++)
		if (PG_ARGISNULL(i))
			PG_RETURN_NULL();
	n = read_array(PG_GETARG_ARRAYTYPE_P(0), INT8OID, "counts", &cv, &cn);
	nc = read_array(PG_GETARG_ARRAYTYPE_P(1), INT4OID, "children", &chv, &chn);
	np = read_array(PG_GETARG_ARRAYTYPE_P(2), INT4OID, "parents", &pv, &pn);
	nh = read_array(PG_GETARG_ARRAYTYPE_P(3), INT4OID, "hierarchies", &hv, &hn);
	k = PG_GETARG_INT64(4);
	if (nc != np || nc != nh)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("children, parents and hierarchies must be of the same length"),
				 errdetail("There are %d children, %d parents and %d hierarchies.", nc, np, nh)));
	if (k < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the threshold k must be at least 1, not " INT64_FORMAT, k)));
	count = read_counts(n, cv, cn);
	hidden = palloc(sizeof(bool) * (n > 0 ? n : 1));
	child = palloc(sizeof(int64) * (nc > 0 ? nc : 1));
	parent = palloc(sizeof(int64) * (nc > 0 ? nc : 1));
	hier = palloc(sizeof(int64) * (nc > 0 ? nc : 1));
	for (i = 0; i < nc; i++)
	{
		if (chn[i] || pn[i] || hn[i])
			continue;
		child[n_edges] = (int64) DatumGetInt32(chv[i]) - 1;
		parent[n_edges] = (int64) DatumGetInt32(pv[i]) - 1;
		hier[n_edges] = DatumGetInt32(hv[i]);
		n_edges++;
	}
	if (PG_NARGS() > 5 && !PG_ARGISNULL(5))
		known = read_flags(PG_GETARG_ARRAYTYPE_P(5), n, "known", "known flags");
	st = sp_suppress_multi((size_t) n, count, n_edges, child, parent, hier, k, known, hidden, &bad, NULL);
	if (st == SP_SUPPRESS_NO_MEMORY)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	if (st == SP_SUPPRESS_BAD_EDGE || st == SP_SUPPRESS_TWO_PARENTS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot suppress these counts: %s", sp_suppress_message(st)),
				 errdetail("At edge %zu of those without a NULL (%zu).", bad + 1, n_edges)));
	if (st != SP_SUPPRESS_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot suppress these counts: %s", sp_suppress_message(st)),
				 errdetail("At position %zu of %d.", bad + 1, n)));
	return hidden_array(n, hidden);
}
