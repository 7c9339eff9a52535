/*
 * sp_score.c - match weights of pairs of records.
 */
#include "sp_score.h"

#include <math.h>

static double
max2(double a, double b)
{
	return a > b ? a : b;
}

static double
min2(double a, double b)
{
	return a < b ? a : b;
}

double
sp_comparison_weight(const sp_link_model *model, int c, int level, const sp_pair_values *pv, double *share)
{
	const sp_fs_comparison *fc = &model->fs.comparisons[c];

	if (share)
		*share = -1;
	if (level >= 0 && level < fc->nlevels - 1 && pv && model->spec.comparisons[c].tf_adjust && model->tf[c].terms)
	{
		double		tf = sp_tf_value_share(&model->tf[c], pv->ra, pv->left[c]);
		double		m = max2(min2(fc->m[level], 1 - 1e-6), 1e-6);

		if (level == 0)
		{
			if (share)
				*share = tf;
			return log2(m / tf);
		}
		else
		{
			double		tf_right = sp_tf_value_share(&model->tf[c], pv->rb, pv->right[c]);
			double		ratio = max2(tf, tf_right) / max2(fc->u[0], 1e-12);
			double		u = max2(min2(fc->u[level] * max2(ratio, 1.0), 1 - 1e-6), 1e-12);

			if (share && ratio > 1.0)
				*share = max2(tf, tf_right);
			return log2(m / u);
		}
	}
	return sp_fs_level_weight(fc, level);
}

double
sp_pair_weight(const sp_link_model *model, const sp_gamma *g, const sp_pair_values *pv)
{
	double		prior = max2(min2(model->fs.prior, 1 - 1e-6), 1e-300);
	double		w = log2(prior / (1 - prior));

	for (int c = 0; c < model->spec.ncomparisons; c++)
		w += sp_comparison_weight(model, c, g[c], pv, NULL);
	return w;
}

double
sp_pair_total(const sp_link_model *model, const sp_records *ra, int64_t i, const sp_records *rb, int64_t j,
			  const sp_gamma *g, const sp_pair_values *pv)
{
	return sp_pair_weight(model, g, pv) +
		sp_evidence_weight(&model->spec, ra, i, rb, j, ra->values == rb->values, g, pv->swapped, NULL);
}
