/*
 * linkage_explain.c - sp.explain_match: why two records match or not, the
 * prior, each comparison's level and weight, the evidence rules and the
 * total, as a reviewer reads them.
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "linkage_internal.h"

PG_FUNCTION_INFO_V1(sp_explain_match);

/* ------------------------------------------------------------------------
 * Explaining one pair
 * ------------------------------------------------------------------------ */

static const char *
level_label(const sp_link_comparison *cmp, int level)
{
	if (level < 0)
		return cmp->present ? "null (a value is missing)" : "not compared (column absent)";
	if (cmp->method == SP_METHOD_DATE)
		return sp_date_level_name((sp_date_level) level);
	if (level == 0)
		return "exact";
	if (level == cmp->nlevels - 1)
		return "else";
	if (cmp->phonetic && level == cmp->nlevels - 2)
		return "same phonetic key (sp.name_key), spaces left out";
	if (cmp->method == SP_METHOD_EXACT)
		return psprintf("same first %g characters", cmp->thresholds[level - 1]);
	if (cmp->method == SP_METHOD_JARO_WINKLER)
		return psprintf("jaro_winkler >= %g", cmp->thresholds[level - 1]);
	return psprintf("%s <= %g", cmp->method == SP_METHOD_LEVENSHTEIN ? "levenshtein" : "damerau_levenshtein",
					cmp->thresholds[level - 1]);
}


/* ------------------------------------------------------------------------
 * The household level of one pair, as sp.match_pairs finds it
 * ------------------------------------------------------------------------ */

typedef struct ExplainCell
{
	PairScorer	scorer;			/* first: linkage_pair_weight reads it through the same pointer */
	int64		i;
	int64		j;
	bool		dedup;
	int			level;			/* of the pair explained, -1 until seen */
	int64		confident;		/* confident cells of the two groups */
	double		confident_weight;
} ExplainCell;

static void
explain_cell(int64_t i, int64_t j, double w, sp_hh_level level, bool assigned, void *arg)
{
	ExplainCell *e = arg;

	(void) assigned;
	if (w >= e->confident_weight)
		e->confident++;
	if ((i == e->i && j == e->j) || (e->dedup && i == e->j && j == e->i))
		e->level = level;
}

/*
 * The pair's two groups are weighed whole, as in the second pass of
 * sp.match_pairs, which examines the groups a confident candidate pair
 * joins; here the pair itself names them.
 */
static sp_hh_level
explain_household(const sp_link_model *model, int column, const sp_records *ra, int64 i, const sp_records *rb,
				  int64 j, bool dedup, sp_cmp_work *work, const char **why)
{
	sp_groups	ga,
				gb;
	sp_hh_pair	link = {i, j};
	sp_hh_stats stats;
	ExplainCell e = {{model, ra, rb, work}, i, j, dedup, -1, 0, log2(0.9 / 0.1)};

	linkage_build_groups(&model->spec, column, ra, rb, dedup, &ga, &gb);
	if (sp_hh_plain_level(&ga, i, &gb, j) == SP_HH_ALONE)
	{
		*why = "a record has no other member in its household (registration group)";
		return SP_HH_ALONE;
	}
	if (dedup && ga.group_of[i] == ga.group_of[j])
	{
		*why = "registered together, not two registrations of one household";
		return SP_HH_UNLINKED;
	}
	linkage_check(sp_household_cells(&ga, &gb, dedup, &link, 1, e.confident_weight, linkage_pair_weight,
									 explain_cell, &e, &stats, &linkage_env));
	if (stats.group_pairs_too_large > 0)
	{
		*why = psprintf("the two households have more than %d pairs of members: not weighed whole",
						SP_HH_MAX_CELLS);
		return SP_HH_UNLINKED;
	}
	if (e.level == SP_HH_LINKED)
		*why = "each the other's best match between the two households, and another pair of their members matches with probability 0.9 or more";
	else if (e.confident == 0 || (e.confident == 1 && sp_fs_probability(linkage_pair_weight(i, j, &e.scorer)) >= 0.9))
		*why = "no other pair of members of the two households matches with probability 0.9 or more";
	else
		*why = "another member of one household matches one of these records better";
	return e.level < 0 ? SP_HH_UNLINKED : (sp_hh_level) e.level;
}
/*
 * sp.explain_match(model text, left_rel regclass, left_id bigint, right_rel regclass, right_id bigint)
 *   RETURNS TABLE (comparison text, level text, weight float8)
 *
 * With term frequency adjustment the whole relations are read, so that the
 * weights are exactly those sp.match_pairs gives.
 */
Datum
sp_explain_match(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	sp_link_model model;
	sp_records	ra,
				rb;
	int64		i = 0,
				j = 0;
	sp_gamma	g[SP_FS_MAX_COMPARISONS];
	sp_pair_values pv;
	bool		applies[SP_LINK_MAX_EVIDENCE];
	sp_cmp_work *work = linkage_new_work();
	double		total;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	bool		need_tf = false;
	Oid			lrel,
				rrel;
	int			hh_column;
	sp_hh_level level = SP_HH_ALONE;
	const char *why = "";

	for (int k = 0; k < 5; k++)
		if (PG_ARGISNULL(k))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("every argument of sp.explain_match is required")));
	lrel = PG_GETARG_OID(1);
	rrel = PG_GETARG_OID(3);
	InitMaterializedSRF(fcinfo, 0);
	linkage_load_model(text_to_cstring(PG_GETARG_TEXT_PP(0)), &model);
	if (!model.trained)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("linkage model \"%s\" has not been trained", model.name)));
	for (int c = 0; c < model.spec.ncomparisons; c++)
		need_tf |= model.spec.comparisons[c].tf_adjust;
	/* the household level needs the other members of both records' groups */
	for (int e = 0; e < model.spec.nevidence; e++)
		need_tf |= model.hh_enabled && model.spec.evidence[e].kind == SP_EV_HOUSEHOLD;

	if (need_tf)
	{
		bool		same = lrel == rrel;

		linkage_load_records(&model.spec, lrel, &ra, "left", NULL);
		if (same)
			rb = ra;
		else
			linkage_load_records(&model.spec, rrel, &rb, "right", NULL);
		linkage_build_tf(&model, &ra, &rb, same);
		i = linkage_find_id(&ra, PG_GETARG_INT64(2), lrel, "left");
		j = linkage_find_id(&rb, PG_GETARG_INT64(4), rrel, "right");
	}
	else
	{
		linkage_load_one(&model.spec, lrel, PG_GETARG_INT64(2), &ra, "left");
		linkage_load_one(&model.spec, rrel, PG_GETARG_INT64(4), &rb, "right");
	}

	/* once the records are read, the spec knows which columns the input has */
	hh_column = model.hh_enabled ? linkage_household_column(&model.spec) : -1;
	linkage_check(sp_compare_records(&model.spec, &ra, i, &rb, j, g, &pv, work));
	total = sp_pair_weight(&model, g, &pv);
	/* within one relation, its groups (households) mean something */
	total += sp_evidence_weight(&model.spec, &ra, i, &rb, j, lrel == rrel, g, pv.swapped, applies);

	values[0] = CStringGetTextDatum("prior");
	values[1] = CStringGetTextDatum(psprintf("probability %.3g that two records match", model.fs.prior));
	values[2] = Float8GetDatum(log2(model.fs.prior / (1 - model.fs.prior)));
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	for (int c = 0; c < model.spec.ncomparisons; c++)
	{
		const sp_link_comparison *cmp = &model.spec.comparisons[c];
		double		share;
		double		w = sp_comparison_weight(&model, c, g[c], &pv, &share);

		values[0] = CStringGetTextDatum(cmp->name);
		values[1] = CStringGetTextDatum(share < 0 ? level_label(cmp, g[c]) :
										g[c] == 0 ? psprintf("exact (value shared by %.3g%% of records)", 100 * share) :
										psprintf("%s (the commoner value shared by %.3g%% of records)",
												 level_label(cmp, g[c]), 100 * share));
		values[2] = Float8GetDatum(w);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	if (hh_column >= 0)
		level = explain_household(&model, hh_column, &ra, i, &rb, j, lrel == rrel, work, &why);
	for (int e = 0; e < model.spec.nevidence; e++)
	{
		const sp_evidence *ev = &model.spec.evidence[e];
		double		w = ev->weight;
		bool		in_household = false;

		if (!ev->present || ev->kind == SP_EV_HOUSEHOLD)
			continue;		/* the household has its own row */
		if (applies[e] && ev->kind == SP_EV_TWINS && level == SP_HH_LINKED)
		{
			/* inside a re-registered household: as measured among its members */
			w = sp_hh_twins_weight(&model, ev);
			total += w - ev->weight;
			in_household = true;
		}
		values[0] = CStringGetTextDatum(ev->name);
		values[1] = CStringGetTextDatum(!applies[e] ? "does not apply" :
										ev->kind == SP_EV_SAME_GROUP ? "applies: registered together in one group (household)" :
										ev->kind == SP_EV_SWAPPED ? "applies: the names agree only crosswise (given against family)" :
										in_household ? "applies: same birth date and family name, different given names; in a household registered again, weighed by how often its members look like that"
										: "applies: same birth date and family name, different given names (twins?)");
		values[2] = Float8GetDatum(applies[e] ? w : 0.0);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	if (hh_column >= 0)
	{
		PairScorer	scorer = {&model, &ra, &rb, work};
		double		hw = linkage_household_total(&scorer, i, j, total, level) - total;

		values[0] = CStringGetTextDatum("household");
		values[1] = CStringGetTextDatum(psprintf("%s: %s", sp_hh_level_name(level), why));
		values[2] = Float8GetDatum(hw);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		total += hw;
	}
	values[0] = CStringGetTextDatum("total");
	values[1] = CStringGetTextDatum(psprintf("match probability %.6f", sp_fs_probability(total)));
	values[2] = Float8GetDatum(total);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}
