/*
 * sp_pmt.c - proxy-means test evaluation.
 */
#include "sp_pmt.h"

#include <math.h>
#include <string.h>

int
sp_pmt_area_matches(const char *prefix, const char *area_code)
{
	size_t		n = strlen(prefix);

	return n == 0 || (area_code != NULL && strncmp(prefix, area_code, n) == 0);
}

static int
urban_matches(int wanted, int actual)
{
	return wanted < 0 || wanted == actual;
}

const char *
sp_pmt_transform_name(sp_pmt_transform t)
{
	switch (t)
	{
		case SP_PMT_LOG:
			return "log";
		case SP_PMT_LOG1P:
			return "log1p";
		case SP_PMT_SQUARE:
			return "square";
		case SP_PMT_PER_CAPITA:
			return "per_capita";
		default:
			return "none";
	}
}

int
sp_pmt_band_of(const sp_pmt_term *term, double x)
{
	if (term == NULL || isnan(x))
		return -1;
	for (int b = 0; b < term->nbands; b++)
	{
		int			last = b == term->nbands - 1;

		if (term->band_has_min[b] && x < term->band_min[b])
			continue;
		if (term->band_has_max[b])
		{
			if (term->integer_bands || last)
			{
				if (x > term->band_max[b])
					continue;
			}
			else if (x >= term->band_max[b])
				continue;
		}
		return b;
	}
	return -1;
}

const char *
sp_pmt_check_bands(const sp_pmt_term *term, int has_lowest, double lowest,
				   int has_highest, double highest, int *bad_band)
{
	int			n = term->nbands;

	*bad_band = -1;
	if (n < 1)
		return "A banded term needs at least one band.";
	for (int b = 0; b < n; b++)
	{
		*bad_band = b;
		if (!isfinite(term->band_points[b]))
			return "Points must be a finite number.";
		if ((term->band_has_min[b] && !isfinite(term->band_min[b])) ||
			(term->band_has_max[b] && !isfinite(term->band_max[b])))
			return "Bounds must be finite numbers.";
		if (b > 0 && !term->band_has_min[b])
			return "Only the first band may be open below (no min).";
		if (b < n - 1 && !term->band_has_max[b])
			return "Only the last band may be open above (no max).";
		if (term->band_has_min[b] && term->band_has_max[b] &&
			(term->integer_bands ? term->band_max[b] < term->band_min[b] : term->band_max[b] <= term->band_min[b]))
			return "A band's max is below its min.";
		if (term->integer_bands &&
			((term->band_has_min[b] && term->band_min[b] != floor(term->band_min[b])) ||
			 (term->band_has_max[b] && term->band_max[b] != floor(term->band_max[b]))))
			return "The variable is an integer: band bounds are whole numbers.";
		if (b > 0)
		{
			double		expected = term->integer_bands ? term->band_max[b - 1] + 1 : term->band_max[b - 1];

			if (term->band_min[b] < expected)
				return "Bands overlap or are out of order: each band begins after the one before it ends.";
			if (term->band_min[b] > expected)
				return term->integer_bands
					? "A gap before this band: its min must be the previous band's max + 1."
					: "A gap before this band: its min must be the previous band's max.";
		}
	}
	*bad_band = 0;
	if (term->band_has_min[0] && (!has_lowest || term->band_min[0] > lowest))
		return has_lowest ? "The first band does not cover the variable's lowest value: lower its min or leave it out."
			: "The variable has no lowest value: the first band must be open below (no min).";
	*bad_band = n - 1;
	if (term->band_has_max[n - 1] && (!has_highest || term->band_max[n - 1] < highest))
		return has_highest ? "The last band does not cover the variable's highest value: raise its max or leave it out."
			: "The variable has no highest value: the last band must be open above (no max).";
	*bad_band = -1;
	return NULL;
}

int
sp_pmt_likelihood_entry(const sp_pmt_model *m, double score)
{
	int			found = -1;

	if (m == NULL || isnan(score))
		return -1;
	for (int i = 0; i < m->nlikelihood; i++)
		if (score >= m->likelihood_min[i])
			found = i;
	return found;
}

/*
 * Apply overrides in order of specificity: everywhere first, then longer
 * P-code prefixes, and at equal length an urban/rural-specific override
 * after a general one, so the most specific coefficient wins.
 */
static void
effective_coefficients(const sp_pmt_model *m, const sp_pmt_input *in, double *intercept,
					   double coef[SP_PMT_MAX_TERMS], double cat[SP_PMT_MAX_TERMS][SP_PMT_MAX_CATEGORIES])
{
	int			order[SP_PMT_MAX_OVERRIDES];
	int			n = 0;

	*intercept = m->intercept;
	for (int t = 0; t < m->nterms; t++)
	{
		coef[t] = m->terms[t].coefficient;
		for (int c = 0; c < m->terms[t].ncategories; c++)
			cat[t][c] = m->terms[t].category_coefficients[c];
	}
	for (int o = 0; o < m->noverrides; o++)
		if (sp_pmt_area_matches(m->overrides[o].area_prefix, in->area_code) &&
			urban_matches(m->overrides[o].urban, in->urban))
			order[n++] = o;
	/* insertion sort by (prefix length, urban-specific) keeps spec order for ties */
	for (int i = 1; i < n; i++)
	{
		int			x = order[i];
		size_t		lx = strlen(m->overrides[x].area_prefix);
		int			j = i - 1;

		while (j >= 0)
		{
			size_t		lj = strlen(m->overrides[order[j]].area_prefix);

			if (lj > lx || (lj == lx && m->overrides[order[j]].urban >= 0 && m->overrides[x].urban < 0))
			{
				order[j + 1] = order[j];
				j--;
			}
			else
				break;
		}
		order[j + 1] = x;
	}
	for (int i = 0; i < n; i++)
	{
		const sp_pmt_override *o = &m->overrides[order[i]];

		if (o->has_intercept)
			*intercept = o->intercept;
		for (int k = 0; k < o->nterms; k++)
		{
			if (o->category[k] >= 0)
				cat[o->term[k]][o->category[k]] = o->coefficient[k];
			else
				coef[o->term[k]] = o->coefficient[k];
		}
	}
}

void
sp_pmt_evaluate(const sp_pmt_model *m, const sp_pmt_input *in, sp_pmt_result *out)
{
	double		coef[SP_PMT_MAX_TERMS];
	double		cat[SP_PMT_MAX_TERMS][SP_PMT_MAX_CATEGORIES];
	double		intercept;
	double		linear;
	double		scale = 1.0,
				shift = 0.0;

	memset(out, 0, sizeof(*out));
	out->failed_term = -1;
	out->likelihood_entry = -1;
	for (int t = 0; t < SP_PMT_MAX_TERMS; t++)
		out->band[t] = -1;
	effective_coefficients(m, in, &intercept, coef, cat);
	linear = intercept;

	for (int t = 0; t < m->nterms; t++)
	{
		const sp_pmt_term *term = &m->terms[t];
		double		contribution = 0;

		out->used_value[t] = NAN;
		if (term->categorical)
		{
			out->coefficient[t] = 0;
			if (in->present[t] && in->category[t])
			{
				for (int c = 0; c < term->ncategories; c++)
					if (strcmp(term->categories[c], in->category[t]) == 0)
					{
						out->coefficient[t] = cat[t][c];
						break;
					}
				out->used_value[t] = 1;
				contribution = out->coefficient[t];
			}
			else if (term->missing == SP_PMT_MISSING_FAIL)
			{
				out->status = SP_PMT_MISSING_VALUE;
				out->failed_term = t;
				return;
			}
		}
		else
		{
			double		x;

			out->coefficient[t] = coef[t];
			if (in->present[t])
				x = in->value[t];
			else if (term->missing == SP_PMT_MISSING_IMPUTE)
				x = term->impute;
			else if (term->missing == SP_PMT_MISSING_FAIL)
			{
				out->status = SP_PMT_MISSING_VALUE;
				out->failed_term = t;
				return;
			}
			else
			{
				out->contribution[t] = 0;
				continue;
			}
			switch (term->transform)
			{
				case SP_PMT_LOG:
					if (!(x > 0))
					{
						out->status = SP_PMT_BAD_VALUE;
						out->failed_term = t;
						return;
					}
					x = log(x);
					break;
				case SP_PMT_LOG1P:
					if (!(x > -1))
					{
						out->status = SP_PMT_BAD_VALUE;
						out->failed_term = t;
						return;
					}
					x = log1p(x);
					break;
				case SP_PMT_SQUARE:
					x = x * x;
					break;
				case SP_PMT_PER_CAPITA:
					if (!(in->household_size > 0))
					{
						out->status = SP_PMT_BAD_VALUE;
						out->failed_term = t;
						return;
					}
					x = x / in->household_size;
					break;
				default:
					break;
			}
			out->used_value[t] = x;
			if (term->nbands > 0)
			{
				int			b = sp_pmt_band_of(term, x);

				if (b < 0)
				{
					out->status = SP_PMT_BAD_VALUE;
					out->failed_term = t;
					return;
				}
				out->band[t] = b;
				out->coefficient[t] = term->band_points[b];
				contribution = term->band_points[b];
			}
			else
				contribution = coef[t] * x;
		}
		out->contribution[t] = contribution;
		linear += contribution;
	}

	/* the 0-100 index rescales every part, so the parts still add up */
	if (m->index_scale)
	{
		scale = 100.0 / (m->index_max - m->index_min);
		shift = -m->index_min * scale;
	}
	out->intercept = intercept * scale + shift;
	for (int t = 0; t < m->nterms; t++)
		out->contribution[t] *= scale;
	out->score = linear * scale + shift;
	if (m->index_scale)
	{
		double		clamped = out->score < 0 ? 0 : out->score > 100 ? 100 : out->score;

		out->clamp = clamped - out->score;
		out->score = clamped;
	}

	/* the most specific cut-off */
	{
		size_t		best_len = 0;
		int			best_urban = -1;

		for (int c = 0; c < m->ncutoffs; c++)
		{
			const sp_pmt_cutoff *co = &m->cutoffs[c];
			size_t		len = strlen(co->area_prefix);

			if (!sp_pmt_area_matches(co->area_prefix, in->area_code) || !urban_matches(co->urban, in->urban))
				continue;
			if (!out->has_cutoff || len > best_len || (len == best_len && co->urban >= 0 && best_urban < 0))
			{
				out->has_cutoff = 1;
				out->cutoff = co->value;
				best_len = len;
				best_urban = co->urban;
			}
		}
	}
	out->likelihood_entry = sp_pmt_likelihood_entry(m, out->score);
	if (out->likelihood_entry >= 0)
		out->likelihood = m->likelihood[out->likelihood_entry];
	out->status = SP_PMT_OK;
}
