/*
 * sp_sample.c - the samples training draws.
 */
#include "sp_sample.h"

#include <stdlib.h>

bool
sp_keep_pair(int64_t i, int64_t j, double keep)
{
	uint64_t	x;

	if (keep >= 1.0)
		return true;
	x = (uint64_t) i * 0x9E3779B97F4A7C15ULL ^ (uint64_t) j;
	return (double) (sp_random_next(&x) >> 11) / 9007199254740992.0 < keep;
}

int
sp_u_random_pairs(const sp_link_spec *spec, const sp_records *ra, const sp_records *rb, bool dedup,
				  int64_t samples, double counts[][SP_FS_MAX_LEVELS], double *totals, sp_cmp_work *work,
				  const sp_link_env *env)
{
	uint64_t	rng = 20261128;

	for (int64_t s = 0; s < samples; s++)
	{
		sp_gamma	g[SP_FS_MAX_COMPARISONS];
		int64_t		i = (int64_t) (sp_random_next(&rng) % (uint64_t) ra->n);
		int64_t		j = (int64_t) (sp_random_next(&rng) % (uint64_t) rb->n);

		if ((s & 4095) == 0)
			sp_link_interrupt(env);
		if (dedup && i == j)
		{
			s--;
			continue;
		}
		if (sp_compare_records(spec, ra, i, rb, j, g, NULL, work) < 0)
			return SP_LINK_NO_MEMORY;
		if (sp_evidence_weight(spec, ra, i, rb, j, dedup, g, false, NULL) < 0)
			continue;
		for (int c = 0; c < spec->ncomparisons; c++)
			if (g[c] >= 0)
			{
				counts[c][g[c]]++;
				totals[c]++;
			}
	}
	return SP_LINK_OK;
}

int
sp_pair_groups_build(sp_pair_groups *g, const sp_keyed_record *kr, int64_t m, bool dedup, const sp_link_env *env)
{
	g->m = m;
	g->ngroups = 0;
	g->total = 0;
	g->dedup = dedup;
	g->start = env->alloc(sizeof(int64_t) * (m + 1), "conditional u", env->ctx);
	g->size = g->start ? env->alloc(sizeof(int64_t) * (m + 1), "conditional u", env->ctx) : NULL;
	g->nleft = g->size ? env->alloc(sizeof(int64_t) * (m + 1), "conditional u", env->ctx) : NULL;
	g->cum = g->nleft ? env->alloc(sizeof(double) * (m + 1), "conditional u", env->ctx) : NULL;
	if (!g->cum)
	{
		sp_pair_groups_free(g, env);
		return SP_LINK_NO_MEMORY;
	}
	for (int64_t s = 0; s < m;)
	{
		int64_t		e = s,
					l = 0;
		double		pairs;

		while (e < m && kr[e].key == kr[s].key)
		{
			if (kr[e].side == 0)
				l++;
			e++;
		}
		pairs = dedup ? (double) l * (l - 1) / 2 : (double) l * (e - s - l);
		if (pairs > 0)
		{
			g->start[g->ngroups] = s;
			g->size[g->ngroups] = e - s;
			g->nleft[g->ngroups] = l;
			g->total += pairs;
			g->cum[g->ngroups] = g->total;
			g->ngroups++;
		}
		s = e;
	}
	g->start[g->ngroups] = m;
	return SP_LINK_OK;
}

void
sp_pair_groups_draw(const sp_pair_groups *g, uint64_t *rng, int64_t *a, int64_t *b)
{
	double		x = (double) (sp_random_next(rng) >> 11) / 9007199254740992.0 * g->total;
	int64_t		lo = 0,
				hi = g->ngroups - 1,
				k,
				size;

	while (lo < hi)
	{
		int64_t		mid = (lo + hi) / 2;

		if (g->cum[mid] > x)
			hi = mid;
		else
			lo = mid + 1;
	}
	k = lo;
	size = g->size[k];
	if (g->dedup)
	{
		/* the group's records are all on the left: any two of them */
		*a = (int64_t) (sp_random_next(rng) % (uint64_t) size);
		*b = (int64_t) (sp_random_next(rng) % (uint64_t) (size - 1));
		if (*b >= *a)
			(*b)++;
	}
	else
	{
		*a = (int64_t) (sp_random_next(rng) % (uint64_t) g->nleft[k]);
		*b = g->nleft[k] + (int64_t) (sp_random_next(rng) % (uint64_t) (size - g->nleft[k]));
	}
	*a += g->start[k];
	*b += g->start[k];
}

void
sp_pair_groups_free(sp_pair_groups *g, const sp_link_env *env)
{
	if (g->start)
		env->release(g->start, sizeof(int64_t) * (g->m + 1), env->ctx);
	if (g->size)
		env->release(g->size, sizeof(int64_t) * (g->m + 1), env->ctx);
	if (g->nleft)
		env->release(g->nleft, sizeof(int64_t) * (g->m + 1), env->ctx);
	if (g->cum)
		env->release(g->cum, sizeof(double) * (g->m + 1), env->ctx);
	g->start = g->size = g->nleft = NULL;
	g->cum = NULL;
}

double
sp_conditional_level_counts(const sp_link_spec *spec, const sp_records *ra, const sp_records *rb, bool dedup,
							const int *cols, int ncols, double counts[][SP_FS_MAX_LEVELS], sp_cmp_work *work,
							const sp_link_env *env)
{
	int64_t		nl = ra->n,
				nr = dedup ? 0 : rb->n;
	sp_keyed_record *kr = env->alloc(sizeof(sp_keyed_record) * (nl + nr), "conditional u", env->ctx);
	int64_t		m = 0;
	sp_pair_groups groups;
	uint64_t	rng = 20261130;
	int64_t		samples;
	double		total;

	if (!kr)
		return SP_LINK_NO_MEMORY;
	for (int64_t i = 0; i < nl; i++)
	{
		uint64_t	k = sp_columns_key(spec, ra, i, cols, ncols);

		if (k)
			kr[m++] = (sp_keyed_record) {k, (int32_t) i, 0, 0};
	}
	for (int64_t j = 0; j < nr; j++)
	{
		uint64_t	k = sp_columns_key(spec, rb, j, cols, ncols);

		if (k)
			kr[m++] = (sp_keyed_record) {k, (int32_t) j, 1, 0};
	}
	qsort(kr, m, sizeof(sp_keyed_record), sp_keyed_record_cmp);
	if (sp_pair_groups_build(&groups, kr, m, dedup, env) < 0)
	{
		env->release(kr, sizeof(sp_keyed_record) * (nl + nr), env->ctx);
		return SP_LINK_NO_MEMORY;
	}
	total = groups.total;
	samples = (int64_t) (total < (double) SP_U_WITHIN_SAMPLES ? total : (double) SP_U_WITHIN_SAMPLES);
	for (int64_t t = 0; t < samples; t++)
	{
		int64_t		a,
					b;
		sp_gamma	gamma[SP_FS_MAX_COMPARISONS];

		sp_pair_groups_draw(&groups, &rng, &a, &b);
		if ((t & 4095) == 0)
			sp_link_interrupt(env);
		a = kr[a].idx;
		b = kr[b].idx;
		if (sp_compare_records(spec, ra, a, rb, b, gamma, NULL, work) < 0)
		{
			total = SP_LINK_NO_MEMORY;
			break;
		}
		if (sp_evidence_weight(spec, ra, a, rb, b, dedup, gamma, false, NULL) < 0)
			continue;
		for (int c = 0; c < spec->ncomparisons; c++)
			if (gamma[c] >= 0)
				counts[c][gamma[c]]++;
	}
	env->release(kr, sizeof(sp_keyed_record) * (nl + nr), env->ctx);
	sp_pair_groups_free(&groups, env);
	return total;
}
