#!/usr/bin/env bash
# live-verify.sh: the nightly deviation watch (cron or a systemd timer, see
# docs/deploy.md). Verifies the LIVE database against the manifest kept
# outside it: every document (count and digest per collection), every
# index, and that the database is live and sealed.
#
#   SWEFREQ_MONGO_URI_FILE=/etc/swefreq/live-web.uri SWEFREQ_DB=swefreq \
#   SWEFREQ_TRUSTED_KEYS=/etc/swefreq/release.pub \
#   SWEFREQ_REFERENCE_DIR=/etc/swefreq/reference SWEFREQ_SERVER=live-db-2 \
#   [SWEFREQ_VERIFY_LOG=/var/log/swefreq/verify.json] deploy/live-verify.sh
#
# Exit 0: live equals the files. 5: a difference (a changed document, a
# missing or changed index, not sealed, a reference that is not the release
# promote recorded): alert. 10: the reference's signature is refused. 9: not the live database
# (--expect-role live). 6/7: server unreachable / authentication failed.
# The JSON report (docs/deploy.md) goes to stdout or SWEFREQ_VERIFY_LOG.
# A read-only user is enough. The URI reaches swefreq-load through the
# environment (SWEFREQ_MONGO_URI_FILE or SWEFREQ_MONGO_URI), never its
# command line. From cron or systemd, run it through swefreq-nightly-verify
# (a config file, absolute paths, a log).
set -u
tool=${SWEFREQ_LOAD:-swefreq-load}
db=${SWEFREQ_DB:-swefreq}
# This server's reference (written by live-restore-and-promote.sh): the
# same SWEFREQ_LIVE_MANIFEST, or SWEFREQ_REFERENCE_DIR and SWEFREQ_SERVER.
if [ -n "${SWEFREQ_LIVE_MANIFEST:-}" ]; then
    manifest=$SWEFREQ_LIVE_MANIFEST
else
    manifest=${SWEFREQ_REFERENCE_DIR:?set SWEFREQ_REFERENCE_DIR and SWEFREQ_SERVER (or SWEFREQ_LIVE_MANIFEST)}/${SWEFREQ_SERVER:?set SWEFREQ_SERVER}/$db/manifest.json
fi
# The signature of the reference, and that it is the release promote
# recorded (else exit 5), are checked with the release public key(s).
: "${SWEFREQ_TRUSTED_KEYS:?set SWEFREQ_TRUSTED_KEYS to the release public key(s)}"
export SWEFREQ_TRUSTED_KEYS
if [ -z "${SWEFREQ_MONGO_URI_FILE:-}${SWEFREQ_MONGO_URI:-}" ]; then
    echo "live-verify.sh: set SWEFREQ_MONGO_URI_FILE (a file only you can read, holding the live server's URI) or SWEFREQ_MONGO_URI" >&2
    exit 2
fi
export SWEFREQ_EXPECT_ROLE=live

if [ -n "${SWEFREQ_VERIFY_LOG:-}" ]; then
    "$tool" verify --db "$db" --manifest "$manifest" --json \
        >"$SWEFREQ_VERIFY_LOG.tmp"
    rc=$?
    mv -f "$SWEFREQ_VERIFY_LOG.tmp" "$SWEFREQ_VERIFY_LOG"
else
    "$tool" verify --db "$db" --manifest "$manifest" --json
    rc=$?
fi
exit $rc
