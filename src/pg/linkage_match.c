/*
 * linkage_match.c - scoring candidate pairs: sp.match_pairs (every
 * candidate pair of the blocking rules, each once), sp_internal.score_pairs
 * (given pairs of a few records, for the duplicate check at registration)
 * and sp.linkage_candidates (what blocking would produce, without scoring).
 */
#include "postgres.h"

#include <math.h>

#include "access/tupdesc.h"
#include "catalog/pg_type.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/tuplestore.h"

#include "linkage_internal.h"

PG_FUNCTION_INFO_V1(sp_match_pairs);

/* ------------------------------------------------------------------------
 * Scoring
 * ------------------------------------------------------------------------ */

typedef struct MatchState
{
	const sp_link_model *model;
	const sp_records *ra;
	const sp_records *rb;
	bool		dedup;
	double		min_probability;
	double		min_weight;		/* weight below which a pair cannot reach min_probability, or -inf */
	int64		pruned;			/* pairs ruled out by their weight bound */
	double	   *best;			/* per left record and comparison: sp_best_weight, for the bound */
	sp_cmp_work *work;
	Tuplestorestate *store;
	TupleDesc	desc;
	int64		emitted;
	/* household context: pairs kept for a second pass, confident pairs */
	bool		household;
	double		keep_weight;	/* pairs at or above it are kept (min_weight less what a level can add) */
	double		confident;		/* weight of probability 0.9 */
	TupleDesc	keep_desc;
	Tuplestorestate *kept;
	PairList	links;			/* confident pairs: they join the groups examined whole */
} MatchState;

/* One result row; in dedup the smaller id first. */
static void
emit_pair(MatchState *st, int64 li, int64 rj, double w, double p)
{
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	sp_hh_pair	ids = sp_hh_pair_of(li, rj, st->dedup);

	values[0] = Int64GetDatum(ids.i);
	values[1] = Int64GetDatum(ids.j);
	values[2] = Float8GetDatum(w);
	values[3] = Float8GetDatum(p);
	tuplestore_putvalues(st->store, st->desc, values, nulls);
	st->emitted++;
}

static void
match_pair(int64 i, int64 j, int rule, bool first, void *arg)
{
	MatchState *st = arg;
	sp_gamma	g[SP_FS_MAX_COMPARISONS];
	sp_pair_values pv;
	double		w,
				p;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	int64		li = st->ra->ids[i],
				rj = st->rb->ids[j];

	/*
	 * Most candidate pairs (namesakes of common names) are ruled out by
	 * their birth date, sex, IDs and area alone: skip the name comparisons
	 * when even the best they could weigh would not reach min_probability.
	 */
	if (st->min_weight > -INFINITY)
	{
		int			status;
		double		bound = sp_pair_bound(st->model, st->ra, i, st->rb, j,
										  st->best + i * st->model->spec.ncomparisons, st->work, &status);

		if (status != SP_LINK_OK)
			linkage_check(SP_LINK_NO_MEMORY);
		if (bound < st->min_weight)
		{
			st->pruned++;
			return;
		}
	}
	linkage_check(sp_compare_records(&st->model->spec, st->ra, i, st->rb, j, g, &pv, st->work));
	w = sp_pair_total(st->model, st->ra, i, st->rb, j, g, &pv);
	if (st->household)
	{
		/* kept for the second pass, which adds the household level */
		if (w >= st->confident)
			linkage_pair_list_add(&st->links, i, j);
		if (w >= st->keep_weight)
		{
			values[0] = Int64GetDatum(i);
			values[1] = Int64GetDatum(j);
			values[2] = Float8GetDatum(w);
			tuplestore_putvalues(st->kept, st->keep_desc, values, nulls);
		}
		return;
	}
	p = sp_fs_probability(w);
	if (p < st->min_probability)
		return;
	emit_pair(st, li, rj, w, p);
}

/* ------------------------------------------------------------------------
 * Household context: a second pass over the kept pairs
 * ------------------------------------------------------------------------ */

typedef struct HhCell
{
	sp_hh_pair	pair;			/* first (sp_hh_pair_cmp): record indexes, in dedup i < j */
	double		w;				/* with the household level's weight */
	bool		used;
} HhCell;

typedef struct HhCells
{
	PairScorer	scorer;		/* first: linkage_pair_weight reads it through the same pointer */
	MatchState *st;
	HhCell	   *cells;
	int64		n;
	int64		size;
} HhCells;

static void
collect_cell(int64_t i, int64_t j, double w, sp_hh_level level, bool assigned, void *arg)
{
	HhCells    *c = arg;

	(void) assigned;
	if (c->n == c->size)
	{
		int64		grown = Max(c->size * 2, 4096);

		linkage_check_memory(sizeof(HhCell) * (grown - c->size), "household pairs");
		c->cells = c->cells ? repalloc_huge(c->cells, sizeof(HhCell) * grown)
			: palloc_extended(sizeof(HhCell) * grown, MCXT_ALLOC_HUGE);
		c->size = grown;
	}
	c->cells[c->n].pair = sp_hh_pair_of(i, j, c->st->dedup);
	c->cells[c->n].w = linkage_household_total(&c->scorer, i, j, w, level);
	c->cells[c->n].used = false;
	c->n++;
}

/*
 * The kept pairs with their household level: pairs of groups joined by a
 * confident pair are weighed whole (every member against every member,
 * pairs blocking never proposed included); other pairs take the level of
 * their groups' sizes.
 */
static void
household_pass(MatchState *st, const sp_groups *ga, const sp_groups *gb, sp_hh_stats *stats)
{
	HhCells		c = {{st->model, st->ra, st->rb, st->work}, st, NULL, 0, 0};
	TupleTableSlot *slot;
	double		plain[SP_HH_LEVELS];

	for (int l = 0; l < SP_HH_LEVELS; l++)
		plain[l] = linkage_household_weight(st->model, (sp_hh_level) l);
	linkage_check(sp_household_cells(ga, gb, st->dedup, st->links.p, st->links.n, st->confident,
									 linkage_pair_weight, collect_cell, &c, stats, &linkage_env));
	if (c.n > 1)
		qsort(c.cells, c.n, sizeof(HhCell), sp_hh_pair_cmp);

	slot = MakeSingleTupleTableSlot(st->keep_desc, &TTSOpsMinimalTuple);
	tuplestore_rescan(st->kept);
	while (tuplestore_gettupleslot(st->kept, true, false, slot))
	{
		bool		isnull;
		sp_hh_pair	key;
		HhCell	   *found;
		double		w;

		key = sp_hh_pair_of(DatumGetInt64(slot_getattr(slot, 1, &isnull)),
							DatumGetInt64(slot_getattr(slot, 2, &isnull)), st->dedup);
		w = DatumGetFloat8(slot_getattr(slot, 3, &isnull));
		found = c.n > 0 ? bsearch(&key, c.cells, c.n, sizeof(HhCell), sp_hh_pair_cmp) : NULL;
		if (found)
		{
			w = found->w;
			found->used = true;
		}
		else
			w += plain[sp_hh_plain_level(ga, key.i, gb, key.j)];
		if (sp_fs_probability(w) >= st->min_probability)
			emit_pair(st, st->ra->ids[key.i], st->rb->ids[key.j], w, sp_fs_probability(w));
		CHECK_FOR_INTERRUPTS();
	}
	ExecDropSingleTupleTableSlot(slot);
	/* pairs of the examined groups that blocking did not propose, or proposed below what was kept */
	for (int64 k = 0; k < c.n; k++)
		if (!c.cells[k].used && sp_fs_probability(c.cells[k].w) >= st->min_probability)
			emit_pair(st, st->ra->ids[c.cells[k].pair.i], st->rb->ids[c.cells[k].pair.j], c.cells[k].w,
					  sp_fs_probability(c.cells[k].w));
}

/*
 * sp.match_pairs(model text, left_rel regclass, right_rel regclass DEFAULT NULL,
 *                min_probability float8 DEFAULT 0)
 *   RETURNS TABLE (left_id bigint, right_id bigint, match_weight float8, match_probability float8)
 */
Datum
sp_match_pairs(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	sp_link_model model;
	sp_records	ra,
				rb;
	Oid			right;
	bool		dedup;
	MatchState	st;
	Progress	progress;
	sp_block_stats stats[SP_LINK_MAX_RULES];
	int			hh_column;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model name and left relation are required")));
	right = linkage_arg_regclass(fcinfo, 2);
	dedup = !OidIsValid(right);

	InitMaterializedSRF(fcinfo, 0);
	linkage_load_model(text_to_cstring(PG_GETARG_TEXT_PP(0)), &model);
	if (!model.trained)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("linkage model \"%s\" has not been trained", model.name),
				 errhint("Run sp.train_linkage_model('%s', <relation>) first.", model.name)));
	linkage_load_sides(&model.spec, PG_GETARG_OID(1), right, dedup, "left", "right", &ra, &rb, stats);
	linkage_report_dropped(&model.spec, stats, "match_pairs");
	linkage_build_tf(&model, &ra, &rb, dedup);
	st.model = &model;
	st.ra = &ra;
	st.rb = &rb;
	st.dedup = dedup;
	st.min_probability = PG_ARGISNULL(3) ? 0.0 : PG_GETARG_FLOAT8(3);
	st.min_weight = -INFINITY;
	if (st.min_probability > 0 && st.min_probability < 1)
		st.min_weight = log2(st.min_probability / (1 - st.min_probability)) - 1e-6;	/* margin for rounding */
	st.pruned = 0;
	st.best = NULL;
	if (st.min_weight > -INFINITY)
	{
		/* the most each name of each left record could weigh, once per record */
		st.best = linkage_best_weights(&model, &ra);
	}
	st.work = linkage_new_work();
	st.store = rsinfo->setResult;
	st.desc = rsinfo->setDesc;
	st.emitted = 0;

	/*
	 * Household context: candidate pairs are kept with their weight, the
	 * confident ones noted; then pairs of groups those join are weighed
	 * whole, and every kept pair gets its household level.  A pair is kept
	 * when its level could still lift it to min_probability, and the
	 * weight bound prunes below that (or below "confident", if lower).
	 */
	hh_column = linkage_household_column(&model.spec);
	st.household = model.hh_enabled && hh_column >= 0;
	memset(&st.links, 0, sizeof(st.links));
	if (st.household)
	{
		double		lift = 0;

		for (int l = 0; l < SP_HH_LEVELS; l++)
			if (l != SP_HH_LINKED)	/* linked pairs are weighed again in the second pass */
				lift = Max(lift, linkage_household_weight(&model, (sp_hh_level) l));
		st.confident = log2(0.9 / 0.1);
		st.keep_weight = st.min_weight - lift;
		st.min_weight = Min(st.keep_weight, st.confident);
		st.keep_desc = CreateTemplateTupleDesc(3);
		TupleDescInitEntry(st.keep_desc, (AttrNumber) 1, "i", INT8OID, -1, 0);
		TupleDescInitEntry(st.keep_desc, (AttrNumber) 2, "j", INT8OID, -1, 0);
		TupleDescInitEntry(st.keep_desc, (AttrNumber) 3, "w", FLOAT8OID, -1, 0);
		st.kept = tuplestore_begin_heap(false, false, work_mem);
	}

	linkage_start_progress(&progress, "match_pairs", &model.spec, &ra, &rb, dedup);
	linkage_for_each_candidate(&model.spec, &ra, &rb, dedup, true, match_pair, &st, &progress);
	if (st.household)
	{
		sp_groups	ga,
					gb;
		sp_hh_stats hh;

		linkage_build_groups(&model.spec, hh_column, &ra, &rb, dedup, &ga, &gb);
		household_pass(&st, &ga, &gb, &hh);
		tuplestore_end(st.kept);
		if (hh.group_pairs_too_large > 0)
			ereport(NOTICE,
					(errmsg("match_pairs: %lld pairs of households were too large to weigh whole",
							(long long) hh.group_pairs_too_large),
					 errdetail("Their members' pairs keep the plain household level; at most %d member pairs are weighed per pair of households.",
							   SP_HH_MAX_CELLS)));
	}
	return (Datum) 0;
}

/* ------------------------------------------------------------------------
 * sp_internal.score_pairs(model text, rel regclass, left_ids bigint[], right_ids bigint[])
 *   RETURNS TABLE (left_id bigint, right_id bigint, match_weight float8, match_probability float8)
 *
 * Scores given pairs of one relation, for checks of a few new records
 * against candidates found by index lookups.  Only those records are read,
 * so term frequencies are unknown and exact agreement weighs its plain m/u.
 * ------------------------------------------------------------------------ */

PG_FUNCTION_INFO_V1(sp_score_pairs);

static int64
index_of_id(const sp_records *r, const int64 *sorted_ids, const int64 *order, int64 id)
{
	int64		lo = 0,
				hi = r->n - 1;

	while (lo <= hi)
	{
		int64		mid = (lo + hi) / 2;

		if (sorted_ids[mid] == id)
			return order[mid];
		if (sorted_ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

Datum
sp_score_pairs(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	sp_link_model model;
	sp_records	r;
	int			nl,
				nr;
	int64	   *left,
			   *right,
			   *all,
			   *sorted,
			   *order;
	Datum	   *d;
	sp_cmp_work *work = linkage_new_work();

	for (int k = 0; k < 4; k++)
		if (PG_ARGISNULL(k))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("every argument of sp_internal.score_pairs is required")));
	left = linkage_int8_array(PG_GETARG_ARRAYTYPE_P(2), &nl, "left_ids");
	right = linkage_int8_array(PG_GETARG_ARRAYTYPE_P(3), &nr, "right_ids");
	if (nl != nr)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("left_ids and right_ids must have the same length, got %d and %d", nl, nr)));
	InitMaterializedSRF(fcinfo, 0);
	if (nl == 0)
		return (Datum) 0;
	linkage_load_model(text_to_cstring(PG_GETARG_TEXT_PP(0)), &model);
	if (!model.trained)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("linkage model \"%s\" has not been trained", model.name)));

	all = palloc(sizeof(int64) * 2 * nl);
	memcpy(all, left, sizeof(int64) * nl);
	memcpy(all + nl, right, sizeof(int64) * nl);
	d = palloc(sizeof(Datum) * 2 * nl);
	for (int i = 0; i < 2 * nl; i++)
		d[i] = Int64GetDatum(all[i]);
	linkage_load_records(&model.spec, PG_GETARG_OID(1), &r, "input",
						 construct_array(d, 2 * nl, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));

	linkage_load_stored_tf(&model, &r, PG_GETARG_OID(1));

	/* id -> record index */
	sorted = palloc(sizeof(int64) * Max(r.n, 1));
	order = palloc(sizeof(int64) * Max(r.n, 1));
	{
		sp_keyed_record *kr = palloc(sizeof(sp_keyed_record) * Max(r.n, 1));

		for (int64 i = 0; i < r.n; i++)
			kr[i] = (sp_keyed_record) {(uint64) r.ids[i] ^ ((uint64) 1 << 63), (int32) i, 0, 0};
		qsort(kr, r.n, sizeof(sp_keyed_record), sp_keyed_record_cmp);
		for (int64 i = 0; i < r.n; i++)
		{
			sorted[i] = r.ids[kr[i].idx];
			order[i] = kr[i].idx;
		}
	}

	for (int k = 0; k < nl; k++)
	{
		int64		i = index_of_id(&r, sorted, order, left[k]);
		int64		j = index_of_id(&r, sorted, order, right[k]);
		sp_gamma	g[SP_FS_MAX_COMPARISONS];
		sp_pair_values pv;
		double		w;
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		if (i < 0 || j < 0 || i == j)
			continue;
		linkage_check(sp_compare_records(&model.spec, &r, i, &r, j, g, &pv, work));
		w = sp_pair_total(&model, &r, i, &r, j, g, &pv);
		values[0] = Int64GetDatum(left[k]);
		values[1] = Int64GetDatum(right[k]);
		values[2] = Float8GetDatum(w);
		values[3] = Float8GetDatum(sp_fs_probability(w));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* ------------------------------------------------------------------------
 * sp.linkage_candidates(model text, left_rel regclass, right_rel regclass DEFAULT NULL)
 *   RETURNS jsonb
 *
 * What the blocking rules would produce, without scoring: candidate pairs
 * (each once) per rule and per record, the largest block, what splitting
 * did.  For sizing rules before running them on a whole registry.
 * ------------------------------------------------------------------------ */

PG_FUNCTION_INFO_V1(sp_linkage_candidates);

typedef struct CountState
{
	double		per_rule[SP_LINK_MAX_RULES];
} CountState;

static void
count_pair(int64 i, int64 j, int rule, bool first, void *arg)
{
	((CountState *) arg)->per_rule[rule]++;
}

Datum
sp_linkage_candidates(PG_FUNCTION_ARGS)
{
	sp_link_model model;
	sp_records	ra,
				rb;
	Oid			right;
	bool		dedup;
	CountState	cs;
	Progress	progress;
	sp_block_stats stats[SP_LINK_MAX_RULES];
	StringInfoData js;
	double		total = 0;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model name and left relation are required")));
	right = linkage_arg_regclass(fcinfo, 2);
	dedup = !OidIsValid(right);
	linkage_load_model(text_to_cstring(PG_GETARG_TEXT_PP(0)), &model);
	linkage_load_sides(&model.spec, PG_GETARG_OID(1), right, dedup, "left", "right", &ra, &rb, stats);

	memset(&cs, 0, sizeof(cs));
	linkage_start_progress(&progress, "linkage_candidates", &model.spec, &ra, &rb, dedup);
	linkage_for_each_candidate(&model.spec, &ra, &rb, dedup, true, count_pair, &cs, &progress);

	initStringInfo(&js);
	appendStringInfoString(&js, "{\"rules\": [");
	for (int k = 0; k < model.spec.nrules; k++)
	{
		int64		largest = 0;

		total += cs.per_rule[k];
		if (model.spec.rules[k].present)
		{
			largest = sp_largest_block(&model.spec, &ra, &rb, dedup, k, &linkage_env);
			linkage_check(largest < 0 ? SP_LINK_NO_MEMORY : SP_LINK_OK);
		}
		appendStringInfo(&js, "%s{\"rule\": %d, \"keys\": ", k ? ", " : "", k + 1);
		escape_json(&js, model.spec.rules[k].text);
		appendStringInfo(&js, ", \"present\": %s, \"new_pairs\": %.0f, \"largest_block\": %lld, "
						 "\"refined_blocks\": %lld, \"blocks_left_out\": %lld, \"records_left_out\": %lld, "
						 "\"pairs_left_out\": %.0f}",
						 model.spec.rules[k].present ? "true" : "false", cs.per_rule[k], (long long) largest,
						 (long long) stats[k].refined_blocks, (long long) stats[k].dropped_blocks,
						 (long long) stats[k].dropped_records, stats[k].dropped_pairs);
	}
	appendStringInfo(&js, "], \"records\": %lld, \"right_records\": %lld, \"candidate_pairs\": %.0f, "
					 "\"pairs_per_record\": %.4g}",
					 (long long) ra.n, (long long) (dedup ? 0 : rb.n), total,
					 total / Max((double) (ra.n + (dedup ? 0 : rb.n)), 1.0));
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(js.data)));
}

