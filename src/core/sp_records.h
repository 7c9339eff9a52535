/*
 * sp_records.h - what record linkage compares: a model's spec as data
 * (comparisons, columns, blocking rules, evidence rules), records as
 * prepared values in one arena, the comparison of two records into a
 * comparison vector, and the evidence rules that apply to a pair.
 *
 * Pure C (no postgres.h), unit-tested in test/unit.  The PostgreSQL glue
 * (src/pg/linkage_*.c) parses specs from JSON and loads records with SPI
 * into these structures; memory and interrupts come from it through an
 * sp_link_env.
 */
#ifndef SP_RECORDS_H
#define SP_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sp_compare.h"
#include "sp_linkage.h"

/* ------------------------------------------------------------------------
 * What the engine needs from its caller
 * ------------------------------------------------------------------------ */

/*
 * Memory and a chance to stop.  The PostgreSQL glue allocates with palloc
 * (its memory context frees everything when a call fails), counts what
 * alloc gives against sp_registry.linkage_memory_mb and checks for
 * interrupts; its allocators raise instead of returning NULL.  Elsewhere
 * (unit tests, tools) sp_link_env_malloc will do.
 */
typedef struct sp_link_env
{
	/* zeroed memory that counts against the caller's limit; NULL when refused */
	void	   *(*alloc) (size_t bytes, const char *what, void *ctx);
	/* gives back memory from alloc (bytes as asked) */
	void		(*release) (void *p, size_t bytes, void *ctx);
	/* work space that does not count: realloc semantics, bytes 0 frees */
	void	   *(*scratch) (void *p, size_t bytes, void *ctx);
	/* called in long loops (may be NULL): the glue checks for interrupts there */
	void		(*interrupt) (void *ctx);
	void	   *ctx;
} sp_link_env;

/* calloc, free and realloc; no interrupts */
extern const sp_link_env sp_link_env_malloc;

/* Status of the functions that allocate: 0, or this when memory was refused. */
#define SP_LINK_OK 0
#define SP_LINK_NO_MEMORY (-1)

static inline void
sp_link_interrupt(const sp_link_env *env)
{
	if (env->interrupt)
		env->interrupt(env->ctx);
}

/* ------------------------------------------------------------------------
 * Spec
 * ------------------------------------------------------------------------ */

#define SP_LINK_MAX_COLUMNS 32
#define SP_LINK_MAX_RULES 16
#define SP_LINK_MAX_PARTS 4
#define SP_LINK_MAX_REFINE 3
#define SP_LINK_MAX_EVIDENCE 8

typedef enum sp_link_method
{
	SP_METHOD_EXACT,
	SP_METHOD_JARO_WINKLER,
	SP_METHOD_LEVENSHTEIN,
	SP_METHOD_DAMERAU,
	SP_METHOD_DATE
} sp_link_method;

typedef enum sp_link_normalize
{
	SP_NORM_NONE,
	SP_NORM_NAME,				/* sp_normalize_name */
	SP_NORM_ID,					/* letters and digits, upper case */
	SP_NORM_DIGITS				/* digits only, last 9 kept (phones) */
} sp_link_normalize;

typedef enum sp_key_fn
{
	SP_KEY_VALUE,				/* the prepared value itself */
	SP_KEY_NAME_KEY,			/* sp_name_key of the normalised name */
	SP_KEY_YEAR,				/* year of a date */
	SP_KEY_FIRST,				/* first n characters of the normalised value */
	SP_KEY_NAME_KEYS,			/* name keys of two columns, in either order (swapped names) */
	SP_KEY_SORTED				/* the value's characters sorted: meets transposed digits of an ID */
} sp_key_fn;

typedef struct sp_link_comparison
{
	char	   *name;
	int			column;			/* index into sp_link_spec.columns */
	sp_link_method method;
	sp_link_normalize normalize;
	int			nthresholds;
	double		thresholds[SP_FS_MAX_LEVELS - 2];
	int			swap_with;		/* comparison index, or -1 */
	int			nlevels;
	bool		present;		/* its column exists in the input */
	bool		tf_adjust;		/* exact agreement weighted by how common the value is */
	bool		phonetic;		/* a level "same phonetic key" before the lowest (names) */
	int			ndepends;		/* comparisons this one is not independent of (sex on given name) */
	int			depends_on[4];
	double		m_max[SP_FS_MAX_LEVELS];	/* training caps m of a level ("different") at this */
	double		m_max_effective[SP_FS_MAX_LEVELS];	/* the caps of the last training, labels considered */
	bool		m_max_used_labels;
	int			nu_within;		/* u among pairs that agree on these columns (locality) */
	int			u_within[2];
} sp_link_comparison;

typedef struct sp_block_part
{
	sp_key_fn	fn;
	int			column;
	int			column2;		/* SP_KEY_NAME_KEYS only */
	int			n;
} sp_block_part;

typedef struct sp_block_rule
{
	int			nparts;
	sp_block_part parts[SP_LINK_MAX_PARTS];
	bool		present;
	char	   *text;
	int64_t		max_block;		/* 0: no limit; larger blocks are split by refine, then left out (reported) */
	int			nrefine;
	sp_block_part refine[SP_LINK_MAX_REFINE];
} sp_block_rule;

/*
 * Evidence that does not fit independent comparisons: facts about a pair
 * that say "different people" however well the rest agrees.  Each has a
 * fixed weight (log2 Bayes factor), shown by sp.explain_match.
 */
typedef enum sp_evidence_kind
{
	SP_EV_SAME_GROUP,			/* same value of a column: registered together in one household */
	SP_EV_TWINS,				/* same birth date and family name, different given names */
	SP_EV_SWAPPED,				/* names agree only crosswise (given against family) */
	SP_EV_HOUSEHOLD				/* household context (sp_household.h): weight estimated by training */
} sp_evidence_kind;

typedef struct sp_evidence
{
	char	   *name;
	sp_evidence_kind kind;
	int			column;			/* SP_EV_SAME_GROUP, SP_EV_HOUSEHOLD */
	int			date;			/* SP_EV_TWINS: comparison indexes */
	int			family;
	int			given;
	double		weight;
	bool		present;
} sp_evidence;

typedef struct sp_link_column
{
	char	   *name;
	sp_link_normalize normalize;	/* how values are prepared (set by the comparisons using it) */
	bool		is_date;
	bool		present;
	int			attno;			/* in the loaded rows, 1-based; 0 when absent */
} sp_link_column;

typedef struct sp_link_spec
{
	int			ncomparisons;
	sp_link_comparison comparisons[SP_FS_MAX_COMPARISONS];
	int			nrules;
	sp_block_rule rules[SP_LINK_MAX_RULES];
	int			ncolumns;
	sp_link_column columns[SP_LINK_MAX_COLUMNS];
	int			nevidence;
	sp_evidence	evidence[SP_LINK_MAX_EVIDENCE];
	int			anchor;			/* comparison whose exact agreement anchors m in training, or -1 */
	int			nanchor_m_from; /* comparisons whose joint exact agreement anchors the anchor's own m */
	int			anchor_m_from[4];
} sp_link_spec;

/*
 * Once the columns' present flags say which columns the input has: which
 * comparisons, evidence rules and blocking rules can be used.
 */
void		sp_link_spec_set_present(sp_link_spec *spec);

/*
 * Comparisons that agree by construction among the pairs a blocking rule
 * produces (those of its keys' columns, with their swap partners and the
 * comparisons depending on them), among the pairs one refine key splits a
 * block by, and among pairs with exact agreement on the anchor.  They say
 * nothing about matches there: training leaves them out.
 */
void		sp_rule_exclusions(const sp_link_spec *spec, int rule, bool *excluded);
void		sp_part_exclusions(const sp_link_spec *spec, const sp_block_part *part, bool *excluded);
void		sp_anchor_exclusions(const sp_link_spec *spec, bool *excluded);

/* ------------------------------------------------------------------------
 * Records
 * ------------------------------------------------------------------------ */

/*
 * Values are kept and compared on at most their first SP_VALUE_MAX_CHARS
 * characters: the comparators decode no more, and exact agreement, term
 * frequencies and blocking keys must look at the same bytes they do.  The
 * cut is at a character boundary and the stored length is always the
 * length of the stored bytes (docs/linkage.md, "Limits").
 */
#define SP_VALUE_MAX_CHARS SP_COMPARE_MAX_CHARS
#define SP_VALUE_MAX_BYTES (SP_VALUE_MAX_CHARS * 4)

/* A prepared value: a span of the arena, or a date. */
typedef struct sp_value
{
	uint32_t	offset;
	uint16_t	len;
	bool		isnull;
	sp_ymd		date;
	uint32_t	key_offset;		/* names: the phonetic key of the whole name, spaces left out */
	uint16_t	key_len;
} sp_value;

_Static_assert(SP_VALUE_MAX_BYTES <= UINT16_MAX, "a stored value's length must fit sp_value.len");

typedef struct sp_records
{
	int64_t		n;
	int64_t    *ids;
	sp_value   *values;			/* n * ncolumns */
	char	   *arena;
	size_t		arena_used;
	size_t		arena_size;
	uint64_t   *keys;			/* n * nrules, 0 = missing */
	uint8_t    *refine_level;	/* n * nrules: refine keys in the key (NULL: none anywhere) */
} sp_records;

/* FNV-1a, 64 bits: blocking keys, term frequencies, groups */
#define SP_FNV64_OFFSET 1469598103934665603ULL

static inline uint64_t
sp_fnv64(uint64_t h, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
	{
		h ^= (unsigned char) s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* Hash of a prepared text value (the term frequencies' key). */
static inline uint64_t
sp_value_hash(const sp_records *r, const sp_value *v)
{
	return sp_fnv64(SP_FNV64_OFFSET, r->arena + v->offset, v->len);
}

/* Hash of the values of cols of record i; 0 when one is missing. */
uint64_t	sp_columns_key(const sp_link_spec *spec, const sp_records *r, int64_t i, const int *cols, int ncols);

/* ------------------------------------------------------------------------
 * Comparing two records
 * ------------------------------------------------------------------------ */

/* Work space of the comparators; dl grows through env->scratch. */
typedef struct sp_cmp_work
{
	uint32_t	a[SP_COMPARE_MAX_CHARS];
	uint32_t	b[SP_COMPARE_MAX_CHARS];
	unsigned char flags[2 * SP_COMPARE_MAX_CHARS];
	int			row[SP_COMPARE_MAX_CHARS + 1];
	int		   *dl;
	size_t		dl_size;
	const sp_link_env *env;
} sp_cmp_work;

/* w zeroed but for env; sp_cmp_work_free gives dl back */
void		sp_cmp_work_init(sp_cmp_work *w, const sp_link_env *env);
void		sp_cmp_work_free(sp_cmp_work *w);

/*
 * Level of a comparison between two present values (va of ra, vb of rb),
 * or SP_LINK_NO_MEMORY when the Damerau-Levenshtein work space could not
 * grow.
 */
int			sp_level_of(const sp_link_comparison *cmp, const sp_records *ra, const sp_value *va,
						const sp_records *rb, const sp_value *vb, sp_cmp_work *w);

/* The values a comparison vector was computed from, for term frequencies. */
typedef struct sp_pair_values
{
	const sp_records *ra;
	const sp_records *rb;
	const sp_value *left[SP_FS_MAX_COMPARISONS];	/* in ra */
	const sp_value *right[SP_FS_MAX_COMPARISONS];	/* in rb */
	bool		swapped;		/* names compared crosswise (given against family) */
} sp_pair_values;

/*
 * Comparison vector of records i (of ra) and j (of rb).  pv (may be NULL)
 * receives the values each comparison compared.  Returns SP_LINK_OK or
 * SP_LINK_NO_MEMORY.
 */
int			sp_compare_records(const sp_link_spec *spec, const sp_records *ra, int64_t i,
							   const sp_records *rb, int64_t j, sp_gamma *gamma, sp_pair_values *pv,
							   sp_cmp_work *w);

/*
 * The straight level of comparison c alone (no swap with another
 * comparison): -1 when a value is missing or the column absent, else the
 * level, or SP_LINK_NO_MEMORY - 1 when the work space could not grow.
 */
int			sp_compare_one(const sp_link_spec *spec, int c, const sp_records *ra, int64_t i,
						   const sp_records *rb, int64_t j, sp_cmp_work *w);

/*
 * Weight of the evidence rules that apply to records i (of ra) and j (of
 * rb) with comparison vector g; applies (may be NULL) receives which.  A
 * group (household) is only meaningful within one relation.
 */
double		sp_evidence_weight(const sp_link_spec *spec, const sp_records *ra, int64_t i,
							   const sp_records *rb, int64_t j, bool one_relation, const sp_gamma *g,
							   bool swapped, bool *applies);

#endif							/* SP_RECORDS_H */
