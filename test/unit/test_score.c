/* Unit tests of src/core/sp_score.c: match weights with term frequencies and evidence */
#include "tap.h"
#include "linkage_fixture.h"
#include "sp_score.h"

#include <math.h>

static const double jw_thresholds[1] = {0.9};

int
main(void)
{
	sp_link_model *model = calloc(1, sizeof(sp_link_model));
	sp_link_spec *s = &model->spec;
	sp_records	r;
	sp_cmp_work w;
	sp_pair_values pv;
	sp_gamma	g[SP_FS_MAX_COMPARISONS];
	int			given,
				group;
	sp_fs_comparison *fc;
	double		plain,
				common,
				rare;

	fx_spec(s);
	given = fx_comparison(s, "given_name", fx_column(s, "given_name", SP_NORM_NAME, false),
						  SP_METHOD_JARO_WINKLER, 1, jw_thresholds, false);
	group = fx_column(s, "registration_group", SP_NORM_NONE, false);
	s->evidence[s->nevidence++] = (sp_evidence) {"registered_together", SP_EV_SAME_GROUP, group, 0, 0, 0, -40, true};
	s->comparisons[given].tf_adjust = true;
	model->fs.ncomparisons = 1;
	model->fs.prior = 0.01;
	fc = &model->fs.comparisons[0];
	fc->nlevels = 3;
	fc->m[0] = 0.8;
	fc->m[1] = 0.15;
	fc->m[2] = 0.05;
	fc->u[0] = 0.02;
	fc->u[1] = 0.03;
	fc->u[2] = 0.95;

	fx_records(&r, 12, s->ncolumns);
	for (int i = 0; i < 8; i++)
		fx_text(s, &r, i, s->comparisons[given].column, "mohamed");
	fx_text(s, &r, 8, s->comparisons[given].column, "zeynab");
	fx_text(s, &r, 9, s->comparisons[given].column, "zeynab");
	fx_text(s, &r, 10, s->comparisons[given].column, "mohammed");
	fx_text(s, &r, 11, s->comparisons[given].column, "zaynab");
	fx_text(s, &r, 0, group, "h1");
	fx_text(s, &r, 1, group, "h1");
	sp_cmp_work_init(&w, &sp_link_env_malloc);

	/* without term frequencies: the level's plain weight */
	sp_compare_records(s, &r, 2, &r, 3, g, &pv, &w);
	plain = sp_comparison_weight(model, given, g[given], &pv, NULL);
	ok(fabs(plain - log2(0.8 / 0.02)) < 1e-12, "no table: log2(m/u)");
	ok(fabs(sp_pair_weight(model, g, NULL) - (log2(0.01 / 0.99) + plain)) < 1e-12, "pair weight: prior odds plus levels");

	is_int(sp_tf_build(&model->tf[given], s, s->comparisons[given].column, &r, &r, true, &sp_link_env_malloc),
		   SP_LINK_OK, "term frequencies of 12 names");
	{
		double		share;

		common = sp_comparison_weight(model, given, g[given], &pv, &share);
		ok(fabs(common - log2(0.8 / (8.0 / 12))) < 1e-12 && fabs(share - 8.0 / 12) < 1e-12,
		   "exact on mohamed: log2(m / share of mohamed), share 8 of 12");
		sp_compare_records(s, &r, 8, &r, 9, g, &pv, &w);
		rare = sp_comparison_weight(model, given, g[given], &pv, &share);
		ok(rare > common && fabs(rare - log2(0.8 / (2.0 / 12))) < 1e-12, "exact on a rare name weighs more");
		ok(sp_comparison_weight(model, given, g[given], NULL, NULL) == plain, "without the pair's values: plain");

		sp_compare_records(s, &r, 2, &r, 10, g, &pv, &w);
		is_int(g[given], 1, "mohamed / mohammed: similar");
		ok(fabs(sp_comparison_weight(model, given, 1, &pv, &share) - log2(0.15 / fmin(0.03 * (8.0 / 12) / 0.02, 1 - 1e-6))) < 1e-12 &&
		   fabs(share - 8.0 / 12) < 1e-12, "a variant of a common name: u scaled by the commoner value's share over u of exact");
		sp_compare_records(s, &r, 11, &r, 9, g, &pv, &w);
		is_int(g[given], 1, "zaynab / zeynab: similar");
		ok(fabs(sp_comparison_weight(model, given, 1, &pv, &share) - log2(0.15 / (0.03 * (2.0 / 12) / 0.02))) < 1e-12,
		   "a variant of a rare name: scaled by 2/12 over 0.02");
		ok(sp_comparison_weight(model, given, 2, &pv, &share) == sp_fs_level_weight(fc, 2) && share == -1,
		   "the lowest level is never adjusted");
		ok(sp_comparison_weight(model, given, -1, &pv, &share) == 0, "a missing value weighs nothing");
	}

	/* total: with the evidence of one relation */
	sp_compare_records(s, &r, 0, &r, 1, g, &pv, &w);
	ok(fabs(sp_pair_total(model, &r, 0, &r, 1, g, &pv) - (sp_pair_weight(model, g, &pv) - 40)) < 1e-12,
	   "registered together: 40 bits against");
	sp_compare_records(s, &r, 0, &r, 2, g, &pv, &w);
	ok(sp_pair_total(model, &r, 0, &r, 2, g, &pv) == sp_pair_weight(model, g, &pv), "not together: no evidence");

	/* the bound match_pairs prunes with is never below the total */
	{
		int			below = 0,
					status;
		double		b_common,
					b_rare;

		for (int i = 0; i < 12; i++)
			for (int j = i + 1; j < 12; j++)
			{
				double		total;

				sp_compare_records(s, &r, i, &r, j, g, &pv, &w);
				total = sp_pair_total(model, &r, i, &r, j, g, &pv);
				if (sp_pair_bound(model, &r, i, &r, j, NULL, &w, &status) < total - 1e-9 || status != SP_LINK_OK)
					below++;
			}
		is_int(below, 0, "bound >= total for every pair of the 12 records");
		b_common = sp_pair_bound(model, &r, 2, &r, 3, NULL, &w, &status);
		b_rare = sp_pair_bound(model, &r, 8, &r, 9, NULL, &w, &status);
		ok(b_common < b_rare, "a common name bounds lower than a rare one (%g < %g)", b_common, b_rare);
		sp_compare_records(s, &r, 8, &r, 9, g, &pv, &w);
		ok(fabs(b_rare - sp_pair_total(model, &r, 8, &r, 9, g, &pv)) < 1e-9, "exact rare name: the bound is the total");
	}

	{
		/* twins evidence inside a re-registered household (sp_hh_twins_weight) */
		sp_link_model *hm = calloc(1, sizeof(sp_link_model));
		sp_evidence ev = {"twins", SP_EV_TWINS, 0, 1, 0, 2, -15, true};
		sp_evidence swapped = {"names_swapped", SP_EV_SWAPPED, 0, 0, 0, 0, -4, true};

		hm->spec.comparisons[0].nlevels = SP_DATE_NLEVELS;
		hm->spec.comparisons[2].nlevels = 3;
		hm->hh_u_context[1][SP_DATE_LEVEL_EXACT] = 0.004;
		hm->hh_u_context[2][2] = 0.9;
		ok(sp_hh_twins_weight(hm, &ev) == -15, "not measured: the spec's weight");
		hm->hh_twins_u = 0.004 * 0.9;
		ok(fabs(sp_hh_twins_weight(hm, &ev)) < 1e-12, "members share a birth date with different names as often as independence says: no correction");
		hm->hh_twins_u = 0.004 * 0.9 * 8;
		ok(fabs(sp_hh_twins_weight(hm, &ev) + 3) < 1e-12, "eight times as often (twins among members): -3 bits");
		hm->hh_twins_u = 0.004 * 0.9 / 8;
		ok(sp_hh_twins_weight(hm, &ev) == 0, "rarer than independence: never evidence for a match");
		hm->hh_u_context[1][SP_DATE_LEVEL_EXACT] = 1e-6;
		hm->hh_twins_u = 0.5;
		ok(sp_hh_twins_weight(hm, &ev) == -15, "never stronger than the spec's weight (-19 measured)");
		ok(sp_hh_twins_weight(hm, &swapped) == -4, "other evidence keeps its weight");
		free(hm);
	}

	free(model->tf[given].terms);
	free(model);
	sp_cmp_work_free(&w);
	fx_free(&r);
	return done_testing();
}
