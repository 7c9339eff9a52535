/*
 * sp_name.h - name normalisation (any script to lower-case ASCII words) and
 * a phonetic blocking key for names from many languages.
 *
 * No postgres.h: uses ICU's transliterator and plain malloc, unit-tested in
 * test/unit without a server.
 */
#ifndef SP_NAME_H
#define SP_NAME_H

#include <stddef.h>

/* Longest accepted input, in code points. */
#define SP_NAME_MAX_CHARS 1000

typedef enum sp_name_status
{
	SP_NAME_OK = 0,
	SP_NAME_INVALID_UTF8,
	SP_NAME_TOO_LONG,
	SP_NAME_ICU_ERROR,
	SP_NAME_OUT_OF_MEMORY
} sp_name_status;

/*
 * Normalise a name: transliterate every script to Latin and then to ASCII
 * (ICU "Any-Latin; Latin-ASCII": Иван -> Ivan, Nguyễn -> Nguyen,
 * Straße -> Strasse), lower-case, drop apostrophes (O'Brien -> obrien),
 * turn every other run of characters outside a-z and 0-9 into one space,
 * and trim.  On success *out is a malloc'd NUL-terminated string (free()
 * it).  ASCII input never touches ICU.  errbuf receives ICU's error name.
 */
sp_name_status sp_normalize_name(const char *in, size_t len, char **out, size_t *out_len,
								 char *errbuf, size_t errlen);

/*
 * Phonetic key of a normalised name (the output of sp_normalize_name),
 * token by token, tokens separated by one space.  Per token: digraphs
 * ph->f, kh->k, gh->g, sh->s, ch->k, th->t, dh->d, ck->k; c, q->k; x->ks;
 * z->s; w->v; y->i; other h dropped; vowels dropped, a leading one too
 * (a token of vowels only is "a"); runs of one letter collapsed.
 * Mohammed, Muhamad and Mahmoud share "md"; Odhiambo and Odhaimbo share
 * "dmb"; Abdi and عبدي ("bdy") share "bd".
 * out must hold 2 * len + 1 bytes; returns the key length.
 */
size_t		sp_name_key(const char *normalized, size_t len, char *out);

const char *sp_name_status_message(sp_name_status status);

#endif							/* SP_NAME_H */
