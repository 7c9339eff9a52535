-- Monitoring (issue 14): the figures a social protection system is run by,
-- from registration to payment and grievance, as views for the roles that
-- read the records (row-level security applies: a reader sees the figures
-- of their scope) and as one report for a period, suppressed for analysts.

-- ------------------------------------------------------------------------
-- Key performance indicators
-- ------------------------------------------------------------------------

CREATE VIEW sp.kpi_registrations WITH (security_invoker = true) AS
SELECT h.admin_area_code, date_trunc('month', h.registered_at)::date AS month, count(*) AS households,
       coalesce(sum(pc.n), 0)::bigint AS persons
FROM sp.household h
LEFT JOIN (SELECT p.household_id, count(*) AS n FROM sp.person p GROUP BY p.household_id) pc ON pc.household_id = h.household_id
GROUP BY 1, 2;
COMMENT ON VIEW sp.kpi_registrations IS 'Households registered per area and month of registration, with their persons today. Row-level security applies.';

CREATE VIEW sp.kpi_assessment WITH (security_invoker = true) AS
SELECT x.admin_area_code, count(*) AS households, count(x.pmt_poor) AS pmt_assessed, count(x.mpi_poor) AS mpi_assessed,
       round(count(x.pmt_poor)::numeric / count(*), 4) AS share_pmt_assessed,
       round(count(x.mpi_poor)::numeric / count(*), 4) AS share_mpi_assessed
FROM sp_internal.household_poverty x
GROUP BY 1;
COMMENT ON VIEW sp.kpi_assessment IS 'Active households per area, how many have a current PMT score and MPI assessment, and the shares. Row-level security applies.';

-- Eligibility and enrolment per programme and area, with the targeting
-- errors estimated where the two measures of poverty can be compared: the
-- inclusion error as the share of enrolled households the MPI does not find
-- poor, the exclusion error as the share of MPI-poor households not enrolled,
-- and the households on which PMT and MPI disagree.
CREATE VIEW sp.kpi_enrolment WITH (security_invoker = true) AS
SELECT g.name AS programme, x.admin_area_code, count(*) AS households,
       count(*) FILTER (WHERE st.eligible) AS eligible, count(*) FILTER (WHERE st.enrolled) AS enrolled,
       round(count(*) FILTER (WHERE st.enrolled)::numeric / nullif(count(*) FILTER (WHERE st.eligible), 0), 4) AS enrolment_rate,
       count(*) FILTER (WHERE st.enrolled AND x.mpi_poor IS NOT NULL) AS enrolled_mpi_assessed,
       count(*) FILTER (WHERE st.enrolled AND NOT x.mpi_poor) AS enrolled_not_mpi_poor,
       count(*) FILTER (WHERE x.mpi_poor) AS mpi_poor,
       count(*) FILTER (WHERE x.mpi_poor AND st.enrolled IS NOT TRUE) AS mpi_poor_not_enrolled,
       round(count(*) FILTER (WHERE st.enrolled AND NOT x.mpi_poor)::numeric
             / nullif(count(*) FILTER (WHERE st.enrolled AND x.mpi_poor IS NOT NULL), 0), 4) AS inclusion_error,
       round(count(*) FILTER (WHERE x.mpi_poor AND st.enrolled IS NOT TRUE)::numeric
             / nullif(count(*) FILTER (WHERE x.mpi_poor), 0), 4) AS exclusion_error,
       count(*) FILTER (WHERE x.pmt_poor IS DISTINCT FROM x.mpi_poor AND x.pmt_poor IS NOT NULL AND x.mpi_poor IS NOT NULL) AS pmt_mpi_disagree
FROM sp.programme g
CROSS JOIN sp_internal.household_poverty x
LEFT JOIN sp_internal.enrolment_status st ON st.programme = g.name AND st.household_id = x.household_id
GROUP BY 1, 2;
COMMENT ON VIEW sp.kpi_enrolment IS 'Per programme and area: active households, eligible (an open enrolment), enrolled, the enrolment rate, and the targeting errors estimated with the MPI as the yardstick: inclusion error = enrolled households the MPI does not find poor / enrolled households with an MPI assessment; exclusion error = MPI-poor households not enrolled / MPI-poor households; and the households on which the PMT (below its cut-off) and the MPI (poor) disagree. Row-level security applies.';

CREATE VIEW sp.kpi_payment_success WITH (security_invoker = true) AS
SELECT p.provider, p.programme, p.cycle_id, c.period_start, c.period_end, c.status AS cycle_status,
       count(*) FILTER (WHERE p.status <> 'cancelled') AS payments,
       count(*) FILTER (WHERE p.status IN ('paid', 'reversed')) AS paid,
       count(*) FILTER (WHERE p.status = 'failed') AS failed,
       count(*) FILTER (WHERE p.status = 'reversed') AS reversed,
       count(*) FILTER (WHERE p.status IN ('created', 'approved', 'sent', 'reissued')) AS pending,
       round(count(*) FILTER (WHERE p.status IN ('paid', 'reversed'))::numeric
             / nullif(count(*) FILTER (WHERE p.status IN ('paid', 'reversed', 'failed')), 0), 4) AS success_rate
FROM sp.payment p JOIN sp.payment_cycle c ON c.cycle_id = p.cycle_id
GROUP BY 1, 2, 3, 4, 5, 6;
COMMENT ON VIEW sp.kpi_payment_success IS 'Per provider and payment cycle: payments (not cancelled), paid (reversed ones included: they were paid), failed, reversed, still pending, and the success rate = paid / (paid + failed) among those the provider has reported on. Row-level security applies.';

CREATE VIEW sp.kpi_grievance_sla WITH (security_invoker = true) AS
SELECT g.category, date_trunc('month', g.received_at)::date AS month, count(*) AS received,
       count(*) FILTER (WHERE g.acknowledged_at IS NOT NULL AND g.acknowledged_at <= g.acknowledge_due) AS acknowledged_in_time,
       count(*) FILTER (WHERE g.resolved_at IS NOT NULL) AS resolved,
       count(*) FILTER (WHERE g.resolved_at IS NOT NULL AND g.resolved_at <= g.resolve_due) AS resolved_in_time,
       count(*) FILTER (WHERE g.resolved_at IS NULL AND g.status NOT IN ('resolved', 'rejected', 'closed') AND now() > g.resolve_due) AS open_overdue,
       round(count(*) FILTER (WHERE g.resolved_at IS NOT NULL AND g.resolved_at <= g.resolve_due)::numeric
             / nullif(count(*) FILTER (WHERE g.resolved_at IS NOT NULL OR now() > g.resolve_due), 0), 4) AS sla_compliance
FROM sp.grievance g
GROUP BY 1, 2;
COMMENT ON VIEW sp.kpi_grievance_sla IS 'Per grievance category and month received: received, acknowledged in time, resolved, resolved in time, still open past their due date, and the compliance = resolved in time / (resolved or past due). Row-level security applies (confidential cases only for those who handle them).';

-- When each household was first paid by each programme: the sending of the
-- first cycle that paid it.
CREATE VIEW sp_internal.first_payment WITH (security_invoker = true) AS
SELECT p.programme, p.household_id, min(c.sent_at) AS paid_at
FROM sp.payment p JOIN sp.payment_cycle c ON c.cycle_id = p.cycle_id
WHERE p.status IN ('paid', 'reversed') AND c.sent_at IS NOT NULL
GROUP BY 1, 2;
COMMENT ON VIEW sp_internal.first_payment IS 'Per programme and household paid at least once: when the first cycle that paid it was sent.';

-- From registration to the first payment the household received.
CREATE VIEW sp.kpi_time_to_first_payment WITH (security_invoker = true) AS
SELECT f.programme, count(*) AS households,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM f.paid_at - h.registered_at) / 86400)::numeric(10, 1) AS median_days,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM f.paid_at - h.registered_at) / 86400)::numeric(10, 1) AS p90_days
FROM sp_internal.first_payment f JOIN sp.household h ON h.household_id = f.household_id
GROUP BY 1;
COMMENT ON VIEW sp.kpi_time_to_first_payment IS 'Per programme: households paid at least once, and the median and 90th percentile of the days from their registration to the sending of the first cycle that paid them. Row-level security applies.';

-- ------------------------------------------------------------------------
-- The report
-- ------------------------------------------------------------------------

-- Which counts of one small tree of parts to withhold for k (none when k is
-- 1 or less): sp_internal.suppress_counts with positions 1-based, 0 a root.
CREATE FUNCTION sp_internal.withheld(counts bigint[], parents integer[], k integer, forced boolean[] DEFAULT NULL)
    RETURNS boolean[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
RETURN CASE WHEN k > 1 THEN sp_internal.suppress_counts(counts, parents, k, forced)
            ELSE array_fill(false, ARRAY[cardinality(counts)]) END;
COMMENT ON FUNCTION sp_internal.withheld(bigint[], integer[], integer, boolean[]) IS 'The counts of a tree of parts to withhold for a threshold k (sp_internal.suppress_counts; forced: parts never published, counted as withheld); none when k is 1 or less.';

CREATE FUNCTION sp.monitoring_report(from_date date, to_date date, level integer DEFAULT 1)
    RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET jit = off
    SET work_mem = '64MB'
AS $$
#variable_conflict use_column
DECLARE
    k integer;
    t0 timestamptz;
    t1 timestamptz;
    registrations jsonb;
    assessment jsonb;
    programmes jsonb;
    payments jsonb;
    grievances jsonb;
    first_payment jsonb;
    ibr jsonb;
    progs text[];
BEGIN
    IF from_date IS NULL OR to_date IS NULL OR to_date < from_date THEN
        RAISE EXCEPTION 'the period must run from from_date to to_date, not % to %', coalesce(from_date::text, 'NULL'), coalesce(to_date::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'to_date';
    END IF;
    PERFORM sp_internal.check_aggregate_level(monitoring_report.level);
    k := sp_internal.suppression_threshold();
    -- an analyst's periods are whole calendar months, one at a time: two
    -- overlapping periods would give the counts of their difference, which
    -- no report withheld
    IF k > 1 AND (from_date <> date_trunc('month', from_date)::date
                  OR to_date <> (date_trunc('month', from_date) + interval '1 month - 1 day')::date) THEN
        RAISE EXCEPTION 'an analyst''s monitoring report covers one calendar month'
            USING ERRCODE = 'insufficient_privilege', COLUMN = 'from_date',
                  DETAIL = 'Periods that overlap would give, by difference, counts no report shows.',
                  HINT = 'Ask for the first to the last day of a month, e.g. 2026-10-01 to 2026-10-31.';
    END IF;
    t0 := from_date::timestamptz;
    t1 := (to_date + 1)::timestamptz;

    -- registrations in the period, per area of the level
    WITH leaf AS (
        SELECT h.admin_area_code AS code, count(*) AS hh, coalesce(sum(pc.n), 0)::bigint AS pp
        FROM sp.household h
        LEFT JOIN (SELECT p.household_id, count(*) AS n FROM sp.person p GROUP BY p.household_id) pc ON pc.household_id = h.household_id
        WHERE h.registered_at >= t0 AND h.registered_at < t1 GROUP BY 1
    ),
    c AS (
        SELECT x.* FROM sp_internal.area_counts(
            (SELECT array_agg(l.code) || array_agg(l.code) FROM leaf l),
            (SELECT array_agg(1) || array_agg(2) FROM leaf l),
            (SELECT array_agg(l.hh) || array_agg(l.pp::bigint) FROM leaf l), monitoring_report.level, k) x
    )
    SELECT coalesce(jsonb_agg(jsonb_build_object('area_code', r.area_code, 'area_name', r.area_name, 'households', r.hh, 'persons', r.pp)
                              ORDER BY r.area_code), '[]')
    INTO registrations
    FROM (SELECT c.area_code, max(c.area_name) AS area_name,
                 max(c.v) FILTER (WHERE c.col = 1 AND NOT c.hidden) AS hh, max(c.v) FILTER (WHERE c.col = 2 AND NOT c.hidden) AS pp
          FROM c WHERE c.area_code IN (SELECT v.code FROM sp_internal.visible_areas() v (code)) GROUP BY c.area_code) r;

    -- today's figures per area: assessment, and per programme eligible and
    -- enrolled with the targeting errors; one table with coverage by area
    -- (sp_internal.registry_area_cells), so that a count is withheld the
    -- same way in both, and for analysts the same threshold
    SELECT array_agg(g.name ORDER BY g.name) INTO progs FROM sp.programme g;
    WITH c AS (
        SELECT x.* FROM sp_internal.registry_area_cells(coalesce(progs, '{}'), monitoring_report.level,
                                                         CASE WHEN k > 1 THEN sp_internal.registry_cells_k() ELSE 1 END, k > 1) x
        WHERE x.area_code IN (SELECT v.code FROM sp_internal.visible_areas() v (code))
    ),
    shown AS (SELECT c.programme, c.area_code, c.area_name, c.measure, CASE WHEN NOT c.hidden THEN c.v END AS v FROM c),
    glob AS (
        SELECT s.area_code, max(s.area_name) AS area_name,
               max(s.v) FILTER (WHERE s.measure = 'households') AS n, max(s.v) FILTER (WHERE s.measure = 'pmt_assessed') AS pmt,
               max(s.v) FILTER (WHERE s.measure = 'mpi_assessed') AS mpi, max(s.v) FILTER (WHERE s.measure = 'mpi_poor') AS mpi_poor
        FROM shown s WHERE s.programme IS NULL GROUP BY s.area_code
    ),
    per AS (
        SELECT s.programme, s.area_code,
               max(s.v) FILTER (WHERE s.measure = 'eligible') AS eligible, max(s.v) FILTER (WHERE s.measure = 'enrolled') AS enrolled,
               max(s.v) FILTER (WHERE s.measure = 'enrolled_assessed') AS enrolled_assessed,
               max(s.v) FILTER (WHERE s.measure = 'enrolled_not_poor') AS enrolled_not_poor,
               max(s.v) FILTER (WHERE s.measure = 'poor_not_enrolled') AS poor_not_enrolled
        FROM shown s WHERE s.programme IS NOT NULL GROUP BY s.programme, s.area_code
    )
    SELECT (SELECT coalesce(jsonb_agg(jsonb_build_object('area_code', gl.area_code, 'area_name', gl.area_name, 'households', gl.n,
                                                         'pmt_assessed', gl.pmt, 'mpi_assessed', gl.mpi,
                                                         'share_pmt_assessed', round(gl.pmt::numeric / nullif(gl.n, 0), 4)) ORDER BY gl.area_code), '[]')
            FROM glob gl),
           (SELECT coalesce(jsonb_agg(jsonb_build_object('programme', p.programme, 'area_code', p.area_code, 'area_name', gl.area_name,
                                                         'eligible', p.eligible, 'enrolled', p.enrolled,
                                                         'enrolment_rate', round(p.enrolled::numeric / nullif(p.eligible, 0), 4),
                                                         'inclusion_error', round(p.enrolled_not_poor::numeric / nullif(p.enrolled_assessed, 0), 4),
                                                         'exclusion_error', round(p.poor_not_enrolled::numeric / nullif(gl.mpi_poor, 0), 4))
                                      ORDER BY p.programme, p.area_code), '[]')
            FROM per p JOIN glob gl ON gl.area_code = p.area_code)
    INTO assessment, programmes;

    -- The national sections (payments, grievances, first payments, other
    -- ministries' lists) are for readers with national scope: their counts
    -- are not split by area.  For analysts, each section's counts are
    -- withheld as one tree of parts (a part not published, such as the
    -- payments still pending, counts as withheld), so that no published
    -- count gives a withheld one back by subtraction.
    IF sp_internal.has_national_scope() THEN
        -- payments of the cycles whose period ends in the report's, per provider
        SELECT coalesce(jsonb_agg(jsonb_build_object('provider', r.provider, 'payments', CASE WHEN NOT r.h[1] THEN r.n END,
                                                     'paid', CASE WHEN NOT r.h[2] THEN r.paid END, 'failed', CASE WHEN NOT r.h[3] THEN r.failed END,
                                                     'success_rate', CASE WHEN NOT (r.h[2] OR r.h[3]) THEN round(r.paid::numeric / nullif(r.paid + r.failed, 0), 4) END)
                                  ORDER BY r.provider), '[]')
        INTO payments
        FROM (SELECT x.*, sp_internal.withheld(ARRAY[x.n, x.paid, x.failed, x.n - x.paid - x.failed], ARRAY[0, 1, 1, 1], k,
                                               ARRAY[false, false, false, true]) AS h
              FROM (SELECT p.provider, count(*) FILTER (WHERE p.status <> 'cancelled') AS n,
                           count(*) FILTER (WHERE p.status IN ('paid', 'reversed')) AS paid, count(*) FILTER (WHERE p.status = 'failed') AS failed
                    FROM sp.payment p JOIN sp.payment_cycle c ON c.cycle_id = p.cycle_id
                    WHERE c.period_end >= from_date AND c.period_end <= to_date
                    GROUP BY p.provider) x) r;

        -- grievances received in the period, per category (confidential cases
        -- are not counted: only their officers see them, in sp.kpi_grievance_sla)
        SELECT coalesce(jsonb_agg(jsonb_build_object('category', r.category, 'received', CASE WHEN NOT r.h[1] THEN r.n END,
                                                     'resolved', CASE WHEN NOT r.h[2] THEN r.resolved END,
                                                     'resolved_in_time', CASE WHEN NOT r.h[4] THEN r.in_time END,
                                                     'open_overdue', CASE WHEN NOT r.h[6] THEN r.overdue END,
                                                     'sla_compliance', CASE WHEN NOT (r.h[2] OR r.h[4] OR r.h[6])
                                                                            THEN round(r.in_time::numeric / nullif(r.resolved + r.overdue, 0), 4) END)
                                  ORDER BY r.category), '[]')
        INTO grievances
        FROM (SELECT x.*,
                     -- received: resolved (in time, late) and open (overdue, not yet due)
                     sp_internal.withheld(ARRAY[x.n, x.resolved, x.n - x.resolved, x.in_time, x.resolved - x.in_time, x.overdue, x.n - x.resolved - x.overdue],
                                          ARRAY[0, 1, 1, 2, 2, 3, 3], k, ARRAY[false, false, true, false, true, false, true]) AS h
              FROM (SELECT g.category, count(*) AS n, count(*) FILTER (WHERE g.resolved_at IS NOT NULL) AS resolved,
                           count(*) FILTER (WHERE g.resolved_at IS NOT NULL AND g.resolved_at <= g.resolve_due) AS in_time,
                           count(*) FILTER (WHERE g.resolved_at IS NULL AND now() > g.resolve_due) AS overdue
                    FROM sp.grievance g WHERE g.received_at >= t0 AND g.received_at < t1 AND NOT g.confidential
                    GROUP BY g.category) x) r;

        -- households first paid in the period: days from registration, per programme
        SELECT coalesce(jsonb_agg(jsonb_build_object('programme', r.programme, 'households', sp_internal.shown(r.n, k),
                                                     'median_days', CASE WHEN sp_internal.shown(r.n, k) IS NOT NULL THEN r.median END,
                                                     'p90_days', CASE WHEN sp_internal.shown(r.n, k) IS NOT NULL THEN r.p90 END)
                                  ORDER BY r.programme), '[]')
        INTO first_payment
        FROM (SELECT f.programme, count(*) AS n,
                     round((percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM f.paid_at - h.registered_at) / 86400))::numeric, 1) AS median,
                     round((percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM f.paid_at - h.registered_at) / 86400))::numeric, 1) AS p90
              FROM sp_internal.first_payment f JOIN sp.household h ON h.household_id = f.household_id
              WHERE f.paid_at >= t0 AND f.paid_at < t1
              GROUP BY f.programme) r;

        -- other ministries' lists: active rows, linked, ambiguous, unmatched
        SELECT coalesce(jsonb_agg(jsonb_build_object('programme', r.programme, 'owner_ministry', r.owner_ministry, 'benefit_type', r.benefit_type,
                                                     'active_rows', CASE WHEN NOT r.h[1] THEN r.n END, 'linked', CASE WHEN NOT r.h[2] THEN r.linked END,
                                                     'ambiguous', CASE WHEN NOT r.h[3] THEN r.ambiguous END,
                                                     'unmatched', CASE WHEN NOT r.h[4] THEN r.unmatched END,
                                                     'last_import', r.last_import)
                                  ORDER BY r.programme), '[]')
        INTO ibr
        FROM (SELECT x.*, sp_internal.withheld(ARRAY[x.n, x.linked, x.ambiguous, x.unmatched], ARRAY[0, 1, 1, 1], k) AS h
              FROM (SELECT xp.name AS programme, xp.owner_ministry, xp.benefit_type,
                           count(e.*) FILTER (WHERE e.status = 'active') AS n,
                           count(e.*) FILTER (WHERE e.status = 'active' AND e.link_status = 'linked') AS linked,
                           count(e.*) FILTER (WHERE e.status = 'active' AND e.link_status = 'ambiguous') AS ambiguous,
                           count(e.*) FILTER (WHERE e.status = 'active' AND e.link_status = 'unmatched') AS unmatched,
                           (SELECT max(i.imported_at) FROM sp.external_import i WHERE i.programme = xp.name) AS last_import
                    FROM sp.external_programme xp LEFT JOIN sp.external_beneficiary e ON e.programme = xp.name
                    GROUP BY xp.name, xp.owner_ministry, xp.benefit_type) x) r;
    END IF;

    RETURN jsonb_build_object(
        'from', from_date, 'to', to_date, 'level', level,
        'suppressed_below', CASE WHEN k > 1 THEN k END,
        'registrations', registrations, 'assessment', assessment, 'programmes', programmes,
        'payments', payments, 'grievances', grievances, 'time_to_first_payment', first_payment,
        'beneficiary_registry', ibr,
        'national_sections', CASE WHEN payments IS NULL THEN 'left out: they need national scope' ELSE 'included' END);
END
$$;
COMMENT ON FUNCTION sp.monitoring_report(date, date, integer) IS 'The monitoring report of a period (from_date to to_date, inclusive) as JSON: registrations in the period per area of the level; assessment today per area (households, with a PMT score, with an MPI assessment); per programme and area, eligible and enrolled today, the enrolment rate and the targeting errors with the MPI as the yardstick; per provider, payments of the cycles ending in the period with the success rate; per grievance category, complaints received in the period, resolved, resolved in time, open past due and the SLA compliance; per programme, households first paid in the period and the days from registration; per external programme, its rows and how they are linked. Areas in the caller''s scope; the national sections (payments, grievances without confidential cases, first payments, lists) for national scope only. For analysts: one calendar month per report; counts from 1 to min_cell_size - 1 withheld (NULL), and counts that would give one back by addition or subtraction too; no level below the de-identified one.';
