#!/usr/bin/env bash
# live-verify.sh: the nightly deviation watch (cron or a systemd timer, see
# docs/deploy.md). Verifies the LIVE database against the manifest kept
# outside it: every document (count and digest per collection), every
# index, and that the database is live and sealed.
#
#   SWEFREQ_MONGO_URI=mongodb://web:...@live-db/ SWEFREQ_DB=swefreq \
#   SWEFREQ_LIVE_MANIFEST=/etc/swefreq/live-manifest.json \
#   [SWEFREQ_VERIFY_LOG=/var/log/swefreq/verify.json] deploy/live-verify.sh
#
# Exit 0: live equals the files. 5: a difference (a changed document, a
# missing or changed index, not sealed): alert. 9: not the live database
# (--expect-role live). 6/7: server unreachable / authentication failed.
# The JSON report (docs/deploy.md) goes to stdout or SWEFREQ_VERIFY_LOG.
# A read-only user is enough.
set -u
tool=${SWEFREQ_LOAD:-swefreq-load}
db=${SWEFREQ_DB:-swefreq}
manifest=${SWEFREQ_LIVE_MANIFEST:?set SWEFREQ_LIVE_MANIFEST}
: "${SWEFREQ_MONGO_URI:?set SWEFREQ_MONGO_URI to the live server}"
export SWEFREQ_EXPECT_ROLE=live

if [ -n "${SWEFREQ_VERIFY_LOG:-}" ]; then
    "$tool" verify --uri "$SWEFREQ_MONGO_URI" --db "$db" --manifest "$manifest" --json \
        >"$SWEFREQ_VERIFY_LOG.tmp"
    rc=$?
    mv -f "$SWEFREQ_VERIFY_LOG.tmp" "$SWEFREQ_VERIFY_LOG"
else
    "$tool" verify --uri "$SWEFREQ_MONGO_URI" --db "$db" --manifest "$manifest" --json
    rc=$?
fi
exit $rc
