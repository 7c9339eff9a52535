/*
 * linkage_records.c - the records of a relation, read with one SPI query
 * (in id order) and prepared as each column's comparisons need them, and
 * the term frequencies of their values.
 */
#include "postgres.h"

#include <stdlib.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"

#include "linkage_internal.h"
#include "sp_name.h"
#include "sp_text.h"

/* ------------------------------------------------------------------------
 * Records
 * ------------------------------------------------------------------------ */

/* Records being loaded, and where their values come from, for messages. */
typedef struct Loader
{
	sp_records *r;
	const char *which;
	Oid			relid;
	int64		current_id;
	const char *current_column;
	int64		truncated;		/* values cut to SP_VALUE_MAX_CHARS */
	int64		truncated_id;	/* the first of them */
	const char *truncated_column;
} Loader;

/*
 * Room for len more bytes in the arena.  Called before work that holds
 * malloc'd memory (name normalisation), so that the copy after it cannot
 * raise and leak it.
 */
static void
arena_reserve(sp_records *r, size_t len)
{
	if (r->arena_used > PG_UINT32_MAX - len)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("record linkage input has more than 4 GB of text")));
	if (r->arena_used + len > r->arena_size)
	{
		size_t		bigger = Max(r->arena_size * 2, r->arena_used + len + 1024 * 1024);

		linkage_check_memory(bigger - r->arena_size, "the values of the records");
		r->arena = repalloc_huge(r->arena, bigger);
		r->arena_size = bigger;
	}
}

static void
value_error(const Loader *ld, int sqlstate, const char *problem)
{
	ereport(ERROR,
			(errcode(sqlstate),
			 errmsg("%s relation %s: column \"%s\" of the record with id %lld %s",
					ld->which, get_rel_name(ld->relid), ld->current_column, (long long) ld->current_id, problem),
			 errdetail("Record linkage reads text as UTF-8.")));
}

/*
 * Store the first SP_VALUE_MAX_CHARS characters of s[0..len) as *out.  The
 * stored length is that of the bytes stored, cut at a character boundary:
 * hashing, comparing and decoding never read past them.
 */
static void
store_value(Loader *ld, const char *s, size_t len, sp_value *out)
{
	sp_records *r = ld->r;
	size_t		keep = sp_utf8_prefix(s, len, SP_VALUE_MAX_CHARS);

	if (keep < len && ld->truncated++ == 0)
	{
		ld->truncated_id = ld->current_id;
		ld->truncated_column = ld->current_column;
	}
	if (sp_utf8_length(s, keep) == (size_t) -1)
		value_error(ld, ERRCODE_CHARACTER_NOT_IN_REPERTOIRE, "is not valid UTF-8");
	Assert(keep <= SP_VALUE_MAX_BYTES);
	arena_reserve(r, keep);
	out->offset = (uint32) r->arena_used;
	out->len = (uint16) keep;
	memcpy(r->arena + r->arena_used, s, keep);
	r->arena_used += keep;
}

/* Prepare one text value as the column's normalisation says; false when it ends up empty. */
static bool
prepare_text(Loader *ld, const char *s, sp_link_normalize norm, sp_value *out)
{
	sp_records *r = ld->r;
	size_t		len = strlen(s);

	switch (norm)
	{
		case SP_NORM_NAME:
			{
				char	   *n;
				size_t		nl;
				char		err[64];
				sp_name_status st;
				size_t		keep = sp_utf8_prefix(s, len, SP_NAME_MAX_CHARS);
				bool		cut = keep < len;

				if (cut && ld->truncated++ == 0)
				{
					ld->truncated_id = ld->current_id;
					ld->truncated_column = ld->current_column;
				}
				if (sp_utf8_length(s, keep) == (size_t) -1)
					value_error(ld, ERRCODE_CHARACTER_NOT_IN_REPERTOIRE, "is not valid UTF-8");
				/* nothing below may raise while n is held: make room first */
				arena_reserve(r, SP_VALUE_MAX_BYTES);
				st = sp_normalize_name(s, keep, &n, &nl, err, sizeof(err));
				if (st == SP_NAME_OUT_OF_MEMORY)
					ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory normalising names")));
				if (st != SP_NAME_OK)
					ereport(ERROR,
							(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
							 errmsg("could not normalise a name: %s %s", sp_name_status_message(st), err)));
				if (nl > 0)
				{
					/* transliteration may lengthen it (Щ -> Shch): cut again */
					size_t		k = sp_utf8_prefix(n, nl, SP_VALUE_MAX_CHARS);

					if (k < nl && !cut && ld->truncated++ == 0)
					{
						ld->truncated_id = ld->current_id;
						ld->truncated_column = ld->current_column;
					}
					out->offset = (uint32) r->arena_used;
					out->len = (uint16) k;
					memcpy(r->arena + r->arena_used, n, k);
					r->arena_used += k;
				}
				free(n);
				out->key_len = 0;
				if (nl > 0)
				{
					/*
					 * The phonetic key of the whole name without its spaces
					 * ("hay le" meets "haile";
					 * "Abdi Rahman" meets "Abdirahman"), for blocking and the
					 * phonetic level of name comparisons.
					 */
					char	   *joined = palloc(out->len + 1);
					char	   *key = palloc(2 * (size_t) out->len + 2);
					size_t		jl = 0,
								kl;

					for (size_t i = 0; i < out->len; i++)
						if (r->arena[out->offset + i] != ' ')
							joined[jl++] = r->arena[out->offset + i];
					kl = sp_name_key(joined, jl, key);
					arena_reserve(r, kl);
					out->key_offset = (uint32) r->arena_used;
					out->key_len = (uint16) kl;
					memcpy(r->arena + r->arena_used, key, kl);
					r->arena_used += kl;
					pfree(joined);
					pfree(key);
				}
				return nl > 0;
			}
		case SP_NORM_ID:
		case SP_NORM_DIGITS:
			{
				char	   *buf = palloc(len + 1);
				size_t		n = 0;

				for (size_t i = 0; i < len; i++)
				{
					char		c = s[i];

					if (c >= 'a' && c <= 'z')
						c = (char) (c - 'a' + 'A');
					if ((c >= '0' && c <= '9') || (norm == SP_NORM_ID && c >= 'A' && c <= 'Z'))
						buf[n++] = c;
				}
				if (n == 0)
				{
					pfree(buf);
					return false;
				}
				if (norm == SP_NORM_DIGITS && n > 9)
				{
					/* the subscriber number: country and trunk prefixes vary */
					memmove(buf, buf + n - 9, 9);
					n = 9;
				}
				store_value(ld, buf, n, out);
				pfree(buf);
				return true;
			}
		default:
			{
				/* trimmed; empty is missing */
				while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
					len--;
				while (len > 0 && (*s == ' ' || *s == '\t'))
				{
					s++;
					len--;
				}
				if (len == 0)
					return false;
				store_value(ld, s, len, out);
				return true;
			}
	}
}

/*
 * Load id plus the spec's columns of a relation (only the rows whose id is in
 * only_ids, when given).  Columns the relation does
 * not have are marked absent (the comparisons and rules using them are
 * skipped); id is required.
 */
void
linkage_load_records(sp_link_spec *spec, Oid relid, sp_records *r, const char *which, ArrayType *only_ids)
{
	StringInfoData sql;
	int			ret;
	int			attno = 2;
	MemoryContext outer = CurrentMemoryContext;
	bool		has_id = false;
	Loader		ld;

	memset(r, 0, sizeof(*r));
	memset(&ld, 0, sizeof(ld));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/* which of the spec's columns does the relation have? */
	for (int c = 0; c < spec->ncolumns; c++)
		spec->columns[c].present = false;
	{
		Oid			argtypes[1] = {OIDOID};
		Datum		args[1] = {ObjectIdGetDatum(relid)};

		ret = SPI_execute_with_args("SELECT attname::text, atttypid FROM pg_catalog.pg_attribute "
									"WHERE attrelid OPERATOR(pg_catalog.=) $1 AND attnum OPERATOR(pg_catalog.>) 0 "
									"AND NOT attisdropped",
									1, argtypes, args, NULL, true, 0);
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "reading the columns of %s failed", which);
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			char	   *name = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);

			if (strcmp(name, "id") == 0)
				has_id = true;
			for (int c = 0; c < spec->ncolumns; c++)
				if (strcmp(spec->columns[c].name, name) == 0)
					spec->columns[c].present = true;
		}
	}
	if (!has_id)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("%s relation %s has no column \"id\"", which, get_rel_name(relid)),
				 errdetail("Linkage inputs need an id bigint column plus the columns the model compares.")));

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT id::bigint");
	for (int c = 0; c < spec->ncolumns; c++)
	{
		sp_link_column *col = &spec->columns[c];

		col->attno = 0;
		if (!col->present)
			continue;
		appendStringInfo(&sql, ", %s", quote_identifier(col->name));
		col->attno = attno++;
	}
	appendStringInfo(&sql, " FROM %s", DatumGetCString(DirectFunctionCall1(regclassout, ObjectIdGetDatum(relid))));
	if (only_ids)
	{
		Oid			argtypes[1] = {INT8ARRAYOID};
		Datum		args[1] = {PointerGetDatum(only_ids)};

		appendStringInfoString(&sql, " WHERE id::bigint OPERATOR(pg_catalog.=) ANY ($1)"
							   " ORDER BY 1 USING OPERATOR(pg_catalog.<)");
		ret = SPI_execute_with_args(sql.data, 1, argtypes, args, NULL, true, 0);
	}
	else
	{
		/*
		 * Records are positioned by id, not by physical order: training samples
		 * pairs by position, so the same rows must give the same model after a
		 * VACUUM FULL, a restore or on a replica.
		 */
		appendStringInfoString(&sql, " ORDER BY 1 USING OPERATOR(pg_catalog.<)");
		ret = SPI_execute(sql.data, true, 0);
	}
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "reading %s failed: %s", which, SPI_result_code_string(ret));

	{
		MemoryContext spi = MemoryContextSwitchTo(outer);
		uint64		n = SPI_processed;
		TupleDesc	desc = SPI_tuptable->tupdesc;

		r->n = (int64) n;
		r->ids = linkage_alloc_huge(sizeof(int64) * n, "record ids");
		r->values = linkage_alloc_huge(sizeof(sp_value) * n * Max(spec->ncolumns, 1), "record values");
		r->arena_size = 1024 * 1024;
		r->arena = palloc(r->arena_size);
		r->arena_used = 0;
		r->refine_level = NULL;
		ld.r = r;
		ld.which = which;
		ld.relid = relid;
		ld.truncated = 0;

		for (uint64 i = 0; i < n; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			bool		isnull;
			Datum		d = SPI_getbinval(tup, desc, 1, &isnull);

			if ((i & 1023) == 0)
				CHECK_FOR_INTERRUPTS();
			if (isnull)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("%s relation %s has a NULL id", which, get_rel_name(relid))));
			r->ids[i] = DatumGetInt64(d);
			ld.current_id = r->ids[i];
			for (int c = 0; c < spec->ncolumns; c++)
			{
				sp_link_column *col = &spec->columns[c];
				sp_value   *v = &r->values[i * spec->ncolumns + c];
				char	   *text;

				v->isnull = true;
				if (!col->present)
					continue;
				d = SPI_getbinval(tup, desc, col->attno, &isnull);
				if (isnull)
					continue;
				ld.current_column = col->name;
				if (col->is_date)
				{
					Oid			typ = SPI_gettypeid(desc, col->attno);

					if (typ == DATEOID)
					{
						DateADT		date = DatumGetDateADT(d);
						int			y,
									m,
									dd;

						if (DATE_NOT_FINITE(date))
							continue;
						j2date(date + POSTGRES_EPOCH_JDATE, &y, &m, &dd);
						/* as for dates given as text: no birth date lies outside 1..9999 */
						if (y < 1 || y > 9999)
							continue;
						v->date.year = (int16) y;
						v->date.month = (int8) m;
						v->date.day = (int8) dd;
						v->date.days = sp_days_from_civil(y, m, dd);
						v->date.precision = SP_YMD_DAY;
						v->isnull = false;
					}
					else
					{
						text = SPI_getvalue(tup, desc, col->attno);
						v->isnull = sp_parse_linkage_date(text, strlen(text), &v->date) != 0;
						pfree(text);
					}
				}
				else
				{
					text = SPI_getvalue(tup, desc, col->attno);
					v->isnull = !prepare_text(&ld, text, col->normalize, v);
					pfree(text);
				}
			}
		}
		MemoryContextSwitchTo(spi);
	}
	SPI_finish();
	if (ld.truncated > 0)
		ereport(NOTICE,
				(errmsg("%s relation %s: %lld values longer than %d characters are compared on their first %d characters",
						which, get_rel_name(relid), (long long) ld.truncated, SP_VALUE_MAX_CHARS, SP_VALUE_MAX_CHARS),
				 errdetail("The first is column \"%s\" of the record with id %lld.",
						   ld.truncated_column, (long long) ld.truncated_id)));

	sp_link_spec_set_present(spec);
	linkage_check(sp_block_keys(spec, r, &linkage_env));
}

/* Index of id in r (ids ascending, as linkage_load_records orders them), or -1. */
int64
linkage_record_index(const sp_records *r, int64 id)
{
	int64		lo = 0,
				hi = r->n - 1;

	while (lo <= hi)
	{
		int64		mid = lo + (hi - lo) / 2;

		if (r->ids[mid] == id)
			return mid;
		if (r->ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/* The single record with this id, as sp_records of one. */
void
linkage_load_one(sp_link_spec *spec, Oid relid, int64 id, sp_records *r, const char *which)
{
	Datum		one = Int64GetDatum(id);

	linkage_load_records(spec, relid, r, which, construct_array(&one, 1, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	if (r->n != 1)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("%s relation %s has %lld rows with id %lld, expected one",
						which, get_rel_name(relid), (long long) r->n, (long long) id)));
}

/* Index of the record with this id; errors when absent or repeated. */
int64
linkage_find_id(const sp_records *r, int64 id, Oid relid, const char *which)
{
	int64		found = -1;

	for (int64 i = 0; i < r->n; i++)
		if (r->ids[i] == id)
		{
			if (found >= 0)
				ereport(ERROR,
						(errcode(ERRCODE_CARDINALITY_VIOLATION),
						 errmsg("%s relation %s has more than one row with id %lld",
								which, get_rel_name(relid), (long long) id)));
			found = i;
		}
	if (found < 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("%s relation %s has no row with id %lld", which, get_rel_name(relid), (long long) id)));
	return found;
}

/* ------------------------------------------------------------------------
 * Term frequencies: how common each value of a column is
 * ------------------------------------------------------------------------ */

/* Counted over the records being linked, for comparisons with tf_adjust. */
void
linkage_build_tf(sp_link_model *model, const sp_records *ra, const sp_records *rb, bool dedup)
{
	for (int c = 0; c < model->spec.ncomparisons; c++)
		if (model->spec.comparisons[c].tf_adjust && model->spec.comparisons[c].present)
			linkage_check(sp_tf_build(&model->tf[c], &model->spec, model->spec.comparisons[c].column, ra, rb, dedup,
									  &linkage_env));
}

/*
 * Term frequencies of the values of r from sp_internal.linkage_term_frequency
 * (stored by training), for comparisons with tf_adjust; a comparison without
 * stored counts keeps no table (plain m/u).
 */
void
linkage_load_stored_tf(sp_link_model *model, const sp_records *r, Oid relid)
{
	MemoryContext outer = CurrentMemoryContext;
	char	   *rel = DatumGetCString(DirectFunctionCall1(regclassout, ObjectIdGetDatum(relid)));

	/*
	 * Only for the relation the model was trained on (the registry's view,
	 * or its twin used while a blind-index rotation runs): counts from other
	 * data would make every value they never saw look rare.
	 */
	if (!model->tf_source ||
		!(strcmp(rel, model->tf_source) == 0 ||
		  (strcmp(rel, "sp_internal.person_linkage_input_rotating") == 0 &&
		   strcmp(model->tf_source, "sp_internal.person_linkage_input") == 0)))
		return;

	for (int c = 0; c < model->spec.ncomparisons; c++)
	{
		const sp_link_comparison *cmp = &model->spec.comparisons[c];
		Datum	   *hashes;
		int			nh = 0;
		Oid			argtypes[3] = {TEXTOID, TEXTOID, INT8ARRAYOID};
		Datum		args[3];
		sp_tf_table *tf = &model->tf[c];

		if (!cmp->tf_adjust || !cmp->present || model->tf_records[c] <= 0)
			continue;
		hashes = palloc(sizeof(Datum) * Max(r->n, 1));
		for (int64 i = 0; i < r->n; i++)
		{
			const sp_value *v = &r->values[i * model->spec.ncolumns + cmp->column];

			if (!v->isnull)
				hashes[nh++] = Int64GetDatum((int64) sp_value_hash(r, v));
		}
		args[0] = CStringGetTextDatum(model->name);
		args[1] = CStringGetTextDatum(cmp->name);
		args[2] = PointerGetDatum(construct_array(hashes, nh, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (SPI_execute_with_args("SELECT value_hash, records FROM sp_internal.linkage_term_frequency "
								  "WHERE model OPERATOR(pg_catalog.=) $1 AND comparison OPERATOR(pg_catalog.=) $2 "
								  "AND value_hash OPERATOR(pg_catalog.=) ANY ($3)",
								  3, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "reading sp_internal.linkage_term_frequency failed");
		{
			MemoryContext spi = MemoryContextSwitchTo(outer);
			uint64		n = SPI_processed;
			sp_term_freq *terms = palloc(sizeof(sp_term_freq) * Max(n, 1));

			for (uint64 k = 0; k < n; k++)
			{
				bool		isnull;

				terms[k].hash = (uint64) DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[k], SPI_tuptable->tupdesc, 1, &isnull));
				terms[k].count = (uint32) DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[k], SPI_tuptable->tupdesc, 2, &isnull));
			}
			sp_tf_stored(tf, terms, (int64) n, model->tf_records[c]);
			MemoryContextSwitchTo(spi);
		}
		SPI_finish();
	}
}
