/*
 * sp_tf.h - term frequencies: how common each value of a column is, so
 * that agreeing on a rare name weighs more than agreeing on Mohamed.
 *
 * A table holds 64-bit hashes of prepared values (sp_value_hash) with
 * their counts, sorted by hash.  It is counted from the records being
 * linked, or read from the counts training stored (the glue reads them
 * from sp_internal.linkage_term_frequency).
 *
 * Pure C (no postgres.h), unit-tested in test/unit.
 */
#ifndef SP_TF_H
#define SP_TF_H

#include "sp_records.h"

typedef struct sp_term_freq
{
	uint64_t	hash;
	uint32_t	count;
} sp_term_freq;

typedef struct sp_tf_table
{
	int64_t		n;				/* values counted */
	int64_t		distinct;
	sp_term_freq *terms;		/* sorted by hash */
} sp_tf_table;

/* By hash. */
int			sp_term_freq_cmp(const void *a, const void *b);

/*
 * Count n hashes (terms[k].hash; the counts are ignored): terms is sorted
 * and equal hashes merged in place, and becomes tf's.
 */
void		sp_tf_count(sp_tf_table *tf, sp_term_freq *terms, int64_t n);

/*
 * Count the values of a column in ra (and rb unless dedup): memory from
 * env ("term frequencies").  Returns a status.
 */
int			sp_tf_build(sp_tf_table *tf, const sp_link_spec *spec, int column, const sp_records *ra,
						const sp_records *rb, bool dedup, const sp_link_env *env);

/*
 * Stored counts: distinct terms (at most one per hash, in any order) of a
 * table counted over records values; terms is sorted in place and becomes
 * tf's.  A hash not among them counts once.
 */
void		sp_tf_stored(sp_tf_table *tf, sp_term_freq *terms, int64_t distinct, int64_t records);

/* Share of values with this hash, at least 1/n (1 when nothing was counted). */
double		sp_tf_share(const sp_tf_table *tf, uint64_t hash);

/* The same for a prepared value of r. */
static inline double
sp_tf_value_share(const sp_tf_table *tf, const sp_records *r, const sp_value *v)
{
	return sp_tf_share(tf, sp_value_hash(r, v));
}

#endif							/* SP_TF_H */
