#!/usr/bin/env bash
# The README's main command: installs dependencies, builds, starts the
# bundled MongoDB-compatible server (FerretDB, tests/server) on a free
# loopback port, loads the bundled sample data into it, verifies the
# database and the sources against the load's manifest, prints the
# summary and stops the server. It also writes the same data as a
# mongorestore-compatible dump. Without Go, only the dump is made.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
export PATH="$PATH:/usr/local/go/bin"
BUILD=${BUILD:-build}
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" >/dev/null
TOOL=$BUILD/swefreq-load
# The whole browser database: variants (and their metrics), coverage, gene
# models with the gene tables (the sample GTF has one scaffold line, left
# out and counted), dbSNP.
SRC=(--vcf testdata/exac_sample.vcf --coverage testdata/coverage_sample.tsv
     --gtf testdata/gencode_sample.gtf --skip-unknown-contigs
     --canonical-transcripts testdata/canonical_sample.txt --omim testdata/omim_sample.txt
     --dbnsfp-genes testdata/dbnsfp_genes_sample.txt --dbsnp testdata/dbsnp_sample.tsv)

OUT=${OUT:-$BUILD/sample-dump}
rm -rf "$OUT"
"$TOOL" dump --quiet --out "$OUT" --db swefreq "${SRC[@]}"
echo "sample dump: $OUT/swefreq (restore with: mongorestore $OUT)"

if [ ! -x "$BUILD/swefreq-testserver" ]; then
  echo "Go not found: no bundled server, so no load (the dump above is complete)" >&2
  exit 0
fi
STATE=$BUILD/sample-server
trap 'tests/server/stop.sh "$STATE" >/dev/null 2>&1 || true' EXIT
tests/server/start.sh "$STATE" "$BUILD/swefreq-testserver" "$BUILD/mongo_ping" >/dev/null
URI=$(cat "$STATE/uri")
echo "bundled server: $URI"
# FerretDB cannot store arrays of arrays: histograms as {mids, counts}.
"$TOOL" load --uri "$URI" --db swefreq --histograms columns "${SRC[@]}" \
  --manifest "$BUILD/sample-load.manifest.json"
"$TOOL" verify --uri "$URI" --db swefreq --sources
