/*
 * linkage_train.c - sp.train_linkage_model: u from random pairs (and pairs
 * of one family for locality), m from anchored and labelled pairs and by EM
 * over blocked pairs rule by rule, guard rails on m, the prior rule by
 * rule, and term frequencies for scoring a few records later.  The
 * samplers and EM are in src/core (sp_sample, sp_linkage).
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"

#include "linkage_internal.h"

PG_FUNCTION_INFO_V1(sp_train_linkage_model);

#define TRAIN_MAX_PAIRS 5000000.0

typedef struct TrainState
{
	const sp_link_spec *spec;
	const sp_records *ra;
	const sp_records *rb;
	sp_pattern_table *by_rule;	/* one table per rule, its own columns left out */
	sp_pattern_table *first_by_rule;	/* the same, pairs no earlier rule produced */
	sp_pattern_table *all;		/* every candidate pair once */
	bool		excluded[SP_LINK_MAX_RULES][SP_FS_MAX_COMPARISONS];
	bool		refine_excluded[SP_LINK_MAX_RULES][SP_LINK_MAX_REFINE][SP_FS_MAX_COMPARISONS];
	double		keep;			/* sampling probability of a candidate pair */
	sp_cmp_work *work;
	bool		dedup;
	double		evidence_pairs; /* left out: evidence says different people */
	/* levels among anchored pairs (exact agreement on spec->anchor) */
	double		anchor_pairs;
	double		anchor_counts[SP_FS_MAX_COMPARISONS][SP_FS_MAX_LEVELS];
	bool		anchor_excluded[SP_FS_MAX_COMPARISONS];
	/* levels of the anchor among pairs agreeing exactly on spec->anchor_m_from */
	double		anchor2_pairs;
	double		anchor2_counts[SP_FS_MAX_LEVELS];
	HhSample   *households;		/* pairs of groups for the household levels, or NULL */
} TrainState;

static void
train_pair(int64 i, int64 j, int rule, bool first, void *arg)
{
	TrainState *st = arg;
	sp_gamma	g[SP_FS_MAX_COMPARISONS];

	if (first && st->households)
		linkage_household_sample_pair(st->households, i, j);
	if (!sp_keep_pair(i, j, st->keep))
		return;
	linkage_check(sp_compare_records(st->spec, st->ra, i, st->rb, j, g, NULL, st->work));
	/* pairs the evidence rules call different people teach nothing about matches */
	if (sp_evidence_weight(st->spec, st->ra, i, st->rb, j, st->dedup, g, false, NULL) < 0)
	{
		if (first)
			st->evidence_pairs++;
		return;
	}
	if (first && st->spec->nanchor_m_from > 0 && g[st->spec->anchor] >= 0)
	{
		bool		all_exact = true;

		for (int k = 0; k < st->spec->nanchor_m_from; k++)
			all_exact &= g[st->spec->anchor_m_from[k]] == 0;
		if (all_exact)
		{
			st->anchor2_pairs++;
			st->anchor2_counts[g[st->spec->anchor]]++;
		}
	}
	if (first && st->spec->anchor >= 0 && g[st->spec->anchor] == 0)
	{
		st->anchor_pairs++;
		for (int c = 0; c < st->spec->ncomparisons; c++)
			if (!st->anchor_excluded[c] && g[c] >= 0)
				st->anchor_counts[c][g[c]]++;
	}
	if (first && sp_pattern_table_add(st->all, g, 1) < 0)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory counting comparison patterns")));
	/* a rule's own keys say nothing about matches among the pairs it produces */
	for (int c = 0; c < st->spec->ncomparisons; c++)
		if (st->excluded[rule][c])
			g[c] = -1;
	/* nor do the refine keys of a block that was split (common names: district, year) */
	if (st->ra->refine_level)
	{
		int			level = st->ra->refine_level[i * st->spec->nrules + rule];

		for (int p = 0; p < level; p++)
			for (int c = 0; c < st->spec->ncomparisons; c++)
				if (st->refine_excluded[rule][p][c])
					g[c] = -1;
	}
	if (sp_pattern_table_add(&st->by_rule[rule], g, 1) < 0)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory counting comparison patterns")));
	if (first && sp_pattern_table_add(&st->first_by_rule[rule], g, 1) < 0)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory counting comparison patterns")));
}

static bool
same_u_within(const sp_link_comparison *a, const sp_link_comparison *b)
{
	if (a->nu_within != b->nu_within)
		return false;
	for (int k = 0; k < a->nu_within; k++)
		if (a->u_within[k] != b->u_within[k])
			return false;
	return true;
}

static char *
quote_json_cstr(const char *str)
{
	StringInfoData b;

	initStringInfo(&b);
	escape_json(&b, str);
	return b.data;
}

/* Labelled pairs (reviewers' decisions): comparison vectors and verdicts. */
typedef struct Labels
{
	int64		n;
	int64		matches;
	int64		non_matches;
	int64		skipped;		/* a record of the pair is not in the relation */
	sp_gamma   *gammas;			/* n * SP_FS_MAX_COMPARISONS */
	double	   *evidence;		/* weight of the evidence rules per pair */
	bool	   *is_match;
} Labels;

/*
 * Read labelled pairs (left_id, right_id, is_match) and compare their
 * records, read by id from left_src (and right_src when linking two
 * relations).  Called before the training data is loaded: loading sets
 * which spec columns are present, and the training data must have the last
 * word.
 */
static void
load_labels(sp_link_spec *spec, Oid labels, Oid left_src, Oid right_src, bool dedup, Labels *out, sp_cmp_work *w)
{
	MemoryContext outer = CurrentMemoryContext;
	int64	   *lid,
			   *rid;
	bool	   *verdict;
	uint64		n;
	sp_records	rl,
				rr;
	Datum	   *dl,
			   *dr;
	int64		ndl = 0,
				ndr = 0;

	memset(out, 0, sizeof(*out));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	{
		Oid			argtypes[1] = {OIDOID};
		Datum		args[1] = {ObjectIdGetDatum(labels)};
		bool		isnull;

		if (SPI_execute_with_args("SELECT count(*) FROM pg_catalog.pg_attribute WHERE attrelid OPERATOR(pg_catalog.=) $1 "
								  "AND attname OPERATOR(pg_catalog.=) ANY ('{left_id,right_id,is_match}') AND NOT attisdropped",
								  1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "reading the columns of the labels failed");
		if (DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) != 3)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("labels relation %s needs the columns left_id, right_id and is_match", get_rel_name(labels)),
					 errdetail("Each row is a pair someone decided: the ids of its two records and whether they are the same person.")));
	}
	{
		char	   *sql = psprintf("SELECT left_id::bigint, right_id::bigint, is_match::boolean FROM %s",
								   DatumGetCString(DirectFunctionCall1(regclassout, ObjectIdGetDatum(labels))));

		if (SPI_execute(sql, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "reading the labels failed");
	}
	n = SPI_processed;
	{
		MemoryContext spi = MemoryContextSwitchTo(outer);

		lid = linkage_alloc_huge(sizeof(int64) * Max(n, 1), "labels");
		rid = linkage_alloc_huge(sizeof(int64) * Max(n, 1), "labels");
		verdict = linkage_alloc_huge(sizeof(bool) * Max(n, 1), "labels");
		for (uint64 k = 0; k < n; k++)
		{
			bool		n1,
						n2,
						n3;

			lid[k] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[k], SPI_tuptable->tupdesc, 1, &n1));
			rid[k] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[k], SPI_tuptable->tupdesc, 2, &n2));
			verdict[k] = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[k], SPI_tuptable->tupdesc, 3, &n3));
			if (n1 || n2 || n3)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("labels relation %s has a NULL left_id, right_id or is_match", get_rel_name(labels)),
						 errdetail("Every labelled pair names two records and says whether they are the same person.")));
		}
		MemoryContextSwitchTo(spi);
	}
	SPI_finish();

	dl = palloc(sizeof(Datum) * 2 * Max(n, 1));
	dr = palloc(sizeof(Datum) * Max(n, 1));
	for (uint64 k = 0; k < n; k++)
	{
		dl[ndl++] = Int64GetDatum(lid[k]);
		if (dedup)
			dl[ndl++] = Int64GetDatum(rid[k]);
		else
			dr[ndr++] = Int64GetDatum(rid[k]);
	}
	linkage_load_records(spec, left_src, &rl, "labelled", construct_array(dl, (int) ndl, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	if (dedup)
		rr = rl;
	else
		linkage_load_records(spec, right_src, &rr, "labelled right",
							 construct_array(dr, (int) ndr, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));

	out->gammas = linkage_alloc_huge(sizeof(sp_gamma) * SP_FS_MAX_COMPARISONS * Max(n, 1), "labels");
	out->evidence = linkage_alloc_huge(sizeof(double) * Max(n, 1), "labels");
	out->is_match = linkage_alloc_huge(sizeof(bool) * Max(n, 1), "labels");
	for (uint64 k = 0; k < n; k++)
	{
		int64		i = linkage_record_index(&rl, lid[k]),
					j = linkage_record_index(&rr, rid[k]);
		sp_gamma   *g = out->gammas + out->n * SP_FS_MAX_COMPARISONS;
		sp_pair_values pv;

		if (i < 0 || j < 0 || (dedup && i == j))
		{
			out->skipped++;
			continue;
		}
		linkage_check(sp_compare_records(spec, &rl, i, &rr, j, g, &pv, w));
		out->evidence[out->n] = sp_evidence_weight(spec, &rl, i, &rr, j, dedup, g, pv.swapped, NULL);
		out->is_match[out->n] = verdict[k];
		if (verdict[k])
			out->matches++;
		else
			out->non_matches++;
		out->n++;
	}
}

/*
 * sp.train_linkage_model(name text, source regclass, right_source regclass DEFAULT NULL)
 *   RETURNS jsonb
 */
Datum
sp_train_linkage_model(PG_FUNCTION_ARGS)
{
	char	   *name;
	Oid			left,
				right;
	bool		dedup;
	sp_link_model model;
	sp_records	ra,
				rb;
	sp_cmp_work *work = linkage_new_work();
	double		total_pairs;
	int64		samples;
	double		u_counts[SP_FS_MAX_COMPARISONS][SP_FS_MAX_LEVELS];
	double		u_total[SP_FS_MAX_COMPARISONS];
	TrainState	st;
	Progress	progress;
	StringInfoData js;
	StringInfoData u_within_js;
	StringInfoData capped_js;
	StringInfoData blocks_js;
	Oid			labels_rel,
				label_source;
	Labels		labels;
	double		label_m[SP_FS_MAX_COMPARISONS][SP_FS_MAX_LEVELS];
	double		label_n[SP_FS_MAX_COMPARISONS];
	int64		label_fn = 0,
				label_fp = 0;
	/* results of the PG_TRY block live behind a pointer, safe from longjmp */
	struct
	{
		sp_em_result em;
		double		candidates;
		size_t		npatterns;
		double		keep;
		int			rules_trained;
		int			rules_converged;
		int			iterations;
		sp_pattern_table *by_rule;
		sp_pattern_table *first_by_rule;
		sp_pattern_table *all;
		double		evidence_pairs;
		double		anchor_pairs;
		int			anchored;
		bool		anchored_c[SP_FS_MAX_COMPARISONS];
		sp_block_stats stats[SP_LINK_MAX_RULES];
		double		matches;
		int			share_unconverged;
		double		anchor2_pairs;
	}		   *res = palloc0(sizeof(*res));

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model name and source relation are required")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	left = PG_GETARG_OID(1);
	right = linkage_arg_regclass(fcinfo, 2);
	labels_rel = PG_NARGS() > 3 ? linkage_arg_regclass(fcinfo, 3) : InvalidOid;
	label_source = PG_NARGS() > 4 ? linkage_arg_regclass(fcinfo, 4) : InvalidOid;
	dedup = !OidIsValid(right);
	memset(&labels, 0, sizeof(labels));

	linkage_load_model(name, &model);
	if (OidIsValid(labels_rel))
		load_labels(&model.spec, labels_rel, OidIsValid(label_source) ? label_source : left,
					right, dedup, &labels, work);
	linkage_load_sides(&model.spec, left, right, dedup, "source", "right source", &ra, &rb, res->stats);
	linkage_report_dropped(&model.spec, res->stats, "training");
	total_pairs = dedup ? (double) ra.n * (ra.n - 1) / 2 : (double) ra.n * rb.n;
	if (total_pairs < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("training needs at least two records, got %lld", (long long) (ra.n + (dedup ? 0 : rb.n)))));

	/* u: level frequencies among random pairs (almost all non-matches) */
	memset(u_counts, 0, sizeof(u_counts));
	memset(u_total, 0, sizeof(u_total));
	samples = (int64) Min(total_pairs, (double) SP_U_RANDOM_SAMPLES);
	linkage_check(sp_u_random_pairs(&model.spec, &ra, &rb, dedup, samples, u_counts, u_total, work, &linkage_env));

	/* u conditioned on agreement on other columns (locality among same-name people) */
	initStringInfo(&u_within_js);
	for (int c = 0; c < model.spec.ncomparisons; c++)
	{
		sp_link_comparison *cmp = &model.spec.comparisons[c];
		double		counts[SP_FS_MAX_COMPARISONS][SP_FS_MAX_LEVELS];
		double		pairs;
		bool		cols_present = cmp->present;
		int			earlier = -1;

		if (cmp->nu_within == 0)
			continue;
		for (int k = 0; k < cmp->nu_within; k++)
			cols_present &= model.spec.columns[cmp->u_within[k]].present;
		if (!cols_present)
			continue;
		for (int k = 0; k < c && earlier < 0; k++)
			if (model.spec.comparisons[k].nu_within > 0 && same_u_within(&model.spec.comparisons[k], cmp))
				earlier = k;
		if (earlier >= 0)
			continue;			/* done with the earlier comparison's sample */
		memset(counts, 0, sizeof(counts));
		pairs = sp_conditional_level_counts(&model.spec, &ra, &rb, dedup, cmp->u_within, cmp->nu_within, counts, work,
											&linkage_env);
		linkage_check(pairs < 0 ? SP_LINK_NO_MEMORY : SP_LINK_OK);
		for (int k = c; k < model.spec.ncomparisons; k++)
		{
			double		n = 0;

			if (k != c && !(model.spec.comparisons[k].nu_within > 0 && same_u_within(&model.spec.comparisons[k], cmp)))
				continue;
			for (int l = 0; l < model.spec.comparisons[k].nlevels; l++)
				n += counts[k][l];
			if (n < 100)
				continue;		/* too few pairs: random pairs it is */
			for (int l = 0; l < model.spec.comparisons[k].nlevels; l++)
				u_counts[k][l] = counts[k][l];
			u_total[k] = n;
			appendStringInfo(&u_within_js, "%s", u_within_js.len ? ", " : "");
			escape_json(&u_within_js, model.spec.comparisons[k].name);
			appendStringInfo(&u_within_js, ": {\"pairs\": %.0f, \"sampled\": %.0f}", pairs, n);
		}
	}

	memset(&model.fs, 0, sizeof(model.fs));
	model.fs.ncomparisons = model.spec.ncomparisons;
	for (int c = 0; c < model.spec.ncomparisons; c++)
	{
		sp_link_comparison *cmp = &model.spec.comparisons[c];
		sp_fs_comparison *fc = &model.fs.comparisons[c];

		fc->nlevels = cmp->nlevels;
		for (int l = 0; l < cmp->nlevels; l++)
		{
			/* add-one smoothing: a level never seen among random pairs is rare, not impossible */
			fc->u[l] = (u_counts[c][l] + 1.0) / (u_total[c] + cmp->nlevels);
			/* starting m: most matches agree exactly, the rest spread over the other levels */
			fc->m[l] = l == 0 ? 0.9 : 0.1 / (cmp->nlevels - 1);
		}
	}
	model.fs.prior = 0.3;

	/*
	 * m by EM rule by rule, as Splink does: among the pairs a rule produces,
	 * the comparisons of its own keys agree by construction, so they are left
	 * out and estimated from the other rules.  Estimates of one comparison
	 * from several rules are averaged, weighted by the matches each rule
	 * found.  Then the share of matches among all candidate pairs, m and u
	 * fixed, gives the prior.
	 */
	initStringInfo(&capped_js);
	res->by_rule = palloc0(sizeof(sp_pattern_table) * SP_LINK_MAX_RULES);
	res->first_by_rule = palloc0(sizeof(sp_pattern_table) * SP_LINK_MAX_RULES);
	res->all = palloc0(sizeof(sp_pattern_table));
	for (int k = 0; k < model.spec.nrules; k++)
		if (sp_pattern_table_init(&res->by_rule[k], model.spec.ncomparisons) < 0 ||
			sp_pattern_table_init(&res->first_by_rule[k], model.spec.ncomparisons) < 0)
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	if (sp_pattern_table_init(res->all, model.spec.ncomparisons) < 0)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	st.households = NULL;
	PG_TRY();
	{
		double		m_sum[SP_FS_MAX_COMPARISONS][SP_FS_MAX_LEVELS];
		double		w_sum[SP_FS_MAX_COMPARISONS];
		sp_fs_model start = model.fs;

		linkage_start_progress(&progress, "training", &model.spec, &ra, &rb, dedup);
		st.spec = &model.spec;
		st.ra = &ra;
		st.rb = &rb;
		st.by_rule = res->by_rule;
		st.first_by_rule = res->first_by_rule;
		st.all = res->all;
		st.work = work;
		st.keep = Min(1.0, TRAIN_MAX_PAIRS / Max(progress.estimate, 1.0));
		st.households = linkage_household_sample_start(&model, &ra, &rb, dedup, progress.estimate);
		st.dedup = dedup;
		st.evidence_pairs = 0;
		st.anchor_pairs = 0;
		memset(st.anchor_counts, 0, sizeof(st.anchor_counts));
		st.anchor2_pairs = 0;
		memset(st.anchor2_counts, 0, sizeof(st.anchor2_counts));
		sp_anchor_exclusions(&model.spec, st.anchor_excluded);
		for (int k = 0; k < model.spec.nrules; k++)
		{
			sp_rule_exclusions(&model.spec, k, st.excluded[k]);
			for (int p = 0; p < model.spec.rules[k].nrefine; p++)
				sp_part_exclusions(&model.spec, &model.spec.rules[k].refine[p], st.refine_excluded[k][p]);
		}
		linkage_for_each_candidate(&model.spec, &ra, &rb, dedup, false, train_pair, &st, &progress);
		res->candidates = (double) res->all->total / st.keep;
		res->npatterns = res->all->npatterns;
		res->keep = st.keep;
		res->evidence_pairs = st.evidence_pairs / st.keep;
		res->anchor_pairs = st.anchor_pairs / st.keep;

		/*
		 * m from anchored pairs: pairs that agree exactly on an independent
		 * identifier (the national ID) are matches whatever their family
		 * and village, so the levels of the other comparisons among them
		 * are m without EM's confusion of "same family, same village" with
		 * "same person".  Their bias: only people with the identifier are
		 * in them (adults, where IDs are for adults); a comparison with
		 * fewer than 30 anchored pairs is left to EM.  EM then estimates
		 * the rest with these held fixed.
		 */
		/* reviewers' accepted pairs are matches too, whatever their identifiers */
		memset(label_m, 0, sizeof(label_m));
		memset(label_n, 0, sizeof(label_n));
		for (int64 k = 0; k < labels.n; k++)
			if (labels.is_match[k])
				for (int c = 0; c < model.spec.ncomparisons; c++)
				{
					sp_gamma	g = labels.gammas[k * SP_FS_MAX_COMPARISONS + c];

					if (g >= 0)
					{
						label_m[c][g]++;
						label_n[c]++;
					}
				}
		if (model.spec.anchor >= 0 || labels.matches > 0)
			for (int c = 0; c < model.spec.ncomparisons; c++)
			{
				double		n = label_n[c];
				sp_fs_comparison *fc = &start.comparisons[c];
				bool		anchored = model.spec.anchor >= 0 && !st.anchor_excluded[c];

				if (!model.spec.comparisons[c].present || c == model.spec.anchor)
					continue;
				for (int l = 0; l < fc->nlevels && anchored; l++)
					n += st.anchor_counts[c][l];
				if (n < 30)
					continue;
				for (int l = 0; l < fc->nlevels; l++)
					fc->m[l] = ((anchored ? st.anchor_counts[c][l] : 0) + label_m[c][l] + 1.0) / (n + fc->nlevels);
				fc->m_fixed = 1;
				res->anchored_c[c] = true;
				res->anchored++;
			}

		/*
		 * The anchor's own m, from pairs that agree exactly on every
		 * comparison of anchor_m_from (names and full birth date): how often
		 * such pairs, matches but for rare namesakes, disagree on the ID.
		 */
		if (model.spec.anchor >= 0 && st.anchor2_pairs + label_n[model.spec.anchor] >= 30)
		{
			sp_fs_comparison *fc = &start.comparisons[model.spec.anchor];
			double		n = st.anchor2_pairs + label_n[model.spec.anchor];

			for (int l = 0; l < fc->nlevels; l++)
				fc->m[l] = (st.anchor2_counts[l] + label_m[model.spec.anchor][l] + 1.0) / (n + fc->nlevels);
			fc->m_fixed = 1;
			res->anchored_c[model.spec.anchor] = true;
			res->anchored++;
		}
		res->anchor2_pairs = st.anchor2_pairs / st.keep;

		memset(m_sum, 0, sizeof(m_sum));
		memset(w_sum, 0, sizeof(w_sum));
		for (int k = 0; k < model.spec.nrules; k++)
		{
			sp_fs_model mk = start;
			sp_em_result ek;
			double		weight;

			if (res->by_rule[k].total == 0)
				continue;
			ek = sp_fs_em(&mk, &res->by_rule[k], 2000, 1e-6);
			res->rules_trained++;
			if (ek.converged)
				res->rules_converged++;
			res->iterations = Max(res->iterations, ek.iterations);
			weight = ek.prior * (double) res->by_rule[k].total;
			if (weight <= 0)
				continue;
			for (int c = 0; c < model.spec.ncomparisons; c++)
			{
				if (st.excluded[k][c])
					continue;
				for (int l = 0; l < mk.comparisons[c].nlevels; l++)
					m_sum[c][l] += weight * mk.comparisons[c].m[l];
				w_sum[c] += weight;
			}
		}
		for (int c = 0; c < model.spec.ncomparisons; c++)
		{
			if (res->anchored_c[c])
				model.fs.comparisons[c] = start.comparisons[c];
			else if (w_sum[c] > 0)
				for (int l = 0; l < model.fs.comparisons[c].nlevels; l++)
					model.fs.comparisons[c].m[l] = m_sum[c][l] / w_sum[c];
			model.fs.comparisons[c].m_fixed = 0;
			/*
			 * Guard rails on the levels that mean "different", unless 30 or
			 * more labelled matches show such a level is that common.
			 */
			{
				double		caps[SP_FS_MAX_LEVELS];

				memcpy(caps, model.spec.comparisons[c].m_max, sizeof(caps));
				/* m counted among anchored or labelled matches is data about matches: not capped */
				if (res->anchored_c[c])
					for (int l = 0; l < model.fs.comparisons[c].nlevels; l++)
						caps[l] = 1.0;
				if (label_n[c] >= 30)
					for (int l = 0; l < model.fs.comparisons[c].nlevels; l++)
						caps[l] = Max(caps[l], (label_m[c][l] + 1.0) / (label_n[c] + model.fs.comparisons[c].nlevels));
				model.spec.comparisons[c].m_max_used_labels = label_n[c] >= 30;
				memcpy(model.spec.comparisons[c].m_max_effective, caps, sizeof(caps));
			}
			if (sp_fs_cap_m(&model.fs.comparisons[c], model.spec.comparisons[c].m_max_effective) > 0)
			{
				appendStringInfo(&capped_js, "%s", capped_js.len ? ", " : "");
				escape_json(&capped_js, model.spec.comparisons[c].name);
			}
		}
		/*
		 * The prior, rule by rule: the share of matches among the pairs a
		 * rule produces first, its own keys left out (they agree by
		 * construction, and their u, measured among random pairs, would
		 * make every pair of a name block look like a match).  The matches
		 * of all rules, divided by all pairs, are the prior.
		 */
		res->matches = 0;
		for (int k = 0; k < model.spec.nrules; k++)
		{
			sp_em_result ek;

			if (res->first_by_rule[k].total == 0)
				continue;
			ek = sp_fs_em_share(&model.fs, &res->first_by_rule[k], 2000, 1e-7);
			res->matches += ek.prior * (double) res->first_by_rule[k].total;
			res->em.iterations = Max(res->em.iterations, ek.iterations);
			if (!ek.converged)
				res->share_unconverged++;
		}
		res->em.converged = res->share_unconverged == 0;
		res->em.prior = res->all->total > 0 ? res->matches / (double) res->all->total : 0;
	}
	PG_FINALLY();
	{
		for (int k = 0; k < model.spec.nrules; k++)
		{
			sp_pattern_table_free(&res->by_rule[k]);
			sp_pattern_table_free(&res->first_by_rule[k]);
		}
		sp_pattern_table_free(res->all);
	}
	PG_END_TRY();

	/* the prior is for any pair, not just blocked ones */
	model.fs.prior = Min(Max(res->em.prior * res->candidates / total_pairs, 1e-12), 1 - 1e-6);

	/* how the new model scores the reviewers' decisions (plain m/u, no term frequencies) */
	for (int64 k = 0; k < labels.n; k++)
	{
		double		w = sp_pair_weight(&model, labels.gammas + k * SP_FS_MAX_COMPARISONS, NULL) + labels.evidence[k];

		if (labels.is_match[k] && w < 0)
			label_fn++;
		else if (!labels.is_match[k] && w >= 0)
			label_fp++;
	}

	initStringInfo(&blocks_js);
	for (int k = 0; k < model.spec.nrules; k++)
	{
		if (model.spec.rules[k].max_block == 0 || !model.spec.rules[k].present)
			continue;
		appendStringInfo(&blocks_js, "%s{\"rule\": %d, \"refined_blocks\": %lld, \"blocks_left_out\": %lld, "
						 "\"records_left_out\": %lld, \"pairs_left_out\": %.0f}",
						 blocks_js.len ? ", " : "", k + 1, (long long) res->stats[k].refined_blocks,
						 (long long) res->stats[k].dropped_blocks, (long long) res->stats[k].dropped_records,
						 res->stats[k].dropped_pairs);
	}
	initStringInfo(&js);
	appendStringInfo(&js, "{\"prior\": %.17g, \"comparisons\": {", model.fs.prior);
	for (int c = 0; c < model.spec.ncomparisons; c++)
	{
		sp_link_comparison *cmp = &model.spec.comparisons[c];
		sp_fs_comparison *fc = &model.fs.comparisons[c];

		if (c)
			appendStringInfoString(&js, ", ");
		escape_json(&js, cmp->name);
		appendStringInfoString(&js, ": {\"m\": [");
		for (int l = 0; l < cmp->nlevels; l++)
			appendStringInfo(&js, "%s%.17g", l ? ", " : "", fc->m[l]);
		appendStringInfoString(&js, "], \"u\": [");
		for (int l = 0; l < cmp->nlevels; l++)
			appendStringInfo(&js, "%s%.17g", l ? ", " : "", fc->u[l]);
		appendStringInfo(&js, "], \"present\": %s}", cmp->present ? "true" : "false");
	}
	appendStringInfo(&js, "}, \"training\": {\"records\": %lld, \"right_records\": %lld, \"u_sample_pairs\": %lld, "
					 "\"candidate_pairs\": %.0f, \"pairs_sampled_share\": %.6g, \"patterns\": %zu, "
					 "\"rules_trained\": %d, \"rules_converged\": %d, \"em_iterations\": %d, "
					 "\"em_converged\": %s, \"match_share_in_blocks\": %.6g, "
					 "\"pairs_left_out_by_evidence\": %.0f, \"anchor\": %s, \"anchored_pairs\": %.0f, "
					 "\"comparisons_anchored\": %d, \"anchor_m_pairs\": %.0f, \"u_within\": {%s}, \"m_capped\": [%s], \"blocks\": [%s], "
					 "\"labels\": {\"matches\": %lld, \"non_matches\": %lld, \"skipped\": %lld, "
					 "\"matches_scored_below_half\": %lld, \"non_matches_scored_at_or_above_half\": %lld}}}",
					 (long long) ra.n, (long long) (dedup ? 0 : rb.n), (long long) samples, res->candidates,
					 res->keep, res->npatterns, res->rules_trained, res->rules_converged,
					 Max(res->iterations, res->em.iterations),
					 (res->rules_converged == res->rules_trained && res->em.converged) ? "true" : "false",
					 res->em.prior, res->evidence_pairs,
					 model.spec.anchor >= 0 ? quote_json_cstr(model.spec.comparisons[model.spec.anchor].name) : "null",
					 res->anchor_pairs, res->anchored, res->anchor2_pairs, u_within_js.data, capped_js.data, blocks_js.data,
					 (long long) labels.matches, (long long) labels.non_matches, (long long) labels.skipped,
					 (long long) label_fn, (long long) label_fp);

	/*
	 * Term frequencies of the training data, for scoring that reads only a
	 * few records (the duplicate check at registration): how many records
	 * had each value seen at least twice, and how many had a value at all.
	 * sp.train_linkage_model moves them into sp_internal.linkage_term_frequency.
	 */
	{
		bool		any = false;

		js.len--;				/* reopen the root object */
		js.data[js.len] = '\0';
		/* the counts describe this relation: scoring another one does not use them */
		appendStringInfoString(&js, ", \"tf_source\": ");
		escape_json(&js, dedup ? DatumGetCString(DirectFunctionCall1(regclassout, ObjectIdGetDatum(left))) : "");
		appendStringInfoString(&js, ", \"tf_records\": {");
		for (int c = 0; c < model.spec.ncomparisons; c++)
			if (model.spec.comparisons[c].tf_adjust && model.spec.comparisons[c].present)
			{
				linkage_check(sp_tf_build(&model.tf[c], &model.spec, model.spec.comparisons[c].column, &ra, &rb, dedup,
										  &linkage_env));
				appendStringInfoString(&js, any ? ", " : "");
				escape_json(&js, model.spec.comparisons[c].name);
				appendStringInfo(&js, ": %lld", (long long) model.tf[c].n);
				any = true;
			}
		appendStringInfoString(&js, "}, \"term_frequencies\": {");
		any = false;
		for (int c = 0; c < model.spec.ncomparisons; c++)
		{
			const sp_tf_table *tf = &model.tf[c];
			bool		first = true;

			if (!(model.spec.comparisons[c].tf_adjust && model.spec.comparisons[c].present))
				continue;
			appendStringInfoString(&js, any ? ", " : "");
			escape_json(&js, model.spec.comparisons[c].name);
			appendStringInfoString(&js, ": [");
			for (int64 t = 0; t < tf->distinct; t++)
			{
				if (tf->terms[t].count < 2)
					continue;
				appendStringInfo(&js, "%s[%lld, %u]", first ? "" : ", ",
								 (long long) (int64) tf->terms[t].hash, tf->terms[t].count);
				first = false;
			}
			appendStringInfoChar(&js, ']');
			any = true;
		}
		appendStringInfoChar(&js, '}');
		/* household context, scored with the model just trained */
		linkage_household_train(&model, st.households, &ra, &rb, dedup, total_pairs, &js);
		appendStringInfoChar(&js, '}');
	}

	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(js.data)));
}
