-- Monitoring (issue 14): the KPI views and the monitoring report, on
-- Overland (31_ibr_analysis: 40 households plus one registered twice, the
-- cash programme for rooms 1-3) with MPI assessments added by hand, and a
-- grievance category with a day's service level.  Figures are by hand.
\set SHOW_CONTEXT never
\set VERBOSITY terse

-- the MPI finds rooms 1, 2 and 4 poor, rooms 3 not (an MPI model of an earlier test)
SELECT name AS mpi_model, version AS mpi_version FROM sp.mpi_model WHERE status = 'active' ORDER BY name, version LIMIT 1 \gset
INSERT INTO sp.mpi_assessment (household_id, model, version, deprivation_score, poor, deprivations, household_size)
SELECT h.household_id, :'mpi_model', :mpi_version, CASE WHEN r IN (1, 2, 4) THEN 0.6 ELSE 0.1 END, r IN (1, 2, 4), '{}', 1
FROM sp.household h, LATERAL (SELECT (h.attributes ->> 'rooms')::int AS r) x
WHERE h.admin_area_code LIKE 'OV%' AND h.attributes ? 'rooms';
-- an error with its digits masked (dates and ids depend on the day and the tests before)
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS
$$ BEGIN EXECUTE q; RETURN 'no error'; EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, '\d+', 'N', 'g'); END $$;

-- registrations today: North 28 + the household registered twice, South 12
SELECT admin_area_code, households, persons FROM sp.kpi_registrations
WHERE admin_area_code LIKE 'OV%' AND month = date_trunc('month', now())::date ORDER BY 1;
SELECT admin_area_code, households, pmt_assessed, mpi_assessed, share_pmt_assessed FROM sp.kpi_assessment WHERE admin_area_code LIKE 'OV%' ORDER BY 1;
-- cash for rooms 1-3 (9 in the North, 3 in the South); the MPI's poor are
-- rooms 1, 2, 4: rooms 3 enrolled but not poor (inclusion 3/9, 1/3), rooms 4
-- poor but not enrolled (exclusion 3/9, 1/3); PMT (poor below 4.5: rooms
-- 1-4) and MPI disagree on rooms 3
SELECT programme, admin_area_code, households, eligible, enrolled, enrolment_rate, enrolled_not_mpi_poor, mpi_poor_not_enrolled,
       inclusion_error, exclusion_error, pmt_mpi_disagree
FROM sp.kpi_enrolment WHERE programme = 'ov_cash' AND admin_area_code LIKE 'OV%' ORDER BY 2;

-- grievances with a day's service level: one received five days ago and
-- resolved today (late), one received today and resolved today (in time),
-- one received five days ago and still open (overdue)
SELECT sp.set_grievance_category('ov_sla', 'Overland service level', '1 day', '1 day', '2 days', false, 'monitoring test') IS NOT NULL AS category;
CREATE TEMP TABLE ovg AS
SELECT n, (sp.submit_grievance(jsonb_build_object('channel', 'sms', 'external_id', 'ov-sla-' || n, 'category', 'ov_sla', 'anonymous', true,
           'admin_area_code', 'OV01', 'description', 'monitoring test',
           'received_at', now() - CASE WHEN n = 2 THEN interval '0' ELSE interval '5 days' END)) ->> 'grievance_id')::bigint AS grievance_id
FROM generate_series(1, 3) n;
SELECT count(*) AS moved FROM ovg, LATERAL (SELECT sp.set_grievance_status(grievance_id, 'acknowledged'),
                                                   sp.set_grievance_status(grievance_id, 'in_review'),
                                                   sp.set_grievance_status(grievance_id, 'resolved', 'answered')) x
WHERE n IN (1, 2);
SELECT category, sum(received) AS received, sum(acknowledged_in_time) AS acknowledged_in_time, sum(resolved) AS resolved,
       sum(resolved_in_time) AS resolved_in_time, sum(open_overdue) AS open_overdue
FROM sp.kpi_grievance_sla WHERE category = 'ov_sla' GROUP BY 1;
-- a confidential complaint is not counted in the report (its officers see it in the view)
SELECT sp.set_grievance_category('ov_secret', 'Overland misconduct', '1 day', '1 day', '2 days', true, 'monitoring test') IS NOT NULL AS confidential_category;
SELECT sp.submit_grievance('{"channel": "sms", "external_id": "ov-secret-1", "category": "ov_secret", "anonymous": true,
                             "admin_area_code": "OV01", "description": "monitoring test"}') ? 'grievance_id' AS submitted;
-- payments of the payments test (py_cash): one paid (then reversed), one failed
SELECT provider, programme, sum(payments) > 0 AS some, sum(paid) AS paid, sum(failed) AS failed, sum(reversed) AS reversed
FROM sp.kpi_payment_success WHERE programme = 'py_cash' GROUP BY 1, 2;
SELECT programme, households, median_days < 1 AS same_day FROM sp.kpi_time_to_first_payment WHERE programme = 'py_cash';

-- the report of the last ten days, by region
CREATE TEMP TABLE rep AS SELECT sp.monitoring_report(current_date - 10, current_date, 1) AS r;
SELECT r ->> 'level' AS level, r -> 'suppressed_below' AS suppressed_below, (r ->> 'from')::date = current_date - 10 AS from_ok,
       (r ->> 'to')::date = current_date AS to_ok FROM rep;
SELECT x FROM rep, jsonb_array_elements(r -> 'registrations') x WHERE x ->> 'area_code' LIKE 'OV%' ORDER BY x ->> 'area_code';
SELECT x FROM rep, jsonb_array_elements(r -> 'assessment') x WHERE x ->> 'area_code' LIKE 'OV%' ORDER BY x ->> 'area_code';
SELECT x FROM rep, jsonb_array_elements(r -> 'programmes') x WHERE x ->> 'programme' = 'ov_cash' AND x ->> 'area_code' LIKE 'OV%' ORDER BY x ->> 'area_code';
SELECT x FROM rep, jsonb_array_elements(r -> 'grievances') x WHERE x ->> 'category' IN ('ov_sla', 'ov_secret');
SELECT sum(received) AS in_the_view FROM sp.kpi_grievance_sla WHERE category = 'ov_secret';
SELECT x - 'last_import' AS list, x ->> 'last_import' IS NOT NULL AS has_last_import
FROM rep, jsonb_array_elements(r -> 'beneficiary_registry') x WHERE x ->> 'programme' LIKE 'ov_%' ORDER BY x ->> 'programme';
SELECT x ->> 'households' AS households, (x ->> 'median_days')::numeric < 1 AS same_day
FROM rep, jsonb_array_elements(r -> 'time_to_first_payment') x WHERE x ->> 'programme' = 'py_cash';
SELECT jsonb_array_length(r -> 'payments') > 0 AS payments_listed FROM rep;
-- bad periods and levels
SELECT pg_temp.err('SELECT sp.monitoring_report(current_date, current_date - 1)') AS backwards;
SELECT pg_temp.err('SELECT sp.monitoring_report(NULL, current_date)') AS no_start;
SELECT sp.monitoring_report(current_date, current_date, 11);

-- analysts: the same report with counts from 1 to 9 withheld (and any area
-- count that would give one back); no level below the de-identified one
CREATE ROLE sp_test_mon_analyst IN ROLE sp_analyst;
SELECT sp.grant_area_scope('sp_test_mon_analyst', 'OV') ->> 'admin_area_code' AS scope;
SET ROLE sp_test_mon_analyst;
-- one calendar month at a time: overlapping periods would give their difference
SELECT sp.monitoring_report(current_date - 10, current_date, 1);
CREATE TEMP TABLE rep_an AS
SELECT sp.monitoring_report(date_trunc('month', current_date)::date, (date_trunc('month', current_date) + interval '1 month - 1 day')::date, 1) AS r;
SELECT r -> 'suppressed_below' AS suppressed_below FROM rep_an;
SELECT x FROM rep_an, jsonb_array_elements(r -> 'registrations') x ORDER BY x ->> 'area_code';
SELECT x ->> 'area_code' AS area, x -> 'eligible' AS eligible, x -> 'enrolled' AS enrolled, x -> 'inclusion_error' AS inclusion_error
FROM rep_an, jsonb_array_elements(r -> 'programmes') x WHERE x ->> 'programme' = 'ov_cash' ORDER BY 1;
-- the national sections need national scope (this analyst has Overland's)
SELECT r -> 'grievances' AS grievances, r -> 'payments' AS payments, r ->> 'national_sections' AS national_sections FROM rep_an;
SELECT count(*) FILTER (WHERE kv.value <> 'null') AS small_counts_shown, count(*) FILTER (WHERE kv.value = 'null') > 0 AS some_withheld
FROM rep_an, jsonb_each(r) s (section, arr),
     LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(s.arr) = 'array' THEN s.arr ELSE '[]' END) e,
     LATERAL jsonb_each(e) kv
WHERE kv.key IN ('households', 'persons', 'pmt_assessed', 'mpi_assessed', 'eligible', 'enrolled', 'payments', 'paid', 'failed',
                 'received', 'resolved', 'resolved_in_time', 'open_overdue', 'active_rows', 'linked', 'ambiguous', 'unmatched')
  AND (kv.value = 'null' OR (kv.value::text)::numeric BETWEEN 1 AND 9);
-- nor by difference within an area (eligible less enrolled, households
-- less eligible); and the report withholds what coverage by area withholds:
-- one pattern, else one would give back what the other hides
SELECT count(*) FILTER (WHERE (x ->> 'eligible')::int - (x ->> 'enrolled')::int BETWEEN 1 AND 9
                           OR (a ->> 'households')::int - (x ->> 'eligible')::int BETWEEN 1 AND 9) AS small_differences_shown
FROM rep_an, jsonb_array_elements(r -> 'programmes') x, jsonb_array_elements(r -> 'assessment') a WHERE a ->> 'area_code' = x ->> 'area_code';
SELECT count(*) AS areas, count(*) FILTER (WHERE (x -> 'eligible') = coalesce(to_jsonb(c.eligible), 'null')
                                              AND (x -> 'enrolled') = coalesce(to_jsonb(c.enrolled), 'null')
                                              AND (a -> 'households') = coalesce(to_jsonb(c.registered), 'null')) AS same_as_coverage
FROM rep_an, jsonb_array_elements(r -> 'programmes') x, jsonb_array_elements(r -> 'assessment') a, sp.coverage_by_area('ov_cash', 1) c
WHERE x ->> 'programme' = 'ov_cash' AND a ->> 'area_code' = x ->> 'area_code' AND c.area_code = x ->> 'area_code';
SELECT sp.monitoring_report(current_date - 10, current_date, 3);
SELECT count(*) FROM sp.kpi_registrations;
RESET ROLE;
DROP TABLE rep_an;
DROP OWNED BY sp_test_mon_analyst;
DROP ROLE sp_test_mon_analyst;
