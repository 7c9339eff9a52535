/* Unit tests of src/core/sp_pmt.c: arithmetic checked by hand. */
#include "tap.h"
#include "sp_pmt.h"

#include <math.h>
#include <stdlib.h>

static sp_pmt_model *
model(void)
{
	sp_pmt_model *m = calloc(1, sizeof(sp_pmt_model));

	m->intercept = 9.0;
	m->nterms = 4;
	strcpy(m->terms[0].variable, "rooms");			/* 0.10 * rooms */
	m->terms[0].coefficient = 0.10;
	strcpy(m->terms[1].variable, "land_area_ha");	/* 0.20 * ln(1 + land), missing -> impute 1.0 */
	m->terms[1].coefficient = 0.20;
	m->terms[1].transform = SP_PMT_LOG1P;
	m->terms[1].missing = SP_PMT_MISSING_IMPUTE;
	m->terms[1].impute = 1.0;
	strcpy(m->terms[2].variable, "dwelling_type");	/* hut -0.30, apartment +0.25, house base */
	m->terms[2].categorical = 1;
	m->terms[2].ncategories = 2;
	strcpy(m->terms[2].categories[0], "hut");
	m->terms[2].category_coefficients[0] = -0.30;
	strcpy(m->terms[2].categories[1], "apartment");
	m->terms[2].category_coefficients[1] = 0.25;
	strcpy(m->terms[3].variable, "monthly_income");	/* 0.001 * income / size */
	m->terms[3].coefficient = 0.001;
	m->terms[3].transform = SP_PMT_PER_CAPITA;
	/* the north (SY01) values rooms more; urban SY01 has another intercept */
	m->noverrides = 2;
	strcpy(m->overrides[0].area_prefix, "SY01");
	m->overrides[0].urban = -1;
	m->overrides[0].nterms = 1;
	m->overrides[0].term[0] = 0;
	m->overrides[0].category[0] = -1;
	m->overrides[0].coefficient[0] = 0.15;
	strcpy(m->overrides[1].area_prefix, "SY01");
	m->overrides[1].urban = 1;
	m->overrides[1].has_intercept = 1;
	m->overrides[1].intercept = 9.5;
	m->overrides[1].nterms = 1;
	m->overrides[1].term[0] = 2;
	m->overrides[1].category[0] = 0;	/* hut in urban SY01 */
	m->overrides[1].coefficient[0] = -0.5;
	m->ncutoffs = 2;
	strcpy(m->cutoffs[0].area_prefix, "");
	m->cutoffs[0].urban = -1;
	m->cutoffs[0].value = 9.6;
	strcpy(m->cutoffs[1].area_prefix, "SY01");
	m->cutoffs[1].urban = 0;
	m->cutoffs[1].value = 9.4;
	return m;
}

static sp_pmt_input
household(const char *area, int urban, double rooms, int has_land, double land, const char *dwelling, double income, double size)
{
	sp_pmt_input in;

	memset(&in, 0, sizeof(in));
	in.area_code = area;
	in.urban = urban;
	in.household_size = size;
	in.present[0] = 1;
	in.value[0] = rooms;
	in.present[1] = has_land;
	in.value[1] = land;
	in.present[2] = dwelling != NULL;
	in.category[2] = dwelling;
	in.present[3] = 1;
	in.value[3] = income;
	return in;
}

#define close_to(a, b) (fabs((a) - (b)) < 1e-9)

static void
band(sp_pmt_term *t, int b, int has_min, double min, int has_max, double max, double points)
{
	t->band_has_min[b] = has_min;
	t->band_min[b] = min;
	t->band_has_max[b] = has_max;
	t->band_max[b] = max;
	t->band_points[b] = points;
	if (b + 1 > t->nbands)
		t->nbands = b + 1;
}

/* A points scorecard: household size 1-4 -> 24, 5-7 -> 5, 8+ -> 0; rooms
 * (numeric) under 2 -> 0, 2 to 4 -> 6, 4 and more -> 11; a lookup from the
 * total to the likelihood of poverty. */
static void
scorecard(void)
{
	sp_pmt_model *m = calloc(1, sizeof(sp_pmt_model));
	sp_pmt_input in;
	sp_pmt_result r;
	const char *msg;
	int			bad;

	m->nterms = 2;
	strcpy(m->terms[0].variable, "household_size");
	m->terms[0].integer_bands = 1;
	band(&m->terms[0], 0, 1, 1, 1, 4, 24);
	band(&m->terms[0], 1, 1, 5, 1, 7, 5);
	band(&m->terms[0], 2, 1, 8, 0, 0, 0);
	strcpy(m->terms[1].variable, "rooms");
	band(&m->terms[1], 0, 0, 0, 1, 2, 0);
	band(&m->terms[1], 1, 1, 2, 1, 4, 6);
	band(&m->terms[1], 2, 1, 4, 0, 0, 11);
	m->nlikelihood = 3;
	m->likelihood_min[0] = 0;
	m->likelihood[0] = 0.892;
	m->likelihood_min[1] = 10;
	m->likelihood[1] = 0.601;
	m->likelihood_min[2] = 30;
	m->likelihood[2] = 0.123;

	ok(sp_pmt_check_bands(&m->terms[0], 1, 1, 0, 0, &bad) == NULL, "integer bands 1-4, 5-7, 8+ cover 1 and up");
	ok(sp_pmt_check_bands(&m->terms[1], 0, 0, 0, 0, &bad) == NULL, "numeric bands open at both ends cover everything");
	is_int(sp_pmt_band_of(&m->terms[0], 4), 0, "size 4: band 1-4");
	is_int(sp_pmt_band_of(&m->terms[0], 5), 1, "size 5: band 5-7");
	is_int(sp_pmt_band_of(&m->terms[0], 7), 1, "size 7: band 5-7");
	is_int(sp_pmt_band_of(&m->terms[0], 12), 2, "size 12: band 8+");
	is_int(sp_pmt_band_of(&m->terms[0], 0), -1, "size 0: no band");
	is_int(sp_pmt_band_of(&m->terms[0], 4.5), -1, "4.5 is in no integer band");
	is_int(sp_pmt_band_of(&m->terms[1], 1.99), 0, "1.99 rooms: under 2");
	is_int(sp_pmt_band_of(&m->terms[1], 2), 1, "2 rooms: the max of a numeric band is excluded, its min included");
	is_int(sp_pmt_band_of(&m->terms[1], 4), 2, "4 rooms: the next band");
	is_int(sp_pmt_band_of(&m->terms[1], -3), 0, "an open first band holds everything below");

	in.area_code = "SY01";
	in.urban = -1;
	in.household_size = 6;
	in.present[0] = 1;
	in.value[0] = 6;
	in.present[1] = 1;
	in.value[1] = 3;
	sp_pmt_evaluate(m, &in, &r);
	ok(r.status == SP_PMT_OK, "scored");
	ok(close_to(r.score, 5 + 6), "size 6 (5 points) + 3 rooms (6 points) = 11");
	is_int(r.band[0], 1, "the band that applied to size");
	is_int(r.band[1], 1, "the band that applied to rooms");
	ok(close_to(r.coefficient[0], 5) && close_to(r.contribution[1], 6), "points are the contributions");
	is_int(r.likelihood_entry, 1, "11 points: the 10-29 row of the lookup");
	ok(close_to(r.likelihood, 0.601), "its likelihood");
	in.value[0] = 2;
	in.value[1] = 5;
	sp_pmt_evaluate(m, &in, &r);
	ok(close_to(r.score, 35) && r.likelihood_entry == 2 && close_to(r.likelihood, 0.123), "24 + 11 = 35: the 30+ row");
	in.value[0] = 0;
	sp_pmt_evaluate(m, &in, &r);
	ok(r.status == SP_PMT_BAD_VALUE && r.failed_term == 0, "a value in no band cannot be scored");

	/* what the checks refuse */
	ok(sp_pmt_check_bands(&m->terms[0], 1, 0, 0, 0, &bad) != NULL && bad == 0, "1-4 does not cover a variable that can be 0");
	ok(sp_pmt_check_bands(&m->terms[0], 0, 0, 0, 0, &bad) != NULL && bad == 0, "a variable without a lowest value needs an open first band");
	ok(sp_pmt_check_bands(&m->terms[0], 1, 1, 1, 10, &bad) == NULL, "8+ covers a highest value of 10");
	m->terms[0].band_has_max[2] = 1;
	m->terms[0].band_max[2] = 9;
	msg = sp_pmt_check_bands(&m->terms[0], 1, 1, 1, 10, &bad);
	ok(msg != NULL && bad == 2, "8-9 does not cover a highest value of 10 (%s)", msg ? msg : "");
	m->terms[0].band_has_max[2] = 0;
	m->terms[0].band_min[1] = 6;
	msg = sp_pmt_check_bands(&m->terms[0], 1, 1, 0, 0, &bad);
	ok(msg != NULL && bad == 1, "a gap (1-4, 6-7) is refused (%s)", msg ? msg : "");
	m->terms[0].band_min[1] = 4;
	msg = sp_pmt_check_bands(&m->terms[0], 1, 1, 0, 0, &bad);
	ok(msg != NULL && bad == 1, "an overlap (1-4, 4-7) is refused (%s)", msg ? msg : "");
	m->terms[0].band_min[1] = 5;
	m->terms[0].band_min[2] = 3;
	msg = sp_pmt_check_bands(&m->terms[0], 1, 1, 0, 0, &bad);
	ok(msg != NULL && bad == 2, "out of order is refused (%s)", msg ? msg : "");
	m->terms[0].band_min[2] = 8;
	m->terms[0].band_min[1] = 5.5;
	msg = sp_pmt_check_bands(&m->terms[0], 1, 1, 0, 0, &bad);
	ok(msg != NULL && bad == 1, "a fractional bound of an integer variable is refused (%s)", msg ? msg : "");
	m->terms[0].band_min[1] = 5;
	m->terms[0].band_has_min[1] = 0;
	msg = sp_pmt_check_bands(&m->terms[0], 1, 1, 0, 0, &bad);
	ok(msg != NULL && bad == 1, "only the first band may be open below (%s)", msg ? msg : "");
	m->terms[0].band_has_min[1] = 1;
	m->terms[1].band_has_max[1] = 0;
	msg = sp_pmt_check_bands(&m->terms[1], 0, 0, 0, 0, &bad);
	ok(msg != NULL && bad == 1, "only the last band may be open above (%s)", msg ? msg : "");
	m->terms[1].band_has_max[1] = 1;
	m->terms[1].band_points[1] = NAN;
	ok(sp_pmt_check_bands(&m->terms[1], 0, 0, 0, 0, &bad) != NULL, "points must be finite");
	m->terms[1].nbands = 0;
	ok(sp_pmt_check_bands(&m->terms[1], 0, 0, 0, 0, &bad) != NULL, "no band at all is refused");
	is_int(sp_pmt_likelihood_entry(m, -1), -1, "a score below the lookup has no likelihood");
	free(m);
}

int
main(void)
{
	sp_pmt_model *m = model();
	sp_pmt_result r;
	sp_pmt_input in;
	double		sum;

	/* SY02, rural: 9 + 0.1*3 + 0.2*ln(1+2) - 0.3 + 0.001*1200/4 */
	in = household("SY020101", 0, 3, 1, 2.0, "hut", 1200, 4);
	sp_pmt_evaluate(m, &in, &r);
	is_int(r.status, SP_PMT_OK, "scored");
	ok(close_to(r.score, 9.0 + 0.3 + 0.2 * log(3.0) - 0.3 + 0.3), "linear score by hand (%.6f)", r.score);
	sum = r.intercept + r.clamp;
	for (int t = 0; t < m->nterms; t++)
		sum += r.contribution[t];
	ok(close_to(sum, r.score), "contributions add up to the score");
	ok(r.has_cutoff && close_to(r.cutoff, 9.6), "national cut-off");

	/* SY01 rural: rooms coefficient overridden to 0.15; rural SY01 cut-off */
	in = household("SY010203", 0, 3, 1, 2.0, "house", 1200, 4);
	sp_pmt_evaluate(m, &in, &r);
	ok(close_to(r.score, 9.0 + 0.45 + 0.2 * log(3.0) + 0 + 0.3), "regional coefficient (%.6f)", r.score);
	ok(close_to(r.coefficient[0], 0.15), "effective coefficient reported");
	ok(close_to(r.cutoff, 9.4), "regional rural cut-off");

	/* SY01 urban: intercept 9.5, hut -0.5, rooms 0.15 (general SY01 override still applies) */
	in = household("SY010203", 1, 2, 1, 0.0, "hut", 800, 2);
	sp_pmt_evaluate(m, &in, &r);
	ok(close_to(r.score, 9.5 + 0.30 + 0 - 0.5 + 0.4), "urban override stacks on the regional one (%.6f)", r.score);
	ok(close_to(r.cutoff, 9.6), "no urban SY01 cut-off: the national one applies");

	/* missing land is imputed as 1.0 hectare */
	in = household("SY020101", 0, 3, 0, 0, "apartment", 0, 1);
	sp_pmt_evaluate(m, &in, &r);
	ok(close_to(r.score, 9.0 + 0.3 + 0.2 * log(2.0) + 0.25 + 0), "imputed value (%.6f)", r.score);
	ok(close_to(r.used_value[1], log(2.0)), "used value is after imputation and transform");

	/* an unknown category is the base category; a missing one contributes nothing */
	in = household("SY020101", 0, 3, 1, 0, "castle", 0, 1);
	sp_pmt_evaluate(m, &in, &r);
	ok(close_to(r.contribution[2], 0), "unlisted category weighs 0");
	in = household("SY020101", 0, 3, 1, 0, NULL, 0, 1);
	sp_pmt_evaluate(m, &in, &r);
	ok(r.status == SP_PMT_OK && close_to(r.contribution[2], 0), "missing category with rule zero");

	/* failures */
	m->terms[2].missing = SP_PMT_MISSING_FAIL;
	sp_pmt_evaluate(m, &in, &r);
	is_int(r.status, SP_PMT_MISSING_VALUE, "missing value with rule fail");
	is_int(r.failed_term, 2, "names the term");
	m->terms[2].missing = SP_PMT_MISSING_ZERO;
	in = household("SY020101", 0, 3, 1, 0, "hut", 100, 0);
	sp_pmt_evaluate(m, &in, &r);
	is_int(r.status, SP_PMT_BAD_VALUE, "per capita of an empty household");
	m->terms[0].transform = SP_PMT_LOG;
	in = household("SY020101", 0, 0, 1, 0, "hut", 100, 1);
	sp_pmt_evaluate(m, &in, &r);
	is_int(r.status, SP_PMT_BAD_VALUE, "log of zero rooms");
	m->terms[0].transform = SP_PMT_SQUARE;
	in = household("SY020101", 0, 3, 1, 0, "hut", 0, 1);
	sp_pmt_evaluate(m, &in, &r);
	ok(close_to(r.contribution[0], 0.1 * 9), "square");
	m->terms[0].transform = SP_PMT_NONE;

	/* 0-100 index: rescaled parts still add up, clamping reported */
	m->index_scale = 1;
	m->index_min = 8.0;
	m->index_max = 12.0;
	in = household("SY020101", 0, 3, 1, 2.0, "hut", 1200, 4);
	sp_pmt_evaluate(m, &in, &r);
	ok(close_to(r.score, (9.0 + 0.3 + 0.2 * log(3.0) - 0.3 + 0.3 - 8.0) * 25), "index = (linear - min) * 100 / (max - min)");
	sum = r.intercept + r.clamp;
	for (int t = 0; t < m->nterms; t++)
		sum += r.contribution[t];
	ok(close_to(sum, r.score), "index parts add up");
	in = household("SY020101", 0, 300, 1, 2.0, "hut", 1200, 4);
	sp_pmt_evaluate(m, &in, &r);
	ok(r.score == 100 && r.clamp < 0, "clamped at 100");
	sum = r.intercept + r.clamp;
	for (int t = 0; t < m->nterms; t++)
		sum += r.contribution[t];
	ok(close_to(sum, r.score), "clamped parts add up");

	ok(sp_pmt_area_matches("", "SY01") && sp_pmt_area_matches("SY01", "SY0102") && !sp_pmt_area_matches("SY02", "SY0102"),
	   "P-code prefixes");
	free(m);
	scorecard();
	return done_testing();
}
