/*
 * sp_linkage.c - Fellegi-Sunter record linkage core.
 */
#include "sp_linkage.h"
#include "sp_date.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Dates
 * ------------------------------------------------------------------------ */

/* Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's algorithm). */
int32_t
sp_days_from_civil(int y, int m, int d)
{
	int			era;
	unsigned	yoe,
				doy,
				doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned) (y - era * 400);
	doy = (unsigned) ((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int32_t) doe - 719468;
}

/* Is this date possibly known only to the year: precision year, or 1 January of a full date? */
static int
year_only(sp_ymd a)
{
	return a.precision == SP_YMD_YEAR || (a.precision == SP_YMD_DAY && a.month == 1 && a.day == 1);
}

sp_date_level
sp_compare_dates(sp_ymd a, sp_ymd b)
{
	int			years = a.year > b.year ? a.year - b.year : b.year - a.year;
	int32_t		diff;

	if (a.precision == SP_YMD_DAY && b.precision == SP_YMD_DAY &&
		a.year == b.year && a.month == b.month && a.day == b.day)
		return SP_DATE_LEVEL_EXACT;
	if (years >= SP_DATE_FAR_YEARS)
		return SP_DATE_LEVEL_FAR;
	if (a.year == b.year)
	{
		if (year_only(a) || year_only(b))
			return SP_DATE_LEVEL_YEAR_ONLY;
		if (a.month == b.month)
			return SP_DATE_LEVEL_SAME_MONTH;
		if (a.precision == SP_YMD_DAY && b.precision == SP_YMD_DAY &&
			a.month == b.day && a.day == b.month)
			return SP_DATE_LEVEL_TRANSPOSED;
		return SP_DATE_LEVEL_WITHIN_YEAR;
	}
	/* a partial date stands for any day of its year or month: compare years */
	if (a.precision != SP_YMD_DAY || b.precision != SP_YMD_DAY)
		return years <= 1 ? SP_DATE_LEVEL_WITHIN_YEAR : SP_DATE_LEVEL_ELSE;
	diff = a.days - b.days;
	if (diff < 0)
		diff = -diff;
	return diff <= 366 ? SP_DATE_LEVEL_WITHIN_YEAR : SP_DATE_LEVEL_ELSE;
}

int
sp_parse_linkage_date(const char *s, size_t len, sp_ymd *out)
{
	char		canon[11];
	char		digits[8];
	size_t		n = 0,
				groups = 0,
				in_group = 0,
				group_len[3] = {0, 0, 0};
	sp_partial_date d;

	while (len > 0 && (*s == ' ' || *s == '\t'))
		s++, len--;
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	for (size_t i = 0; i < len; i++)
	{
		char		c = s[i];

		if (c >= '0' && c <= '9')
		{
			if (n == 8)
				return -1;
			if (in_group == 0)
			{
				if (groups == 3)
					return -1;
				groups++;
			}
			digits[n++] = c;
			in_group++;
			group_len[groups - 1]++;
		}
		else if ((c == '-' || c == '/' || c == ' ') && in_group > 0 && i + 1 < len)
			in_group = 0;
		else
			return -1;
	}
	/* separated parts are 4, 2, 2 digits; unseparated ones 4, 6 or 8 digits */
	if (groups > 1 && (group_len[0] != 4 || group_len[1] != 2 || (groups == 3 && group_len[2] != 2)))
		return -1;
	if (n != 4 && n != 6 && n != 8)
		return -1;
	memcpy(canon, digits, 4);
	if (n >= 6)
	{
		canon[4] = '-';
		memcpy(canon + 5, digits + 4, 2);
	}
	if (n == 8)
	{
		canon[7] = '-';
		memcpy(canon + 8, digits + 6, 2);
	}
	if (sp_parse_partial_date(canon, n == 4 ? 4 : n == 6 ? 7 : 10, &d) != SP_DATE_OK)
		return -1;
	out->year = (int16_t) d.year;
	out->month = (int8_t) d.month;
	out->day = (int8_t) d.day;
	out->precision = (int8_t) (d.precision == SP_PREC_DAY ? SP_YMD_DAY :
							   d.precision == SP_PREC_MONTH ? SP_YMD_MONTH : SP_YMD_YEAR);
	out->days = sp_days_from_civil(d.year, d.month, d.day);
	return 0;
}

const char *
sp_date_level_name(sp_date_level level)
{
	switch (level)
	{
		case SP_DATE_LEVEL_EXACT:
			return "exact";
		case SP_DATE_LEVEL_YEAR_ONLY:
			return "same year, one side known to the year only";
		case SP_DATE_LEVEL_TRANSPOSED:
			return "day and month transposed";
		case SP_DATE_LEVEL_SAME_MONTH:
			return "same year and month";
		case SP_DATE_LEVEL_WITHIN_YEAR:
			return "within one year";
		case SP_DATE_LEVEL_FAR:
			return "12 or more years apart";
		default:
			return "1 to 12 years apart";
	}
}

/* ------------------------------------------------------------------------
 * Weights
 * ------------------------------------------------------------------------ */

#define PROB_FLOOR 1e-6

static double
clamp_prob(double p)
{
	if (p < PROB_FLOOR)
		return PROB_FLOOR;
	if (p > 1.0 - PROB_FLOOR)
		return 1.0 - PROB_FLOOR;
	return p;
}

double
sp_fs_level_weight(const sp_fs_comparison *c, int level)
{
	if (level < 0 || level >= c->nlevels)
		return 0.0;
	return log2(clamp_prob(c->m[level]) / clamp_prob(c->u[level]));
}

double
sp_fs_match_weight(const sp_fs_model *model, const sp_gamma *gamma)
{
	double		prior = clamp_prob(model->prior);
	double		w = log2(prior / (1.0 - prior));

	for (int i = 0; i < model->ncomparisons; i++)
		w += sp_fs_level_weight(&model->comparisons[i], gamma[i]);
	return w;
}

double
sp_fs_probability(double weight)
{
	if (weight >= 0)
		return 1.0 / (1.0 + exp2(-weight));
	{
		double		e = exp2(weight);

		return e / (1.0 + e);
	}
}

/* ------------------------------------------------------------------------
 * Pattern table: open addressing on the gamma vector
 * ------------------------------------------------------------------------ */

static uint64_t
hash_gamma(const sp_gamma *g, int width)
{
	uint64_t	h = 1469598103934665603ULL;

	for (int i = 0; i < width; i++)
	{
		h ^= (uint8_t) g[i];
		h *= 1099511628211ULL;
	}
	return h ^ (h >> 29);
}

int
sp_pattern_table_init(sp_pattern_table *t, int width)
{
	memset(t, 0, sizeof(*t));
	t->width = width;
	t->capacity = 1024;
	t->gammas = calloc(t->capacity * (size_t) width, sizeof(sp_gamma));
	t->counts = calloc(t->capacity, sizeof(double));
	if (!t->gammas || !t->counts)
	{
		sp_pattern_table_free(t);
		return -1;
	}
	return 0;
}

static int
grow(sp_pattern_table *t)
{
	sp_pattern_table bigger;

	memset(&bigger, 0, sizeof(bigger));
	bigger.width = t->width;
	bigger.capacity = t->capacity * 2;
	bigger.gammas = calloc(bigger.capacity * (size_t) t->width, sizeof(sp_gamma));
	bigger.counts = calloc(bigger.capacity, sizeof(double));
	if (!bigger.gammas || !bigger.counts)
	{
		free(bigger.gammas);
		free(bigger.counts);
		return -1;
	}
	for (size_t i = 0; i < t->capacity; i++)
		if (t->counts[i] > 0 &&
			sp_pattern_table_add(&bigger, t->gammas + i * (size_t) t->width, t->counts[i]) < 0)
		{
			sp_pattern_table_free(&bigger);
			return -1;
		}
	free(t->gammas);
	free(t->counts);
	bigger.total = t->total;
	*t = bigger;
	return 0;
}

int
sp_pattern_table_add(sp_pattern_table *t, const sp_gamma *gamma, double count)
{
	size_t		mask;
	size_t		i;

	if ((t->npatterns + 1) * 2 > t->capacity && grow(t) < 0)
		return -1;
	mask = t->capacity - 1;
	i = (size_t) hash_gamma(gamma, t->width) & mask;
	for (;;)
	{
		sp_gamma   *slot = t->gammas + i * (size_t) t->width;

		if (t->counts[i] == 0)
		{
			memcpy(slot, gamma, (size_t) t->width);
			t->counts[i] = count;
			t->npatterns++;
			break;
		}
		if (memcmp(slot, gamma, (size_t) t->width) == 0)
		{
			t->counts[i] += count;
			break;
		}
		i = (i + 1) & mask;
	}
	t->total += (uint64_t) count;
	return 0;
}

void
sp_pattern_table_free(sp_pattern_table *t)
{
	free(t->gammas);
	free(t->counts);
	t->gammas = NULL;
	t->counts = NULL;
	t->npatterns = t->capacity = 0;
}

/* ------------------------------------------------------------------------
 * EM
 * ------------------------------------------------------------------------ */

int
sp_fs_cap_m(sp_fs_comparison *c, const double *m_max)
{
	int			capped = 0;

	for (int round = 0; round < c->nlevels; round++)
	{
		double		excess = 0,
					room = 0;
		int			over = 0;

		for (int l = 0; l < c->nlevels; l++)
			if (c->m[l] > m_max[l])
			{
				excess += c->m[l] - m_max[l];
				c->m[l] = m_max[l];
				over++;
			}
		if (over == 0)
			break;
		capped += over;
		for (int l = 0; l < c->nlevels; l++)
			if (c->m[l] < m_max[l])
				room += c->m[l];
		if (room <= 0)
			break;				/* every level at its cap: nowhere to put the rest */
		for (int l = 0; l < c->nlevels; l++)
			if (c->m[l] < m_max[l])
				c->m[l] += excess * c->m[l] / room;
	}
	return capped;
}

sp_em_result
sp_fs_em(sp_fs_model *model, const sp_pattern_table *patterns, int max_iterations, double tolerance)
{
	sp_em_result r;
	int			nc = model->ncomparisons;
	double		share = clamp_prob(model->prior);

	memset(&r, 0, sizeof(r));
	for (int it = 0; it < max_iterations; it++)
	{
		double		m_num[SP_FS_MAX_COMPARISONS][SP_FS_MAX_LEVELS];
		double		m_den[SP_FS_MAX_COMPARISONS];
		double		matched = 0.0,
					all = 0.0;
		double		change = 0.0;

		memset(m_num, 0, sizeof(m_num));
		memset(m_den, 0, sizeof(m_den));

		/* E step: probability that each pattern is a match */
		for (size_t s = 0; s < patterns->capacity; s++)
		{
			double		n = patterns->counts[s];
			const sp_gamma *g;
			double		lm,
						lu,
						p;

			if (n <= 0)
				continue;
			g = patterns->gammas + s * (size_t) patterns->width;
			lm = log(share);
			lu = log(1.0 - share);
			for (int c = 0; c < nc; c++)
				if (g[c] >= 0)
				{
					lm += log(clamp_prob(model->comparisons[c].m[g[c]]));
					lu += log(clamp_prob(model->comparisons[c].u[g[c]]));
				}
			p = 1.0 / (1.0 + exp(lu - lm));
			matched += n * p;
			all += n;
			for (int c = 0; c < nc; c++)
				if (g[c] >= 0)
				{
					m_num[c][g[c]] += n * p;
					m_den[c] += n * p;
				}
		}
		if (all == 0 || matched == 0)
			break;

		/* M step: m and the share of matches (u stays as estimated from random pairs) */
		for (int c = 0; c < nc; c++)
		{
			sp_fs_comparison *cmp = &model->comparisons[c];

			if (m_den[c] <= 0 || cmp->m_fixed)
				continue;
			for (int l = 0; l < cmp->nlevels; l++)
			{
				/*
				 * One pseudo-observation per level: a level the blocked
				 * pairs never show (year-only birth dates in a registry
				 * that had none yet) stays rare, not impossible.
				 */
				double		m = clamp_prob((m_num[c][l] + 1.0) / (m_den[c] + cmp->nlevels));

				if (fabs(m - cmp->m[l]) > change)
					change = fabs(m - cmp->m[l]);
				cmp->m[l] = m;
			}
		}
		{
			double		s2 = clamp_prob(matched / all);

			if (fabs(s2 - share) > change)
				change = fabs(s2 - share);
			share = s2;
		}
		r.iterations = it + 1;
		r.max_change = change;
		if (change < tolerance)
		{
			r.converged = 1;
			break;
		}
	}
	r.prior = share;
	return r;
}

sp_em_result
sp_fs_em_share(const sp_fs_model *model, const sp_pattern_table *patterns, int max_iterations, double tolerance)
{
	sp_em_result r;
	double		share = clamp_prob(model->prior);

	memset(&r, 0, sizeof(r));
	for (int it = 0; it < max_iterations; it++)
	{
		double		matched = 0.0,
					all = 0.0,
					next;

		for (size_t s = 0; s < patterns->capacity; s++)
		{
			double		n = patterns->counts[s];
			const sp_gamma *g;
			double		lm,
						lu;

			if (n <= 0)
				continue;
			g = patterns->gammas + s * (size_t) patterns->width;
			lm = log(share);
			lu = log(1.0 - share);
			for (int c = 0; c < model->ncomparisons; c++)
				if (g[c] >= 0)
				{
					lm += log(clamp_prob(model->comparisons[c].m[g[c]]));
					lu += log(clamp_prob(model->comparisons[c].u[g[c]]));
				}
			matched += n / (1.0 + exp(lu - lm));
			all += n;
		}
		if (all == 0)
			break;
		next = clamp_prob(matched / all);
		r.iterations = it + 1;
		r.max_change = fabs(next - share);
		share = next;
		if (r.max_change < tolerance)
		{
			r.converged = 1;
			break;
		}
	}
	r.prior = share;
	return r;
}

/* ------------------------------------------------------------------------
 * Union-find with union by rank and path halving
 * ------------------------------------------------------------------------ */

int
sp_uf_init(sp_union_find *uf, size_t n)
{
	uf->n = n;
	uf->parent = malloc(sizeof(uint32_t) * (n ? n : 1));
	uf->rank = calloc(n ? n : 1, 1);
	if (!uf->parent || !uf->rank)
	{
		sp_uf_free(uf);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		uf->parent[i] = (uint32_t) i;
	return 0;
}

size_t
sp_uf_bytes(size_t n)
{
	return (n ? n : 1) * (sizeof(uint32_t) + sizeof(uint8_t));
}

void
sp_uf_init_in(sp_union_find *uf, size_t n, void *memory)
{
	uf->n = n;
	uf->parent = memory;
	uf->rank = (uint8_t *) (uf->parent + (n ? n : 1));
	memset(uf->rank, 0, n ? n : 1);
	for (size_t i = 0; i < n; i++)
		uf->parent[i] = (uint32_t) i;
}

uint32_t
sp_uf_find(sp_union_find *uf, uint32_t x)
{
	while (uf->parent[x] != x)
	{
		uf->parent[x] = uf->parent[uf->parent[x]];
		x = uf->parent[x];
	}
	return x;
}

void
sp_uf_union(sp_union_find *uf, uint32_t a, uint32_t b)
{
	uint32_t	ra = sp_uf_find(uf, a);
	uint32_t	rb = sp_uf_find(uf, b);

	if (ra == rb)
		return;
	if (uf->rank[ra] < uf->rank[rb])
	{
		uint32_t	t = ra;

		ra = rb;
		rb = t;
	}
	uf->parent[rb] = ra;
	if (uf->rank[ra] == uf->rank[rb])
		uf->rank[ra]++;
}

void
sp_uf_free(sp_union_find *uf)
{
	free(uf->parent);
	free(uf->rank);
	uf->parent = NULL;
	uf->rank = NULL;
	uf->n = 0;
}

uint64_t
sp_random_next(uint64_t *state)
{
	uint64_t	z = (*state += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}
