-- After a restore: the checks the guards leave to the end (superuser only:
-- not granted to any role, so it is outside the role matrix).
--
-- A restore loads saved rows table by table with COPY (src/pg/restore.c):
-- references kept by statement triggers instead of foreign keys, rules and
-- model specs that name other tables, and the lifecycle state of enrolments
-- are not checked row by row then, because the other table may come later.
-- sp_internal.verify_integrity() checks them all at once over the whole registry; the
-- DBA runs it after every restore (docs/dba-guide.md).  It also reports the
-- audit chain.  Read-only; safe to run at any time.

CREATE FUNCTION sp_internal.verify_integrity()
    RETURNS TABLE (check_name text, ok boolean, detail text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record;
    cond text;
    key_list text;
    not_null text;
    bad text;
    m record;
    g sp.programme;
BEGIN
    -- references kept by sp_internal.check_references (INSERT on the child)
    FOR t IN SELECT tg.tgrelid::regclass AS child, tg.tgname,
                    string_to_array(encode(tg.tgargs, 'escape'), '\000') AS args
             FROM pg_trigger tg
             WHERE tg.tgfoid = 'sp_internal.check_references()'::regprocedure
               AND (tg.tgtype & 4) <> 0   -- TRIGGER_TYPE_INSERT
             ORDER BY 1, 2 LOOP
        SELECT string_agg(format('x.%I = r.%I', oc, c), ' AND '), string_agg(format('r.%I', c), ' || '', '' || '),
               string_agg(format('r.%I IS NOT NULL', c), ' AND ')
        INTO cond, key_list, not_null
        FROM unnest(string_to_array(t.args[1], ','), string_to_array(t.args[3], ',')) AS k(c, oc);
        EXECUTE format('SELECT %s FROM %s r WHERE %s AND NOT EXISTS (SELECT 1 FROM %s x WHERE %s) LIMIT 1',
                       key_list, t.child, not_null, t.args[2]::regclass, cond) INTO bad;
        check_name := format('%s (%s) references %s', t.child, t.args[1], t.args[2]);
        ok := bad IS NULL;
        detail := CASE WHEN bad IS NULL THEN NULL ELSE format('(%s)=(%s) is missing', t.args[1], bad) END;
        RETURN NEXT;
    END LOOP;

    -- model specs (validated against the catalogue) and programme rules
    FOR t IN SELECT tg.tgrelid::regclass AS tbl, (string_to_array(encode(tg.tgargs, 'escape'), '\000'))[2] AS validator
             FROM pg_trigger tg
             WHERE tg.tgfoid = 'sp_internal.model_version_guard()'::regprocedure ORDER BY 1 LOOP
        bad := NULL;
        FOR m IN EXECUTE format('SELECT name, version, spec FROM %s ORDER BY 1, 2', t.tbl) LOOP
            BEGIN
                EXECUTE format('SELECT %s($1)', t.validator::regproc) USING m.spec;
            EXCEPTION WHEN OTHERS THEN
                bad := coalesce(bad || '; ', '') || format('%s version %s: %s', m.name, m.version, SQLERRM);
            END;
        END LOOP;
        check_name := format('%s specs are valid', t.tbl);
        ok := bad IS NULL;
        detail := bad;
        RETURN NEXT;
    END LOOP;
    bad := NULL;
    FOR g IN SELECT * FROM sp.programme ORDER BY name LOOP
        BEGIN
            PERFORM sp_internal.programme_validate(g);
        EXCEPTION WHEN OTHERS THEN
            bad := coalesce(bad || '; ', '') || format('%s: %s', g.name, SQLERRM);
        END;
    END LOOP;
    RETURN QUERY SELECT 'sp.programme rules and rankings are valid', bad IS NULL, bad;

    -- enrolments: the unit fits the programme, and the state is the last one recorded
    RETURN QUERY
    SELECT 'sp.enrolment units match their programme''s target unit', count(*) = 0,
           CASE WHEN count(*) > 0 THEN format('%s enrolments, e.g. %s', count(*), min(x.enrolment_id)) END
    FROM sp.enrolment x JOIN sp.programme pg ON pg.name = x.programme
    WHERE (pg.target_unit = 'person') <> (x.person_id IS NOT NULL);
    RETURN QUERY
    SELECT 'sp.enrolment states agree with sp.enrolment_history', count(*) = 0,
           CASE WHEN count(*) > 0 THEN format('%s enrolments, e.g. %s', count(*), min(x.enrolment_id)) END
    FROM sp.enrolment x
    LEFT JOIN LATERAL (SELECT eh.to_state FROM sp.enrolment_history eh WHERE eh.enrolment_id = x.enrolment_id
                       ORDER BY eh.history_id DESC LIMIT 1) last ON true
    WHERE last.to_state IS DISTINCT FROM x.state;

    -- copies kept by triggers: area paths, persons' areas
    RETURN QUERY
    SELECT 'sp.admin_area paths follow the parents', count(*) = 0,
           CASE WHEN count(*) > 0 THEN format('%s areas, e.g. %s', count(*), min(a.code)) END
    FROM sp.admin_area a LEFT JOIN sp.admin_area up ON up.code = a.parent_code
    WHERE a.path IS DISTINCT FROM coalesce(up.path, CASE WHEN a.parent_code IS NULL THEN '/' END) || a.code || '/';
    RETURN QUERY
    SELECT 'sp.person areas follow their households', count(*) = 0,
           CASE WHEN count(*) > 0 THEN format('%s persons, e.g. %s', count(*), min(p.person_id)) END
    FROM sp.person p JOIN sp.household hh USING (household_id)
    WHERE p.admin_area_code IS DISTINCT FROM hh.admin_area_code;

    -- payments: states against their history, cycles' and batches' totals, batches, re-issues
    RETURN QUERY
    SELECT 'sp.payment states agree with sp.payment_history', count(*) = 0,
           CASE WHEN count(*) > 0 THEN format('%s payments, e.g. %s', count(*), min(x.payment_id)) END
    FROM sp.payment x
    LEFT JOIN LATERAL (SELECT h.to_status FROM sp.payment_history h WHERE h.payment_id = x.payment_id
                       ORDER BY h.history_id DESC LIMIT 1) last ON true
    WHERE last.to_status IS DISTINCT FROM x.status;
    RETURN QUERY
    SELECT 'sp.payment_cycle states agree with sp.payment_cycle_history', count(*) = 0,
           CASE WHEN count(*) > 0 THEN format('%s cycles, e.g. %s', count(*), min(x.cycle_id)) END
    FROM sp.payment_cycle x
    LEFT JOIN LATERAL (SELECT h.to_status FROM sp.payment_cycle_history h WHERE h.cycle_id = x.cycle_id
                       ORDER BY h.history_id DESC LIMIT 1) last ON true
    WHERE last.to_status IS DISTINCT FROM x.status;
    RETURN QUERY
    SELECT 'sp.payment_cycle counts and totals match their payments', count(*) = 0,
           CASE WHEN count(*) > 0 THEN format('%s cycles, e.g. %s', count(*), min(x.cycle_id)) END
    FROM sp.payment_cycle x CROSS JOIN LATERAL sp_internal.payment_cycle_totals(x.cycle_id) tot
    WHERE tot.payments <> x.payments OR tot.total_amount <> x.total_amount;
    RETURN QUERY
    SELECT 'sp.payment sent in batches of their cycle and provider', count(*) = 0,
           CASE WHEN count(*) > 0 THEN format('%s payments, e.g. %s', count(*), min(x.payment_id)) END
    FROM sp.payment x LEFT JOIN sp.disbursement_batch b ON b.batch_id = x.batch_id
    WHERE (x.batch_id IS NOT NULL AND (b.cycle_id <> x.cycle_id OR b.provider <> x.provider OR x.status IN ('created', 'approved', 'cancelled')))
       OR (x.batch_id IS NULL AND x.status IN ('sent', 'paid', 'failed', 'reversed', 'reissued'));
    RETURN QUERY
    SELECT 'sp.disbursement_batch counts and totals match their payments', count(*) = 0,
           CASE WHEN count(*) > 0 THEN format('%s batches, e.g. %s', count(*), min(b.batch_id)) END
    FROM sp.disbursement_batch b
    CROSS JOIN LATERAL (SELECT count(*) AS n, coalesce(sum(p.amount), 0) AS total FROM sp.payment p WHERE p.batch_id = b.batch_id) tot
    WHERE tot.n <> b.payments OR tot.total <> b.total_amount;
    RETURN QUERY
    SELECT 'sp.payment re-issues follow one failed payment into a later cycle of its programme', count(*) = 0,
           CASE WHEN count(*) > 0 THEN format('%s payments, e.g. %s', count(*), min(bad.payment_id)) END
    FROM (SELECT x.payment_id FROM sp.payment x
          JOIN sp.payment o ON o.payment_id = x.reissue_of
          JOIN sp.payment_cycle cx ON cx.cycle_id = x.cycle_id
          JOIN sp.payment_cycle co ON co.cycle_id = o.cycle_id
          WHERE (x.live AND o.status <> 'reissued') OR o.programme <> x.programme OR o.amount <> x.amount
             OR o.enrolment_id <> x.enrolment_id OR cx.period_start <= co.period_end
          UNION ALL
          SELECT o.payment_id FROM sp.payment o
          WHERE o.status = 'reissued' AND NOT EXISTS (SELECT 1 FROM sp.payment x WHERE x.reissue_of = o.payment_id AND x.live)) bad;

    -- grievances: state, level and area as their last events say; closed ones told
    RETURN QUERY
    SELECT 'sp.grievance states and escalations agree with sp.grievance_event', count(*) = 0,
           CASE WHEN count(*) > 0 THEN format('%s grievances, e.g. %s', count(*), min(x.grievance_id)) END
    FROM sp.grievance x
    LEFT JOIN LATERAL (SELECT e.to_status, e.escalation_level, e.responsible_area_code FROM sp.grievance_event e
                       WHERE e.grievance_id = x.grievance_id ORDER BY e.event_id DESC LIMIT 1) last ON true
    WHERE (last.to_status, last.escalation_level, last.responsible_area_code)
          IS DISTINCT FROM (x.status, x.escalation_level, x.responsible_area_code);
    RETURN QUERY
    SELECT 'sp.grievance closed only after the outcome was told', count(*) = 0,
           CASE WHEN count(*) > 0 THEN format('%s grievances, e.g. %s', count(*), min(x.grievance_id)) END
    FROM sp.grievance x
    WHERE x.status = 'closed'
      AND NOT EXISTS (SELECT 1 FROM sp.grievance_message gm WHERE gm.grievance_id = x.grievance_id AND gm.kind = 'outcome');

    RETURN QUERY
    SELECT 'sp.audit_log hash chain', ac.ok, ac.problem FROM sp.verify_audit_chain() ac;
END
$$;
COMMENT ON FUNCTION sp_internal.verify_integrity() IS 'Checks what a restore loads without row-by-row checks: statement-trigger references, model specs, programme rules, enrolment units and states against their history, area paths, persons'' areas, payments and payment cycles against their history, cycles'' and batches'' totals, batches and re-issues, grievances against their events, and the audit chain. One row per check; run it after every restore (docs/dba-guide.md). Read-only.';
