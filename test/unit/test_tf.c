/* Unit tests of src/core/sp_tf.c: term frequencies */
#include "tap.h"
#include "linkage_fixture.h"
#include "sp_tf.h"

#include <math.h>

static uint64_t
hash_of(const char *s)
{
	return sp_fnv64(SP_FNV64_OFFSET, s, strlen(s));
}

int
main(void)
{
	sp_link_spec s;
	sp_records	r,
				right;
	sp_tf_table tf;
	int			given;
	const char *names[12] = {"mohamed", "mohamed", "ali", "mohamed", "zeynab", "ali",
	"mohamed", "", "mohamed", "ali", "mohamed", ""};

	fx_spec(&s);
	given = fx_column(&s, "given_name", SP_NORM_NAME, false);
	fx_records(&r, 12, s.ncolumns);
	for (int i = 0; i < 12; i++)
		fx_text(&s, &r, i, given, names[i]);

	/* counted over one relation */
	is_int(sp_tf_build(&tf, &s, given, &r, &r, true, &sp_link_env_malloc), SP_LINK_OK, "counted");
	is_int(tf.n, 10, "10 values (2 missing)");
	is_int(tf.distinct, 3, "3 distinct");
	ok(fabs(sp_tf_share(&tf, hash_of("mohamed")) - 0.6) < 1e-12, "a common name: 6 of 10");
	ok(fabs(sp_tf_share(&tf, hash_of("zeynab")) - 0.1) < 1e-12, "a rare one: 1 of 10");
	ok(fabs(sp_tf_share(&tf, hash_of("safiya")) - 0.1) < 1e-12, "an unseen value counts once: 1 of 10");
	ok(sp_tf_value_share(&tf, &r, &r.values[0]) == sp_tf_share(&tf, hash_of("mohamed")),
	   "a value's share is its hash's");
	ok(sp_value_hash(&r, &r.values[2]) == hash_of("ali"), "a value's hash is FNV-1a of its bytes");
	{
		int			sorted = 1;
		int64_t		sum = 0;

		for (int64_t k = 0; k < tf.distinct; k++)
		{
			sum += tf.terms[k].count;
			if (k > 0 && tf.terms[k - 1].hash >= tf.terms[k].hash)
				sorted = 0;
		}
		ok(sorted && sum == tf.n, "terms sorted by hash, counts sum to n");
	}
	free(tf.terms);

	/* two relations: both sides count */
	fx_records(&right, 3, s.ncolumns);
	fx_text(&s, &right, 0, given, "zeynab");
	fx_text(&s, &right, 1, given, "zeynab");
	fx_text(&s, &right, 2, given, "safiya");
	sp_tf_build(&tf, &s, given, &r, &right, false, &sp_link_env_malloc);
	is_int(tf.n, 13, "linking: 10 + 3 values");
	ok(fabs(sp_tf_share(&tf, hash_of("zeynab")) - 3.0 / 13) < 1e-12, "zeynab: 1 left, 2 right");
	free(tf.terms);
	sp_tf_build(&tf, &s, given, &r, &right, true, &sp_link_env_malloc);
	is_int(tf.n, 10, "deduplicating: the right side is not read");
	free(tf.terms);

	/* stored counts: only values seen twice, over many records */
	{
		sp_term_freq terms[2] = {{hash_of("mohamed"), 900}, {hash_of("ali"), 50}};

		sp_tf_stored(&tf, terms, 2, 10000);
		ok(fabs(sp_tf_share(&tf, hash_of("mohamed")) - 0.09) < 1e-12, "stored: 900 of 10000");
		ok(fabs(sp_tf_share(&tf, hash_of("ali")) - 0.005) < 1e-12, "stored: 50 of 10000 (sorted first)");
		ok(fabs(sp_tf_share(&tf, hash_of("zeynab")) - 0.0001) < 1e-15, "stored, not among them: 1 of 10000");
	}

	/* counting hashes */
	{
		sp_term_freq terms[6] = {{5, 0}, {3, 0}, {5, 0}, {9, 0}, {3, 0}, {5, 0}};

		sp_tf_count(&tf, terms, 6);
		ok(tf.distinct == 3 && tf.terms[0].hash == 3 && tf.terms[0].count == 2 &&
		   tf.terms[1].count == 3 && tf.terms[2].count == 1, "3 x 5, 2 x 3, 1 x 9");
		sp_tf_count(&tf, terms, 0);
		ok(tf.n == 0 && sp_tf_share(&tf, 5) == 1.0, "nothing counted: every value's share is 1");
	}
	fx_free(&right);
	fx_free(&r);
	return done_testing();
}
