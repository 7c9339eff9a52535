-- Synthetic country generator for the demo and the benchmarks.
--
-- Not part of the extension: loaded into a demo or bench database next to it.
-- synth.create_country() builds "Sintara" (code SY): 8 regions, 6 districts
-- each, 5 wards per district (3 levels below the country, 240 wards) with
-- rectangular boundaries.  synth.household_docs(n, seed, as_of) returns n
-- registration documents in sp.register_household format, deterministic for
-- a seed and a reference date (ages are counted back from as_of; tests pass a
-- fixed date so the data, and the models trained on it, are the same on any
-- day): realistic household composition, partial birth dates, IDs and
-- phones for some adults, questionnaire answers correlated with urban/rural,
-- and about 3% duplicate registrations of earlier households with the noise
-- enumerators introduce (typos, swapped names, year-only birth dates).

CREATE SCHEMA IF NOT EXISTS synth;

CREATE OR REPLACE FUNCTION synth.create_country() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    r int; d int; w int;
    x0 float8; y0 float8;
    n int := 0;
    region_names text[] := ARRAY['Coast', 'Highlands', 'Lakes', 'Savanna', 'Rift', 'Delta', 'Plateau', 'Capital'];
    district_names text[] := ARRAY['North', 'South', 'East', 'West', 'Central', 'Upper'];
    ward_names text[] := ARRAY['Mji', 'Kijiji', 'Mto', 'Mlima', 'Bonde'];
BEGIN
    INSERT INTO sp.admin_area (code, parent_code, level, name, valid_from, geom)
    VALUES ('SY', NULL, 0, 'Sintara', '2000-01-01', ST_Multi(ST_MakeEnvelope(30, -4, 38, 4, 4326)))
    ON CONFLICT (code) DO NOTHING;
    -- regions: a 4 x 2 grid of 2 x 4 degree cells
    FOR r IN 1 .. 8 LOOP
        x0 := 30 + ((r - 1) % 4) * 2;
        y0 := -4 + ((r - 1) / 4) * 4;
        INSERT INTO sp.admin_area (code, parent_code, level, name, valid_from, geom)
        VALUES (format('SY%s', lpad(r::text, 2, '0')), 'SY', 1, region_names[r], '2000-01-01',
                ST_Multi(ST_MakeEnvelope(x0, y0, x0 + 2, y0 + 4, 4326)));
        -- districts: 2 x 3 grid inside the region
        FOR d IN 1 .. 6 LOOP
            INSERT INTO sp.admin_area (code, parent_code, level, name, valid_from, geom)
            VALUES (format('SY%s%s', lpad(r::text, 2, '0'), lpad(d::text, 2, '0')), format('SY%s', lpad(r::text, 2, '0')),
                    2, region_names[r] || ' ' || district_names[d], '2000-01-01',
                    ST_Multi(ST_MakeEnvelope(x0 + ((d - 1) % 2), y0 + ((d - 1) / 2) * (4.0 / 3),
                                             x0 + ((d - 1) % 2) + 1, y0 + ((d - 1) / 2 + 1) * (4.0 / 3), 4326)));
            -- wards: 5 vertical strips of the district
            FOR w IN 1 .. 5 LOOP
                INSERT INTO sp.admin_area (code, parent_code, level, name, valid_from, geom)
                VALUES (format('SY%s%s%s', lpad(r::text, 2, '0'), lpad(d::text, 2, '0'), lpad(w::text, 2, '0')),
                        format('SY%s%s', lpad(r::text, 2, '0'), lpad(d::text, 2, '0')), 3,
                        ward_names[w] || ' ' || district_names[d] || ' ' || r, '2000-01-01',
                        ST_Multi(ST_MakeEnvelope(x0 + ((d - 1) % 2) + (w - 1) * 0.2, y0 + ((d - 1) / 2) * (4.0 / 3),
                                                 x0 + ((d - 1) % 2) + w * 0.2, y0 + ((d - 1) / 2 + 1) * (4.0 / 3), 4326)));
                n := n + 1;
            END LOOP;
        END LOOP;
    END LOOP;
    RETURN n;
END
$$;

-- Deterministic pseudo-random number in [0, 1) from integers (no global state,
-- so documents are reproducible whatever order the planner evaluates them in).
CREATE OR REPLACE FUNCTION synth.rnd(seed int, a bigint, b int DEFAULT 0) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ('x' || substr(md5(seed::text || ':' || a::text || ':' || b::text), 1, 13))::bit(52)::bigint / 4503599627370496.0
$$;

CREATE OR REPLACE FUNCTION synth.frac(x float8) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT x - floor(x) $$;

CREATE OR REPLACE FUNCTION synth.pick(arr text[], u float8) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT arr[1 + floor(u * cardinality(arr))::int] $$;

-- One typo the way enumerators make them: drop, double, swap or replace a letter.
CREATE OR REPLACE FUNCTION synth.typo(s text, u float8, v float8) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN s IS NULL OR length(s) < 3 THEN s ELSE
        CASE floor(u * 4)::int
        WHEN 0 THEN overlay(s placing '' from 1 + floor(v * (length(s) - 1))::int for 1)
        WHEN 1 THEN overlay(s placing substr(s, 1 + floor(v * length(s))::int, 1) from 1 + floor(v * length(s))::int for 0)
        WHEN 2 THEN overlay(s placing substr(s, 2 + floor(v * (length(s) - 1))::int, 1) || substr(s, 1 + floor(v * (length(s) - 1))::int, 1)
                            from 1 + floor(v * (length(s) - 1))::int for 2)
        ELSE overlay(s placing substr('aeiouyn', 1 + floor(v * 7)::int, 1) from 1 + floor(v * length(s))::int for 1)
        END END
$$;

CREATE OR REPLACE FUNCTION synth.household_docs(n int, seed int DEFAULT 1, as_of date DEFAULT current_date) RETURNS SETOF jsonb
LANGUAGE sql STABLE AS $$
WITH
male AS (SELECT ARRAY['Juma', 'Baraka', 'Omar', 'Hassan', 'Peter', 'John', 'Joseph', 'Musa', 'Ali', 'Daudi',
                      'Emmanuel', 'Samuel', 'Ibrahim', 'Yusuf', 'Kofi', 'Kwame', 'Tendai', 'Tafadzwa', 'Nikolai',
                      'Ahmed', 'Mohammed', 'Abdi', 'Said', 'Otieno', 'Kamau', 'Mwangi', 'Kipchoge', 'Ndlovu',
                      'José', 'Raúl', 'Thabo', 'Sipho'] AS a),
female AS (SELECT ARRAY['Amina', 'Halima', 'Fatuma', 'Grace', 'Mary', 'Esther', 'Neema', 'Rehema', 'Zawadi',
                        'Aisha', 'Mariam', 'Khadija', 'Joyce', 'Faith', 'Mercy', 'Akosua', 'Ama', 'Chipo',
                        'Rutendo', 'Olga', 'Fatima', 'Hodan', 'Wanjiru', 'Achieng', 'Njeri', 'Nomvula',
                        'Zoë', 'Inés', 'Lerato', 'Thandiwe', 'Imani', 'Saida'] AS a),
family AS (SELECT ARRAY['Odhiambo', 'Otieno', 'Kamau', 'Mwangi', 'Njoroge', 'Wanjala', 'Mohamed', 'Hassan',
                        'Abdullahi', 'Mensah', 'Owusu', 'Boateng', 'Moyo', 'Ncube', 'Dube', 'Banda', 'Phiri',
                        'Mutua', 'Kiprop', 'Chebet', 'Said', 'Salim', 'Mbeki', 'Nkosi', 'Okafor', 'Okoye',
                        'Haile', 'Tesfaye', 'Girma', 'Ivanova', 'Núñez', 'García', 'Mwakyusa', 'Lyimo',
                        'Massawe', 'Shirima', 'Kiwelu', 'Mushi', 'Temba', 'Mrema'] AS a),
base AS (
    SELECT i,
           synth.rnd(seed, i, 1) AS u_area, synth.rnd(seed, i, 2) AS u_size, synth.rnd(seed, i, 3) AS u_urban,
           synth.rnd(seed, i, 4) AS u_dup
    FROM generate_series(1, n) i
),
hh AS (
    SELECT b.*,
           -- about 3% re-register an earlier household
           CASE WHEN b.i > 100 AND b.u_dup < 0.03 THEN 1 + floor(synth.rnd(seed, b.i, 5) * (b.i - 1))::int END AS dup_of
    FROM base b
),
src AS (
    -- the household whose members we describe: itself, or the one it duplicates
    SELECT h.i, h.dup_of, coalesce(h.dup_of, h.i) AS src_i FROM hh h
),
shape AS (
    SELECT s.i, s.dup_of, s.src_i,
           synth.rnd(seed, s.src_i, 1) AS u_area, synth.rnd(seed, s.src_i, 3) AS u_urban,
           -- household size 1..9, mean about 4.3
           least(9, 1 + floor(-ln(1 - synth.rnd(seed, s.src_i, 2) * 0.999) * 3.9))::int AS size
    FROM src s
),
members AS (
    SELECT sh.i, sh.dup_of, sh.src_i, m AS k, sh.size, sh.u_urban,
           synth.rnd(seed, sh.src_i, 100 + m) AS u1, synth.rnd(seed, sh.src_i, 200 + m) AS u2,
           synth.rnd(seed, sh.src_i, 300 + m) AS u3, synth.rnd(seed, sh.src_i, 400 + m) AS u4,
           synth.rnd(seed, sh.i, 500 + m) AS noise1, synth.rnd(seed, sh.i, 600 + m) AS noise2
    FROM shape sh, generate_series(1, sh.size) m
),
people AS (
    SELECT mb.*,
           CASE WHEN mb.k = 1 THEN 'head'
                WHEN mb.k = 2 AND mb.size >= 2 AND mb.u1 < 0.7 THEN 'spouse'
                WHEN mb.k = mb.size AND mb.size >= 4 AND mb.u1 < 0.15 THEN 'parent'
                WHEN mb.u1 < 0.08 THEN 'other_relative'
                WHEN mb.u1 < 0.12 THEN 'grandchild'
                ELSE 'child' END AS rel,
           CASE WHEN mb.u2 < 0.5 THEN 'F' ELSE 'M' END AS sex
    FROM members mb
),
aged AS (
    SELECT p.*,
           (as_of - (365.25 * CASE p.rel
                WHEN 'head' THEN 18 + p.u3 * 62
                WHEN 'spouse' THEN 17 + p.u3 * 55
                WHEN 'parent' THEN 60 + p.u3 * 30
                WHEN 'grandchild' THEN p.u3 * 12
                WHEN 'other_relative' THEN p.u3 * 70
                ELSE p.u3 * 22 END)::int) AS dob,
           (SELECT a FROM family) AS fam, (SELECT a FROM male) AS ml, (SELECT a FROM female) AS fl
    FROM people p
),
named AS (
    SELECT a.*,
           synth.pick(CASE WHEN a.sex = 'F' THEN a.fl ELSE a.ml END, a.u4) AS given,
           synth.pick(a.fam, CASE WHEN a.rel IN ('spouse', 'parent', 'other_relative') AND a.u1 < 0.5
                                  THEN synth.rnd(seed, a.src_i, 700 + a.k) ELSE synth.rnd(seed, a.src_i, 700) END) AS fam_name,
           extract(year FROM age(as_of, a.dob))::int AS age_y
    FROM aged a
),
member_docs AS (
    SELECT nm.i, nm.k,
           jsonb_strip_nulls(jsonb_build_object(
               -- duplicates: typos in 30% of names, swapped given/family in 10%
               'given_name', CASE WHEN nm.dup_of IS NOT NULL AND nm.noise1 < 0.10 THEN nm.fam_name
                                  WHEN nm.dup_of IS NOT NULL AND nm.noise1 < 0.40 THEN synth.typo(nm.given, nm.noise2, nm.noise1)
                                  ELSE nm.given END,
               'family_name', CASE WHEN nm.dup_of IS NOT NULL AND nm.noise1 < 0.10 THEN nm.given
                                   ELSE nm.fam_name END,
               'birth_date', CASE WHEN nm.dup_of IS NOT NULL AND nm.noise2 < 0.25 THEN to_char(nm.dob, 'YYYY')
                                  WHEN synth.frac(nm.u2 * 100) < 0.80 THEN to_char(nm.dob, 'YYYY-MM-DD')
                                  WHEN synth.frac(nm.u2 * 100) < 0.92 THEN to_char(nm.dob, 'YYYY-MM')
                                  ELSE to_char(nm.dob, 'YYYY') END,
               'sex', nm.sex,
               'relationship_to_head', nm.rel,
               'national_id', CASE WHEN nm.age_y >= 18 AND synth.frac(nm.u4 * 10) < 0.85
                                   THEN lpad((10000000 + floor(synth.rnd(seed, nm.src_i, 800 + nm.k) * 89999999))::bigint::text, 8, '0') END,
               'phone', CASE WHEN nm.k = 1 AND synth.frac(nm.u3 * 10) < 0.6
                             THEN '+2557' || lpad(floor(synth.rnd(seed, nm.src_i, 900) * 100000000)::bigint::text, 8, '0') END,
               'attributes', jsonb_strip_nulls(jsonb_build_object(
                   'education_level', CASE WHEN nm.age_y >= 6 THEN synth.pick(
                        CASE WHEN nm.u_urban < 0.35 THEN ARRAY['none', 'primary', 'secondary', 'secondary', 'tertiary']
                             ELSE ARRAY['none', 'none', 'primary', 'primary', 'secondary'] END, synth.frac(nm.u1 * 7)) END,
                   'disability', CASE WHEN synth.frac(nm.u2 * 37) < 0.04 THEN true END,
                   'in_school', CASE WHEN nm.age_y BETWEEN 6 AND 17 THEN synth.frac(nm.u3 * 13) < 0.8 END,
                   'employment', CASE WHEN nm.age_y >= 18 THEN synth.pick(
                        CASE WHEN nm.u_urban < 0.35 THEN ARRAY['employed', 'self_employed', 'unemployed', 'inactive', 'student']
                             ELSE ARRAY['farmer', 'farmer', 'self_employed', 'unemployed', 'inactive'] END, synth.frac(nm.u4 * 17)) END))
           )) AS doc
    FROM named nm
),
member_lists AS (
    SELECT md.i, jsonb_agg(md.doc ORDER BY md.k) AS members FROM member_docs md GROUP BY md.i
),
wards AS (
    SELECT row_number() OVER (ORDER BY a.code) - 1 AS idx, a.code, a.geom
    FROM sp.admin_area a WHERE a.level = 3 AND a.code LIKE 'SY%'
)
SELECT jsonb_strip_nulls(jsonb_build_object(
    'submission_id', md5(seed::text || ':household:' || sh.i)::uuid,
    'device_time', to_char(timestamptz '2026-01-05 08:00:00+00' + (sh.i::float8 / n) * interval '300 days', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
    'source', 'synth-tablet-' || (1 + sh.i % 40),
    'admin_area_code', ward.code,
    'location', jsonb_build_object('lat', round((ST_Y(ST_PointOnSurface(ward.geom)) + (synth.rnd(seed, sh.src_i, 10) - 0.5) * 1.2)::numeric, 5),
                                   'lon', round((ST_XMin(ward.geom) + 0.01 + synth.rnd(seed, sh.src_i, 11) * 0.18)::numeric, 5)),
    'attributes', jsonb_build_object(
        'urban', sh.u_urban < 0.35,
        'electricity', CASE WHEN sh.u_urban < 0.35 THEN synth.rnd(seed, sh.src_i, 20) < 0.85 ELSE synth.rnd(seed, sh.src_i, 20) < 0.25 END,
        'dwelling_type', synth.pick(CASE WHEN sh.u_urban < 0.35 THEN ARRAY['house', 'apartment', 'apartment', 'house', 'other']
                                         ELSE ARRAY['house', 'house', 'hut', 'hut', 'tent'] END, synth.rnd(seed, sh.src_i, 21)),
        'roof_material', synth.pick(ARRAY['concrete', 'metal', 'metal', 'tiles', 'thatch', 'thatch', 'plastic'], synth.rnd(seed, sh.src_i, 22)),
        'water_source', synth.pick(CASE WHEN sh.u_urban < 0.35 THEN ARRAY['piped', 'piped', 'vendor', 'borehole']
                                        ELSE ARRAY['well', 'borehole', 'surface', 'piped', 'well'] END, synth.rnd(seed, sh.src_i, 23)),
        'toilet_type', synth.pick(CASE WHEN sh.u_urban < 0.35 THEN ARRAY['flush', 'flush', 'pit_latrine']
                                       ELSE ARRAY['pit_latrine', 'pit_latrine', 'none'] END, synth.rnd(seed, sh.src_i, 24)),
        'rooms', 1 + floor(synth.rnd(seed, sh.src_i, 25) * least(sh.size, 6))::int,
        'land_area_ha', CASE WHEN sh.u_urban < 0.35 THEN 0 ELSE round((synth.rnd(seed, sh.src_i, 26) * 4)::numeric, 2) END,
        'livestock_tlu', CASE WHEN sh.u_urban < 0.35 THEN 0 ELSE round((synth.rnd(seed, sh.src_i, 27) ^ 2 * 12)::numeric, 1) END,
        'monthly_income', round((exp(8 + synth.rnd(seed, sh.src_i, 28) * 3) * CASE WHEN sh.u_urban < 0.35 THEN 2 ELSE 1 END)::numeric, -1)),
    'members', ml.members))
FROM shape sh
JOIN member_lists ml ON ml.i = sh.i
JOIN wards ward ON ward.idx = floor(sh.u_area * (SELECT count(*) FROM wards))::int
ORDER BY sh.i
$$;

-- Person records for linkage benchmarks: n records of which about dup_share
-- are second registrations of an earlier person, with the noise field work
-- produces: typos in names, given and family names swapped, year-only or
-- day/month-swapped birth dates, mistyped or missing national IDs, other
-- phone formats.  entity identifies the true person.
CREATE OR REPLACE FUNCTION synth.person_records(n int, dup_share float8 DEFAULT 0.2, seed int DEFAULT 1)
RETURNS TABLE (id bigint, entity bigint, given_name text, family_name text, birth_date date, sex text,
               national_id text, phone text, admin_area_code text)
LANGUAGE sql STABLE AS $$
WITH
lists AS (
    SELECT ARRAY['Juma', 'Baraka', 'Omar', 'Hassan', 'Peter', 'John', 'Joseph', 'Musa', 'Ali', 'Daudi', 'Emmanuel',
                 'Samuel', 'Ibrahim', 'Yusuf', 'Kofi', 'Kwame', 'Tendai', 'Tafadzwa', 'Nikolai', 'Ahmed', 'Mohammed',
                 'Abdi', 'Said', 'Otieno', 'Kamau', 'Mwangi', 'Kipchoge', 'José', 'Raúl', 'Thabo', 'Sipho', 'David',
                 'Michael', 'Francis', 'George', 'Patrick', 'Charles', 'Stephen', 'Anthony', 'Simon', 'Isaac', 'Elijah'] AS male,
           ARRAY['Amina', 'Halima', 'Fatuma', 'Grace', 'Mary', 'Esther', 'Neema', 'Rehema', 'Zawadi', 'Aisha', 'Mariam',
                 'Khadija', 'Joyce', 'Faith', 'Mercy', 'Akosua', 'Ama', 'Chipo', 'Rutendo', 'Olga', 'Fatima', 'Hodan',
                 'Wanjiru', 'Achieng', 'Njeri', 'Nomvula', 'Zoë', 'Inés', 'Lerato', 'Thandiwe', 'Imani', 'Saida', 'Ruth',
                 'Sarah', 'Elizabeth', 'Anne', 'Lucy', 'Agnes', 'Catherine', 'Margaret', 'Jane', 'Susan'] AS female,
           ARRAY['Odhiambo', 'Otieno', 'Kamau', 'Mwangi', 'Njoroge', 'Wanjala', 'Mohamed', 'Hassan', 'Abdullahi',
                 'Mensah', 'Owusu', 'Boateng', 'Moyo', 'Ncube', 'Dube', 'Banda', 'Phiri', 'Mutua', 'Kiprop', 'Chebet',
                 'Said', 'Salim', 'Mbeki', 'Nkosi', 'Okafor', 'Okoye', 'Haile', 'Tesfaye', 'Girma', 'Ivanova', 'Núñez',
                 'García', 'Mwakyusa', 'Lyimo', 'Massawe', 'Shirima', 'Kiwelu', 'Mushi', 'Temba', 'Mrema', 'Ochieng',
                 'Onyango', 'Wafula', 'Barasa', 'Kariuki', 'Maina', 'Kimani', 'Njuguna', 'Githinji', 'Muriuki',
                 'Kibet', 'Rotich', 'Langat', 'Cheruiyot', 'Korir', 'Ruto', 'Mohamud', 'Ahmed', 'Farah', 'Warsame',
                 'Juma', 'Mwinyi', 'Bakari', 'Hamisi', 'Athumani', 'Ndlovu', 'Khumalo', 'Zulu', 'Mthembu', 'Sithole'] AS family
),
base AS (
    SELECT i, CASE WHEN i > 1000 AND synth.rnd(seed, i, 1) < dup_share
                   THEN 1 + floor(synth.rnd(seed, i, 2) * (i - 1))::bigint END AS dup_of
    FROM generate_series(1, n) i
),
src AS (
    SELECT b.i, b.dup_of, coalesce(b.dup_of, b.i) AS e FROM base b
),
truth AS (
    SELECT s.i, s.dup_of, s.e,
           synth.rnd(seed, s.e, 10) < 0.5 AS female,
           synth.rnd(seed, s.e, 11) AS ug, synth.rnd(seed, s.e, 12) AS uf, synth.rnd(seed, s.e, 16) AS uf2,
           date '1930-01-01' + floor(synth.rnd(seed, s.e, 13) * 32000)::int AS dob,
           lpad((10000000 + floor(synth.rnd(seed, s.e, 14) * 89999999))::bigint::text, 8, '0') AS nid,
           '7' || lpad(floor(synth.rnd(seed, s.e, 15) * 100000000)::bigint::text, 8, '0') AS ph,
           synth.rnd(seed, s.i, 20) AS n1, synth.rnd(seed, s.i, 21) AS n2, synth.rnd(seed, s.i, 22) AS n3,
           synth.rnd(seed, s.i, 23) AS n4, synth.rnd(seed, s.i, 24) AS n5, synth.rnd(seed, s.e, 25) AS ua
    FROM src s
),
named AS (
    SELECT t.*, synth.pick(CASE WHEN t.female THEN l.female ELSE l.male END, t.ug) AS g,
           -- family names: a common list plus rarer ones made from two list entries
           CASE WHEN t.uf2 < 0.6 THEN synth.pick(l.family, t.uf)
                ELSE synth.pick(l.family, t.uf) || lower(substr(synth.pick(l.family, t.uf2), 1, 3)) END AS f
    FROM truth t, lists l
)
SELECT nm.i::bigint, nm.e::bigint,
       CASE WHEN nm.dup_of IS NOT NULL AND nm.n1 < 0.08 THEN nm.f
            WHEN nm.dup_of IS NOT NULL AND nm.n1 < 0.30 THEN synth.typo(nm.g, nm.n2, nm.n3)
            ELSE nm.g END,
       CASE WHEN nm.dup_of IS NOT NULL AND nm.n1 < 0.08 THEN nm.g
            WHEN nm.dup_of IS NOT NULL AND nm.n2 < 0.20 THEN synth.typo(nm.f, nm.n3, nm.n1)
            ELSE nm.f END,
       CASE WHEN nm.dup_of IS NOT NULL AND nm.n3 < 0.10 THEN make_date(extract(year FROM nm.dob)::int, 1, 1)
            WHEN nm.dup_of IS NOT NULL AND nm.n3 < 0.15 AND extract(day FROM nm.dob) <= 12
                 THEN make_date(extract(year FROM nm.dob)::int, extract(day FROM nm.dob)::int, extract(month FROM nm.dob)::int)
            WHEN nm.dup_of IS NOT NULL AND nm.n3 < 0.20 THEN nm.dob + (floor(nm.n4 * 60) - 30)::int
            WHEN nm.dup_of IS NULL AND nm.n3 < 0.08 THEN make_date(extract(year FROM nm.dob)::int, 1, 1)
            ELSE nm.dob END,
       CASE WHEN nm.female THEN 'F' ELSE 'M' END,
       CASE WHEN nm.n4 < 0.25 THEN NULL
            WHEN nm.dup_of IS NOT NULL AND nm.n5 < 0.10 THEN overlay(nm.nid placing substr(nm.nid, 5, 1) || substr(nm.nid, 4, 1) from 4 for 2)
            WHEN nm.dup_of IS NOT NULL AND nm.n5 < 0.15 THEN overlay(nm.nid placing (floor(nm.n2 * 10))::int::text from 8 for 1)
            ELSE nm.nid END,
       CASE WHEN nm.n5 < 0.5 THEN NULL
            WHEN nm.n5 < 0.75 THEN '+255 ' || nm.ph
            ELSE '0' || nm.ph END,
       'SY' || lpad((1 + floor(nm.ua * 8))::int::text, 2, '0')
FROM named nm
ORDER BY nm.i
$$;
