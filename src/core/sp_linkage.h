/*
 * sp_linkage.h - Fellegi-Sunter record linkage: comparison levels for
 * dates, match weights, expectation-maximisation over comparison patterns,
 * and union-find clustering.
 *
 * Pure C (no postgres.h), unit-tested in test/unit.
 */
#ifndef SP_LINKAGE_H
#define SP_LINKAGE_H

#include <stddef.h>
#include <stdint.h>

#define SP_FS_MAX_COMPARISONS 32
#define SP_FS_MAX_LEVELS 8			/* per comparison, the "null" level not counted */

/* ------------------------------------------------------------------------
 * Dates
 * ------------------------------------------------------------------------ */

/* Date comparison levels, most similar first. */
typedef enum sp_date_level
{
	SP_DATE_LEVEL_EXACT = 0,		/* same day, both known to the day */
	SP_DATE_LEVEL_YEAR_ONLY,		/* same year, one side known to the year only (or 1 January) */
	SP_DATE_LEVEL_TRANSPOSED,		/* day and month swapped: 1985-03-04 / 1985-04-03 */
	SP_DATE_LEVEL_SAME_MONTH,		/* same year and month */
	SP_DATE_LEVEL_WITHIN_YEAR,		/* at most 366 days apart (years at most 1 apart when one is partial) */
	SP_DATE_LEVEL_ELSE,				/* more than a year but less than SP_DATE_FAR_YEARS apart */
	SP_DATE_LEVEL_FAR,				/* SP_DATE_FAR_YEARS or more apart: a generation, not a typo */
	SP_DATE_NLEVELS
} sp_date_level;

/* Birth years this far apart separate parents from children. */
#define SP_DATE_FAR_YEARS 12

/* How much of a date is known. */
typedef enum sp_ymd_precision
{
	SP_YMD_DAY = 0,
	SP_YMD_MONTH,				/* day unknown (stored as the 1st) */
	SP_YMD_YEAR					/* month and day unknown (stored as 1 January) */
} sp_ymd_precision;

/* A date as days since 1970-01-01 plus its parts; year 0 marks "missing". */
typedef struct sp_ymd
{
	int16_t		year;
	int8_t		month;
	int8_t		day;
	int8_t		precision;		/* sp_ymd_precision */
	int32_t		days;
} sp_ymd;

int32_t		sp_days_from_civil(int y, int m, int d);
sp_date_level sp_compare_dates(sp_ymd a, sp_ymd b);

/*
 * A date as linkage inputs give it in text: YYYY-MM-DD, YYYY-MM, YYYY, or
 * the same with / or a space between the parts or with none (YYYYMMDD,
 * YYYYMM), surrounding spaces allowed.  The date must exist (no 31 February)
 * and its year be 1..9999.  Returns 0 and fills *out, or -1.
 */
int			sp_parse_linkage_date(const char *s, size_t len, sp_ymd *out);
const char *sp_date_level_name(sp_date_level level);

/* ------------------------------------------------------------------------
 * Fellegi-Sunter model
 * ------------------------------------------------------------------------ */

/* Probabilities of each level among matches (m) and non-matches (u). */
typedef struct sp_fs_comparison
{
	int			nlevels;
	int			m_fixed;		/* EM leaves m as it is (estimated otherwise, e.g. from anchored pairs) */
	double		m[SP_FS_MAX_LEVELS];
	double		u[SP_FS_MAX_LEVELS];
} sp_fs_comparison;

typedef struct sp_fs_model
{
	int			ncomparisons;
	sp_fs_comparison comparisons[SP_FS_MAX_COMPARISONS];
	double		prior;			/* probability that a random pair is a match */
} sp_fs_model;

/*
 * A comparison vector: the level of each comparison, -1 when either value
 * is missing (it then contributes no evidence).
 */
typedef int8_t sp_gamma;

/* log2 Bayes factor of one comparison at one level. */
double		sp_fs_level_weight(const sp_fs_comparison *c, int level);

/* Match weight of a pair: log2 prior odds + sum of level weights. */
double		sp_fs_match_weight(const sp_fs_model *model, const sp_gamma *gamma);

/* Probability from a match weight: 2^w / (1 + 2^w), computed stably. */
double		sp_fs_probability(double weight);

/* ------------------------------------------------------------------------
 * Expectation-maximisation over distinct comparison patterns
 * ------------------------------------------------------------------------ */

/*
 * A table of distinct gamma vectors with their counts: EM then costs one
 * pass over the patterns, not over the pairs.
 */
typedef struct sp_pattern_table
{
	int			width;			/* number of comparisons */
	size_t		npatterns;
	size_t		capacity;		/* hash slots, a power of two */
	sp_gamma   *gammas;			/* capacity * width */
	double	   *counts;			/* capacity; 0 = empty slot */
	uint64_t	total;
} sp_pattern_table;

/* Returns 0 on success, -1 when out of memory. */
int			sp_pattern_table_init(sp_pattern_table *t, int width);
int			sp_pattern_table_add(sp_pattern_table *t, const sp_gamma *gamma, double count);
void		sp_pattern_table_free(sp_pattern_table *t);

typedef struct sp_em_result
{
	int			iterations;
	int			converged;
	double		max_change;		/* largest change of an m or the prior in the last iteration */
	double		prior;			/* share of matches among the patterns' pairs */
} sp_em_result;

/*
 * Estimate m (and the share of matches) by EM over the pattern table, u
 * held fixed.  model->comparisons[*].m is the starting point and receives
 * the estimate; model->prior is the starting share.  Each level of m gets
 * one pseudo-observation (Laplace smoothing) and probabilities stay within
 * [1e-6, 1 - 1e-6], so a level never seen cannot veto a pair.
 */
sp_em_result sp_fs_em(sp_fs_model *model, const sp_pattern_table *patterns,
					  int max_iterations, double tolerance);

/*
 * Cap m of each level at m_max[level] (1 = no cap) and give what was cut to
 * the levels below their caps, in proportion to their m; m still sums to
 * 1.  Returns the number of levels that were capped.
 */
int			sp_fs_cap_m(sp_fs_comparison *c, const double *m_max);

/*
 * Estimate only the share of matches among the patterns' pairs, m and u
 * fixed (the last step of training, for the prior).
 */
sp_em_result sp_fs_em_share(const sp_fs_model *model, const sp_pattern_table *patterns,
							int max_iterations, double tolerance);

/* ------------------------------------------------------------------------
 * Union-find (clusters of matched records)
 * ------------------------------------------------------------------------ */

typedef struct sp_union_find
{
	size_t		n;
	uint32_t   *parent;
	uint8_t    *rank;
} sp_union_find;

int			sp_uf_init(sp_union_find *uf, size_t n);

/*
 * The same in memory the caller owns (sp_uf_bytes(n) bytes, aligned for
 * uint32_t), for callers whose errors unwind the stack: the PostgreSQL glue
 * passes palloc'd memory that its memory context frees on error too.  Not
 * to be passed to sp_uf_free.
 */
size_t		sp_uf_bytes(size_t n);
void		sp_uf_init_in(sp_union_find *uf, size_t n, void *memory);
uint32_t	sp_uf_find(sp_union_find *uf, uint32_t x);
void		sp_uf_union(sp_union_find *uf, uint32_t a, uint32_t b);
void		sp_uf_free(sp_union_find *uf);

/* Deterministic pseudo-random numbers (splitmix64) for sampling. */
uint64_t	sp_random_next(uint64_t *state);

#endif							/* SP_LINKAGE_H */
