/*
 * sp_household.c - household context of record pairs (sp_household.h).
 */
#include "sp_household.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Groups
 * ------------------------------------------------------------------------ */

typedef struct hashed
{
	uint64_t	hash;
	int64_t		idx;
} hashed;

static int
hashed_cmp(const void *a, const void *b)
{
	const hashed *x = a,
			   *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx ? 1 : 0;
}

static bool
same_value(const sp_records *r, const sp_value *a, const sp_value *b)
{
	return a->len == b->len && memcmp(r->arena + a->offset, r->arena + b->offset, a->len) == 0;
}

void
sp_groups_free(sp_groups *g, const sp_link_env *env)
{
	if (g->group_of)
		env->release(g->group_of, sizeof(int64_t) * (size_t) (g->n > 0 ? g->n : 1), env->ctx);
	if (g->start)
		env->release(g->start, sizeof(int64_t) * (size_t) (g->ngroups + 1), env->ctx);
	if (g->members)
		env->release(g->members, sizeof(int64_t) * (size_t) (g->n > 0 ? g->n : 1), env->ctx);
	memset(g, 0, sizeof(*g));
}

int
sp_groups_build(const sp_link_spec *spec, const sp_records *r, int column, sp_groups *g, const sp_link_env *env)
{
	size_t		n1 = (size_t) (r->n > 0 ? r->n : 1);
	hashed	   *h;
	int64_t    *rep;
	int64_t		nh = 0,
				ngroups = 0;

	memset(g, 0, sizeof(*g));
	g->n = r->n;
	g->group_of = env->alloc(sizeof(int64_t) * n1, "household groups", env->ctx);
	if (!g->group_of)
		return SP_LINK_NO_MEMORY;
	h = env->scratch(NULL, sizeof(hashed) * n1, env->ctx);
	rep = env->scratch(NULL, sizeof(int64_t) * n1, env->ctx);
	if (!h || !rep)
	{
		env->scratch(h, 0, env->ctx);
		env->scratch(rep, 0, env->ctx);
		sp_groups_free(g, env);
		return SP_LINK_NO_MEMORY;
	}
	for (int64_t i = 0; i < r->n; i++)
	{
		const sp_value *v = &r->values[i * spec->ncolumns + column];

		rep[i] = -1;
		if (v->isnull)
			continue;
		h[nh].hash = sp_value_hash(r, v);
		h[nh].idx = i;
		nh++;
	}
	qsort(h, (size_t) nh, sizeof(hashed), hashed_cmp);

	/*
	 * Each record's representative: the smallest record index with the same
	 * value.  Within a run of one hash records come in ascending order; a
	 * collision of two values is told apart by comparing the bytes.
	 */
	for (int64_t s = 0; s < nh;)
	{
		int64_t		e = s;

		while (e < nh && h[e].hash == h[s].hash)
			e++;
		for (int64_t a = s; a < e; a++)
		{
			const sp_value *va = &r->values[h[a].idx * spec->ncolumns + column];

			if (rep[h[a].idx] >= 0)
				continue;
			rep[h[a].idx] = h[a].idx;
			for (int64_t b = a + 1; b < e; b++)
				if (rep[h[b].idx] < 0 && same_value(r, va, &r->values[h[b].idx * spec->ncolumns + column]))
					rep[h[b].idx] = h[a].idx;
		}
		s = e;
		if ((s & 0xffff) == 0)
			sp_link_interrupt(env);
	}
	env->scratch(h, 0, env->ctx);

	/* groups numbered by their first record */
	for (int64_t i = 0; i < r->n; i++)
	{
		if (rep[i] < 0)
			g->group_of[i] = -1;
		else if (rep[i] == i)
			g->group_of[i] = ngroups++;
		else
			g->group_of[i] = g->group_of[rep[i]];
	}
	env->scratch(rep, 0, env->ctx);

	g->ngroups = ngroups;
	g->start = env->alloc(sizeof(int64_t) * (size_t) (ngroups + 1), "household groups", env->ctx);
	g->members = env->alloc(sizeof(int64_t) * n1, "household groups", env->ctx);
	if (!g->start || !g->members)
	{
		sp_groups_free(g, env);
		return SP_LINK_NO_MEMORY;
	}
	for (int64_t i = 0; i < r->n; i++)
		if (g->group_of[i] >= 0)
			g->start[g->group_of[i] + 1]++;
	for (int64_t k = 0; k < ngroups; k++)
		g->start[k + 1] += g->start[k];
	{
		/* fill in ascending record order: start[k] walks forward, then is restored */
		for (int64_t i = 0; i < r->n; i++)
			if (g->group_of[i] >= 0)
				g->members[g->start[g->group_of[i]]++] = i;
		for (int64_t k = ngroups; k > 0; k--)
			g->start[k] = g->start[k - 1];
		g->start[0] = 0;
	}
	return SP_LINK_OK;
}

sp_hh_level
sp_hh_plain_level(const sp_groups *ga, int64_t i, const sp_groups *gb, int64_t j)
{
	return sp_group_size(ga, i) >= 2 && sp_group_size(gb, j) >= 2 ? SP_HH_UNLINKED : SP_HH_ALONE;
}

const char *
sp_hh_level_name(sp_hh_level level)
{
	switch (level)
	{
		case SP_HH_LINKED:
			return "linked";
		case SP_HH_UNLINKED:
			return "unlinked";
		case SP_HH_ALONE:
			return "alone";
	}
	return "?";
}

/* ------------------------------------------------------------------------
 * Pairs of groups
 * ------------------------------------------------------------------------ */

int
sp_hh_pair_cmp(const void *a, const void *b)
{
	const sp_hh_pair *x = a,
			   *y = b;

	if (x->i != y->i)
		return x->i < y->i ? -1 : 1;
	return x->j < y->j ? -1 : x->j > y->j ? 1 : 0;
}

typedef struct group_pair
{
	int64_t		a;				/* group of the left side */
	int64_t		b;				/* group of the right side */
} group_pair;

static int
group_pair_cmp(const void *x, const void *y)
{
	const group_pair *p = x,
			   *q = y;

	if (p->a != q->a)
		return p->a < q->a ? -1 : 1;
	return p->b < q->b ? -1 : p->b > q->b ? 1 : 0;
}

typedef struct cell
{
	double		w;
	int32_t		a;				/* member index within its group */
	int32_t		b;
	int8_t		assigned;
} cell;

static int
cell_by_weight(const void *x, const void *y)
{
	const cell *p = x,
			   *q = y;

	if (p->w != q->w)
		return p->w > q->w ? -1 : 1;
	if (p->a != q->a)
		return p->a < q->a ? -1 : 1;
	return p->b < q->b ? -1 : p->b > q->b ? 1 : 0;
}

static int
cell_by_position(const void *x, const void *y)
{
	const cell *p = x,
			   *q = y;

	if (p->a != q->a)
		return p->a < q->a ? -1 : 1;
	return p->b < q->b ? -1 : p->b > q->b ? 1 : 0;
}

int
sp_household_cells(const sp_groups *ga, const sp_groups *gb, bool dedup, sp_hh_pair *links, int64_t nlinks,
				   double confident, sp_hh_weight_fn weight, sp_hh_cell_fn emit, void *arg, sp_hh_stats *stats,
				   const sp_link_env *env)
{
	group_pair *gp;
	int64_t		ngp = 0;
	cell	   *cells;
	uint8_t		taken_a[SP_HH_MAX_CELLS],
				taken_b[SP_HH_MAX_CELLS];
	double		other_a[SP_HH_MAX_CELLS],	/* heaviest rival of each row's and column's assigned cell */
				other_b[SP_HH_MAX_CELLS],
				asg_a[SP_HH_MAX_CELLS],	/* weight of each row's and column's assigned cell */
				asg_b[SP_HH_MAX_CELLS];

	memset(stats, 0, sizeof(*stats));
	gp = env->scratch(NULL, sizeof(group_pair) * (size_t) (nlinks > 0 ? nlinks : 1), env->ctx);
	cells = env->scratch(NULL, sizeof(cell) * SP_HH_MAX_CELLS, env->ctx);
	if (!gp || !cells)
	{
		env->scratch(gp, 0, env->ctx);
		env->scratch(cells, 0, env->ctx);
		return SP_LINK_NO_MEMORY;
	}
	for (int64_t k = 0; k < nlinks; k++)
	{
		int64_t		a = ga->group_of[links[k].i],
					b = gb->group_of[links[k].j];

		if (a < 0 || b < 0)
			continue;
		if (dedup)
		{
			if (a == b)
				continue;		/* registered together: not a re-registration */
			if (a > b)
			{
				int64_t		t = a;

				a = b;
				b = t;
			}
		}
		gp[ngp].a = a;
		gp[ngp].b = b;
		ngp++;
	}
	qsort(gp, (size_t) ngp, sizeof(group_pair), group_pair_cmp);

	for (int64_t k = 0; k < ngp; k++)
	{
		int64_t		a = gp[k].a,
					b = gp[k].b;
		int64_t		na = ga->start[a + 1] - ga->start[a],
					nb = gb->start[b + 1] - gb->start[b];
		const int64_t *ma = ga->members + ga->start[a],
				   *mb = gb->members + gb->start[b];
		int64_t		nc = 0,
					confident_assigned = 0;

		if (k > 0 && gp[k - 1].a == a && gp[k - 1].b == b)
			continue;
		if (na * nb > SP_HH_MAX_CELLS)
		{
			stats->group_pairs_too_large++;
			continue;
		}
		stats->group_pairs++;
		if ((stats->group_pairs & 255) == 0)
			sp_link_interrupt(env);
		for (int32_t x = 0; x < na; x++)
			for (int32_t y = 0; y < nb; y++)
			{
				cells[nc].w = weight(ma[x], mb[y], arg);
				cells[nc].a = x;
				cells[nc].b = y;
				cells[nc].assigned = 0;
				nc++;
			}
		stats->cells += nc;

		/* one to one, the heaviest first */
		qsort(cells, (size_t) nc, sizeof(cell), cell_by_weight);
		memset(taken_a, 0, sizeof(taken_a));
		memset(taken_b, 0, sizeof(taken_b));
		for (int64_t c = 0; c < nc; c++)
			if (!taken_a[cells[c].a] && !taken_b[cells[c].b])
			{
				taken_a[cells[c].a] = taken_b[cells[c].b] = 1;
				cells[c].assigned = 1;
				if (cells[c].w >= confident)
					confident_assigned++;
			}
		/*
		 * An assigned pair is each other's best match only if no other
		 * pair of one of its records weighs as much while its other record
		 * is free or assigned no heavier: twins whose names were both
		 * spelt anew weigh the same against either twin, and a tie is no
		 * assignment.
		 */
		for (int64_t x = 0; x < na; x++)
			other_a[x] = asg_a[x] = -INFINITY;
		for (int64_t y = 0; y < nb; y++)
			other_b[y] = asg_b[y] = -INFINITY;
		for (int64_t c = 0; c < nc; c++)
			if (cells[c].assigned)
			{
				asg_a[cells[c].a] = cells[c].w;
				asg_b[cells[c].b] = cells[c].w;
			}
		for (int64_t c = 0; c < nc; c++)
			if (!cells[c].assigned)
			{
				double		w = cells[c].w;

				if (asg_b[cells[c].b] <= w + 1e-9 && w > other_a[cells[c].a])
					other_a[cells[c].a] = w;
				if (asg_a[cells[c].a] <= w + 1e-9 && w > other_b[cells[c].b])
					other_b[cells[c].b] = w;
			}
		qsort(cells, (size_t) nc, sizeof(cell), cell_by_position);
		for (int64_t c = 0; c < nc; c++)
		{
			sp_hh_level level;
			bool		strict = cells[c].assigned && cells[c].w > other_a[cells[c].a] + 1e-9 &&
				cells[c].w > other_b[cells[c].b] + 1e-9;

			/* another assigned pair of the two groups is confident */
			if (strict && confident_assigned - (cells[c].w >= confident ? 1 : 0) >= 1)
			{
				level = SP_HH_LINKED;
				stats->linked++;
			}
			else
				level = na >= 2 && nb >= 2 ? SP_HH_UNLINKED : SP_HH_ALONE;
			emit(ma[cells[c].a], mb[cells[c].b], cells[c].w, level, cells[c].assigned != 0, arg);
		}
	}
	env->scratch(gp, 0, env->ctx);
	env->scratch(cells, 0, env->ctx);
	return SP_LINK_OK;
}
