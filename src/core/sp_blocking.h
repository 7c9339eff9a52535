/*
 * sp_blocking.h - blocking: which pairs of records are compared at all.
 *
 * Every record gets one 64-bit key per blocking rule (a hash of the rule's
 * key parts, 0 when a part is missing); the records of a rule are sorted
 * by key, and each run of equal keys is a block.  A block larger than the
 * rule's max_block is split by the rule's refine keys, and what is still
 * too large is left out and counted.  A pair is produced by the first rule
 * that blocks it only (or by every such rule, for training).
 *
 * Pure C (no postgres.h), unit-tested and fuzzed in test/unit.
 */
#ifndef SP_BLOCKING_H
#define SP_BLOCKING_H

#include "sp_records.h"

/*
 * Mix the key of one part (the k-th of its rule) of record i into *h.
 * Returns 1, 0 when the record has no value for it, or SP_LINK_NO_MEMORY.
 */
int			sp_block_mix_part(const sp_link_spec *spec, const sp_records *r, int64_t i,
							  const sp_block_part *part, int k, uint64_t *h);

/* Blocking key of record i for a rule into *key (0 when a part is missing); status. */
int			sp_block_rule_key(const sp_link_spec *spec, const sp_records *r, int64_t i,
							  const sp_block_rule *rule, uint64_t *key);

/* r->keys (n * nrules, "blocking keys") for every rule present; status. */
int			sp_block_keys(const sp_link_spec *spec, sp_records *r, const sp_link_env *env);

/* A record of one side in a rule's sort. */
typedef struct sp_keyed_record
{
	uint64_t	key;
	int32_t		idx;
	int8_t		side;			/* 0 left, 1 right */
	uint8_t		level;			/* refine keys mixed into key (sp_refine_keys) */
} sp_keyed_record;

/* By key, then side, then index. */
int			sp_keyed_record_cmp(const void *a, const void *b);

/*
 * The records of both sides that have a key for rule k, sorted by key (and
 * side, then index): each run of equal keys is one block.  NULL when
 * memory was refused; free with sp_block_sorted_free.
 */
sp_keyed_record *sp_block_sorted(const sp_link_spec *spec, const sp_records *ra, const sp_records *rb,
								 bool dedup, int k, const sp_link_env *env, int64_t *count);
void		sp_block_sorted_free(sp_keyed_record *kr, const sp_records *ra, const sp_records *rb, bool dedup,
								 const sp_link_env *env);

/* Candidate pairs among n sorted records of one block. */
double		sp_block_pairs(const sp_keyed_record *kr, int64_t n, bool dedup);

/* What splitting large blocks did to one rule. */
typedef struct sp_block_stats
{
	int64_t		refined_blocks; /* blocks over max_block that were split */
	int64_t		dropped_blocks; /* still over max_block after every refinement: left out */
	int64_t		dropped_records;	/* records in those (or without a refine value) */
	double		dropped_pairs;	/* candidate pairs not produced because of that */
} sp_block_stats;

/*
 * Mixes the refine key of this level into *h for one record; returns 1, 0
 * when the record has no value to split by, or SP_LINK_NO_MEMORY.
 */
typedef int (*sp_refine_fn) (const sp_keyed_record *rec, int level, uint64_t *h, void *arg);

/*
 * A block of n records (sorted by key) larger than rule->max_block is split
 * by the rule's refine key of this level (refine computes it); a block
 * still too large after the last (rule->nrefine) is left out, and counted
 * in st.  Records get their final key in key; two records are a candidate
 * pair of the rule exactly when their final keys are equal and not 0.
 * Returns a status.
 */
int			sp_refine_block(const sp_block_rule *rule, bool dedup, sp_keyed_record *kr, int64_t n, int level,
							sp_refine_fn refine, void *arg, sp_block_stats *st);

/*
 * Final blocking keys (in ra->keys, rb->keys; ra->refine_level when a block
 * was split) of every rule with a max_block; stats[k] for rule k (an array
 * of SP_LINK_MAX_RULES).  Returns a status.
 */
int			sp_refine_keys(const sp_link_spec *spec, sp_records *ra, sp_records *rb, bool dedup,
						   const sp_link_env *env, sp_block_stats *stats);

/*
 * Upper bound of candidate pairs (pairs repeated by several rules counted
 * each time); negative when memory was refused.
 */
double		sp_estimate_pairs(const sp_link_spec *spec, const sp_records *ra, const sp_records *rb, bool dedup,
							  const sp_link_env *env);

/* Records in the largest block of rule k; negative when memory was refused. */
int64_t		sp_largest_block(const sp_link_spec *spec, const sp_records *ra, const sp_records *rb, bool dedup,
							 int k, const sp_link_env *env);

/* rule: the blocking rule that produced the pair; first: no earlier rule produced it */
typedef void (*sp_pair_fn) (int64_t i, int64_t j, int rule, bool first, void *arg);

/* Called after every 65,536 pairs with the number done (checks for interrupts, reports progress). */
typedef void (*sp_progress_fn) (double done, void *arg);

/*
 * Call pair for every candidate pair (i of ra, j of rb; i, j of ra when
 * dedup).  With once, a pair is produced by the first rule that blocks it
 * only; without, by every such rule (training estimates m rule by rule).
 * Returns a status.
 */
int			sp_for_each_candidate(const sp_link_spec *spec, const sp_records *ra, const sp_records *rb,
								  bool dedup, bool once, sp_pair_fn pair, void *arg,
								  sp_progress_fn progress, void *progress_arg, const sp_link_env *env);

#endif							/* SP_BLOCKING_H */
