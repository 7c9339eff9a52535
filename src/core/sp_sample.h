/*
 * sp_sample.h - the samples training draws: candidate pairs kept for EM,
 * random pairs for u, and pairs of records that agree on some columns for
 * the conditional u of comparisons like locality.  Every draw is
 * deterministic (splitmix64 from fixed seeds, by record position), so the
 * same rows give the same model.
 *
 * Pure C (no postgres.h), unit-tested in test/unit.
 */
#ifndef SP_SAMPLE_H
#define SP_SAMPLE_H

#include "sp_blocking.h"
#include "sp_records.h"

/* Most pairs drawn for u among random pairs, and for each conditional u. */
#define SP_U_RANDOM_SAMPLES 1000000
#define SP_U_WITHIN_SAMPLES 1000000

/* Deterministic keep/skip decision for sampling pairs. */
bool		sp_keep_pair(int64_t i, int64_t j, double keep);

/*
 * Levels of every comparison among samples random pairs (i of ra, j of
 * rb; i != j when dedup), leaving out pairs the evidence rules call
 * different people: counts[c][level] and totals[c] are added to.  Almost
 * all random pairs are non-matches: this is u.  Returns a status.
 */
int			sp_u_random_pairs(const sp_link_spec *spec, const sp_records *ra, const sp_records *rb, bool dedup,
							  int64_t samples, double counts[][SP_FS_MAX_LEVELS], double *totals,
							  sp_cmp_work *work, const sp_link_env *env);

/*
 * The blocks of a sorted array of keyed records (sp_keyed_record_cmp) that
 * hold at least one pair, with cumulative pair counts: a pair drawn
 * uniformly from all of their pairs is a group drawn by its pairs, then
 * two of its records.
 */
typedef struct sp_pair_groups
{
	int64_t		m;				/* keyed records */
	int64_t		ngroups;
	int64_t    *start;			/* first record of each group; start[ngroups] = m */
	int64_t    *size;			/* its records */
	int64_t    *nleft;			/* its records of the left side */
	double	   *cum;			/* pairs of the groups up to and including this one */
	double		total;			/* pairs of all groups */
	bool		dedup;
} sp_pair_groups;

/* Memory from env ("conditional u"); returns a status. */
int			sp_pair_groups_build(sp_pair_groups *g, const sp_keyed_record *kr, int64_t m, bool dedup,
								 const sp_link_env *env);

/*
 * One pair drawn with rng (g->total > 0): positions *a (left side) and *b
 * in the keyed records.
 */
void		sp_pair_groups_draw(const sp_pair_groups *g, uint64_t *rng, int64_t *a, int64_t *b);
void		sp_pair_groups_free(sp_pair_groups *g, const sp_link_env *env);

/*
 * Levels of every comparison among up to SP_U_WITHIN_SAMPLES pairs drawn
 * uniformly from the pairs of records that agree on cols (say, persons of
 * one family name), leaving out pairs the evidence rules call different
 * people.  This is u for comparisons like locality, whose agreement is
 * common among same-name people who are not the same person (families live
 * together) and rare among random pairs.  The draw is deterministic.
 * Returns the number of such pairs, negative when memory was refused.
 */
double		sp_conditional_level_counts(const sp_link_spec *spec, const sp_records *ra, const sp_records *rb,
										bool dedup, const int *cols, int ncols,
										double counts[][SP_FS_MAX_LEVELS], sp_cmp_work *work,
										const sp_link_env *env);

#endif							/* SP_SAMPLE_H */
