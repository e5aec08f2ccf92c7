#!/usr/bin/env bash
# The README's main command: installs dependencies, builds, converts the
# bundled sample data into a mongorestore-compatible dump with its
# manifest, verifies the dump and the sources against the manifest, and
# prints the summary.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
BUILD=${BUILD:-build}
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" --target swefreq-load >/dev/null
OUT=${OUT:-$BUILD/sample-dump}
rm -rf "$OUT"
"$BUILD/swefreq-load" dump --out "$OUT" --db swefreq \
  --vcf testdata/exac_sample.vcf --coverage testdata/coverage_sample.tsv --coverage-step 1
"$BUILD/swefreq-load" verify --dump "$OUT" --db swefreq --sources
echo "sample dump: $OUT/swefreq (restore with: mongorestore $OUT)"
