/*
 * linkage_household.c - household context of pairs (src/core/sp_household.c)
 * for the glue: which column groups records, the weight of each level,
 * and the base weight of a pair that the core asks for.
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "utils/json.h"

#include "linkage_internal.h"

int
linkage_household_column(const sp_link_spec *spec)
{
	for (int e = 0; e < spec->nevidence; e++)
		if (spec->evidence[e].kind == SP_EV_HOUSEHOLD && spec->evidence[e].present)
			return spec->evidence[e].column;
	return -1;
}

double
linkage_household_weight(const sp_link_model *model, sp_hh_level level)
{
	if (!model->hh_enabled)
		return 0;
	return log2(model->hh_m[level] / model->hh_u[level]);
}

double
linkage_pair_weight(int64_t i, int64_t j, void *arg)
{
	PairScorer *s = arg;
	sp_gamma	g[SP_FS_MAX_COMPARISONS];
	sp_pair_values pv;

	linkage_check(sp_compare_records(&s->model->spec, s->ra, i, s->rb, j, g, &pv, s->work));
	return sp_pair_total(s->model, s->ra, i, s->rb, j, g, &pv);
}

void
linkage_build_groups(const sp_link_spec *spec, int column, const sp_records *ra, const sp_records *rb, bool dedup,
					 sp_groups *ga, sp_groups *gb)
{
	linkage_check(sp_groups_build(spec, ra, column, ga, &linkage_env));
	if (dedup)
		*gb = *ga;
	else
		linkage_check(sp_groups_build(spec, rb, column, gb, &linkage_env));
}

/*
 * The most each comparison of each left record could weigh (sp_best_weight),
 * for sp_pair_bound: once per record, not per pair.
 */
double *
linkage_best_weights(const sp_link_model *model, const sp_records *ra)
{
	int			nc = model->spec.ncomparisons;
	double	   *best = linkage_alloc_huge(sizeof(double) * Max(ra->n, 1) * nc, "weight bounds");

	for (int64 i = 0; i < ra->n; i++)
	{
		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		for (int c = 0; c < nc; c++)
		{
			const sp_value *v = &ra->values[i * model->spec.ncolumns + model->spec.comparisons[c].column];

			best[i * nc + c] = model->spec.comparisons[c].present && !v->isnull
				? sp_best_weight(model, c, ra, v) : 0;
		}
	}
	return best;
}

/* ------------------------------------------------------------------------
 * Training: m and u of the household levels
 * ------------------------------------------------------------------------ */

void
linkage_pair_list_add(PairList *l, int64 i, int64 j)
{
	if (l->n == l->size)
	{
		int64		grown = Max(l->size * 2, 1024);

		linkage_check_memory(sizeof(sp_hh_pair) * (grown - l->size), "household pairs");
		l->p = l->p ? repalloc_huge(l->p, sizeof(sp_hh_pair) * grown)
			: palloc_extended(sizeof(sp_hh_pair) * grown, MCXT_ALLOC_HUGE);
		l->size = grown;
	}
	l->p[l->n].i = i;
	l->p[l->n].j = j;
	l->n++;
}

/*
 * The pairs training estimates the household levels on: candidate pairs
 * with a record of a sampled group (or, without a group, a sampled record),
 * gathered while training reads every candidate pair anyway.  Groups are
 * drawn by the hash of their value, so the sample does not depend on the
 * order of the rows; about HH_SAMPLE_PAIRS pairs are kept.  A pair of groups
 * is in the sample with all its candidate pairs or not at all.
 */
#define HH_SAMPLE_PAIRS 3000000.0

struct HhSample
{
	sp_groups	ga;
	sp_groups	gb;
	bool		dedup;
	double		side;			/* chance that one group is drawn */
	double		share;			/* chance that a pair of groups is: 1 - (1 - side)^2 */
	uint8_t    *drawn_a;		/* per record */
	uint8_t    *drawn_b;
	PairList	pairs;
};

static uint8_t *
draw(const sp_link_spec *spec, int column, const sp_records *r, const sp_groups *g, double side)
{
	uint8_t    *drawn = linkage_alloc_huge(Max(r->n, 1), "household sample");
	uint64_t	limit = side >= 1 ? UINT64_MAX : (uint64_t) (side * 18446744073709551615.0);

	for (int64 i = 0; i < r->n; i++)
	{
		const sp_value *v = &r->values[i * spec->ncolumns + column];
		uint64_t	h;

		if (g->group_of[i] >= 0)
			h = sp_value_hash(r, v);
		else
			h = sp_fnv64(SP_FNV64_OFFSET, (const char *) &r->ids[i], sizeof(int64));
		/* one more round of mixing: FNV's high bits are weak for short values */
		h ^= h >> 33;
		h *= 0xff51afd7ed558ccdULL;
		h ^= h >> 33;
		drawn[i] = side >= 1 || h <= limit;
	}
	return drawn;
}

HhSample *
linkage_household_sample_start(const sp_link_model *model, const sp_records *ra, const sp_records *rb, bool dedup,
							   double candidates)
{
	int			column = linkage_household_column(&model->spec);
	HhSample   *s;
	double		q;

	if (column < 0)
		return NULL;
	s = palloc0(sizeof(HhSample));
	s->dedup = dedup;
	linkage_build_groups(&model->spec, column, ra, rb, dedup, &s->ga, &s->gb);
	q = Min(1.0, HH_SAMPLE_PAIRS / Max(candidates, 1.0));
	s->share = q;
	s->side = q >= 1 ? 1.0 : 1 - sqrt(1 - q);
	s->drawn_a = draw(&model->spec, column, ra, &s->ga, s->side);
	s->drawn_b = dedup ? s->drawn_a : draw(&model->spec, column, rb, &s->gb, s->side);
	return s;
}

void
linkage_household_sample_pair(HhSample *s, int64 i, int64 j)
{
	if (s->drawn_a[i] || s->drawn_b[j])
		linkage_pair_list_add(&s->pairs, i, j);
}

typedef struct HhTrain
{
	PairScorer	scorer;			/* first: linkage_pair_weight reads it through the same pointer */
	bool		dedup;
	int			anchor_column;	/* -1: no anchor */
	double		confident;
	const double *best;
	PairList	links;			/* confident candidate pairs */
	PairList	anchored;		/* candidate pairs agreeing exactly on the anchor */
	PairList	linked;			/* LINKED pairs of the examined groups, in dedup i < j */
	sp_pattern_table patterns;	/* their comparison vectors */
	/* levels among the pairs the assignment did not choose: other members */
	double		other[SP_FS_MAX_COMPARISONS][SP_FS_MAX_LEVELS];
	double		other_n[SP_FS_MAX_COMPARISONS];
	int64		others;
	int64		twins_others;	/* of which the twins evidence applies to */
} HhTrain;

static void
train_candidate(int64 i, int64 j, int rule, bool first, void *arg)
{
	HhTrain    *t = arg;
	const sp_link_spec *spec = &t->scorer.model->spec;
	int			status;

	(void) rule;
	(void) first;
	if (t->anchor_column >= 0)
	{
		const sp_value *va = &t->scorer.ra->values[i * spec->ncolumns + t->anchor_column];
		const sp_value *vb = &t->scorer.rb->values[j * spec->ncolumns + t->anchor_column];

		if (!va->isnull && !vb->isnull && va->len == vb->len &&
			memcmp(t->scorer.ra->arena + va->offset, t->scorer.rb->arena + vb->offset, va->len) == 0)
			linkage_pair_list_add(&t->anchored, i, j);
	}
	if (sp_pair_bound(t->scorer.model, t->scorer.ra, i, t->scorer.rb, j,
					  t->best + i * spec->ncomparisons, t->scorer.work, &status) < t->confident)
	{
		if (status != SP_LINK_OK)
			linkage_check(SP_LINK_NO_MEMORY);
		return;
	}
	if (linkage_pair_weight(i, j, &t->scorer) >= t->confident)
		linkage_pair_list_add(&t->links, i, j);
}

static void
train_cell(int64_t i, int64_t j, double w, sp_hh_level level, bool assigned, void *arg)
{
	HhTrain    *t = arg;
	sp_gamma	g[SP_FS_MAX_COMPARISONS];
	sp_pair_values pv;

	(void) w;
	if (level != SP_HH_LINKED && assigned)
		return;
	linkage_check(sp_compare_records(&t->scorer.model->spec, t->scorer.ra, i, t->scorer.rb, j, g, &pv,
									 t->scorer.work));
	if (!assigned)
	{
		/* another member's record: almost surely a different person of the same family */
		const sp_link_spec *spec = &t->scorer.model->spec;
		bool		applies[SP_LINK_MAX_EVIDENCE];

		for (int c = 0; c < spec->ncomparisons; c++)
			if (g[c] >= 0)
			{
				t->other[c][g[c]]++;
				t->other_n[c]++;
			}
		t->others++;
		(void) sp_evidence_weight(spec, t->scorer.ra, i, t->scorer.rb, j, false, g, pv.swapped, applies);
		for (int e = 0; e < spec->nevidence; e++)
			if (applies[e] && spec->evidence[e].kind == SP_EV_TWINS)
			{
				t->twins_others++;
				break;
			}
		return;
	}
	if (sp_pattern_table_add(&t->patterns, g, 1.0) != 0)
		linkage_check(SP_LINK_NO_MEMORY);
	{
		sp_hh_pair	p = sp_hh_pair_of(i, j, t->dedup);

		linkage_pair_list_add(&t->linked, p.i, p.j);
	}
}

static int64
records_in_groups(const sp_groups *g)
{
	int64		n = 0;

	for (int64 k = 0; k < g->ngroups; k++)
		if (g->start[k + 1] - g->start[k] >= 2)
			n += g->start[k + 1] - g->start[k];
	return n;
}

/*
 * How the household levels (sp_household.h) tell matches from
 * non-matches on the training data, appended to js as ", \"household\":
 * {...}" (nothing when the spec has no household evidence or the input
 * lacks its column).
 *
 *  UNLINKED and ALONE weigh log2(m / u):
 *  m: among pairs anchored by exact agreement on the anchor (national
 *     ID), from different groups, the share in each level.  Their own
 *     anchor does not make them LINKED: another pair of the two groups
 *     must be confident.
 *  u: from the sizes of the groups: the chance that a random pair has a
 *     record alone, or both with other members.
 *
 *  LINKED pairs are scored again among the members of their two
 *  households (sp_hh_context_weight): each comparison's u is counted among
 *  the member pairs the one-to-one assignment did not choose (different
 *  people of the same families: one family name, village and phone,
 *  children of close ages), and the share of matches among LINKED pairs is
 *  estimated by EM with m and that u fixed.  Scored against random pairs
 *  instead, a child present in only one registration would be taken for
 *  a sibling of close age in the other.  m and u of LINKED are reported
 *  (u: LINKED pairs that are not matches, over all pairs) but not used.
 *
 * Fewer than 30 anchored pairs, 30 LINKED pairs or 30 other members'
 * pairs: no estimate (the reason is given), and scoring uses no household
 * context.
 */
void
linkage_household_train(sp_link_model *model, HhSample *sample, const sp_records *ra, const sp_records *rb,
						bool dedup, double total_pairs, StringInfo js)
{
	HhTrain		t;
	sp_groups	ga,
				gb;
	sp_hh_stats stats;
	double		counts[SP_HH_LEVELS] = {0, 0, 0};
	double		anchored = 0,
				share,
				p_multi,
				m[SP_HH_LEVELS],
				u[SP_HH_LEVELS];
	sp_em_result em;
	sp_fs_model fs;
	int64		ma,
				mb;

	if (sample == NULL)
		return;
	ga = sample->ga;
	gb = sample->gb;

	memset(&t, 0, sizeof(t));
	t.scorer.model = model;
	t.scorer.ra = ra;
	t.scorer.rb = rb;
	t.scorer.work = linkage_new_work();
	t.dedup = dedup;
	t.anchor_column = model->spec.anchor >= 0 && model->spec.comparisons[model->spec.anchor].present
		? model->spec.comparisons[model->spec.anchor].column : -1;
	t.confident = log2(0.9 / 0.1);
	if (sp_pattern_table_init(&t.patterns, model->spec.ncomparisons) != 0)
		linkage_check(SP_LINK_NO_MEMORY);

	/* the model must be usable for scoring: household weights not yet */
	model->hh_enabled = false;
	t.best = linkage_best_weights(model, ra);
	for (int64 k = 0; k < sample->pairs.n; k++)
	{
		if ((k & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
		train_candidate(sample->pairs.p[k].i, sample->pairs.p[k].j, 0, true, &t);
	}
	linkage_check(sp_household_cells(&ga, &gb, dedup, t.links.p, t.links.n, t.confident, linkage_pair_weight,
									 train_cell, &t, &stats, &linkage_env));
	if (t.linked.n > 1)
		qsort(t.linked.p, t.linked.n, sizeof(sp_hh_pair), sp_hh_pair_cmp);

	for (int64 k = 0; k < t.anchored.n; k++)
	{
		sp_hh_pair	key = sp_hh_pair_of(t.anchored.p[k].i, t.anchored.p[k].j, dedup);
		sp_hh_level level;

		if (dedup && ga.group_of[key.i] >= 0 && ga.group_of[key.i] == ga.group_of[key.j])
			continue;			/* registered together: the same_group evidence speaks */
		if (t.linked.n > 0 && bsearch(&key, t.linked.p, t.linked.n, sizeof(sp_hh_pair), sp_hh_pair_cmp))
			level = SP_HH_LINKED;
		else
			level = sp_hh_plain_level(&ga, key.i, &gb, key.j);
		counts[level]++;
		anchored++;
	}

	/*
	 * u among other members; then the share of matches among LINKED pairs
	 * by EM, m fixed and that u
	 */
	for (int c = 0; c < model->spec.ncomparisons; c++)
		for (int l = 0; l < model->fs.comparisons[c].nlevels; l++)
			model->hh_u_context[c][l] = (t.other[c][l] + 1) / (t.other_n[c] + model->fs.comparisons[c].nlevels);
	fs = model->fs;
	for (int c = 0; c < model->spec.ncomparisons; c++)
		for (int l = 0; l < fs.comparisons[c].nlevels; l++)
			fs.comparisons[c].u[l] = model->hh_u_context[c][l];
	fs.prior = 0.5;
	em = sp_fs_em_share(&fs, &t.patterns, 2000, 1e-7);
	share = t.patterns.total > 0 ? em.prior : 0;
	sp_pattern_table_free(&t.patterns);

	ma = records_in_groups(&ga);
	mb = dedup ? ma : records_in_groups(&gb);
	p_multi = dedup
		? (ra->n > 1 ? ((double) ma / ra->n) * ((double) Max(ma - 1, 0) / (ra->n - 1)) : 0)
		: ((double) ma / Max(ra->n, 1)) * ((double) mb / Max(rb->n, 1));

	appendStringInfoString(js, ", \"household\": {");
	if (anchored < 30 || t.linked.n < 30 || t.others < 30)
		appendStringInfo(js, "\"disabled\": \"%s\", ",
						 anchored < 30 ? "fewer than 30 anchored pairs from different groups: m cannot be estimated"
						 : t.linked.n < 30 ? "fewer than 30 linked pairs: their share of matches cannot be estimated"
						 : "fewer than 30 pairs of other members of linked households: u among them cannot be estimated");
	else
	{
		/* the sample holds a pair of groups with probability sample->share */
		u[SP_HH_LINKED] = Max((double) t.linked.n / sample->share * (1 - share), 1.0) / Max(total_pairs, 1);
		u[SP_HH_UNLINKED] = Max(p_multi - u[SP_HH_LINKED], 1e-9);
		u[SP_HH_ALONE] = Max(1 - p_multi, 1e-9);
		for (int l = 0; l < SP_HH_LEVELS; l++)
			m[l] = (counts[l] + 1) / (anchored + SP_HH_LEVELS);
		appendStringInfoString(js, "\"levels\": [\"linked\", \"unlinked\", \"alone\"], \"m\": [");
		for (int l = 0; l < SP_HH_LEVELS; l++)
			appendStringInfo(js, "%s%.17g", l ? ", " : "", m[l]);
		appendStringInfoString(js, "], \"u\": [");
		for (int l = 0; l < SP_HH_LEVELS; l++)
			appendStringInfo(js, "%s%.17g", l ? ", " : "", u[l]);
		appendStringInfoString(js, "], \"weights\": [");
		for (int l = 0; l < SP_HH_LEVELS; l++)
			appendStringInfo(js, "%s%.4f", l ? ", " : "", log2(m[l] / u[l]));
		appendStringInfoString(js, "], ");
		appendStringInfoString(js, "\"u_context\": {");
		for (int c = 0; c < model->spec.ncomparisons; c++)
		{
			if (c)
				appendStringInfoString(js, ", ");
			escape_json(js, model->spec.comparisons[c].name);
			appendStringInfoString(js, ": [");
			for (int l = 0; l < model->fs.comparisons[c].nlevels; l++)
				appendStringInfo(js, "%s%.17g", l ? ", " : "", model->hh_u_context[c][l]);
			appendStringInfoChar(js, ']');
		}
		appendStringInfoString(js, "}, ");
		/* how often other members look like twins: their own weight in context (sp_hh_twins_weight) */
		appendStringInfo(js, "\"twins_u\": %.17g, ", (t.twins_others + 0.5) / (t.others + 1.0));
	}
	appendStringInfo(js, "\"anchored_pairs\": %.0f, \"anchored_levels\": [%.0f, %.0f, %.0f], "
					 "\"confident_pairs\": %lld, \"group_pairs\": %lld, \"group_pairs_too_large\": %lld, "
					 "\"member_pairs\": %lld, \"other_member_pairs\": %lld, \"linked_pairs\": %lld, \"linked_match_share\": %.17g, "
					 "\"records_with_others\": %.6g, \"sampled_share\": %.6g}",
					 anchored, counts[0], counts[1], counts[2], (long long) t.links.n,
					 (long long) stats.group_pairs, (long long) stats.group_pairs_too_large,
					 (long long) stats.cells, (long long) t.others, (long long) t.linked.n, share, p_multi, sample->share);
}

double
linkage_household_total(const PairScorer *s, int64 i, int64 j, double base, sp_hh_level level)
{
	sp_gamma	g[SP_FS_MAX_COMPARISONS];
	sp_pair_values pv;
	double		evidence;
	bool		applies[SP_LINK_MAX_EVIDENCE];

	if (!s->model->hh_enabled)
		return base;
	if (level != SP_HH_LINKED)
		return base + linkage_household_weight(s->model, level);
	linkage_check(sp_compare_records(&s->model->spec, s->ra, i, s->rb, j, g, &pv, s->work));
	evidence = sp_evidence_weight(&s->model->spec, s->ra, i, s->rb, j, s->ra->values == s->rb->values, g,
								  pv.swapped, applies);
	/* twins inside a re-registered household: as measured among its members */
	for (int e = 0; e < s->model->spec.nevidence; e++)
		if (applies[e] && s->model->spec.evidence[e].kind == SP_EV_TWINS)
			evidence += sp_hh_twins_weight(s->model, &s->model->spec.evidence[e]) - s->model->spec.evidence[e].weight;
	return sp_hh_context_weight(s->model, g, evidence);
}
