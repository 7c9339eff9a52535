/*
 * sp_pmt.h - proxy-means test evaluation: a linear model of (log) per-capita
 * consumption on household characteristics, with transforms, categorical
 * terms, missing-value rules, regional overrides of coefficients, cut-offs
 * by region and an optional 0-100 index.
 *
 * Pure C (no postgres.h): the glue parses the spec and feeds values.
 */
#ifndef SP_PMT_H
#define SP_PMT_H

#include <stddef.h>

#define SP_PMT_MAX_TERMS 64
#define SP_PMT_MAX_CATEGORIES 32
#define SP_PMT_MAX_OVERRIDES 64
#define SP_PMT_MAX_NAME 64
#define SP_PMT_MAX_BANDS 32

typedef enum sp_pmt_transform
{
	SP_PMT_NONE = 0,
	SP_PMT_LOG,					/* ln(x), x > 0 */
	SP_PMT_LOG1P,				/* ln(1 + x), x > -1 */
	SP_PMT_SQUARE,				/* x * x */
	SP_PMT_PER_CAPITA			/* x / household size */
} sp_pmt_transform;

typedef enum sp_pmt_missing
{
	SP_PMT_MISSING_ZERO = 0,	/* the term contributes nothing */
	SP_PMT_MISSING_IMPUTE,		/* use the term's impute value (e.g. the survey mean) */
	SP_PMT_MISSING_FAIL			/* the household cannot be scored */
} sp_pmt_missing;

typedef struct sp_pmt_term
{
	char		variable[SP_PMT_MAX_NAME];
	int			categorical;
	double		coefficient;	/* numeric terms */
	sp_pmt_transform transform;
	sp_pmt_missing missing;
	double		impute;
	int			ncategories;
	char		categories[SP_PMT_MAX_CATEGORIES][SP_PMT_MAX_NAME];
	double		category_coefficients[SP_PMT_MAX_CATEGORIES];	/* unlisted category: 0 (the base) */

	/*
	 * A banded term (scorecards): points for the band the value falls in,
	 * instead of a coefficient.  Bands are in ascending order.  For an
	 * integer variable a band holds min..max, both included; otherwise min
	 * included and max excluded (the last band includes its max).  A band
	 * without min (the first) or max (the last) is open on that side.
	 */
	int			nbands;
	int			integer_bands;
	int			band_has_min[SP_PMT_MAX_BANDS];
	double		band_min[SP_PMT_MAX_BANDS];
	int			band_has_max[SP_PMT_MAX_BANDS];
	double		band_max[SP_PMT_MAX_BANDS];
	double		band_points[SP_PMT_MAX_BANDS];
} sp_pmt_term;

/* Coefficients that differ in part of the country (P-code prefix) and/or urban or rural areas. */
typedef struct sp_pmt_override
{
	char		area_prefix[SP_PMT_MAX_NAME];	/* "" = everywhere */
	int			urban;			/* -1 any, 0 rural, 1 urban */
	int			has_intercept;
	double		intercept;
	int			nterms;
	int			term[SP_PMT_MAX_TERMS];	/* index into the model's terms */
	int			category[SP_PMT_MAX_TERMS];	/* -1 for numeric terms */
	double		coefficient[SP_PMT_MAX_TERMS];
} sp_pmt_override;

typedef struct sp_pmt_cutoff
{
	char		area_prefix[SP_PMT_MAX_NAME];
	int			urban;
	double		value;
} sp_pmt_cutoff;

typedef struct sp_pmt_model
{
	double		intercept;
	int			nterms;
	sp_pmt_term terms[SP_PMT_MAX_TERMS];
	int			noverrides;
	sp_pmt_override overrides[SP_PMT_MAX_OVERRIDES];
	int			ncutoffs;
	sp_pmt_cutoff cutoffs[SP_PMT_MAX_OVERRIDES];
	int			index_scale;	/* score rescaled to 0-100 between index_min and index_max */
	double		index_min;
	double		index_max;
	/* score-to-likelihood lookup (scorecards): entry i holds scores from min[i] up to min[i + 1] */
	int			nlikelihood;
	double		likelihood_min[SP_PMT_MAX_BANDS];
	double		likelihood[SP_PMT_MAX_BANDS];
} sp_pmt_model;

/* One household's inputs, aligned with the model's terms. */
typedef struct sp_pmt_input
{
	const char *area_code;
	int			urban;			/* -1 unknown */
	double		household_size; /* for per-capita transforms */
	int			present[SP_PMT_MAX_TERMS];
	double		value[SP_PMT_MAX_TERMS];	/* numeric terms */
	const char *category[SP_PMT_MAX_TERMS]; /* categorical terms */
} sp_pmt_input;

typedef enum sp_pmt_status
{
	SP_PMT_OK = 0,
	SP_PMT_MISSING_VALUE,		/* a term with missing = fail has no value */
	SP_PMT_BAD_VALUE			/* a transform is undefined (log of 0, per capita of an empty household) */
} sp_pmt_status;

typedef struct sp_pmt_result
{
	sp_pmt_status status;
	int			failed_term;	/* for errors */
	double		score;			/* on the model's scale (0-100 when index_scale, clamped) */
	double		intercept;		/* effective intercept on the model's scale */
	double		contribution[SP_PMT_MAX_TERMS];	/* on the model's scale */
	double		coefficient[SP_PMT_MAX_TERMS];	/* effective, before rescaling */
	double		used_value[SP_PMT_MAX_TERMS];	/* after imputation and transform; NaN when absent */
	double		clamp;			/* index only: amount added by clamping to [0, 100] */
	int			has_cutoff;
	double		cutoff;
	int			band[SP_PMT_MAX_TERMS]; /* banded terms: the band that applied; -1 otherwise */
	int			likelihood_entry;	/* the lookup entry of the score; -1 none (no lookup, or below it) */
	double		likelihood;
} sp_pmt_result;

/*
 * Score a household.  Contributions plus intercept plus clamp equal the
 * score, so an explanation always adds up.
 */
void		sp_pmt_evaluate(const sp_pmt_model *model, const sp_pmt_input *in, sp_pmt_result *out);

/*
 * Checks a term's bands: at least one, ascending, not overlapping, no gap
 * between neighbours (for integer bands the next min is the max + 1, else
 * it equals the max), only the first may lack a min and only the last a
 * max, and they cover [lowest, highest] (has_lowest/has_highest 0: the
 * variable has no bound on that side, so the band must be open there).
 * Returns NULL when valid, else a message naming the band.
 */
const char *sp_pmt_check_bands(const sp_pmt_term *term, int has_lowest, double lowest,
							   int has_highest, double highest, int *bad_band);

/* The band of x in a banded term, or -1 when no band holds it. */
int			sp_pmt_band_of(const sp_pmt_term *term, double x);

/* The lookup entry of a score, or -1. */
int			sp_pmt_likelihood_entry(const sp_pmt_model *m, double score);

/* 1 when area_code lies under prefix (prefix "" matches everything). */
int			sp_pmt_area_matches(const char *prefix, const char *area_code);

const char *sp_pmt_transform_name(sp_pmt_transform t);

#endif							/* SP_PMT_H */
