#!/usr/bin/env bash
# live-restore-and-promote.sh DUMP_DIR: the birth of a live database from
# a dump carried over from development. Run on the live system.
#
#   SWEFREQ_MONGO_URI_FILE=/etc/swefreq/live-loader.uri SWEFREQ_DB=swefreq \
#   SWEFREQ_LIVE_MANIFEST=/etc/swefreq/live-manifest.json \
#       deploy/live-restore-and-promote.sh /srv/transfer/swefreq
#
# 1. the dump's files are verified against its manifest.json;
# 2. the manifest is kept outside the database (SWEFREQ_LIVE_MANIFEST), for
#    the nightly live-verify.sh;
# 3. restore: staging, verified against the manifest, swapped in (a sealed
#    database refuses it: exit 9; unseal it first, with a reason, if this
#    is the deliberate exception);
# 4. promote: a full verify (counts, digests, indexes) against that
#    manifest file, then the role live and the seal.
# With --expect-role live throughout: pointed at the development server,
# it stops with exit 9 before anything is read or written. A live server
# cloned at the volume level skips 1-3: run only the promote line with
# SWEFREQ_EXPECT_ROLE=development (the clone still carries that role).
set -eu
tool=${SWEFREQ_LOAD:-swefreq-load}
db=${SWEFREQ_DB:-swefreq}
dump=${1:?usage: live-restore-and-promote.sh DUMP_DIR}
live_manifest=${SWEFREQ_LIVE_MANIFEST:?set SWEFREQ_LIVE_MANIFEST (kept outside the database)}
if [ -z "${SWEFREQ_MONGO_URI_FILE:-}${SWEFREQ_MONGO_URI:-}" ]; then
    echo "live-restore-and-promote.sh: set SWEFREQ_MONGO_URI_FILE (a file only you can read, holding the live server's URI) or SWEFREQ_MONGO_URI" >&2
    exit 2
fi
export SWEFREQ_EXPECT_ROLE=live

"$tool" verify --dump "$dump"
install -m 0644 "$dump/manifest.json" "$live_manifest.new"
"$tool" restore --db "$db" --dump "$dump"
"$tool" promote --db "$db" --manifest "$live_manifest.new"
mv -f "$live_manifest.new" "$live_manifest"
