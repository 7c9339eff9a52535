/*
 * linkage_internal.h - shared declarations of the record linkage glue.
 *
 * The engine is in src/core (sp_records, sp_blocking, sp_tf, sp_score,
 * sp_sample, sp_linkage); these files give it what only PostgreSQL has:
 *
 *   linkage.c           settings, the memory limit, progress, the engine's
 *                       environment (palloc, interrupts), blocking and
 *                       candidate pairs with their NOTICEs
 *   linkage_spec.c      specs and params from JSON, models from sp.linkage_model
 *   linkage_records.c   records read with SPI and prepared, term frequencies
 *   linkage_train.c     sp.train_linkage_model, labels
 *   linkage_match.c     sp.match_pairs, sp_internal.score_pairs, sp.linkage_candidates
 *   linkage_explain.c   sp.explain_match
 *   linkage_clusters.c  sp_internal.clusters
 *   linkage_household.c household context: groups, level weights
 *
 * Memory is bounded by sp_registry.linkage_memory_mb; long loops check for
 * interrupts and report progress every few seconds.
 */
#ifndef LINKAGE_INTERNAL_H
#define LINKAGE_INTERNAL_H

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "portability/instr_time.h"
#include "utils/array.h"
#include "utils/jsonb.h"

#include "sp_blocking.h"
#include "sp_household.h"
#include "sp_records.h"
#include "sp_sample.h"
#include "sp_score.h"
#include "sp_tf.h"

/* linkage.c: memory counted against sp_registry.linkage_memory_mb, per call */
void		linkage_reset_memory(void);
void		linkage_check_memory(size_t bytes, const char *what);
void		linkage_release_memory(size_t bytes);
void	   *linkage_alloc_huge(size_t bytes, const char *what);

/* palloc'd memory (counted), scratch work space, CHECK_FOR_INTERRUPTS */
extern const sp_link_env linkage_env;

/* Raises "out of memory" for a failed status of the engine. */
void		linkage_check(int status);
sp_cmp_work *linkage_new_work(void);

/* Progress of a long loop over candidate pairs. */
typedef struct Progress
{
	instr_time	start;
	instr_time	last;
	double		estimate;
	double		done;
	const char *what;
} Progress;

/*
 * Estimates the candidate pairs; refuses to start beyond
 * sp_registry.linkage_max_pairs_millions.
 */
void		linkage_start_progress(Progress *progress, const char *what, const sp_link_spec *spec,
								   const sp_records *ra, const sp_records *rb, bool dedup);

/* Blocking: final keys (blocks split), with a NOTICE per rule that left pairs out. */
void		linkage_refine_keys(const sp_link_spec *spec, sp_records *ra, sp_records *rb, bool dedup,
								sp_block_stats *stats);
void		linkage_report_dropped(const sp_link_spec *spec, const sp_block_stats *stats, const char *what);

/* Every candidate pair, with interrupts checked and progress reported. */
void		linkage_for_each_candidate(const sp_link_spec *spec, const sp_records *ra, const sp_records *rb,
									   bool dedup, bool once, sp_pair_fn pair, void *arg, Progress *progress);

Oid			linkage_arg_regclass(FunctionCallInfo fcinfo, int n);
int64	   *linkage_int8_array(ArrayType *a, int *n, const char *which);

/* linkage_spec.c */
void		linkage_parse_spec(Jsonb *jb, sp_link_spec *spec);
void		linkage_load_model(const char *name, sp_link_model *model);

/* linkage_records.c */
void		linkage_load_records(sp_link_spec *spec, Oid relid, sp_records *r, const char *which,
								 ArrayType *only_ids);

/*
 * The records of a call: the left relation, and the right one unless
 * deduplicating (then rb shares ra); then the final blocking keys, what
 * splitting blocks left out in stats.
 */
void		linkage_load_sides(sp_link_spec *spec, Oid left, Oid right, bool dedup, const char *left_which,
							   const char *right_which, sp_records *ra, sp_records *rb, sp_block_stats *stats);
void		linkage_load_one(sp_link_spec *spec, Oid relid, int64 id, sp_records *r, const char *which);
int64		linkage_find_id(const sp_records *r, int64 id, Oid relid, const char *which);
int64		linkage_record_index(const sp_records *r, int64 id);
void		linkage_build_tf(sp_link_model *model, const sp_records *ra, const sp_records *rb, bool dedup);
void		linkage_load_stored_tf(sp_link_model *model, const sp_records *r, Oid relid);

/*
 * linkage_household.c: household context.  The column of the spec's
 * household evidence when it can be used (present in the input), else -1;
 * the weight of a level under the model (0 when not trained for it).
 */
int			linkage_household_column(const sp_link_spec *spec);
double		linkage_household_weight(const sp_link_model *model, sp_hh_level level);

/* A growing list of record pairs, counted against the memory limit. */
typedef struct PairList
{
	sp_hh_pair *p;
	int64		n;
	int64		size;
} PairList;
void		linkage_pair_list_add(PairList *l, int64 i, int64 j);

/* Weight of records i and j without household context (prior, comparisons, evidence). */
typedef struct PairScorer
{
	const sp_link_model *model;
	const sp_records *ra;
	const sp_records *rb;
	sp_cmp_work *work;
} PairScorer;
double		linkage_pair_weight(int64_t i, int64_t j, void *scorer);

/*
 * Weight of records i and j at a household level: base (linkage_pair_weight)
 * plus the level's weight, or for LINKED the pair scored among the
 * members of its two households (sp_hh_context_weight).
 */
double		linkage_household_total(const PairScorer *s, int64_t i, int64_t j, double base, sp_hh_level level);

/*
 * Groups of both sides by column (in dedup gb is ga).  The caller frees
 * nothing: memory goes with the call's context.
 */
void		linkage_build_groups(const sp_link_spec *spec, int column, const sp_records *ra, const sp_records *rb,
								 bool dedup, sp_groups *ga, sp_groups *gb);

/* sp_best_weight of every comparison of every left record (for sp_pair_bound) */
double	   *linkage_best_weights(const sp_link_model *model, const sp_records *ra);

/*
 * Training: the household levels are estimated on a sample of pairs of
 * groups, gathered from the candidate pairs of training's first pass
 * (sample_start returns NULL when the spec has no household evidence or
 * the input lacks its column), then appended to js as ", \"household\": {...}".
 */
typedef struct HhSample HhSample;
HhSample   *linkage_household_sample_start(const sp_link_model *model, const sp_records *ra, const sp_records *rb,
											bool dedup, double candidates);
void		linkage_household_sample_pair(HhSample *s, int64_t i, int64_t j);
void		linkage_household_train(sp_link_model *model, HhSample *sample, const sp_records *ra,
									const sp_records *rb, bool dedup, double total_pairs, StringInfo js);

#endif							/* LINKAGE_INTERNAL_H */
