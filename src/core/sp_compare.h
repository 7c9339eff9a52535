/*
 * sp_compare.h - string comparators for record linkage, on Unicode code
 * points (not bytes): Jaro, Jaro-Winkler, Levenshtein and (unrestricted)
 * Damerau-Levenshtein.
 *
 * Pure C (no postgres.h).  The functions work on arrays of code points and
 * never allocate: callers pass work space sized with the *_work_size
 * helpers (the PostgreSQL glue uses the stack for short names).
 */
#ifndef SP_COMPARE_H
#define SP_COMPARE_H

#include <stddef.h>
#include <stdint.h>

/* Longest accepted argument, in code points. */
#define SP_COMPARE_MAX_CHARS 1000

/*
 * Decode UTF-8 into code points.  Returns the number of code points, or -1
 * when the input is not valid UTF-8, or -2 when it has more than cap code
 * points (out then holds the first cap).
 */
int			sp_utf8_decode_all(const char *s, size_t len, uint32_t *out, int cap);

/*
 * Jaro similarity in [0, 1].  Two empty strings are identical (1); one empty
 * string matches nothing (0).  work: na + nb bytes.
 */
double		sp_jaro(const uint32_t *a, int na, const uint32_t *b, int nb, unsigned char *work);

/*
 * Jaro-Winkler similarity: Jaro plus a bonus of prefix_scale per common
 * leading character (at most 4), applied when Jaro exceeds boost_threshold
 * (Winkler 1990: 0.1 and 0.7).  work: na + nb bytes.
 */
double		sp_jaro_winkler(const uint32_t *a, int na, const uint32_t *b, int nb,
							double prefix_scale, double boost_threshold, unsigned char *work);

/*
 * Levenshtein distance (insertions, deletions, substitutions of one code
 * point each cost 1).  work: (min(na, nb) + 1) ints.
 */
int			sp_levenshtein(const uint32_t *a, int na, const uint32_t *b, int nb, int *work);

/*
 * Damerau-Levenshtein distance, unrestricted (Lowrance-Wagner): adjacent
 * transpositions cost 1 and substrings may be edited more than once, so
 * d("CA", "ABC") = 2 (the restricted "optimal string alignment" variant
 * gives 3).  work: sp_damerau_work_size(na, nb) ints.
 */
int			sp_damerau_levenshtein(const uint32_t *a, int na, const uint32_t *b, int nb, int *work);
size_t		sp_damerau_work_size(int na, int nb);

#endif							/* SP_COMPARE_H */
