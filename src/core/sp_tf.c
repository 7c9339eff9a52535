/*
 * sp_tf.c - term frequencies: how common each value of a column is.
 */
#include "sp_tf.h"

#include <stdlib.h>

int
sp_term_freq_cmp(const void *a, const void *b)
{
	const sp_term_freq *x = a,
			   *y = b;

	return x->hash < y->hash ? -1 : x->hash > y->hash ? 1 : 0;
}

void
sp_tf_count(sp_tf_table *tf, sp_term_freq *terms, int64_t n)
{
	int64_t		d = 0;

	for (int64_t i = 0; i < n; i++)
		terms[i].count = 1;
	qsort(terms, n, sizeof(sp_term_freq), sp_term_freq_cmp);
	for (int64_t i = 0; i < n; i++)
	{
		if (d > 0 && terms[d - 1].hash == terms[i].hash)
			terms[d - 1].count++;
		else
			terms[d++] = terms[i];
	}
	tf->n = n;
	tf->distinct = d;
	tf->terms = terms;
}

int
sp_tf_build(sp_tf_table *tf, const sp_link_spec *spec, int column, const sp_records *ra, const sp_records *rb,
			bool dedup, const sp_link_env *env)
{
	int64_t		total = ra->n + (dedup ? 0 : rb->n);
	sp_term_freq *all = env->alloc(sizeof(sp_term_freq) * (total > 1 ? total : 1), "term frequencies", env->ctx);
	int64_t		n = 0;

	if (!all)
		return SP_LINK_NO_MEMORY;
	for (int side = 0; side < (dedup ? 1 : 2); side++)
	{
		const sp_records *r = side == 0 ? ra : rb;

		for (int64_t i = 0; i < r->n; i++)
		{
			const sp_value *v = &r->values[i * spec->ncolumns + column];

			if (!v->isnull)
				all[n++] = (sp_term_freq) {sp_value_hash(r, v), 1};
		}
	}
	sp_tf_count(tf, all, n);
	return SP_LINK_OK;
}

void
sp_tf_stored(sp_tf_table *tf, sp_term_freq *terms, int64_t distinct, int64_t records)
{
	tf->n = records;
	tf->distinct = distinct;
	tf->terms = terms;
	qsort(terms, distinct, sizeof(sp_term_freq), sp_term_freq_cmp);
}

double
sp_tf_share(const sp_tf_table *tf, uint64_t hash)
{
	sp_term_freq key = {hash, 0};
	sp_term_freq *hit;

	if (tf->n == 0)
		return 1.0;
	hit = bsearch(&key, tf->terms, tf->distinct, sizeof(sp_term_freq), sp_term_freq_cmp);
	return (double) (hit ? hit->count : 1) / (double) tf->n;
}
