#!/usr/bin/env bash
# dev-export.sh OUT_DIR: write the DEVELOPMENT database as a dump that
# equals its manifest, sign its manifest.json (manifest.json.sig, with the
# private key SWEFREQ_SIGNING_KEY, which never leaves development), and
# check the written dump once more (its signature too when
# SWEFREQ_TRUSTED_KEYS names the public key). Carry
# OUT_DIR/$SWEFREQ_DB to the live system (the two systems never connect).
#
#   SWEFREQ_MONGO_URI_FILE=/etc/swefreq/dev-reader.uri SWEFREQ_DB=swefreq \
#   SWEFREQ_SIGNING_KEY=/etc/swefreq/release.key SWEFREQ_RELEASE=7 \
#       deploy/dev-export.sh /srv/transfer
#
# SWEFREQ_RELEASE numbers the release (export --release: 1, 2, ..., higher
# for each newer release), SWEFREQ_RELEASE_DB names the live database it is
# for (default SWEFREQ_DB): both go into the signed manifest, and restore
# and promote on live refuse (exit 9) a release older than the one the
# database records, or one for another database (docs/deploy.md, Replays).
#
# export exits 5 and leaves no dump when the database changed before or
# during the export. Runs with --expect-role development (exit 9 on live).
set -eu
tool=${SWEFREQ_LOAD:-swefreq-load}
db=${SWEFREQ_DB:-swefreq}
out=${1:?usage: dev-export.sh OUT_DIR}
if [ -z "${SWEFREQ_MONGO_URI_FILE:-}${SWEFREQ_MONGO_URI:-}" ]; then
    echo "dev-export.sh: set SWEFREQ_MONGO_URI_FILE (a file only you can read, holding the development server's URI) or SWEFREQ_MONGO_URI" >&2
    exit 2
fi
export SWEFREQ_EXPECT_ROLE=development

key=${SWEFREQ_SIGNING_KEY:?set SWEFREQ_SIGNING_KEY to the release private key (mode 0600)}
release=()
if [ -n "${SWEFREQ_RELEASE:-}" ]; then
    release=(--release "$SWEFREQ_RELEASE" --release-db "${SWEFREQ_RELEASE_DB:-$db}")
else
    echo "dev-export.sh: warning: SWEFREQ_RELEASE is not set: the release is not numbered, and live cannot refuse a replay of an older one" >&2
fi
"$tool" export --db "$db" --out "$out" --signing-key "$key" "${release[@]}"
"$tool" verify --dump "$out/$db"
