/* Unit tests of src/core/sp_compare.c */
#include "tap.h"
#include "sp_compare.h"

#include <math.h>
#include <stdlib.h>

#define MAXN 1100

static uint32_t A[MAXN],
			B[MAXN];
static unsigned char W[2 * MAXN];
static int	IW[MAXN + 1];

static int
dec(const char *s, uint32_t *out)
{
	return sp_utf8_decode_all(s, strlen(s), out, MAXN);
}

static double
jw(const char *a, const char *b)
{
	int			na = dec(a, A),
				nb = dec(b, B);

	return sp_jaro_winkler(A, na, B, nb, 0.1, 0.7, W);
}

static double
jaro(const char *a, const char *b)
{
	int			na = dec(a, A),
				nb = dec(b, B);

	return sp_jaro(A, na, B, nb, W);
}

static int
lev(const char *a, const char *b)
{
	int			na = dec(a, A),
				nb = dec(b, B);

	return sp_levenshtein(A, na, B, nb, IW);
}

static int
dl(const char *a, const char *b)
{
	int			na = dec(a, A),
				nb = dec(b, B);
	int		   *work = malloc(sizeof(int) * sp_damerau_work_size(na, nb));
	int			d = sp_damerau_levenshtein(A, na, B, nb, work);

	free(work);
	return d;
}

/* Reference Levenshtein: full matrix, no tricks. */
static int
lev_reference(const uint32_t *a, int na, const uint32_t *b, int nb)
{
	static int	d[70][70];

	for (int i = 0; i <= na; i++)
		d[i][0] = i;
	for (int j = 0; j <= nb; j++)
		d[0][j] = j;
	for (int i = 1; i <= na; i++)
		for (int j = 1; j <= nb; j++)
		{
			int			best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);

			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			d[i][j] = best;
		}
	return d[na][nb];
}

#define near(x, y, eps) (fabs((x) - (y)) < (eps))

int
main(void)
{
	/* Published Jaro-Winkler values (Winkler 1990; also in the Wikipedia article) */
	ok(near(jaro("MARTHA", "MARHTA"), 0.944, 0.0005), "jaro MARTHA/MARHTA = 0.944 (%.4f)", jaro("MARTHA", "MARHTA"));
	ok(near(jw("MARTHA", "MARHTA"), 0.961, 0.0005), "jaro_winkler MARTHA/MARHTA = 0.961 (%.4f)", jw("MARTHA", "MARHTA"));
	ok(near(jaro("DWAYNE", "DUANE"), 0.822, 0.0005), "jaro DWAYNE/DUANE = 0.822 (%.4f)", jaro("DWAYNE", "DUANE"));
	ok(near(jw("DWAYNE", "DUANE"), 0.840, 0.0005), "jaro_winkler DWAYNE/DUANE = 0.84 (%.4f)", jw("DWAYNE", "DUANE"));
	ok(near(jaro("DIXON", "DICKSONX"), 0.767, 0.0005), "jaro DIXON/DICKSONX = 0.767 (%.4f)", jaro("DIXON", "DICKSONX"));
	ok(near(jw("DIXON", "DICKSONX"), 0.813, 0.0005), "jaro_winkler DIXON/DICKSONX = 0.813 (%.4f)", jw("DIXON", "DICKSONX"));
	ok(near(jw("JELLYFISH", "SMELLYFISH"), 0.896, 0.0005), "jaro_winkler JELLYFISH/SMELLYFISH = 0.896 (%.4f)", jw("JELLYFISH", "SMELLYFISH"));
	ok(jw("abc", "abc") == 1.0, "identical strings score 1");
	ok(jw("", "") == 1.0, "two empty strings are identical");
	ok(jw("", "a") == 0.0, "empty vs non-empty scores 0");
	ok(jw("ab", "cd") == 0.0, "nothing in common scores 0");
	ok(near(jw("a", "a"), 1.0, 1e-12), "single character match");
	ok(jw("MARTHA", "MARHTA") == jw("MARHTA", "MARTHA"), "jaro_winkler is symmetric");
	/* code points, not bytes: one accented letter is one character */
	ok(near(jaro("José", "Jose"), jaro("Josx", "Jose"), 1e-12), "é counts as one character in Jaro");
	ok(jw("Иван", "Иван") == 1.0, "Cyrillic identical");
	ok(near(jw("Иван", "Ивна"), jw("Ivan", "Ivna"), 1e-12), "Cyrillic scores like its Latin shape");

	/* Levenshtein */
	is_int(lev("kitten", "sitting"), 3, "kitten/sitting = 3");
	is_int(lev("flaw", "lawn"), 2, "flaw/lawn = 2");
	is_int(lev("", "abc"), 3, "empty/abc = 3");
	is_int(lev("abc", ""), 3, "abc/empty = 3");
	is_int(lev("", ""), 0, "empty/empty = 0");
	is_int(lev("José", "Jose"), 1, "é/e is one substitution, not two");
	is_int(lev("Müller", "Mueller"), 2, "Müller/Mueller = 2");
	is_int(lev("Владимир", "Владимер"), 1, "Cyrillic one substitution");
	is_int(lev("😀a", "a"), 1, "four-byte code point is one deletion");
	{
		/* long strings take the DP path; compare with the bit-parallel one by symmetry of construction */
		char		s1[300],
					s2[300];

		for (int i = 0; i < 200; i++)
		{
			s1[i] = (char) ('a' + i % 7);
			s2[i] = (char) ('a' + (i * 3) % 7);
		}
		s1[200] = s2[200] = 0;
		ok(lev(s1, s2) > 0 && lev(s1, s2) <= 200, "200-character strings (DP path)");
		is_int(lev(s1, s1), 0, "200-character identical");
	}

	/* bit-parallel agrees with the reference on random strings up to 66 characters */
	{
		unsigned int seed = 7;
		int			bad = 0;

		for (int iter = 0; iter < 20000 && !bad; iter++)
		{
			int			na,
						nb,
						got,
						want;

			seed = seed * 1103515245u + 12345u;
			na = (int) ((seed >> 16) % 67);
			seed = seed * 1103515245u + 12345u;
			nb = (int) ((seed >> 16) % 67);
			for (int i = 0; i < na; i++)
			{
				seed = seed * 1103515245u + 12345u;
				A[i] = (seed >> 16) % 4 == 0 ? 0x430 + (seed >> 20) % 3 : 'a' + (seed >> 20) % 4;
			}
			for (int i = 0; i < nb; i++)
			{
				seed = seed * 1103515245u + 12345u;
				B[i] = (seed >> 16) % 4 == 0 ? 0x430 + (seed >> 20) % 3 : 'a' + (seed >> 20) % 4;
			}
			got = sp_levenshtein(A, na, B, nb, IW);
			want = lev_reference(A, na, B, nb);
			if (got != want)
			{
				bad = 1;
				printf("# lengths %d/%d: got %d want %d\n", na, nb, got, want);
			}
		}
		ok(!bad, "bit-parallel and DP Levenshtein agree with the reference on 20000 random pairs");
	}

	/* Damerau-Levenshtein (unrestricted) */
	is_int(dl("CA", "ABC"), 2, "CA/ABC = 2 (unrestricted; OSA gives 3)");
	is_int(dl("ab", "ba"), 1, "one transposition");
	is_int(dl("abcdef", "abdcef"), 1, "inner transposition");
	is_int(dl("kitten", "sitting"), 3, "no transpositions: same as Levenshtein");
	is_int(dl("", "abc"), 3, "empty/abc");
	is_int(dl("abc", ""), 3, "abc/empty");
	is_int(dl("Jоsé", "Jоsé"), 0, "identical with non-ASCII");
	is_int(dl("Иван", "Ивна"), 1, "Cyrillic transposition");
	is_int(dl("19850314", "19850341"), 1, "swapped digits in an ID");
	is_int(dl("12345678", "21436587"), 4, "four swapped pairs");

	/* UTF-8 decoding limits */
	is_int(sp_utf8_decode_all("ab\xff", 3, A, MAXN), -1, "invalid UTF-8 reported");
	{
		char	   *big = malloc(1024 * 1024 + 1);

		memset(big, 'x', 1024 * 1024);
		big[1024 * 1024] = 0;
		is_int(sp_utf8_decode_all(big, 1024 * 1024, A, SP_COMPARE_MAX_CHARS), -2, "1 MB string exceeds the cap");
		free(big);
	}
	is_int(sp_utf8_decode_all("é", 2, A, 1), 1, "exactly cap code points fit");

	/* fuzz: random code point strings, all comparators stay in range and agree on identity */
	{
		unsigned int seed = 99;
		int			bad = 0;
		int		   *work = malloc(sizeof(int) * sp_damerau_work_size(40, 40));

		for (int iter = 0; iter < 5000 && !bad; iter++)
		{
			int			na,
						nb;
			double		j;
			int			l,
						d;

			seed = seed * 1103515245u + 12345u;
			na = (int) ((seed >> 16) % 40);
			seed = seed * 1103515245u + 12345u;
			nb = (int) ((seed >> 16) % 40);
			for (int i = 0; i < na; i++)
			{
				seed = seed * 1103515245u + 12345u;
				A[i] = (seed >> 8) % 0x10FFFF;
			}
			for (int i = 0; i < nb; i++)
			{
				seed = seed * 1103515245u + 12345u;
				B[i] = i < na && (seed & 1) ? A[i] : (seed >> 8) % 0x10FFFF;
			}
			j = sp_jaro_winkler(A, na, B, nb, 0.1, 0.7, W);
			l = sp_levenshtein(A, na, B, nb, IW);
			d = sp_damerau_levenshtein(A, na, B, nb, work);
			if (j < 0 || j > 1 || d > l || l > (na > nb ? na : nb) || d < abs(na - nb))
			{
				bad = 1;
				printf("# iter %d: jw %f lev %d dl %d (%d/%d)\n", iter, j, l, d, na, nb);
			}
		}
		ok(!bad, "5000 random code point pairs: 0 <= jw <= 1, |na-nb| <= dl <= lev <= max(na, nb)");
		free(work);
	}

	return done_testing();
}
