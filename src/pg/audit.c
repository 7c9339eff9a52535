/*
 * audit.c - audit records that a rollback cannot erase.
 *
 * A lookup by identifier or a decryption must leave a record even when the
 * caller's transaction (or savepoint) is rolled back, and must return nothing
 * until that record is durable.  So the record is not written by the caller:
 * sp_internal.audit_write() hands it to a dynamic background worker, which
 * connects to the same database as the extension owner, appends it to the
 * hash chain of sp.audit_log in a transaction of its own, commits, and
 * reports back.  The caller waits and raises unless the record committed
 * (no record, no data).
 *
 * Why a background worker rather than dblink: no credentials, no pg_hba
 * entry and no extra extension; the worker is started by the postmaster on
 * request, so no shared_preload_libraries either.
 *
 * The payload travels in a DSM segment.  The caller pins it, so that the
 * worker can still read it after the caller was cancelled (statement_timeout,
 * pg_cancel_backend) and its mapping went away with its transaction: the
 * record of an attempt is then still written, although nothing was returned.
 * Whoever first sees that the worker no longer needs the pin (the worker once
 * attached, or the caller once the worker is gone) releases it.
 *
 * Deadlocks: the worker takes a row lock on sp_internal.audit_chain_head, a
 * RowExclusiveLock on sp.audit_log and reads sp.audit_log.  The caller never
 * writes either table in its own transaction, no role can write or lock them
 * in a conflicting mode, and no advisory lock is involved, so a caller cannot
 * hold what its worker waits for.  A superuser who locks the tables in the
 * calling transaction still only meets lock_timeout in the worker, and an
 * error, never a hang.
 */
#include "postgres.h"

#include <limits.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "sp_registry.h"

PG_FUNCTION_INFO_V1(sp_audit_write);
PG_FUNCTION_INFO_V1(sp_audit_check_purpose);
PG_FUNCTION_INFO_V1(sp_in_audit_writer);

PGDLLEXPORT void sp_audit_worker_main(Datum main_arg);

#define AUDIT_WORKER_LIBRARY	"sp_registry"
#define AUDIT_WORKER_FUNCTION	"sp_audit_worker_main"
#define AUDIT_WORKER_TYPE		"sp_registry audit writer"

#define PURPOSE_MIN_CHARS	3
#define PURPOSE_MAX_CHARS	500
#define MAX_PERSON_IDS		1000000
#define MAX_DETAIL_BYTES	65536
#define MAX_ACTION_BYTES	63

/* How long the worker waits for the chain head (held only by other workers). */
#define WORKER_LOCK_TIMEOUT "5s"

/*
 * While every worker slot is taken (parallel query, other audit writers),
 * registration is retried for up to about 5 s, waiting 4 ms, 8 ms, ... at
 * most 50 ms between attempts.
 */
#define REGISTER_WAIT_MS	5000
#define REGISTER_BACKOFF_MAX_MS 50

/* AuditShared.state */
#define AUDIT_PENDING	0
#define AUDIT_WRITTEN	1
#define AUDIT_REFUSED	2
#define AUDIT_FAILED	3

/* AuditShared.pin */
#define AUDIT_PIN_HELD		1
#define AUDIT_PIN_RELEASED	2

#define AUDIT_ERROR_LEN	512

/*
 * The DSM segment: a fixed header, then the person ids, then the strings,
 * each NUL-terminated, at the offsets recorded in the header.
 */
typedef struct AuditShared
{
	/* written by the caller before the worker starts */
	Oid			database_id;
	Oid			owner_id;
	int			caller_procno;
	int32		accesses;
	int32		quota;
	int32		n_person_ids;
	Size		login_role_off;
	Size		acting_role_off;
	Size		action_off;
	Size		purpose_off;
	Size		detail_off;

	pg_atomic_uint32 pin;
	pg_atomic_uint32 state;

	/* written by the worker before it sets state */
	int64		log_id;
	int64		used;
	int			sqlerrcode;
	char		error[AUDIT_ERROR_LEN];

	int64		person_ids[FLEXIBLE_ARRAY_MEMBER];
} AuditShared;

#define SHARED_STRING(shared, off)	((char *) (shared) + (off))

/*
 * Releases the caller's pin on the segment, once: the worker does it as soon
 * as it has attached (its own mapping then keeps the segment alive), the
 * caller when no worker is going to attach any more.
 */
static void
release_pin(AuditShared *shared, dsm_handle handle)
{
	uint32		expected = AUDIT_PIN_HELD;

	if (pg_atomic_compare_exchange_u32(&shared->pin, &expected, AUDIT_PIN_RELEASED))
		dsm_unpin_segment(handle);
}

/*
 * purpose is required, at least 3 non-blank characters and at most 500.
 * The value itself never appears in a message: it may be huge.
 */
static void
check_purpose(text *purpose)
{
	const char *s;
	const char *end;
	const char *p;
	int			chars = 0;

	if (purpose == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("purpose is required"),
				 errdetail("Every lookup by identifier and every decryption is recorded in sp.audit_log with its purpose.")));

	/* at most 500 characters in all; counting stops as soon as that is known */
	s = VARDATA_ANY(purpose);
	end = s + VARSIZE_ANY_EXHDR(purpose);
	for (p = s; p < end && chars <= PURPOSE_MAX_CHARS; p += pg_mblen(p))
		chars++;
	if (chars > PURPOSE_MAX_CHARS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("purpose must have at most %d characters", PURPOSE_MAX_CHARS),
				 errdetail("The purpose is stored with every audit record; give a reference, not a document.")));

	/* at least 3 once surrounding blanks are left out */
	while (s < end && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
		s++;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
		end--;
	if (s == end)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("purpose must not be blank"),
				 errdetail("Every lookup by identifier and every decryption is recorded in sp.audit_log with its purpose.")));
	chars = 0;
	for (p = s; p < end && chars < PURPOSE_MIN_CHARS; p += pg_mblen(p))
		chars++;
	if (chars < PURPOSE_MIN_CHARS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("purpose must have at least %d characters", PURPOSE_MIN_CHARS),
				 errdetail("Say why the identifiers are needed, for example a case or grievance number.")));
}

/* An action is a short snake_case word, checked again by sp.audit_log. */
static void
check_action(const char *action)
{
	size_t		len = strlen(action);
	size_t		i;
	bool		ok = len >= 3 && len <= MAX_ACTION_BYTES && action[0] >= 'a' && action[0] <= 'z';

	for (i = 0; ok && i < len; i++)
		ok = (action[i] >= 'a' && action[i] <= 'z') || action[i] == '_';
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid audit action"),
				 errdetail("An action is 3 to %d lower-case letters and underscores.", MAX_ACTION_BYTES)));
}

/* The owner of the extension: the role the worker connects as. */
static Oid
extension_owner(void)
{
	Oid			extension_id = get_extension_oid("sp_registry", false);
	Oid			owner = InvalidOid;
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(extension_id));
	scan = systable_beginscan(rel, ExtensionOidIndexId, true, NULL, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
		owner = ((Form_pg_extension) GETSTRUCT(tuple))->extowner;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	if (!OidIsValid(owner))
		elog(ERROR, "could not find the owner of extension sp_registry");
	return owner;
}

static Size
copy_string(AuditShared *shared, Size off, const char *s)
{
	size_t		len = strlen(s) + 1;

	memcpy(SHARED_STRING(shared, off), s, len);
	return off + len;
}

/*
 * Starts the worker, retrying while every slot is taken (parallel query
 * workers and other audit writers come and go).  NULL when no slot became
 * free in time.
 */
static BackgroundWorkerHandle *
start_worker(dsm_handle handle)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *worker_handle;
	long		waited_ms = 0;
	long		backoff_ms = 2;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	strlcpy(worker.bgw_library_name, AUDIT_WORKER_LIBRARY, BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, AUDIT_WORKER_FUNCTION, BGW_MAXLEN);
	snprintf(worker.bgw_name, BGW_MAXLEN, "sp_registry audit writer for PID %d", MyProcPid);
	strlcpy(worker.bgw_type, AUDIT_WORKER_TYPE, BGW_MAXLEN);
	worker.bgw_main_arg = UInt32GetDatum(handle);
	worker.bgw_notify_pid = MyProcPid;

	for (;;)
	{
		if (RegisterDynamicBackgroundWorker(&worker, &worker_handle))
			return worker_handle;
		if (waited_ms >= REGISTER_WAIT_MS)
			return NULL;
		backoff_ms = Min(backoff_ms * 2, REGISTER_BACKOFF_MAX_MS);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 backoff_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		waited_ms += backoff_ms;
	}
}

/*
 * Waits until the worker has reported or is gone.  Interruptible: a cancel
 * leaves the worker to finish (the segment is pinned until it attaches).
 */
static uint32
wait_for_worker(AuditShared *shared, BackgroundWorkerHandle *worker_handle)
{
	for (;;)
	{
		uint32		state;
		pid_t		pid;
		BgwHandleStatus status;

		state = pg_atomic_read_u32(&shared->state);
		if (state != AUDIT_PENDING)
		{
			pg_read_barrier();
			return state;
		}
		status = GetBackgroundWorkerPid(worker_handle, &pid);
		if (status == BGWH_STOPPED)
		{
			/* it may have reported just before exiting */
			state = pg_atomic_read_u32(&shared->state);
			pg_read_barrier();
			return state;
		}
		if (status == BGWH_POSTMASTER_DIED)
			ereport(FATAL,
					(errcode(ERRCODE_ADMIN_SHUTDOWN),
					 errmsg("postmaster exited while an audit record was being written")));

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH, -1L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * sp_internal.audit_write(action text, person_ids bigint[], purpose text,
 *                         detail jsonb, accesses integer) RETURNS bigint
 *
 * Appends one record to sp.audit_log through the audit writer and returns
 * its log_id once it has committed.  Who (login and acting role) is taken
 * from the session, never from the arguments.  accesses is what the record
 * counts against sp_registry.pii_lookups_per_hour (0: not counted).  Raises
 * when the record could not be written, and 53400 when the quota refused the
 * access (the refusal itself is recorded).
 */
Datum
sp_audit_write(PG_FUNCTION_ARGS)
{
	text	   *purpose_text = PG_ARGISNULL(2) ? NULL : PG_GETARG_TEXT_PP(2);
	char	   *action;
	char	   *purpose;
	char	   *detail;
	char	   *login_role;
	char	   *acting_role;
	Datum	   *id_datums = NULL;
	bool	   *id_nulls = NULL;
	int			n_ids = 0;
	int32		accesses;
	Size		strings_off;
	Size		size;
	dsm_segment *seg;
	dsm_handle	handle;
	AuditShared *shared;
	BackgroundWorkerHandle *volatile worker_handle = NULL;
	uint32		state;
	int			i;

	check_purpose(purpose_text);
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(4))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("action, person_ids and accesses of an audit record must not be NULL")));
	action = text_to_cstring(PG_GETARG_TEXT_PP(0));
	check_action(action);
	accesses = PG_GETARG_INT32(4);
	if (accesses < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("accesses must not be negative")));

	{
		ArrayType  *ids = PG_GETARG_ARRAYTYPE_P(1);

		if (ARR_NDIM(ids) > 1)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("person_ids must be a one-dimensional array")));
		deconstruct_array(ids, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
						  &id_datums, &id_nulls, &n_ids);
		if (n_ids > MAX_PERSON_IDS)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("an audit record names at most %d persons", MAX_PERSON_IDS)));
		for (i = 0; i < n_ids; i++)
			if (id_nulls[i])
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("person_ids must not contain NULL")));
	}

	if (PG_ARGISNULL(3))
		detail = pstrdup("{}");
	else
		detail = DatumGetCString(DirectFunctionCall1(jsonb_out, PG_GETARG_DATUM(3)));
	if (strlen(detail) > MAX_DETAIL_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("audit detail must be at most %d bytes", MAX_DETAIL_BYTES)));

	/* a standby cannot write the record, so it returns nothing either */
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("audited access to personal identifiers is not possible on a standby"),
				 errdetail("Every lookup by identifier and every decryption is recorded in sp.audit_log before anything is returned, and a standby cannot write."),
				 errhint("Connect to the primary.")));

	purpose = text_to_cstring(purpose_text);
	login_role = GetUserNameFromId(GetSessionUserId(), false);
	acting_role = GetUserNameFromId(GetOuterUserId(), false);

	strings_off = offsetof(AuditShared, person_ids) + sizeof(int64) * n_ids;
	size = strings_off + strlen(login_role) + strlen(acting_role) + strlen(action)
		+ strlen(purpose) + strlen(detail) + 5;

	seg = dsm_create(size, 0);
	handle = dsm_segment_handle(seg);
	shared = dsm_segment_address(seg);
	memset(shared, 0, offsetof(AuditShared, person_ids));
	shared->database_id = MyDatabaseId;
	shared->owner_id = extension_owner();
	shared->caller_procno = MyProc->pgprocno;
	shared->accesses = accesses;
	shared->quota = sp_pii_lookups_per_hour;
	shared->n_person_ids = n_ids;
	for (i = 0; i < n_ids; i++)
		shared->person_ids[i] = DatumGetInt64(id_datums[i]);
	shared->login_role_off = strings_off;
	shared->acting_role_off = copy_string(shared, shared->login_role_off, login_role);
	shared->action_off = copy_string(shared, shared->acting_role_off, acting_role);
	shared->purpose_off = copy_string(shared, shared->action_off, action);
	shared->detail_off = copy_string(shared, shared->purpose_off, purpose);
	(void) copy_string(shared, shared->detail_off, detail);
	pg_atomic_init_u32(&shared->state, AUDIT_PENDING);
	pg_atomic_init_u32(&shared->pin, AUDIT_PIN_HELD);
	dsm_pin_segment(seg);

	PG_TRY();
	{
		worker_handle = start_worker(handle);
		if (worker_handle == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
					 errmsg("could not start the audit writer: no free background worker slot"),
					 errdetail("Nothing was returned because the access could not be recorded: every background worker slot (max_worker_processes = %d) stayed in use for %d ms.",
							   max_worker_processes, REGISTER_WAIT_MS),
					 errhint("Retry, or raise max_worker_processes (takes effect after a restart).")));
		state = wait_for_worker(shared, worker_handle);
	}
	PG_CATCH();
	{
		pid_t		pid;

		/*
		 * Cancelled or failed while waiting.  A worker that is running or
		 * about to start finishes the record on its own; otherwise nobody
		 * will attach any more and the pin goes.
		 */
		if (worker_handle == NULL ||
			GetBackgroundWorkerPid(worker_handle, &pid) == BGWH_STOPPED)
			release_pin(shared, handle);
		PG_RE_THROW();
	}
	PG_END_TRY();

	/* the worker is done with the segment (or gone without attaching) */
	if (state == AUDIT_PENDING)
		release_pin(shared, handle);

	switch (state)
	{
		case AUDIT_WRITTEN:
			{
				int64		log_id = shared->log_id;

				dsm_detach(seg);
				PG_RETURN_INT64(log_id);
			}
		case AUDIT_REFUSED:
			ereport(ERROR,
					(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
					 errmsg("hourly quota of personal identifier accesses reached for role \"%s\"", acting_role),
					 errdetail("The role made " INT64_FORMAT " accesses in the last hour and sp_registry.pii_lookups_per_hour allows %d; this attempt (%d more) was recorded in sp.audit_log as refused.",
							   shared->used, shared->quota, accesses)));
			break;
		case AUDIT_FAILED:
			ereport(ERROR,
					(errcode(shared->sqlerrcode != 0 ? shared->sqlerrcode : ERRCODE_INTERNAL_ERROR),
					 errmsg("could not write the audit record"),
					 errdetail("Nothing was returned because the access could not be recorded. The audit writer reported: %s",
							   shared->error)));
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_CONNECTION_FAILURE),
					 errmsg("could not write the audit record"),
					 errdetail("Nothing was returned because the access could not be recorded. The audit writer exited before writing it; the server log says why."),
					 errhint("The extension owner must be able to log in to this database.")));
	}
	PG_RETURN_NULL();			/* not reached */
}

/*
 * sp_internal.audit_check_purpose(purpose text): the bounds of purpose,
 * checked by the API before it does any work.
 */
Datum
sp_audit_check_purpose(PG_FUNCTION_ARGS)
{
	check_purpose(PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0));
	PG_RETURN_VOID();
}

/* True only inside the audit writer: the chain is appended there only. */
static bool
in_audit_writer(void)
{
	return MyBgworkerEntry != NULL &&
		strcmp(MyBgworkerEntry->bgw_library_name, AUDIT_WORKER_LIBRARY) == 0 &&
		strcmp(MyBgworkerEntry->bgw_function_name, AUDIT_WORKER_FUNCTION) == 0;
}

Datum
sp_in_audit_writer(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(in_audit_writer());
}

/* Reports to the caller: results first, then the state, then a wake-up. */
static void
report(AuditShared *shared, uint32 state)
{
	pg_write_barrier();
	pg_atomic_write_u32(&shared->state, state);
	SetLatch(&ProcGlobal->allProcs[shared->caller_procno].procLatch);
}

/*
 * Entry point of the worker.  Started by the postmaster for one record; not
 * callable from SQL.
 */
void
sp_audit_worker_main(Datum main_arg)
{
	dsm_handle	handle = DatumGetUInt32(main_arg);
	dsm_segment *seg;
	AuditShared *shared;
	MemoryContext worker_context = CurrentMemoryContext;
	static const Oid argtypes[8] = {TEXTOID, TEXTOID, TEXTOID, INT8ARRAYOID,
	TEXTOID, TEXTOID, INT4OID, INT4OID};

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	seg = dsm_attach(handle);
	if (seg == NULL)
	{
		/* the caller released the segment: nobody waits for a record */
		elog(LOG, "sp_registry audit writer: the request is gone, nothing to write");
		proc_exit(0);
	}
	shared = dsm_segment_address(seg);
	release_pin(shared, handle);

	BackgroundWorkerInitializeConnectionByOid(shared->database_id, shared->owner_id, 0);

	/*
	 * The record is evidence: it is durable when the caller sees it, written
	 * with our search_path, and waits for the chain head only so long.
	 */
	SetConfigOption("synchronous_commit", "on", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("lock_timeout", WORKER_LOCK_TIMEOUT, PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("default_transaction_isolation", "read committed", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("default_transaction_read_only", "off", PGC_SUSET, PGC_S_OVERRIDE);

	PG_TRY();
	{
		Datum		values[8];
		Datum	   *ids;
		int			i;
		int			ret;
		bool		isnull;
		bool		refused;

		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING, "appending to sp.audit_log");

		ids = palloc(sizeof(Datum) * Max(shared->n_person_ids, 1));
		for (i = 0; i < shared->n_person_ids; i++)
			ids[i] = Int64GetDatum(shared->person_ids[i]);
		values[0] = CStringGetTextDatum(SHARED_STRING(shared, shared->login_role_off));
		values[1] = CStringGetTextDatum(SHARED_STRING(shared, shared->acting_role_off));
		values[2] = CStringGetTextDatum(SHARED_STRING(shared, shared->action_off));
		values[3] = PointerGetDatum(construct_array(ids, shared->n_person_ids, INT8OID, sizeof(int64),
													FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		values[4] = CStringGetTextDatum(SHARED_STRING(shared, shared->purpose_off));
		values[5] = CStringGetTextDatum(SHARED_STRING(shared, shared->detail_off));
		values[6] = Int32GetDatum(shared->accesses);
		values[7] = Int32GetDatum(shared->quota);

		ret = SPI_execute_with_args("SELECT a.written_log_id, a.written_outcome, a.accesses_in_window "
									"FROM sp_internal.audit_append($1, $2, $3, $4, $5, $6::pg_catalog.jsonb, $7, $8) a",
									8, (Oid *) argtypes, values, NULL, false, 1);
		if (ret != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "sp_internal.audit_append returned no row");
		shared->log_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		refused = strcmp(TextDatumGetCString(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull)),
						 "refused") == 0;
		shared->used = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));

		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
		pgstat_report_activity(STATE_IDLE, NULL);

		/* only now, with the record durable, may the caller go on */
		report(shared, refused ? AUDIT_REFUSED : AUDIT_WRITTEN);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(worker_context);
		edata = CopyErrorData();
		strlcpy(shared->error, edata->message ? edata->message : "unknown error", AUDIT_ERROR_LEN);
		shared->sqlerrcode = edata->sqlerrcode;
		EmitErrorReport();
		FlushErrorState();
		AbortCurrentTransaction();
		report(shared, AUDIT_FAILED);
		dsm_detach(seg);
		proc_exit(1);
	}
	PG_END_TRY();

	dsm_detach(seg);
	proc_exit(0);
}
