#!/usr/bin/env node
// Splink-style unsupervised Fellegi-Sunter deduplication, re-implemented in DuckDB SQL
// driven from node (@duckdb/node-api). It is the benchmark peer of sp_registry's record
// linkage: same data, blocking rules stated in the output. See README.md for the model
// and for every place where it departs from Splink.
//
// usage: node splink_duckdb.mjs --csv FILE [--threads 2] [--threshold 0.5] [--out pairs.csv]
//        [--febrl] [--max-pairs 5e6] [--seed 42] [--recall 0.7] [--max-iterations 25]
//        [--em-convergence 1e-4] [--memory-limit 12GB] [--district-len 6]
//        [--comparisons given_name,family_name,birth_date,sex,national_id,phone,admin_area_code]

import { DuckDBInstance } from '@duckdb/node-api';
import { performance } from 'node:perf_hooks';
import { existsSync, readFileSync, openSync, readSync, closeSync, rmSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

// ---------------------------------------------------------------- arguments
function usage(msg) {
  if (msg) process.stderr.write(`splink_duckdb: ${msg}\n`);
  process.stderr.write(
    'usage: node splink_duckdb.mjs --csv FILE [--threads 2] [--threshold 0.5] [--out pairs.csv]\n' +
    '       [--febrl] [--max-pairs 5e6] [--seed 42] [--recall 0.7] [--max-iterations 25]\n' +
    '       [--em-convergence 1e-4] [--memory-limit 12GB] [--district-len 6]\n' +
    '       [--comparisons given_name,family_name,birth_date,sex,national_id,phone,admin_area_code]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const o = {
    csv: null, threads: 2, threshold: 0.5, out: null, febrl: false,
    maxPairs: 5e6, seed: 42, recall: 0.7, maxIterations: 25, emConvergence: 1e-4,
    memoryLimit: '12GB', districtLen: null, comparisons: null,
  };
  const num = (name, v) => {
    const x = Number(v);
    if (v === undefined || !Number.isFinite(x)) usage(`${name} needs a number`);
    return x;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    switch (a) {
      case '--csv': if (!v) usage('--csv needs a file'); o.csv = v; i++; break;
      case '--threads': o.threads = num(a, v); i++; break;
      case '--threshold': o.threshold = num(a, v); i++; break;
      case '--out': if (!v) usage('--out needs a file'); o.out = v; i++; break;
      case '--febrl': o.febrl = true; break;
      case '--max-pairs': o.maxPairs = num(a, v); i++; break;
      case '--seed': o.seed = num(a, v); i++; break;
      case '--recall': o.recall = num(a, v); i++; break;
      case '--max-iterations': o.maxIterations = num(a, v); i++; break;
      case '--em-convergence': o.emConvergence = num(a, v); i++; break;
      case '--memory-limit': if (!v) usage('--memory-limit needs a size'); o.memoryLimit = v; i++; break;
      case '--district-len': o.districtLen = num(a, v); i++; break;
      case '--comparisons': if (!v) usage('--comparisons needs a list'); o.comparisons = v.split(',').map((x) => x.trim()).filter(Boolean); i++; break;
      case '-h': case '--help': usage();
      // falls through (usage exits)
      default: usage(`unknown argument ${a}`);
    }
  }
  if (!o.csv) usage('--csv is required');
  if (!existsSync(o.csv)) usage(`no such file: ${o.csv}`);
  if (!(o.threads >= 1)) usage('--threads must be >= 1');
  if (!(o.threshold > 0 && o.threshold < 1)) usage('--threshold must be in (0,1)');
  if (!(o.recall > 0 && o.recall <= 1)) usage('--recall must be in (0,1]');
  if (!(o.maxPairs >= 1)) usage('--max-pairs must be >= 1');
  if (!/^[0-9]+(\.[0-9]+)?\s*[KMGT]i?B$/i.test(o.memoryLimit)) usage('--memory-limit like 12GB');
  o.threads = Math.floor(o.threads);
  o.seed = Math.floor(o.seed);
  if (o.districtLen === null) o.districtLen = o.febrl ? 3 : 6;
  o.districtLen = Math.floor(o.districtLen);
  return o;
}

const opt = parseArgs(process.argv.slice(2));

// ---------------------------------------------------------------- helpers
const sqlStr = (s) => `'${String(s).replace(/'/g, "''")}'`;
// numeric literal as DOUBLE: DuckDB reads 1.25 as DECIMAL, and sums of wide DECIMALs go
// through 128-bit arithmetic, which made scoring several times slower.
const dbl = (x) => {
  if (Number.isNaN(x)) throw new Error('NaN in model parameters');
  if (x === Infinity) return "'inf'::DOUBLE";
  if (x === -Infinity) return "'-inf'::DOUBLE";
  return `CAST(${x} AS DOUBLE)`;
};
const log2 = Math.log2;
const probToOdds = (p) => p / (1 - p);
const oddsToProb = (o) => (o === Infinity ? 1 : o / (1 + o));
// Splink clamps m and u at 1e-300 before taking log2(m/u) (comparison_level.py, M_U_CLAMP_MIN)
const M_U_CLAMP_MIN = 1e-300;
// Splink's value for a level "not observed" in training (comparison_level.py)
const NOT_OBSERVED = 1e-6;

function jsValue(v) {
  if (typeof v === 'bigint') return Number(v);
  if (v === null || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  return v.toString();
}

let con;
async function all(sql) {
  const r = await con.runAndReadAll(sql);
  return r.getRowObjects().map((row) => {
    const o = {};
    for (const k of Object.keys(row)) o[k] = jsValue(row[k]);
    return o;
  });
}
async function run(sql) { await con.run(sql); }
async function scalar(sql) {
  const rows = await all(sql);
  const first = rows[0];
  return first ? first[Object.keys(first)[0]] : null;
}

const timings = {};
async function timed(name, fn) {
  const t0 = performance.now();
  const r = await fn();
  timings[name] = (performance.now() - t0) / 1000;
  return r;
}

// ---------------------------------------------------------------- model definition
// Levels are listed from the strongest (highest comparison vector value, as Splink numbers
// them) down to the "else" level (0). The null level (-1) is implicit: either side NULL.
const D = opt.districtLen;
const NAME_LEVELS = (c) => [
  { label: 'exact', sql: `l.${c} = r.${c}`, tf: c },
  { label: 'jaro_winkler >= 0.92', sql: `jw_${c} >= 0.92` },
  { label: 'jaro_winkler >= 0.8', sql: `jw_${c} >= 0.8` },
  { label: 'else', sql: null },
];
// jaro_winkler_similarity is computed once per pair (in an inner projection) and read by
// both thresholds; it is only computed when both sides are present and differ.
const NAME_PRE = (c) => ({
  [`jw_${c}`]: `CASE WHEN l.${c} <> r.${c} THEN jaro_winkler_similarity(l.${c}, r.${c}) END`,
});
const BOTH_FULL = 'l.birth_date IS NOT NULL AND r.birth_date IS NOT NULL';
const ALL_COMPARISONS = [
  {
    name: 'given_name', columns: ['given_name'],
    nullSql: 'l.given_name IS NULL OR r.given_name IS NULL',
    levels: NAME_LEVELS('given_name'), pre: NAME_PRE('given_name'),
  },
  {
    name: 'family_name', columns: ['family_name'],
    nullSql: 'l.family_name IS NULL OR r.family_name IS NULL',
    levels: NAME_LEVELS('family_name'), pre: NAME_PRE('family_name'),
  },
  {
    name: 'birth_date', columns: ['birth_date', 'birth_year', 'birth_month'],
    nullSql: 'l.birth_year IS NULL OR r.birth_year IS NULL',
    levels: [
      { label: 'exact date', sql: 'l.birth_date = r.birth_date' },
      { label: 'same year-month', sql: 'l.birth_year = r.birth_year AND l.birth_month = r.birth_month' },
      { label: 'same year', sql: 'l.birth_year = r.birth_year' },
      {
        label: 'within 1 year',
        sql: `(${BOTH_FULL} AND abs(date_diff('day', l.birth_date, r.birth_date)) <= 366)` +
          ` OR (NOT (${BOTH_FULL}) AND abs(l.birth_year - r.birth_year) <= 1)`,
      },
      {
        label: 'within 5 years',
        sql: `(${BOTH_FULL} AND abs(date_diff('day', l.birth_date, r.birth_date)) <= 1827)` +
          ` OR (NOT (${BOTH_FULL}) AND abs(l.birth_year - r.birth_year) <= 5)`,
      },
      { label: 'else', sql: null },
    ],
  },
  {
    name: 'sex', columns: ['sex'],
    nullSql: 'l.sex IS NULL OR r.sex IS NULL',
    levels: [{ label: 'exact', sql: 'l.sex = r.sex' }, { label: 'else', sql: null }],
  },
  {
    name: 'national_id', columns: ['national_id'],
    nullSql: 'l.national_id IS NULL OR r.national_id IS NULL',
    levels: [
      { label: 'exact', sql: 'l.national_id = r.national_id' },
      // Exact shortcut, not a level: damerau_levenshtein <= levenshtein <= 2 * damerau_levenshtein,
      // so levenshtein > 4 implies damerau_levenshtein > 2 (the else level). levenshtein is
      // several times cheaper in DuckDB than damerau_levenshtein; the levels are unchanged.
      { shortcut: 0, sql: 'levenshtein(l.national_id, r.national_id) > 4' },
      { label: 'damerau_levenshtein <= 1', sql: 'damerau_levenshtein(l.national_id, r.national_id) <= 1' },
      { label: 'damerau_levenshtein <= 2', sql: 'damerau_levenshtein(l.national_id, r.national_id) <= 2' },
      { label: 'else', sql: null },
    ],
  },
  {
    name: 'phone', columns: ['phone'],
    nullSql: 'l.phone IS NULL OR r.phone IS NULL',
    levels: [{ label: 'exact', sql: 'l.phone = r.phone' }, { label: 'else', sql: null }],
  },
  {
    name: 'admin_area_code', columns: ['admin_area_code'],
    nullSql: 'l.admin_area_code IS NULL OR r.admin_area_code IS NULL',
    levels: [
      { label: 'exact', sql: 'l.admin_area_code = r.admin_area_code' },
      { label: `same first ${D} characters (district)`, sql: `left(l.admin_area_code, ${D}) = left(r.admin_area_code, ${D})` },
      { label: 'else', sql: null },
    ],
  },
];

// Blocking rules for prediction, in Splink's order; each later rule excludes the pairs an
// earlier rule produced (Splink: AND NOT coalesce((earlier rule), false)).
const ALL_PREDICT_RULES = [
  { sql: 'l.national_id = r.national_id', columns: ['national_id'] },
  { sql: 'l.phone = r.phone', columns: ['phone'] },
  { sql: 'l.given_name = r.given_name AND l.family_name = r.family_name', columns: ['given_name', 'family_name'] },
  { sql: 'l.family_name = r.family_name AND l.birth_year = r.birth_year', columns: ['family_name', 'birth_year'] },
  { sql: 'l.given_name = r.given_name AND l.birth_date = r.birth_date', columns: ['given_name', 'birth_date'] },
  { sql: 'l.admin_area_code = r.admin_area_code AND l.birth_date = r.birth_date', columns: ['admin_area_code', 'birth_date'] },
];
// Training (EM) blocking rules: comparisons that use a rule's columns are switched off in
// that session, and the session's starting lambda is the prior raised by the Bayes factors
// of the comparison levels the rule implies (Splink's "reverse the blocking rule").
const TRAINING_RULES = [
  {
    sql: 'l.given_name = r.given_name AND l.family_name = r.family_name',
    columns: ['given_name', 'family_name'],
    implies: [{ comparison: 'given_name', level: 'exact' }, { comparison: 'family_name', level: 'exact' }],
  },
  {
    sql: 'l.birth_date = r.birth_date',
    columns: ['birth_date'],
    implies: [{ comparison: 'birth_date', level: 'exact date' }],
  },
];
const DETERMINISTIC_RULE = { sql: 'l.national_id = r.national_id', column: 'national_id' };

// Splink's default starting values (comparison_level.py: _default_m_values)
function defaultM(nLevels) {
  const rest = 0.05 / (nLevels - 1);
  const m = new Array(nLevels).fill(rest); // indexed by comparison vector value
  m[nLevels - 1] = 0.95;
  return m;
}

function gammaSql(c) {
  let cvv = c.levels.length; // entries = levels plus shortcuts, in CASE order
  let s = `CASE WHEN ${c.nullSql} THEN -1`;
  for (const lv of c.entries) {
    if (lv.shortcut !== undefined) { s += ` WHEN ${lv.sql} THEN ${lv.shortcut}`; continue; }
    cvv--;
    if (lv.sql) s += ` WHEN ${lv.sql} THEN ${cvv}`;
  }
  return `${s} ELSE 0 END`;
}

// Comparison vectors: an inner projection over `from` (aliases l and r) carries the columns
// the comparisons read (as l_<col>, r_<col>) and the per-pair pre-computed similarities; the
// outer projection turns them into gamma_<comparison> columns (and tf columns when asked).
const toOuter = (sql) => sql.replace(/\b([lr])\.([a-z_]+)\b/g, '$1_$2');
function comparisonVectorsSql(comps, from, { keep = [], tf = false } = {}) {
  const cols = new Set();
  for (const c of comps) c.columns.forEach((x) => cols.add(x));
  const inner = keep.map(([e, a]) => `${e} AS ${a}`);
  for (const x of cols) inner.push(`l.${x} AS l_${x}`, `r.${x} AS r_${x}`);
  for (const c of comps) for (const [a, e] of Object.entries(c.pre || {})) inner.push(`${e} AS ${a}`);
  const outer = keep.map(([, a]) => a).concat(comps.map((c) => `${toOuter(c.gamma)} AS ${c.col}`));
  if (tf) {
    for (const c of comps.filter((cc) => cc.tfCvv !== null)) {
      inner.push(`l.tf_${c.tfCol} AS tf_l_${c.name}`, `r.tf_${c.tfCol} AS tf_r_${c.name}`);
      outer.push(`tf_l_${c.name}`, `tf_r_${c.name}`);
    }
  }
  return `SELECT ${outer.join(', ')} FROM (SELECT ${inner.join(', ')} FROM ${from})`;
}

// ---------------------------------------------------------------- main
const tempDir = path.join(os.tmpdir(), `splink_duckdb_peer.${process.pid}.tmp`);

async function main() {
  const tStart = performance.now();
  const inst = await DuckDBInstance.create(':memory:', {
    threads: String(opt.threads),
    memory_limit: opt.memoryLimit,
    preserve_insertion_order: 'false',
  });
  con = await inst.connect();
  await run(`SET temp_directory = ${sqlStr(tempDir)}`);
  const duckdbVersion = await scalar('SELECT version()');

  // ------------------------------------------------------------ load
  await timed('load', async () => {
    if (opt.febrl) {
      // FEBRL files have ", " separated headers and values; read the header ourselves.
      const fd = openSync(opt.csv, 'r');
      const buf = Buffer.alloc(4096);
      const nread = readSync(fd, buf, 0, 4096, 0);
      closeSync(fd);
      const header = buf.subarray(0, nread).toString('utf8').split(/\r?\n/)[0];
      const names = header.split(',').map((h) => h.trim());
      for (const need of ['rec_id', 'given_name', 'surname', 'date_of_birth', 'soc_sec_id', 'postcode']) {
        if (!names.includes(need)) throw new Error(`FEBRL file lacks column ${need}`);
      }
      const cols = '{' + names.map((n) => `${sqlStr(n)}: 'VARCHAR'`).join(', ') + '}';
      await run(`CREATE TABLE raw AS SELECT * FROM read_csv(${sqlStr(opt.csv)}, header = false, skip = 1,
        delim = ',', quote = '"', escape = '"', columns = ${cols})`);
    } else {
      await run(`CREATE TABLE raw AS SELECT * FROM read_csv(${sqlStr(opt.csv)}, header = true,
        delim = ',', quote = '"', escape = '"', all_varchar = true)`);
      const cols = (await all('DESCRIBE raw')).map((r) => r.column_name);
      for (const need of ['id', 'entity', 'given_name', 'family_name', 'birth_date', 'sex', 'national_id', 'phone', 'admin_area_code']) {
        if (!cols.includes(need)) throw new Error(`CSV lacks column ${need}`);
      }
    }
  });
  const nRaw = await scalar('SELECT count(*) FROM raw');

  // ------------------------------------------------------------ prepare (cleaning + tf tables)
  await timed('prepare', async () => {
    await run(`CREATE MACRO clean_name(x) AS
      nullif(trim(regexp_replace(lower(strip_accents(x)), '[^\\p{L}]+', ' ', 'g')), '')`);
    await run(`CREATE MACRO digits_only(x) AS nullif(regexp_replace(x, '[^0-9]', '', 'g'), '')`);
    await run(`CREATE MACRO blank_null(x) AS nullif(trim(x), '')`);
    let src;
    if (opt.febrl) {
      src = `SELECT trim(rec_id) AS id,
          regexp_extract(trim(rec_id), '^rec-([0-9]+)-', 1) AS entity,
          given_name, surname AS family_name,
          CASE WHEN regexp_matches(trim(date_of_birth), '^[0-9]{8}$')
               THEN substr(trim(date_of_birth), 1, 4) || '-' || substr(trim(date_of_birth), 5, 2) || '-' || substr(trim(date_of_birth), 7, 2)
          END AS birth_date,
          CAST(NULL AS VARCHAR) AS sex, soc_sec_id AS national_id, CAST(NULL AS VARCHAR) AS phone,
          postcode AS admin_area_code
        FROM raw`;
    } else {
      src = 'SELECT id, entity, given_name, family_name, birth_date, sex, national_id, phone, admin_area_code FROM raw';
    }
    await run(`CREATE TABLE df0 AS
      WITH s AS (${src}),
      p AS (
        SELECT
          row_number() OVER (ORDER BY try_cast(blank_null(id) AS BIGINT) NULLS LAST, id, entity, given_name,
            family_name, birth_date, sex, national_id, phone, admin_area_code) AS uid,
          blank_null(id) AS id,
          blank_null(entity) AS entity,
          clean_name(given_name) AS given_name,
          clean_name(family_name) AS family_name,
          regexp_extract(blank_null(birth_date), '^([0-9]{4})(?:-([0-9]{1,2})(?:-([0-9]{1,2}))?)?$', ['y', 'm', 'd']) AS bd,
          blank_null(birth_date) AS birth_date_raw,
          CASE upper(left(blank_null(sex), 1)) WHEN 'M' THEN 'M' WHEN 'F' THEN 'F'
               ELSE upper(blank_null(sex)) END AS sex,
          digits_only(national_id) AS national_id,
          right(digits_only(phone), 9) AS phone,
          upper(regexp_replace(blank_null(admin_area_code), '\\s', '', 'g')) AS admin_area_code
        FROM s)
      SELECT uid, id, entity, given_name, family_name,
        try_cast(nullif(bd.y, '') AS INTEGER) AS birth_year,
        CASE WHEN try_cast(nullif(bd.m, '') AS INTEGER) BETWEEN 1 AND 12
             THEN try_cast(nullif(bd.m, '') AS INTEGER) END AS birth_month,
        CASE WHEN bd.d <> '' THEN try_cast(birth_date_raw AS DATE) END AS birth_date,
        sex, national_id, phone, nullif(admin_area_code, '') AS admin_area_code
      FROM p`);
    // term frequencies, as Splink's __splink__df_tf_<col>: count(value) / count(non-null)
    for (const c of ['given_name', 'family_name']) {
      await run(`CREATE TABLE tf_${c} AS
        SELECT ${c}, CAST(count(*) AS DOUBLE) / (SELECT count(${c}) FROM df0) AS tf_${c}
        FROM df0 WHERE ${c} IS NOT NULL GROUP BY ${c}`);
    }
    await run(`CREATE TABLE df AS
      SELECT d.*, g.tf_given_name, f.tf_family_name
      FROM df0 d LEFT JOIN tf_given_name g USING (given_name) LEFT JOIN tf_family_name f USING (family_name)
      ORDER BY uid`);
    await run('DROP TABLE df0');
    await run('DROP TABLE raw');
  });
  const N = await scalar('SELECT count(*) FROM df');
  const duplicateIds = await scalar('SELECT count(*) - count(DISTINCT id) FROM df');
  if (duplicateIds > 0) process.stderr.write(`splink_duckdb: warning: ${duplicateIds} duplicate ids\n`);
  const totalPairs = (N * (N - 1)) / 2;

  // Columns with no value at all (FEBRL has no sex, no phone): comparisons and blocking
  // rules on them are dropped, since neither could be estimated or produce a pair.
  const colCounts = (await all(`SELECT count(given_name) AS given_name, count(family_name) AS family_name,
      count(birth_year) AS birth_year, count(birth_date) AS birth_date, count(birth_month) AS birth_month,
      count(sex) AS sex, count(national_id) AS national_id, count(phone) AS phone,
      count(admin_area_code) AS admin_area_code FROM df`))[0];
  const emptyCols = Object.keys(colCounts).filter((k) => colCounts[k] === 0);
  if (opt.comparisons) {
    const known = ALL_COMPARISONS.map((c) => c.name);
    for (const x of opt.comparisons) if (!known.includes(x)) throw new Error(`unknown comparison ${x} (known: ${known.join(', ')})`);
  }
  const comparisons = ALL_COMPARISONS.filter((c) => !c.columns.every((x) => emptyCols.includes(x)))
    .filter((c) => !opt.comparisons || opt.comparisons.includes(c.name));
  const droppedComparisons = ALL_COMPARISONS.filter((c) => !comparisons.includes(c)).map((c) => c.name);
  const predictRules = ALL_PREDICT_RULES.filter((r) => !r.columns.some((x) => emptyCols.includes(x)));
  const droppedRules = ALL_PREDICT_RULES.filter((r) => !predictRules.includes(r)).map((r) => r.sql);

  // model parameters: per comparison, m[cvv] and u[cvv], cvv = 0..n-1 (n-1 = exact)
  for (const c of comparisons) {
    c.entries = c.levels;
    c.levels = c.entries.filter((lv) => lv.shortcut === undefined);
    c.n = c.levels.length;
    c.gamma = gammaSql(c);
    c.col = `gamma_${c.name}`;
    c.m = defaultM(c.n);
    c.u = new Array(c.n).fill(null);
    c.trainedM = Array.from({ length: c.n }, () => []);
    c.levelCvv = (label) => c.n - 1 - c.levels.findIndex((lv) => lv.label === label);
    const tfLevel = c.levels.findIndex((lv) => lv.tf);
    c.tfCvv = tfLevel >= 0 ? c.n - 1 - tfLevel : null;
    c.tfCol = tfLevel >= 0 ? c.levels[tfLevel].tf : null;
  }
  const byName = Object.fromEntries(comparisons.map((c) => [c.name, c]));
  const mw = (c, cvv) => log2(Math.max(c.m[cvv], M_U_CLAMP_MIN) / Math.max(c.u[cvv], M_U_CLAMP_MIN));
  const bayesFactor = (c, cvv) => (c.u[cvv] === 0 ? Infinity : c.m[cvv] / c.u[cvv]);

  // ------------------------------------------------------------ prior (deterministic rule)
  let deterministicPairs = 0;
  let prior;
  await timed('prior', async () => {
    deterministicPairs = await scalar(`SELECT coalesce(sum(n * (n - 1) / 2), 0)::DOUBLE FROM
      (SELECT count(*)::DOUBLE AS n FROM df WHERE ${DETERMINISTIC_RULE.column} IS NOT NULL GROUP BY ${DETERMINISTIC_RULE.column})`);
    // Splink: estimate_probability_two_random_records_match(rules, recall)
    prior = deterministicPairs / opt.recall / totalPairs;
    if (!(prior > 0)) prior = 1 / totalPairs; // no pair at all: one expected match
    if (prior >= 1) prior = 0.5;
  });

  // ------------------------------------------------------------ u by random sampling
  let uSample = {};
  await timed('u_estimation', async () => {
    // Splink: sample_rows = 0.5 * (sqrt(8 * max_pairs + 1) + 1); proportion = rows / N.
    // Sampling is hash-based on the row's uid and --seed, so it repeats exactly.
    const sampleRows = 0.5 * (Math.sqrt(8 * opt.maxPairs + 1) + 1);
    const proportion = Math.min(1, sampleRows / N);
    const cut = Math.floor(proportion * 1e9);
    await run(`CREATE TEMP TABLE u_sample AS SELECT * FROM df
      WHERE hash(uid, ${opt.seed}::BIGINT) % 1000000000 < ${cut}`);
    const cv = comparisonVectorsSql(comparisons, 'u_sample l JOIN u_sample r ON l.uid < r.uid');
    const rows = await all(`SELECT ${comparisons.map((c) => c.col).join(', ')}, count(*) AS n
      FROM (${cv}) GROUP BY ALL`);
    let pairs = 0;
    for (const c of comparisons) {
      const cnt = new Array(c.n).fill(0);
      for (const r of rows) if (r[c.col] >= 0) cnt[r[c.col]] += r.n;
      const tot = cnt.reduce((a, b) => a + b, 0);
      // all levels are kept even when 0 (Splink's u accumulator), u = count / non-null count
      c.u = cnt.map((x) => (tot > 0 ? x / tot : NOT_OBSERVED));
      c.uCounts = cnt;
    }
    for (const r of rows) pairs += r.n;
    uSample = {
      max_pairs: opt.maxPairs, seed: opt.seed, proportion,
      sampled_records: await scalar('SELECT count(*) FROM u_sample'), sampled_pairs: pairs,
    };
    await run('DROP TABLE u_sample');
  });

  // ------------------------------------------------------------ EM, one session per training rule
  const sessions = [];
  await timed('em_training', async () => {
    for (const rule of TRAINING_RULES) {
      if (rule.columns.some((x) => emptyCols.includes(x))) {
        sessions.push({ blocking_rule: rule.sql, skipped: 'rule uses a column that is empty in this data' });
        continue;
      }
      // Switch off comparisons whose columns the rule uses (Splink: comparisons_to_deactivate)
      const active = comparisons.filter((c) => !c.columns.some((x) => rule.columns.includes(x)));
      const inactive = comparisons.filter((c) => !active.includes(c)).map((c) => c.name);
      // starting lambda: prior with the Bayes factors of the implied levels (current m, u)
      let odds = probToOdds(prior);
      for (const imp of rule.implies) {
        const c = byName[imp.comparison];
        if (c) odds *= bayesFactor(c, c.levelCvv(imp.level));
      }
      let lambda = oddsToProb(odds);
      const lambdaStart = lambda;
      // comparison-vector patterns with counts; the tf of the value on tf-adjusted exact
      // levels is part of the pattern so the E step can apply the tf adjustment
      const tfSel = active.filter((c) => c.tfCvv !== null)
        .map((c) => `CASE WHEN ${c.col} = ${c.tfCvv} THEN greatest(tf_l_${c.name}, tf_r_${c.name}) END AS tf_${c.name}`);
      const cv = comparisonVectorsSql(active, `df l JOIN df r ON ${rule.sql} WHERE l.uid < r.uid`, { tf: true });
      const t0 = performance.now();
      const patterns = await all(`SELECT ${active.map((c) => c.col).concat(tfSel).join(', ')}, count(*) AS n
        FROM (${cv}) GROUP BY ALL ORDER BY ALL`);
      const tPatterns = (performance.now() - t0) / 1000;
      let nPairs = 0;
      for (const p of patterns) nPairs += p.n;
      if (nPairs === 0) {
        // Splink raises EMTrainingException here; the peer goes on without this session
        sessions.push({ blocking_rule: rule.sql, skipped: 'the training rule produced no pair' });
        continue;
      }
      // working copy of m for the active comparisons (u fixed)
      const m = Object.fromEntries(active.map((c) => [c.name, c.m.slice()]));
      const observed = Object.fromEntries(active.map((c) => [c.name, new Array(c.n).fill(false)]));
      for (const p of patterns) for (const c of active) if (p[c.col] >= 0) observed[c.name][p[c.col]] = true;
      let iterations = 0;
      let maxChange = Infinity;
      while (iterations < opt.maxIterations) {
        iterations++;
        // E step
        const lw = active.map((c) => m[c.name].map((mm, cvv) =>
          log2(Math.max(mm, M_U_CLAMP_MIN) / Math.max(c.u[cvv], M_U_CLAMP_MIN))));
        const logPriorOdds = log2(probToOdds(lambda));
        const mCount = active.map((c) => new Array(c.n).fill(0));
        let sumP = 0;
        for (const p of patterns) {
          let w = logPriorOdds;
          for (let k = 0; k < active.length; k++) {
            const c = active[k];
            const g = p[c.col];
            if (g < 0) continue;
            w += lw[k][g];
            if (g === c.tfCvv && p[`tf_${c.name}`] != null) w += log2(c.u[g]) - log2(p[`tf_${c.name}`]);
          }
          const prob = 1 / (1 + 2 ** -w);
          const pm = prob * p.n;
          sumP += pm;
          for (let k = 0; k < active.length; k++) {
            const g = p[active[k].col];
            if (g >= 0) mCount[k][g] += pm;
          }
        }
        // M step
        maxChange = 0;
        const newLambda = sumP / nPairs;
        maxChange = Math.max(maxChange, Math.abs(newLambda - lambda));
        lambda = newLambda;
        active.forEach((c, k) => {
          const tot = mCount[k].reduce((a, b) => a + b, 0);
          for (let g = 0; g < c.n; g++) {
            const nm = observed[c.name][g] ? (tot > 0 ? mCount[k][g] / tot : 0) : NOT_OBSERVED;
            maxChange = Math.max(maxChange, Math.abs(nm - m[c.name][g]));
            m[c.name][g] = nm;
          }
        });
        if (maxChange < opt.emConvergence) break;
      }
      // record trained m (not-observed levels are not recorded, as Splink) and refresh the
      // model's m with the median over sessions so far (Splink's _populate_m_u_from_trained_values)
      for (const c of active) {
        for (let g = 0; g < c.n; g++) if (observed[c.name][g]) c.trainedM[g].push(m[c.name][g]);
        for (let g = 0; g < c.n; g++) {
          const v = c.trainedM[g].slice().sort((a, b) => a - b);
          if (v.length) c.m[g] = v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
        }
      }
      timings.em_pattern_queries = (timings.em_pattern_queries || []).concat([+tPatterns.toFixed(3)]);
      sessions.push({
        blocking_rule: rule.sql,
        comparisons_estimated: active.map((c) => c.name),
        comparisons_fixed: inactive,
        pairs: nPairs,
        patterns: patterns.length,
        lambda_start: lambdaStart,
        lambda_end: lambda,
        iterations,
        converged: maxChange < opt.emConvergence,
        last_max_change: maxChange,
      });
    }
  });

  // ------------------------------------------------------------ predict
  const priorLogOdds = log2(probToOdds(prior));
  const weightSql = comparisons.map((c) => {
    let s = `CASE ${c.col}`;
    for (let g = c.n - 1; g >= 0; g--) {
      let w = dbl(mw(c, g));
      if (g === c.tfCvv) {
        // Splink tf adjustment: weight 1 * (log2(u_exact) - log2(greatest(tf_l, tf_r)))
        const tl = `tf_l_${c.name}`;
        const tr = `tf_r_${c.name}`;
        w = `${w} + CASE WHEN coalesce(${tl}, ${tr}) IS NOT NULL THEN ${dbl(log2(c.u[g]))}` +
          ` - log2(greatest(coalesce(${tl}, ${tr}), coalesce(${tr}, ${tl}), ${dbl(0)})) ELSE ${dbl(0)} END`;
      }
      s += ` WHEN ${g} THEN ${w}`;
    }
    return `(${s} ELSE ${dbl(0)} END)`;
  });
  const thresholdWeight = log2(probToOdds(opt.threshold));
  let candidates = 0;
  let predicted = 0;
  const blockingCounts = [];
  await timed('predict', async () => {
    const tP = performance.now();
    const parts = predictRules.map((r, i) => {
      const excl = predictRules.slice(0, i).map((e) => ` AND NOT coalesce((${e.sql}), false)`).join('');
      return `SELECT l.uid AS uid_l, r.uid AS uid_r, ${i} AS match_key
        FROM df l JOIN df r ON ${r.sql} WHERE l.uid < r.uid${excl}`;
    });
    await run(`CREATE TABLE blocked AS ${parts.join('\nUNION ALL\n')}`);
    timings.predict_blocking = (performance.now() - tP) / 1000;
    const cv = comparisonVectorsSql(comparisons,
      'blocked b JOIN df l ON l.uid = b.uid_l JOIN df r ON r.uid = b.uid_r',
      { keep: [['b.uid_l', 'uid_l'], ['b.uid_r', 'uid_r'], ['b.match_key', 'match_key']], tf: true });
    const predSql = `CREATE TABLE pred AS
      SELECT uid_l, uid_r, match_key, match_weight, 1 / (1 + pow(2, -match_weight)) AS match_probability
      FROM (
        SELECT uid_l, uid_r, match_key, ${dbl(priorLogOdds)} + ${weightSql.join(' + ')} AS match_weight
        FROM (${cv}))
      WHERE match_weight >= ${dbl(thresholdWeight)}`;
    if (process.env.SPLINK_PEER_DEBUG) process.stderr.write(`${predSql}\n`);
    const tS = performance.now();
    await run(predSql);
    timings.predict_scoring = (performance.now() - tS) / 1000;
    candidates = await scalar('SELECT count(*) FROM blocked');
    predicted = await scalar('SELECT count(*) FROM pred');
  });
  const tEndModel = performance.now();
  for (const r of await all('SELECT match_key, count(*) AS n FROM blocked GROUP BY match_key ORDER BY match_key')) {
    blockingCounts[r.match_key] = r.n;
  }

  // ------------------------------------------------------------ evaluation (entity used only here)
  const evaluation = await timed('evaluation', async () => {
    await run(`CREATE TABLE truth AS
      WITH e AS (SELECT entity FROM df WHERE entity IS NOT NULL GROUP BY entity HAVING count(*) > 1)
      SELECT l.uid AS uid_l, r.uid AS uid_r
      FROM df l JOIN e USING (entity) JOIN df r ON r.entity = l.entity AND l.uid < r.uid`);
    const truthPairs = await scalar('SELECT count(*) FROM truth');
    const tp = await scalar('SELECT count(*) FROM pred JOIN truth USING (uid_l, uid_r)');
    const blockedTp = await scalar('SELECT count(*) FROM blocked JOIN truth USING (uid_l, uid_r)');
    const precision = predicted ? tp / predicted : 0;
    const recall = truthPairs ? tp / truthPairs : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    return {
      truth_pairs: truthPairs, true_positives: tp,
      false_positives: predicted - tp, false_negatives: truthPairs - tp,
      precision, recall, f1,
      blocking_recall: truthPairs ? blockedTp / truthPairs : 0,
    };
  });

  if (opt.out) {
    await timed('write_out', async () => {
      await run(`COPY (
        SELECT l.id AS id_l, r.id AS id_r, p.match_weight, p.match_probability, p.match_key,
               (t.uid_l IS NOT NULL) AS is_true_match
        FROM pred p JOIN df l ON l.uid = p.uid_l JOIN df r ON r.uid = p.uid_r
        LEFT JOIN truth t ON t.uid_l = p.uid_l AND t.uid_r = p.uid_r
        ORDER BY p.uid_l, p.uid_r) TO ${sqlStr(opt.out)} (HEADER, DELIMITER ',')`);
    });
  }

  // ------------------------------------------------------------ report
  const round = (x) => (typeof x === 'number' ? +x.toFixed(3) : x);
  const modelSeconds = (timings.prepare + timings.prior + timings.u_estimation + timings.em_training + timings.predict);
  let pkgVersion = null;
  try {
    const here = path.dirname(fileURLToPath(import.meta.url));
    pkgVersion = JSON.parse(readFileSync(path.join(here, 'node_modules/@duckdb/node-api/package.json'), 'utf8')).version;
  } catch { /* not fatal */ }
  const report = {
    peer: 'splink-style Fellegi-Sunter in DuckDB (bench/peer/splink_duckdb.mjs)',
    input: { csv: opt.csv, mode: opt.febrl ? 'febrl' : 'registry', rows: nRaw, records: N, duplicate_ids: duplicateIds },
    settings: {
      threads: opt.threads, threshold: opt.threshold, threshold_match_weight: thresholdWeight,
      duckdb: duckdbVersion, node_api: pkgVersion, node: process.version, memory_limit: opt.memoryLimit,
    },
    timings_seconds: {
      load: round(timings.load),
      prepare: round(timings.prepare),
      prior: round(timings.prior),
      u_estimation: round(timings.u_estimation),
      em_training: round(timings.em_training),
      em_pattern_queries: timings.em_pattern_queries || [],
      predict: round(timings.predict),
      predict_blocking: round(timings.predict_blocking),
      predict_scoring: round(timings.predict_scoring),
      total_excluding_load: round(modelSeconds),
      total_including_load: round(modelSeconds + timings.load),
      evaluation: round(timings.evaluation),
      ...(opt.out ? { write_out: round(timings.write_out) } : {}),
      wall: round((performance.now() - tStart) / 1000),
      model_wall_excluding_evaluation: round((tEndModel - tStart) / 1000),
    },
    candidate_pairs: candidates,
    pairs_at_or_above_threshold: predicted,
    precision: evaluation.precision,
    recall: evaluation.recall,
    f1: evaluation.f1,
    evaluation,
    blocking_rules: {
      predict: predictRules.map((r, i) => ({ sql: r.sql, new_pairs: blockingCounts[i] || 0 })),
      predict_dropped_empty_columns: droppedRules,
      dedup: 'each rule adds AND NOT coalesce((earlier rule), false) for every earlier rule; l.uid < r.uid',
      training_em: TRAINING_RULES.map((r) => r.sql),
      deterministic_for_prior: DETERMINISTIC_RULE.sql,
    },
    parameters: {
      probability_two_random_records_match: prior,
      prior_match_weight: priorLogOdds,
      prior_estimation: {
        deterministic_rule: DETERMINISTIC_RULE.sql, pairs: deterministicPairs,
        assumed_recall: opt.recall, total_possible_pairs: totalPairs,
      },
      u_sampling: uSample,
      em_sessions: sessions,
      comparisons: comparisons.map((c) => ({
        name: c.name,
        levels: c.levels.map((lv, i) => {
          const g = c.n - 1 - i;
          return {
            gamma: g, label: lv.label, sql: lv.sql || 'ELSE',
            m: c.m[g], u: c.u[g], u_sample_count: c.uCounts ? c.uCounts[g] : null,
            match_weight: mw(c, g), tf_adjusted: g === c.tfCvv,
            m_trained_sessions: c.trainedM[g].length,
          };
        }),
        null_level: c.nullSql,
      })),
      comparisons_not_used: droppedComparisons,
      district_prefix_length: D,
    },
  };
  process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  con.closeSync();
  inst.closeSync();
}

main().then(() => {
  rmSync(tempDir, { recursive: true, force: true });
}, (e) => {
  rmSync(tempDir, { recursive: true, force: true });
  process.stderr.write(`splink_duckdb: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
