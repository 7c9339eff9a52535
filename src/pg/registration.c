/*
 * registration.c - SQL-callable helpers of registration: partial birth
 * dates, national ID / phone / UUID normalisation, the document fingerprint
 * and the delete guard.  The algorithms live in src/core; this file converts
 * datums and raises errors.  Document validation is in validate.c.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "common/cryptohash.h"
#include "common/hmac.h"
#include "common/sha2.h"
#include "datatype/timestamp.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "sp_date.h"
#include "sp_registry.h"
#include "sp_text.h"

PG_FUNCTION_INFO_V1(sp_parse_birth_date);
PG_FUNCTION_INFO_V1(sp_normalize_national_id_sql);
PG_FUNCTION_INFO_V1(sp_normalize_phone_sql);
PG_FUNCTION_INFO_V1(sp_is_uuid_sql);
PG_FUNCTION_INFO_V1(sp_document_fingerprint);
PG_FUNCTION_INFO_V1(sp_forbid_delete);
PG_FUNCTION_INFO_V1(sp_forbid_truncate);

static int
date_status_sqlstate(sp_date_status st)
{
	switch (st)
	{
		case SP_DATE_BAD_FORMAT:
			return ERRCODE_INVALID_DATETIME_FORMAT;
		default:
			return ERRCODE_DATETIME_FIELD_OVERFLOW;
	}
}

static sp_date_status
parse_text_date(text *t, sp_partial_date *d)
{
	return sp_parse_partial_date(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), d);
}

static DateADT
partial_date_to_date(const sp_partial_date *d)
{
	return date2j(d->year, d->month, d->day) - POSTGRES_EPOCH_JDATE;
}

/*
 * sp.parse_birth_date(value text, OUT birth_date date, OUT birth_date_precision text)
 * Year-only dates become 1 January and month-only dates the 1st, with the
 * precision saying so.
 */
Datum
sp_parse_birth_date(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	sp_partial_date d;
	sp_date_status st = parse_text_date(t, &d);
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	if (st != SP_DATE_OK)
		ereport(ERROR,
				(errcode(date_status_sqlstate(st)),
				 errmsg("invalid birth date \"%s\"", text_to_cstring(t)),
				 errdetail("The %s.", sp_date_status_message(st))));

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("function returning record called in context that cannot accept type record")));
	tupdesc = BlessTupleDesc(tupdesc);
	values[0] = DateADTGetDatum(partial_date_to_date(&d));
	values[1] = CStringGetTextDatum(sp_date_precision_name(d.precision));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* sp.normalize_national_id(text) returns text */
Datum
sp_normalize_national_id_sql(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	char		out[SP_NATIONAL_ID_MAX + 1];
	size_t		out_len,
				bad;
	sp_id_status st = sp_normalize_national_id(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t),
											   out, &out_len, &bad);

	if (st != SP_ID_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid national ID"),
				 errdetail("The %s.", sp_id_status_message(st))));
	PG_RETURN_TEXT_P(cstring_to_text_with_len(out, out_len));
}

/* sp.normalize_phone(text) returns text */
Datum
sp_normalize_phone_sql(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	char		out[SP_PHONE_MAX_DIGITS + 2];
	size_t		out_len;

	if (!sp_normalize_phone(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), out, &out_len))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid phone number"),
				 errdetail("A phone number has 5 to 20 digits, an optional leading +, and may contain spaces, dots, hyphens and parentheses.")));
	PG_RETURN_TEXT_P(cstring_to_text_with_len(out, out_len));
}

/* sp_internal.is_uuid(text) returns boolean: castable to uuid */
Datum
sp_is_uuid_sql(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);

	PG_RETURN_BOOL(sp_is_uuid(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)));
}

static void
hash_update(pg_cryptohash_ctx *ctx, char tag, const void *data, uint32 len)
{
	if (pg_cryptohash_update(ctx, (const uint8 *) &tag, 1) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) &len, sizeof(len)) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) data, len) < 0)
		elog(ERROR, "could not update SHA-256 context: %s", pg_cryptohash_error(ctx));
}

/*
 * sp_internal.document_fingerprint(doc jsonb, key bytea) returns bytea
 *
 * Keyed fingerprint of a registration document without its top-level
 * device_time (a device may restamp a resend): HMAC-SHA256 under the key of
 * the SHA-256 of the document.  Hashes jsonb's binary form, which is canonical
 * (keys sorted and deduplicated), so equal documents give equal fingerprints
 * whatever their key order or white space, without rendering the document as
 * text.  Keyed, because the document holds a national ID and a phone number:
 * an unkeyed digest of it could be recomputed from the readable columns and a
 * list of candidate IDs (the ID recovered offline), an HMAC cannot.
 */
Datum
sp_document_fingerprint(PG_FUNCTION_ARGS)
{
	Jsonb	   *jb = PG_GETARG_JSONB_P(0);
	bytea	   *key = PG_GETARG_BYTEA_PP(1);
	pg_cryptohash_ctx *ctx;
	pg_hmac_ctx *hmac;
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	bytea	   *result = palloc(VARHDRSZ + PG_SHA256_DIGEST_LENGTH);

	if (VARSIZE_ANY_EXHDR(key) < 16)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("fingerprint key must be at least 16 bytes, got %d", (int) VARSIZE_ANY_EXHDR(key))));
	ctx = pg_cryptohash_create(PG_SHA256);

	if (ctx == NULL || pg_cryptohash_init(ctx) < 0)
		elog(ERROR, "could not initialize SHA-256 context");

	if (!JB_ROOT_IS_OBJECT(jb))
		hash_update(ctx, 'r', VARDATA(jb), VARSIZE(jb) - VARHDRSZ);
	else
	{
		JsonbIterator *it = JsonbIteratorInit(&jb->root);
		JsonbValue	v;
		JsonbIteratorToken tok;
		bool		skip_value = false;

		while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		{
			if (tok == WJB_KEY)
			{
				skip_value = v.val.string.len == 11 && memcmp(v.val.string.val, "device_time", 11) == 0;
				if (!skip_value)
					hash_update(ctx, 'k', v.val.string.val, v.val.string.len);
			}
			else if (tok == WJB_VALUE && !skip_value)
			{
				switch (v.type)
				{
					case jbvNull:
						hash_update(ctx, 'n', "", 0);
						break;
					case jbvBool:
						hash_update(ctx, 'b', v.val.boolean ? "t" : "f", 1);
						break;
					case jbvString:
						hash_update(ctx, 's', v.val.string.val, v.val.string.len);
						break;
					case jbvNumeric:
						hash_update(ctx, 'd', v.val.numeric, VARSIZE_ANY(v.val.numeric));
						break;
					case jbvBinary:
						hash_update(ctx, 'c', v.val.binary.data, v.val.binary.len);
						break;
					default:
						elog(ERROR, "unexpected jsonb value type %d", (int) v.type);
				}
			}
		}
	}
	if (pg_cryptohash_final(ctx, digest, PG_SHA256_DIGEST_LENGTH) < 0)
		elog(ERROR, "could not finalize SHA-256: %s", pg_cryptohash_error(ctx));
	pg_cryptohash_free(ctx);

	hmac = pg_hmac_create(PG_SHA256);
	if (hmac == NULL ||
		pg_hmac_init(hmac, (const uint8 *) VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key)) < 0 ||
		pg_hmac_update(hmac, digest, PG_SHA256_DIGEST_LENGTH) < 0 ||
		pg_hmac_final(hmac, (uint8 *) VARDATA(result), PG_SHA256_DIGEST_LENGTH) < 0)
		elog(ERROR, "could not compute HMAC-SHA256: %s", hmac ? pg_hmac_error(hmac) : "out of memory");
	pg_hmac_free(hmac);
	SET_VARSIZE(result, VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	PG_RETURN_BYTEA_P(result);
}

/*
 * BEFORE DELETE trigger: registry rows are never deleted unless a superuser
 * has turned on sp_registry.allow_hard_delete.  In C so that the setting is
 * always the module's checked variable, never an unchecked placeholder.
 */
Datum
sp_forbid_delete(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	const char *relname;
	size_t		len;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("sp_internal.forbid_delete() must be called as a trigger")));
	if (!TRIGGER_FIRED_BY_DELETE(trigdata->tg_event) ||
		!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("sp_internal.forbid_delete() must be a BEFORE DELETE row trigger")));

	relname = RelationGetRelationName(trigdata->tg_relation);
	if (sp_allow_hard_delete)
		return PointerGetDatum(trigdata->tg_trigtuple);
	len = strlen(relname);
	if (len > 6 && strcmp(relname + len - 6, "_model") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_RESTRICT_VIOLATION),
				 errmsg("rows of %s are never deleted", relname),
				 errdetail("Past versions of a model explain past decisions; they are retired, not deleted."),
				 errhint("Activate another version instead.")));
	if (strcmp(relname, "programme") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_RESTRICT_VIOLATION),
				 errmsg("rows of %s are never deleted", relname),
				 errdetail("Enrolments and decisions refer to the programme."),
				 errhint("Set its status to closed.")));
	if (strcmp(relname, "enrolment") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_RESTRICT_VIOLATION),
				 errmsg("rows of %s are never deleted", relname),
				 errdetail("An enrolment ends in the state exited, with a reason."),
				 errhint("Use sp.set_enrolment_state().")));
	if (strcmp(relname, "household") == 0 || strcmp(relname, "person") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_RESTRICT_VIOLATION),
				 errmsg("rows of %s are never deleted", relname),
				 errdetail("The registry keeps every household and person; change the status instead."),
				 errhint("Use sp.set_person_status() or sp.set_household_status().")));
	ereport(ERROR,
			(errcode(ERRCODE_RESTRICT_VIOLATION),
			 errmsg("rows of %s are never deleted", relname),
			 errdetail("They are part of the record of decisions made about households and persons.")));
	return PointerGetDatum(trigdata->tg_trigtuple);
}

/*
 * BEFORE TRUNCATE statement trigger: TRUNCATE (with or without CASCADE)
 * removes rows without row triggers, so it would bypass the delete guard and
 * the history; refused unless a superuser has turned on
 * sp_registry.allow_hard_delete.
 */
Datum
sp_forbid_truncate(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event) ||
		!TRIGGER_FIRED_BEFORE(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("sp_internal.forbid_truncate() must be a BEFORE TRUNCATE trigger")));
	if (!sp_allow_hard_delete)
		ereport(ERROR,
				(errcode(ERRCODE_RESTRICT_VIOLATION),
				 errmsg("%s.%s cannot be truncated",
						get_namespace_name(RelationGetNamespace(trigdata->tg_relation)),
						RelationGetRelationName(trigdata->tg_relation)),
				 errdetail("Registry rows are never removed in bulk: they are people, their history and the decisions about them."),
				 errhint("A superuser can SET sp_registry.allow_hard_delete = on for a deliberate erasure.")));
	return PointerGetDatum(NULL);
}
