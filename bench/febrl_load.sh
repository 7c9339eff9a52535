#!/usr/bin/env bash
# Loads the FEBRL datasets into schema febrl of database $1:
#   febrl.dataset1..4b (id, rec_id, entity, given_name, family_name, birth_date,
#   national_id, address, postcode, suburb, state) and febrl.truth_* views of true pairs.
# Usage: bench/febrl_load.sh DB [DATA_DIR]
set -euo pipefail
db="$1"
data="${2:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data/febrl}"
q() { psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }

q -c "DROP SCHEMA IF EXISTS febrl CASCADE" -c "CREATE SCHEMA febrl"
for f in dataset1 dataset2 dataset3 dataset4a dataset4b; do
  q -c "CREATE TABLE febrl.raw_$f (rec_id text, given_name text, surname text, street_number text, address_1 text,
                                   address_2 text, suburb text, postcode text, state text, date_of_birth text, soc_sec_id text)"
  # the files separate fields with ", "; strip the space after each comma
  sed -e '1d' -e 's/, /,/g' "$data/$f.csv" | q -c "\\copy febrl.raw_$f FROM STDIN WITH (FORMAT csv)"
  q -c "CREATE TABLE febrl.$f AS
        SELECT row_number() OVER (ORDER BY rec_id)::bigint AS id, rec_id,
               split_part(rec_id, '-', 2)::int AS entity,
               nullif(given_name, '') AS given_name, nullif(surname, '') AS family_name,
               nullif(date_of_birth, '') AS birth_date, nullif(soc_sec_id, '') AS national_id,
               nullif(concat_ws(' ', nullif(street_number, ''), nullif(address_1, ''), nullif(address_2, '')), '') AS address,
               nullif(postcode, '') AS postcode, nullif(suburb, '') AS suburb, nullif(state, '') AS state
        FROM febrl.raw_$f"
done
# true pairs: same entity number (dedup: a < b; link: across the two files)
for f in dataset1 dataset2 dataset3; do
  q -c "CREATE VIEW febrl.truth_$f AS
        SELECT a.id AS left_id, b.id AS right_id FROM febrl.$f a JOIN febrl.$f b ON a.entity = b.entity AND a.id < b.id"
done
q -c "CREATE VIEW febrl.truth_dataset4 AS
      SELECT a.id AS left_id, b.id AS right_id FROM febrl.dataset4a a JOIN febrl.dataset4b b ON a.entity = b.entity"
