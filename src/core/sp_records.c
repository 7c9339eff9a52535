/*
 * sp_records.c - the records record linkage compares: spec helpers, value
 * hashes, the comparison of two records and the evidence rules.
 */
#include "sp_records.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * The environment of standalone callers
 * ------------------------------------------------------------------------ */

static void *
malloc_alloc(size_t bytes, const char *what, void *ctx)
{
	(void) what;
	(void) ctx;
	return calloc(bytes ? bytes : 1, 1);
}

static void
malloc_release(void *p, size_t bytes, void *ctx)
{
	(void) bytes;
	(void) ctx;
	free(p);
}

static void *
malloc_scratch(void *p, size_t bytes, void *ctx)
{
	(void) ctx;
	if (bytes == 0)
	{
		free(p);
		return NULL;
	}
	return realloc(p, bytes);
}

const sp_link_env sp_link_env_malloc = {malloc_alloc, malloc_release, malloc_scratch, NULL, NULL};

/* ------------------------------------------------------------------------
 * Spec
 * ------------------------------------------------------------------------ */

void
sp_link_spec_set_present(sp_link_spec *spec)
{
	for (int c = 0; c < spec->ncomparisons; c++)
		spec->comparisons[c].present = spec->columns[spec->comparisons[c].column].present;
	for (int e = 0; e < spec->nevidence; e++)
	{
		sp_evidence *ev = &spec->evidence[e];

		ev->present = (ev->kind == SP_EV_SAME_GROUP || ev->kind == SP_EV_HOUSEHOLD) ? spec->columns[ev->column].present :
			ev->kind == SP_EV_SWAPPED ? true :
			(spec->comparisons[ev->date].present && spec->comparisons[ev->family].present &&
			 spec->comparisons[ev->given].present);
	}
	for (int k = 0; k < spec->nrules; k++)
	{
		spec->rules[k].present = true;
		for (int p = 0; p < spec->rules[k].nparts; p++)
		{
			const sp_block_part *part = &spec->rules[k].parts[p];

			if (!spec->columns[part->column].present ||
				(part->fn == SP_KEY_NAME_KEYS && !spec->columns[part->column2].present))
				spec->rules[k].present = false;
		}
	}
}

/* Comparisons whose columns one blocking key uses (with their swap partners and dependants). */
void
sp_part_exclusions(const sp_link_spec *spec, const sp_block_part *part, bool *excluded)
{
	for (int c = 0; c < spec->ncomparisons; c++)
		excluded[c] = false;
	for (int c = 0; c < spec->ncomparisons; c++)
	{
		const sp_link_comparison *cmp = &spec->comparisons[c];

		if (cmp->column == part->column || (part->fn == SP_KEY_NAME_KEYS && cmp->column == part->column2))
		{
			excluded[c] = true;
			if (cmp->swap_with >= 0)
				excluded[cmp->swap_with] = true;
		}
	}
	for (int c = 0; c < spec->ncomparisons; c++)
		for (int d = 0; d < spec->comparisons[c].ndepends; d++)
			if (excluded[spec->comparisons[c].depends_on[d]])
				excluded[c] = true;
}

/* Comparisons whose columns a rule blocks on (with their swap partners). */
void
sp_rule_exclusions(const sp_link_spec *spec, int rule, bool *excluded)
{
	const sp_block_rule *r = &spec->rules[rule];

	/* the union of its keys' exclusions (dependants included by each) */
	for (int c = 0; c < spec->ncomparisons; c++)
		excluded[c] = false;
	for (int p = 0; p < r->nparts; p++)
	{
		bool		by_part[SP_FS_MAX_COMPARISONS];

		sp_part_exclusions(spec, &r->parts[p], by_part);
		for (int c = 0; c < spec->ncomparisons; c++)
			excluded[c] |= by_part[c];
	}
}

/* Comparisons that agree by construction among pairs with exact agreement on the anchor. */
void
sp_anchor_exclusions(const sp_link_spec *spec, bool *excluded)
{
	for (int c = 0; c < spec->ncomparisons; c++)
		excluded[c] = false;
	if (spec->anchor < 0)
		return;
	excluded[spec->anchor] = true;
	if (spec->comparisons[spec->anchor].swap_with >= 0)
		excluded[spec->comparisons[spec->anchor].swap_with] = true;
	for (int c = 0; c < spec->ncomparisons; c++)
		for (int d = 0; d < spec->comparisons[c].ndepends; d++)
			if (excluded[spec->comparisons[c].depends_on[d]])
				excluded[c] = true;
}

/* ------------------------------------------------------------------------
 * Hashes
 * ------------------------------------------------------------------------ */

uint64_t
sp_columns_key(const sp_link_spec *spec, const sp_records *r, int64_t i, const int *cols, int ncols)
{
	uint64_t	h = SP_FNV64_OFFSET;

	for (int k = 0; k < ncols; k++)
	{
		const sp_value *v = &r->values[i * spec->ncolumns + cols[k]];

		if (v->isnull)
			return 0;
		if (spec->columns[cols[k]].is_date)
			h = sp_fnv64(h, (const char *) &v->date.days, sizeof(v->date.days));
		else
			h = sp_fnv64(h, r->arena + v->offset, v->len);
		h = sp_fnv64(h, "|", 1);
	}
	return h == 0 ? 1 : h;
}

/* ------------------------------------------------------------------------
 * Comparing two records
 * ------------------------------------------------------------------------ */

void
sp_cmp_work_init(sp_cmp_work *w, const sp_link_env *env)
{
	memset(w, 0, sizeof(*w));
	w->env = env;
}

void
sp_cmp_work_free(sp_cmp_work *w)
{
	if (w->dl)
		w->env->scratch(w->dl, 0, w->env->ctx);
	w->dl = NULL;
	w->dl_size = 0;
}

static int
decode_value(const sp_records *r, const sp_value *v, uint32_t *out)
{
	int			n = sp_utf8_decode_all(r->arena + v->offset, v->len, out, SP_COMPARE_MAX_CHARS);

	return n < 0 ? (n == -2 ? SP_COMPARE_MAX_CHARS : 0) : n;
}

/* sp_level_of, static: sp_compare_records calls it up to four times a pair */
static int
level_of(const sp_link_comparison *cmp, const sp_records *ra, const sp_value *va,
		 const sp_records *rb, const sp_value *vb, sp_cmp_work *w)
{
	if (cmp->method == SP_METHOD_DATE)
		return (int) sp_compare_dates(va->date, vb->date);

	if (va->len == vb->len && memcmp(ra->arena + va->offset, rb->arena + vb->offset, va->len) == 0)
		return 0;
	if (cmp->method == SP_METHOD_EXACT && cmp->nthresholds == 0)
		return 1;
	{
		int			na = decode_value(ra, va, w->a);
		int			nb = decode_value(rb, vb, w->b);

		if (cmp->method == SP_METHOD_EXACT)
		{
			/* prefix levels of hierarchical codes: the first thresholds[k] characters agree */
			for (int k = 0; k < cmp->nthresholds; k++)
			{
				int			len = (int) cmp->thresholds[k];

				if (na >= len && nb >= len && memcmp(w->a, w->b, sizeof(uint32_t) * (size_t) len) == 0)
					return k + 1;
			}
			return cmp->nthresholds + 1;
		}
		if (cmp->method == SP_METHOD_JARO_WINKLER)
		{
			double		s = sp_jaro_winkler(w->a, na, w->b, nb, 0.1, 0.7, w->flags);

			for (int k = 0; k < cmp->nthresholds; k++)
				if (s >= cmp->thresholds[k])
					return k + 1;
			if (cmp->phonetic)
				return va->key_len > 0 && va->key_len == vb->key_len &&
					memcmp(ra->arena + va->key_offset, rb->arena + vb->key_offset, va->key_len) == 0
					? cmp->nthresholds + 1 : cmp->nthresholds + 2;
			return cmp->nthresholds + 1;
		}
		else
		{
			int			d;
			int			most = (int) cmp->thresholds[cmp->nthresholds - 1];

			/* the distance is at least the difference in length */
			if (abs(na - nb) > most)
				return cmp->nthresholds + 1;
			if (cmp->method == SP_METHOD_LEVENSHTEIN)
				d = sp_levenshtein(w->a, na, w->b, nb, w->row);
			else
			{
				size_t		need = sp_damerau_work_size(na, nb);

				if (need > w->dl_size)
				{
					int		   *bigger = w->env->scratch(w->dl, need * sizeof(int), w->env->ctx);

					if (!bigger)
						return SP_LINK_NO_MEMORY;
					w->dl = bigger;
					w->dl_size = need;
				}
				d = sp_damerau_levenshtein(w->a, na, w->b, nb, w->dl);
			}
			for (int k = 0; k < cmp->nthresholds; k++)
				if (d <= cmp->thresholds[k])
					return k + 1;
			return cmp->nthresholds + 1;
		}
	}
}

int
sp_level_of(const sp_link_comparison *cmp, const sp_records *ra, const sp_value *va,
			const sp_records *rb, const sp_value *vb, sp_cmp_work *w)
{
	return level_of(cmp, ra, va, rb, vb, w);
}

int
sp_compare_one(const sp_link_spec *spec, int c, const sp_records *ra, int64_t i, const sp_records *rb, int64_t j,
			   sp_cmp_work *w)
{
	const sp_link_comparison *cmp = &spec->comparisons[c];
	const sp_value *va,
			   *vb;
	int			level;

	if (!cmp->present)
		return -1;
	va = &ra->values[i * spec->ncolumns + cmp->column];
	vb = &rb->values[j * spec->ncolumns + cmp->column];
	if (va->isnull || vb->isnull)
		return -1;
	level = level_of(cmp, ra, va, rb, vb, w);
	return level < 0 ? SP_LINK_NO_MEMORY - 1 : level;
}

int
sp_compare_records(const sp_link_spec *spec, const sp_records *ra, int64_t i, const sp_records *rb, int64_t j,
				   sp_gamma *gamma, sp_pair_values *pv, sp_cmp_work *w)
{
	int			nc = spec->ncolumns;
	bool		done[SP_FS_MAX_COMPARISONS] = {false};

	if (pv)
	{
		pv->ra = ra;
		pv->rb = rb;
		pv->swapped = false;
	}
	for (int c = 0; c < spec->ncomparisons; c++)
	{
		const sp_link_comparison *cmp = &spec->comparisons[c];
		const sp_value *va,
				   *vb;

		if (done[c])
			continue;
		gamma[c] = -1;
		if (!cmp->present)
			continue;
		va = &ra->values[i * nc + cmp->column];
		vb = &rb->values[j * nc + cmp->column];
		if (!va->isnull && !vb->isnull)
		{
			int			level = level_of(cmp, ra, va, rb, vb, w);

			if (level < 0)
				return SP_LINK_NO_MEMORY;
			gamma[c] = (sp_gamma) level;
		}
		if (pv)
		{
			pv->left[c] = va;
			pv->right[c] = vb;
		}

		if (cmp->swap_with > c && spec->comparisons[cmp->swap_with].present)
		{
			/* given and family names entered the other way round */
			const sp_link_comparison *other = &spec->comparisons[cmp->swap_with];
			const sp_value *oa = &ra->values[i * nc + other->column];
			const sp_value *ob = &rb->values[j * nc + other->column];
			int			straight_other = (!oa->isnull && !ob->isnull) ? level_of(other, ra, oa, rb, ob, w) : -1;

			if (straight_other == SP_LINK_NO_MEMORY && !oa->isnull && !ob->isnull)
				return SP_LINK_NO_MEMORY;
			gamma[cmp->swap_with] = (sp_gamma) straight_other;
			done[cmp->swap_with] = true;
			if (pv)
			{
				pv->left[cmp->swap_with] = oa;
				pv->right[cmp->swap_with] = ob;
			}
			if (gamma[c] != 0 && !va->isnull && !vb->isnull && !oa->isnull && !ob->isnull)
			{
				int			s1 = level_of(cmp, ra, va, rb, ob, w);
				int			s2 = level_of(other, ra, oa, rb, vb, w);

				if (s1 < 0 || s2 < 0)
					return SP_LINK_NO_MEMORY;
				if (s1 + s2 < gamma[c] + straight_other)
				{
					/* a's given name agrees with b's family name: the value is a's given name */
					gamma[c] = (sp_gamma) s1;
					gamma[cmp->swap_with] = (sp_gamma) s2;
					if (pv)
					{
						pv->right[c] = ob;
						pv->right[cmp->swap_with] = vb;
						pv->swapped = true;
					}
				}
			}
		}
	}
	return SP_LINK_OK;
}

/* ------------------------------------------------------------------------
 * Evidence
 * ------------------------------------------------------------------------ */

double
sp_evidence_weight(const sp_link_spec *spec, const sp_records *ra, int64_t i, const sp_records *rb, int64_t j,
				   bool one_relation, const sp_gamma *g, bool swapped, bool *applies)
{
	double		w = 0;

	for (int e = 0; e < spec->nevidence; e++)
	{
		const sp_evidence *ev = &spec->evidence[e];
		bool		yes = false;

		if (ev->present)
		{
			if (ev->kind == SP_EV_SAME_GROUP)
			{
				const sp_value *va = &ra->values[i * spec->ncolumns + ev->column];
				const sp_value *vb = &rb->values[j * spec->ncolumns + ev->column];

				yes = one_relation && !va->isnull && !vb->isnull && va->len == vb->len &&
					memcmp(ra->arena + va->offset, rb->arena + vb->offset, va->len) == 0;
			}
			else if (ev->kind == SP_EV_HOUSEHOLD)
				yes = false;	/* weighed by the caller, with the other members of both groups */
			else if (ev->kind == SP_EV_SWAPPED)
				yes = swapped;
			else
			{
				int			family = g[ev->family];

				/*
				 * Twins have identifiers of their own: an anchor (national
				 * ID) that agrees, even with a typo, says otherwise.
				 */
				yes = g[ev->date] == SP_DATE_LEVEL_EXACT && family >= 0 &&
					family < spec->comparisons[ev->family].nlevels - 1 &&
					g[ev->given] == spec->comparisons[ev->given].nlevels - 1 &&
					(spec->anchor < 0 || g[spec->anchor] < 0 ||
					 g[spec->anchor] == spec->comparisons[spec->anchor].nlevels - 1);
			}
		}
		if (applies)
			applies[e] = yes;
		if (yes)
			w += ev->weight;
	}
	return w;
}
