#!/usr/bin/env bash
# dev-load.sh: load the release files into the DEVELOPMENT database, then
# verify the database against the sources. Run on the development system.
#
#   SWEFREQ_MONGO_URI_FILE=/etc/swefreq/dev-loader.uri SWEFREQ_DB=swefreq \
#   SWEFREQ_MANIFEST=/srv/swefreq/release/manifest.json \
#       deploy/dev-load.sh --vcf sites.vcf.gz --coverage coverage.tsv.gz [load options]
#
# The URI (password included) reaches swefreq-load through the environment
# (SWEFREQ_MONGO_URI_FILE: a file of mode 0600 holding it, or
# SWEFREQ_MONGO_URI), never its command line, where every user of the host
# would see it. Every command runs with --expect-role development: pointed
# at the live server by mistake, the first command stops with exit 9 before it reads
# or writes anything. Exit codes are swefreq-load's (0 ok, 3 bad input,
# 5 verify found a difference, 6/7 server unreachable/auth, 9 refused by
# the database's state: lock, seal, other role; see `swefreq-load --help`).
set -eu
tool=${SWEFREQ_LOAD:-swefreq-load}
db=${SWEFREQ_DB:-swefreq}
manifest=${SWEFREQ_MANIFEST:-manifest.json}
if [ -z "${SWEFREQ_MONGO_URI_FILE:-}${SWEFREQ_MONGO_URI:-}" ]; then
    echo "dev-load.sh: set SWEFREQ_MONGO_URI_FILE (a file only you can read, holding the development server's URI) or SWEFREQ_MONGO_URI" >&2
    exit 2
fi
export SWEFREQ_EXPECT_ROLE=development
unset SWEFREQ_TRUSTED_KEYS # the load's own manifest is signed later, by dev-export.sh

"$tool" load --db "$db" --manifest "$manifest" "$@"
# Verified against the manifest in force (the database's own record of the
# last complete load of each collection, this one's included), not the load's
# own manifest alone: a load of some collections (only --vcf, say) leaves the
# others as an earlier load wrote them, and verify accounts for every
# collection in the database. --sources re-hashes every source file of
# every load in force: the database equals the files on this system.
"$tool" verify --db "$db" --sources
