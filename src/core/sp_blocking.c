/*
 * sp_blocking.c - blocking keys, the sort of each rule, splitting large
 * blocks, and candidate pairs, each produced once.
 */
#include "sp_blocking.h"
#include "sp_name.h"
#include "sp_text.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Keys
 * ------------------------------------------------------------------------ */

/* A phonetic name key: in the arena, or in owned (malloc'd) memory. */
typedef struct NameKey
{
	const char *s;
	size_t		len;
	char	   *owned;
} NameKey;

/*
 * Phonetic key of a prepared name value (of its whole name, spaces left out;
 * the column is normalised first when it is not a name column).  Returns 1,
 * 0 when there is none, or SP_LINK_NO_MEMORY.  Nothing else is called while
 * the malloc'd memory is held: a caller's allocator may raise.
 */
static int
value_name_key(const sp_link_spec *spec, const sp_records *r, int column, const sp_value *v, NameKey *out)
{
	char	   *n;
	size_t		nl;
	char		err[8];
	char	   *key;
	size_t		jl = 0,
				kl;

	out->owned = NULL;
	if (spec->columns[column].normalize == SP_NORM_NAME)
	{
		out->s = r->arena + v->key_offset;
		out->len = v->key_len;
		return v->key_len > 0;
	}
	if (sp_normalize_name(r->arena + v->offset, v->len, &n, &nl, err, sizeof(err)) != SP_NAME_OK)
		return 0;
	for (size_t i = 0; i < nl; i++)
		if (n[i] != ' ')
			n[jl++] = n[i];
	key = malloc(2 * jl + 2);
	if (!key)
	{
		free(n);
		return SP_LINK_NO_MEMORY;
	}
	kl = sp_name_key(n, jl, key);
	free(n);
	if (kl == 0)
	{
		free(key);
		return 0;
	}
	out->s = key;
	out->len = kl;
	out->owned = key;
	return 1;
}

/* strcmp of two keys that hold no NUL */
static int
key_cmp(const NameKey *a, const NameKey *b)
{
	int			c = memcmp(a->s, b->s, a->len < b->len ? a->len : b->len);

	if (c != 0)
		return c;
	return a->len < b->len ? -1 : a->len > b->len ? 1 : 0;
}

int
sp_block_mix_part(const sp_link_spec *spec, const sp_records *r, int64_t i, const sp_block_part *part, int k,
				  uint64_t *h)
{
	const sp_value *v = &r->values[i * spec->ncolumns + part->column];

	if (v->isnull)
		return 0;
	*h = sp_fnv64(*h, (const char *) &k, sizeof(k));
	switch (part->fn)
	{
		case SP_KEY_VALUE:
			if (spec->columns[part->column].is_date)
				*h = sp_fnv64(*h, (const char *) &v->date.days, sizeof(v->date.days));
			else
				*h = sp_fnv64(*h, r->arena + v->offset, v->len);
			break;
		case SP_KEY_SORTED:
			{
				unsigned char counts[256];
				int			n[256];

				if (spec->columns[part->column].is_date)
					return 0;
				memset(n, 0, sizeof(n));
				for (size_t b = 0; b < v->len; b++)
					n[(unsigned char) r->arena[v->offset + b]]++;
				/* the byte histogram: equal for any reordering of the value */
				for (int b = 0; b < 256; b++)
					counts[b] = (unsigned char) (n[b] < 255 ? n[b] : 255);
				*h = sp_fnv64(*h, (const char *) counts, sizeof(counts));
				break;
			}
		case SP_KEY_YEAR:
			if (!spec->columns[part->column].is_date)
				return 0;
			*h = sp_fnv64(*h, (const char *) &v->date.year, sizeof(v->date.year));
			break;
		case SP_KEY_FIRST:
			{
				size_t		bytes = sp_utf8_prefix(r->arena + v->offset, v->len, (size_t) part->n);

				*h = sp_fnv64(*h, r->arena + v->offset, bytes);
				break;
			}
		case SP_KEY_NAME_KEY:
			{
				NameKey		key;
				int			found = value_name_key(spec, r, part->column, v, &key);

				if (found <= 0)
					return found;
				*h = sp_fnv64(*h, key.s, key.len);
				free(key.owned);
				break;
			}
		case SP_KEY_NAME_KEYS:
			{
				const sp_value *v2 = &r->values[i * spec->ncolumns + part->column2];
				NameKey		k1,
							k2;
				int			f1,
							f2;

				if (v2->isnull)
					return 0;
				f1 = value_name_key(spec, r, part->column, v, &k1);
				if (f1 < 0)
					return f1;
				f2 = value_name_key(spec, r, part->column2, v2, &k2);
				if (f1 == 0 || f2 <= 0)
				{
					free(k1.owned);
					free(k2.owned);
					return f2 < 0 ? f2 : 0;
				}
				if (key_cmp(&k1, &k2) > 0)
				{
					NameKey		t = k1;

					k1 = k2;
					k2 = t;
				}
				*h = sp_fnv64(*h, k1.s, k1.len);
				*h = sp_fnv64(*h, "|", 1);
				*h = sp_fnv64(*h, k2.s, k2.len);
				free(k1.owned);
				free(k2.owned);
				break;
			}
	}
	return 1;
}

int
sp_block_rule_key(const sp_link_spec *spec, const sp_records *r, int64_t i, const sp_block_rule *rule,
				  uint64_t *key)
{
	uint64_t	h = SP_FNV64_OFFSET;

	*key = 0;
	for (int k = 0; k < rule->nparts; k++)
	{
		int			found = sp_block_mix_part(spec, r, i, &rule->parts[k], k, &h);

		if (found <= 0)
			return found < 0 ? found : SP_LINK_OK;
	}
	*key = h == 0 ? 1 : h;
	return SP_LINK_OK;
}

int
sp_block_keys(const sp_link_spec *spec, sp_records *r, const sp_link_env *env)
{
	r->keys = env->alloc(sizeof(uint64_t) * r->n * (spec->nrules > 1 ? spec->nrules : 1), "blocking keys", env->ctx);
	if (!r->keys)
		return SP_LINK_NO_MEMORY;
	for (int64_t i = 0; i < r->n; i++)
	{
		if ((i & 1023) == 0)
			sp_link_interrupt(env);
		for (int k = 0; k < spec->nrules; k++)
		{
			r->keys[i * spec->nrules + k] = 0;
			if (spec->rules[k].present &&
				sp_block_rule_key(spec, r, i, &spec->rules[k], &r->keys[i * spec->nrules + k]) < 0)
				return SP_LINK_NO_MEMORY;
		}
	}
	return SP_LINK_OK;
}

/* ------------------------------------------------------------------------
 * Blocks
 * ------------------------------------------------------------------------ */

int
sp_keyed_record_cmp(const void *a, const void *b)
{
	const sp_keyed_record *x = a,
			   *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	if (x->side != y->side)
		return x->side - y->side;
	return x->idx - y->idx;
}

sp_keyed_record *
sp_block_sorted(const sp_link_spec *spec, const sp_records *ra, const sp_records *rb, bool dedup, int k,
				const sp_link_env *env, int64_t *count)
{
	int64_t		nl = ra->n,
				nr = dedup ? 0 : rb->n;
	sp_keyed_record *kr = env->alloc(sizeof(sp_keyed_record) * (nl + nr), "blocking", env->ctx);
	int64_t		m = 0;

	*count = 0;
	if (!kr)
		return NULL;
	for (int64_t i = 0; i < nl; i++)
		if (ra->keys[i * spec->nrules + k])
			kr[m++] = (sp_keyed_record) {ra->keys[i * spec->nrules + k], (int32_t) i, 0, 0};
	for (int64_t j = 0; j < nr; j++)
		if (rb->keys[j * spec->nrules + k])
			kr[m++] = (sp_keyed_record) {rb->keys[j * spec->nrules + k], (int32_t) j, 1, 0};
	qsort(kr, m, sizeof(sp_keyed_record), sp_keyed_record_cmp);
	*count = m;
	return kr;
}

void
sp_block_sorted_free(sp_keyed_record *kr, const sp_records *ra, const sp_records *rb, bool dedup,
					 const sp_link_env *env)
{
	env->release(kr, sizeof(sp_keyed_record) * (ra->n + (dedup ? 0 : rb->n)), env->ctx);
}

double
sp_block_pairs(const sp_keyed_record *kr, int64_t n, bool dedup)
{
	double		left = 0;

	for (int64_t x = 0; x < n; x++)
		left += kr[x].side == 0;
	return dedup ? left * (left - 1) / 2 : left * (n - left);
}

int
sp_refine_block(const sp_block_rule *rule, bool dedup, sp_keyed_record *kr, int64_t n, int level,
				sp_refine_fn refine, void *arg, sp_block_stats *st)
{
	int64_t		kept = 0;

	if (n <= rule->max_block)
		return SP_LINK_OK;
	if (level == rule->nrefine)
	{
		st->dropped_blocks++;
		st->dropped_records += n;
		st->dropped_pairs += sp_block_pairs(kr, n, dedup);
		for (int64_t x = 0; x < n; x++)
			kr[x].key = 0;
		return SP_LINK_OK;
	}
	st->refined_blocks++;
	for (int64_t x = 0; x < n; x++)
	{
		uint64_t	h = kr[x].key;
		int			found = refine(&kr[x], level, &h, arg);

		if (found < 0)
			return found;
		if (!found)
		{
			/* no value to split by: this record's pairs in the block are lost */
			st->dropped_records++;
			kr[x].key = 0;
			continue;
		}
		kr[x].key = h == 0 ? 1 : h;
		kr[x].level = (uint8_t) (level + 1);
		kept++;
	}
	qsort(kr, n, sizeof(sp_keyed_record), sp_keyed_record_cmp);
	{
		/* records without a refine value (key 0) sort first */
		int64_t		s = n - kept;
		double		before = sp_block_pairs(kr + s, kept, dedup);
		double		full = sp_block_pairs(kr, n, dedup);

		for (int64_t e; s < n; s = e)
		{
			int			status;

			e = s;
			while (e < n && kr[e].key == kr[s].key)
				e++;
			status = sp_refine_block(rule, dedup, kr + s, e - s, level + 1, refine, arg, st);
			if (status < 0)
				return status;
		}
		st->dropped_pairs += full - before;
	}
	return SP_LINK_OK;
}

/* The refine keys of a spec's rule, computed from the records. */
typedef struct RefineArg
{
	const sp_link_spec *spec;
	const sp_records *ra;
	const sp_records *rb;
	const sp_block_rule *rule;
} RefineArg;

static int
refine_from_records(const sp_keyed_record *rec, int level, uint64_t *h, void *arg)
{
	const RefineArg *ctx = arg;
	const sp_records *r = rec->side == 0 ? ctx->ra : ctx->rb;

	return sp_block_mix_part(ctx->spec, r, rec->idx, &ctx->rule->refine[level], 100 + level, h);
}

int
sp_refine_keys(const sp_link_spec *spec, sp_records *ra, sp_records *rb, bool dedup, const sp_link_env *env,
			   sp_block_stats *stats)
{
	memset(stats, 0, sizeof(sp_block_stats) * SP_LINK_MAX_RULES);
	for (int k = 0; k < spec->nrules; k++)
	{
		const sp_block_rule *rule = &spec->rules[k];
		RefineArg	arg = {spec, ra, rb, rule};
		sp_keyed_record *kr;
		int64_t		m;

		if (!rule->present || rule->max_block == 0)
			continue;
		kr = sp_block_sorted(spec, ra, rb, dedup, k, env, &m);
		if (!kr)
			return SP_LINK_NO_MEMORY;
		for (int64_t s = 0, e; s < m; s = e)
		{
			e = s;
			while (e < m && kr[e].key == kr[s].key)
				e++;
			if (e - s > rule->max_block)
			{
				sp_link_interrupt(env);
				if (sp_refine_block(rule, dedup, kr + s, e - s, 0, refine_from_records, &arg, &stats[k]) < 0)
				{
					sp_block_sorted_free(kr, ra, rb, dedup, env);
					return SP_LINK_NO_MEMORY;
				}
			}
		}
		for (int64_t x = 0; x < m; x++)
		{
			sp_records *r = kr[x].side == 0 ? ra : rb;

			r->keys[(int64_t) kr[x].idx * spec->nrules + k] = kr[x].key;
			if (kr[x].level > 0)
			{
				if (!r->refine_level)
				{
					r->refine_level = env->alloc((size_t) r->n * spec->nrules, "refined blocking keys", env->ctx);
					if (!r->refine_level)
					{
						sp_block_sorted_free(kr, ra, rb, dedup, env);
						return SP_LINK_NO_MEMORY;
					}
				}
				r->refine_level[(int64_t) kr[x].idx * spec->nrules + k] = kr[x].level;
			}
		}
		sp_block_sorted_free(kr, ra, rb, dedup, env);
	}
	return SP_LINK_OK;
}

double
sp_estimate_pairs(const sp_link_spec *spec, const sp_records *ra, const sp_records *rb, bool dedup,
				  const sp_link_env *env)
{
	double		total = 0;

	for (int k = 0; k < spec->nrules; k++)
	{
		sp_keyed_record *kr;
		int64_t		m;

		if (!spec->rules[k].present)
			continue;
		kr = sp_block_sorted(spec, ra, rb, dedup, k, env, &m);
		if (!kr)
			return SP_LINK_NO_MEMORY;
		for (int64_t s = 0; s < m;)
		{
			int64_t		e = s;
			double		left = 0,
						right = 0;

			while (e < m && kr[e].key == kr[s].key)
			{
				if (kr[e].side == 0)
					left++;
				else
					right++;
				e++;
			}
			total += dedup ? left * (left - 1) / 2 : left * right;
			s = e;
		}
		sp_block_sorted_free(kr, ra, rb, dedup, env);
	}
	return total;
}

int64_t
sp_largest_block(const sp_link_spec *spec, const sp_records *ra, const sp_records *rb, bool dedup, int k,
				 const sp_link_env *env)
{
	sp_keyed_record *kr;
	int64_t		m,
				largest = 0;

	kr = sp_block_sorted(spec, ra, rb, dedup, k, env, &m);
	if (!kr)
		return SP_LINK_NO_MEMORY;
	for (int64_t s = 0, e; s < m; s = e)
	{
		e = s;
		while (e < m && kr[e].key == kr[s].key)
			e++;
		if (e - s > largest)
			largest = e - s;
	}
	sp_block_sorted_free(kr, ra, rb, dedup, env);
	return largest;
}

/* ------------------------------------------------------------------------
 * Candidate pairs, each produced once
 * ------------------------------------------------------------------------ */

/* Was this pair already produced by an earlier rule? */
static bool
earlier_rule_pairs(const sp_link_spec *spec, const sp_records *ra, int64_t i, const sp_records *rb, int64_t j,
				   int rule)
{
	for (int k = 0; k < rule; k++)
	{
		uint64_t	a = ra->keys[i * spec->nrules + k];

		if (a != 0 && a == rb->keys[j * spec->nrules + k])
			return true;
	}
	return false;
}

int
sp_for_each_candidate(const sp_link_spec *spec, const sp_records *ra, const sp_records *rb, bool dedup,
					  bool once, sp_pair_fn pair, void *arg, sp_progress_fn progress, void *progress_arg,
					  const sp_link_env *env)
{
	double		done = 0;

	for (int k = 0; k < spec->nrules; k++)
	{
		sp_keyed_record *kr;
		int64_t		m;

		if (!spec->rules[k].present)
			continue;
		kr = sp_block_sorted(spec, ra, rb, dedup, k, env, &m);
		if (!kr)
			return SP_LINK_NO_MEMORY;
		for (int64_t s = 0; s < m;)
		{
			int64_t		e = s;
			int64_t		first_right;

			while (e < m && kr[e].key == kr[s].key)
				e++;
			first_right = s;
			while (first_right < e && kr[first_right].side == 0)
				first_right++;
			if (dedup)
			{
				for (int64_t x = s; x < e; x++)
					for (int64_t y = x + 1; y < e; y++)
					{
						int64_t		i = kr[x].idx,
									j = kr[y].idx;

						bool		first = !earlier_rule_pairs(spec, ra, i, ra, j, k);

						if (once && !first)
							continue;
						pair(i, j, k, first, arg);
						done++;
						if (((int64_t) done & 65535) == 0 && progress)
							progress(done, progress_arg);
					}
			}
			else
			{
				for (int64_t x = s; x < first_right; x++)
					for (int64_t y = first_right; y < e; y++)
					{
						int64_t		i = kr[x].idx,
									j = kr[y].idx;

						bool		first = !earlier_rule_pairs(spec, ra, i, rb, j, k);

						if (once && !first)
							continue;
						pair(i, j, k, first, arg);
						done++;
						if (((int64_t) done & 65535) == 0 && progress)
							progress(done, progress_arg);
					}
			}
			s = e;
		}
		sp_block_sorted_free(kr, ra, rb, dedup, env);
	}
	return SP_LINK_OK;
}
