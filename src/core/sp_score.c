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

/* The most comparison c can weigh when the left record's value is v (term frequencies applied). */
double
sp_best_weight(const sp_link_model *model, int c, const sp_records *ra, const sp_value *v)
{
	const sp_fs_comparison *fc = &model->fs.comparisons[c];
	const sp_link_comparison *cmp = &model->spec.comparisons[c];
	double		best = -INFINITY;

	for (int l = 0; l < fc->nlevels; l++)
	{
		double		w = sp_fs_level_weight(fc, l);

		if (l < fc->nlevels - 1 && cmp->tf_adjust && model->tf[c].terms && v)
		{
			/* as sp_comparison_weight: the right value can only make it commoner */
			double		tf = sp_tf_value_share(&model->tf[c], ra, v);
			double		m = max2(min2(fc->m[l], 1 - 1e-6), 1e-6);

			if (l == 0)
				w = log2(m / tf);
			else
			{
				double		ratio = tf / max2(fc->u[0], 1e-12);
				double		u = max2(min2(fc->u[l] * max2(ratio, 1.0), 1 - 1e-6), 1e-12);

				w = log2(m / u);
			}
		}
		best = max2(best, w);
	}
	return best;
}

double
sp_pair_bound(const sp_link_model *model, const sp_records *ra, int64_t i, const sp_records *rb, int64_t j,
			  const double *best_i, sp_cmp_work *w, int *status)
{
	const sp_link_spec *spec = &model->spec;
	double		prior = max2(min2(model->fs.prior, 1 - 1e-6), 1e-300);
	double		bound = log2(prior / (1 - prior));

	*status = SP_LINK_OK;
	for (int c = 0; c < spec->ncomparisons; c++)
	{
		const sp_link_comparison *cmp = &spec->comparisons[c];
		const sp_value *va,
				   *vb;

		if (!cmp->present)
			continue;
		va = &ra->values[i * spec->ncolumns + cmp->column];
		vb = &rb->values[j * spec->ncolumns + cmp->column];
		if (cmp->swap_with >= 0 && spec->comparisons[cmp->swap_with].present)
		{
			/*
			 * Swapped with another: its value may be compared with the
			 * other column of the right record, so only the left value has
			 * to be there; the right one may be null and still count.
			 */
			if (va->isnull)
				continue;
			/* 0 if it ends up not compared (a right value missing) */
			bound += max2(best_i ? best_i[c] : sp_best_weight(model, c, ra, va), 0);
			continue;
		}
		if (va->isnull || vb->isnull)
			continue;
		if (cmp->method == SP_METHOD_JARO_WINKLER || cmp->tf_adjust)
			bound += best_i ? best_i[c] : sp_best_weight(model, c, ra, va);
		else
		{
			int			level = sp_compare_one(spec, c, ra, i, rb, j, w);

			if (level < -1)
			{
				*status = level;
				return INFINITY;
			}
			bound += sp_fs_level_weight(&model->fs.comparisons[c], level);
		}
	}
	return bound;
}

double
sp_pair_total(const sp_link_model *model, const sp_records *ra, int64_t i, const sp_records *rb, int64_t j,
			  const sp_gamma *g, const sp_pair_values *pv)
{
	return sp_pair_weight(model, g, pv) +
		sp_evidence_weight(&model->spec, ra, i, rb, j, ra->values == rb->values, g, pv->swapped, NULL);
}

double
sp_hh_context_weight(const sp_link_model *model, const sp_gamma *g, double evidence)
{
	double		share = max2(min2(model->hh_share, 1 - 1e-6), 1e-6);
	double		w = log2(share / (1 - share)) + evidence;

	for (int c = 0; c < model->spec.ncomparisons; c++)
	{
		const sp_fs_comparison *fc = &model->fs.comparisons[c];

		if (g[c] < 0 || g[c] >= fc->nlevels)
			continue;
		w += log2(max2(min2(fc->m[g[c]], 1 - 1e-6), 1e-6) / max2(min2(model->hh_u_context[c][g[c]], 1 - 1e-6), 1e-6));
	}
	return w;
}

double
sp_hh_twins_weight(const sp_link_model *model, const sp_evidence *ev)
{
	double		ud,
				ug,
				w;

	if (ev->kind != SP_EV_TWINS || model->hh_twins_u <= 0)
		return ev->weight;
	ud = model->hh_u_context[ev->date][SP_DATE_LEVEL_EXACT];
	ug = model->hh_u_context[ev->given][model->spec.comparisons[ev->given].nlevels - 1];
	if (ud <= 0 || ug <= 0)
		return ev->weight;
	w = log2(ud * ug / model->hh_twins_u);
	return max2(ev->weight, min2(w, 0));
}
