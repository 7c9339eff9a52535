/*
 * sp_score.h - the match weight of a pair of records under a model: the
 * prior, each comparison's level weight (adjusted by term frequencies),
 * and the evidence rules.
 *
 * Pure C (no postgres.h), unit-tested in test/unit.
 */
#ifndef SP_SCORE_H
#define SP_SCORE_H

#include "sp_records.h"
#include "sp_tf.h"

/* A model: its spec, m/u and prior, and what term frequencies it uses. */
typedef struct sp_link_model
{
	char	   *name;
	sp_link_spec spec;
	sp_fs_model fs;
	bool		trained;
	sp_tf_table	tf[SP_FS_MAX_COMPARISONS];	/* built for comparisons with tf_adjust */
	int64_t		tf_records[SP_FS_MAX_COMPARISONS];	/* records of the stored term frequencies */
	char	   *tf_source;		/* the relation they were counted in */
	/* household context (sp_household.h): m and u of its levels, when trained */
	bool		hh_enabled;
	double		hh_m[3];
	double		hh_u[3];
	double		hh_share;		/* share of matches among LINKED pairs */
	double		hh_u_context[SP_FS_MAX_COMPARISONS][SP_FS_MAX_LEVELS];	/* u among other members of re-registered households */
	double		hh_twins_u;		/* share of other members' pairs the twins evidence applies to (0: not measured) */
} sp_link_model;

/*
 * Weight of comparison c at its level.  An exact agreement on a
 * term-frequency-adjusted comparison weighs log2(m / share of the value):
 * agreeing on a rare name says more than agreeing on a common one.  A
 * similar spelling of a common name (Mohamed / Mohammed) is discounted the
 * same way: its u is scaled by how much more common the commoner of the two
 * values is than the average agreement; a rare name's variants keep the
 * level's plain weight.  pv may be NULL (no term frequencies); share (may
 * be NULL) receives the share used, or -1.
 */
double		sp_comparison_weight(const sp_link_model *model, int c, int level, const sp_pair_values *pv,
								 double *share);

/* log2 prior odds plus the comparisons' weights. */
double		sp_pair_weight(const sp_link_model *model, const sp_gamma *g, const sp_pair_values *pv);

/* Total match weight of a pair: prior, comparisons and evidence. */
double		sp_pair_total(const sp_link_model *model, const sp_records *ra, int64_t i, const sp_records *rb,
						  int64_t j, const sp_gamma *g, const sp_pair_values *pv);

/*
 * An upper bound of sp_pair_total for records i and j, computed without the
 * expensive comparisons: name comparisons (jaro_winkler, and any comparison
 * swapped with another) count at the most they could weigh given the left
 * record's value (its term frequency), the others at their actual level;
 * evidence rules only subtract, so they are left out.  A pair whose bound
 * is below what a caller keeps need not be compared at all.  Returns
 * SP_LINK_NO_MEMORY - 1 in *status when the work space could not grow.
 */
double		sp_pair_bound(const sp_link_model *model, const sp_records *ra, int64_t i, const sp_records *rb,
						  int64_t j, const double *best_i, sp_cmp_work *w, int *status);

/*
 * The most comparison c can weigh when the left record's value is v (term
 * frequencies applied): what sp_pair_bound counts for name comparisons.
 * best_i of sp_pair_bound may hold it for each comparison of record i,
 * computed once per record (NULL: computed per pair).
 */
double		sp_best_weight(const sp_link_model *model, int c, const sp_records *ra, const sp_value *v);

/*
 * Weight of a LINKED pair (sp_household.h), scored among the members of its
 * two households: log2 odds of hh_share, then each comparison with m of
 * the model and u among other members' pairs of re-registered households
 * (who share a family name, a village and a phone whoever is compared),
 * then evidence (weighed by the caller, as in sp_pair_total).  No term
 * frequencies: within a household a common name is no commoner.
 */
double		sp_hh_context_weight(const sp_link_model *model, const sp_gamma *g, double evidence);

/*
 * Weight of twins evidence ev for a LINKED pair.  Among the members of one
 * family a shared birth date with different given names is what twins
 * look like, and sp_hh_context_weight already weighs the birth date and the
 * given name against u among members, each on its own.  The pattern's own
 * weight corrects for their dependence, as measured there:
 * log2(u(date exact) u(given different) / u(both)), m cancelling (matches
 * do not make the two depend on each other).  Never for a match, never
 * stronger than the spec's weight; the spec's weight when hh_twins_u was
 * not measured.
 */
double		sp_hh_twins_weight(const sp_link_model *model, const sp_evidence *ev);

#endif							/* SP_SCORE_H */
