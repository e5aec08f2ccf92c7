#!/usr/bin/env bash
# live-restore-and-promote.sh DUMP_DIR: the birth of a live database from
# a signed dump carried over from development. Run on the live system.
#
#   SWEFREQ_MONGO_URI_FILE=/etc/swefreq/live-loader.uri SWEFREQ_DB=swefreq \
#   SWEFREQ_TRUSTED_KEYS=/etc/swefreq/release.pub \
#   SWEFREQ_REFERENCE_DIR=/etc/swefreq/reference SWEFREQ_SERVER=live-db-2 \
#       deploy/live-restore-and-promote.sh /srv/transfer/swefreq
#
# The reference manifest of the nightly verify is kept per server and
# database: $SWEFREQ_REFERENCE_DIR/$SWEFREQ_SERVER/$SWEFREQ_DB/manifest.json
# (and its .sig), or SWEFREQ_LIVE_MANIFEST when that is set. A release to a
# new server (or into a new database) writes only its own reference, so the
# old live server's nightly verify keeps passing until it is retired (see
# "Releases" in docs/deploy.md).
#
# 0. the role is checked first (status, which only reads): pointed at the
#    development server, exit 9 before anything is read or written;
# 1. the dump's manifest.json and manifest.json.sig are copied into a
#    private temporary folder (removed at every exit; the copy never
#    follows a link nor waits on a FIFO, even one swapped in after the
#    check), and the dump is
#    verified against that copy: its signature by a trusted key
#    (SWEFREQ_TRUSTED_KEYS; unsigned, wrong or another key: exit 10), then
#    every file;
# 1b. the release must be newer than the newest reference this system
#    holds for the database (every server's, or SWEFREQ_LIVE_MANIFEST), or
#    be one of them byte for byte (the same release again): exit 9
#    otherwise, before anything is written; the floor is kept in the
#    operator's files, not only in the database an attacker may write;
# 2. restore --manifest the copy: restore reads the copy once and holds
#    the dump to it (the signature again, the release, every count and
#    digest), and the dump's own manifest.json must be the copy byte for
#    byte: a dump swapped after the checks above (for an older signed
#    release, say) is refused, exit 5, before anything is written; then
#    staging, verified, swapped in (a sealed database refuses it: exit 9;
#    unseal it first, with a reason, if this is the deliberate exception);
# 3. promote against the copy: a full verify, then live and sealed, with
#    the signer's key id and the manifest's SHA-256 recorded;
# 4. only then is the copy installed as this server's reference (a
#    temporary file in its folder, renamed; nothing is left behind when a
#    step fails, and an earlier reference stays as it was).
# A live server cloned at the volume level skips 1-2: run only promote
# with SWEFREQ_EXPECT_ROLE=development (the clone still carries that role).
set -eu
tool=${SWEFREQ_LOAD:-swefreq-load}
db=${SWEFREQ_DB:-swefreq}
dump=${1:?usage: live-restore-and-promote.sh DUMP_DIR}
if [ -n "${SWEFREQ_LIVE_MANIFEST:-}" ]; then
    ref=$SWEFREQ_LIVE_MANIFEST
else
    ref=${SWEFREQ_REFERENCE_DIR:?set SWEFREQ_REFERENCE_DIR and SWEFREQ_SERVER (or SWEFREQ_LIVE_MANIFEST)}/${SWEFREQ_SERVER:?set SWEFREQ_SERVER to the name of this server}/$db/manifest.json
fi
: "${SWEFREQ_TRUSTED_KEYS:?set SWEFREQ_TRUSTED_KEYS to the release public key(s), colon-separated}"
if [ -z "${SWEFREQ_MONGO_URI_FILE:-}${SWEFREQ_MONGO_URI:-}" ]; then
    echo "live-restore-and-promote.sh: set SWEFREQ_MONGO_URI_FILE (a file only you can read, holding the live server's URI) or SWEFREQ_MONGO_URI" >&2
    exit 2
fi
export SWEFREQ_EXPECT_ROLE=live SWEFREQ_TRUSTED_KEYS

# The manifest and its signature are copied before anything else reads
# them: only regular files, never a symbolic link (to /dev/zero, which
# would fill TMPDIR, or to a file outside the dump), a FIFO (which would
# block) or a device; at most 64 MiB (as swefreq-load reads).
refuse() {
    echo "live-restore-and-promote.sh: $1" >&2
    exit 3
}
check_file() {
    if [ ! -f "$1" ] || [ -L "$1" ]; then
        refuse "$1: not a regular file (a symbolic link, FIFO, device or folder); a dump's manifest.json and manifest.json.sig must be the files themselves"
    fi
}
# The check above gives a clear message for the usual mistakes; the copy
# itself is the step that must not be fooled by a swap after the check: dd
# opens the file without following a link (nofollow) and without waiting
# for a writer (nonblock: a FIFO swapped in gives an error or nothing, never
# a hang), reads at most 64 MiB + 1 byte, under a timeout.
copy_bounded() {
    check_file "$1"
    if ! timeout 60 dd if="$1" of="$2" bs=65536 count=1025 iflag=nonblock,nofollow \
        status=none 2>"$work/copy.err"; then
        refuse "$1: could not be copied as a regular file ($(tr '\n' ' ' <"$work/copy.err" | cut -c1-200)); a dump's manifest.json and manifest.json.sig must be the files themselves"
    fi
    local size
    size=$(wc -c <"$2")
    if [ "$size" -gt 67108864 ]; then
        refuse "$1: larger than 64 MiB: not a manifest"
    elif [ "$size" -eq 0 ]; then
        refuse "$1: empty when copied (an empty file, or no longer a regular file)"
    fi
}
check_file "$dump/manifest.json"
if [ -e "$dump/manifest.json.sig" ] || [ -L "$dump/manifest.json.sig" ]; then
    check_file "$dump/manifest.json.sig"
fi

"$tool" status --db "$db" >/dev/null

work=$(mktemp -d "${TMPDIR:-/tmp}/swefreq-release.XXXXXX")
tmpref=
trap 'rm -rf "$work"; [ -z "$tmpref" ] || rm -f "$tmpref" "$tmpref.sig"' EXIT
copy_bounded "$dump/manifest.json" "$work/manifest.json"
if [ -e "$dump/manifest.json.sig" ] || [ -L "$dump/manifest.json.sig" ]; then
    copy_bounded "$dump/manifest.json.sig" "$work/manifest.json.sig"
fi
"$tool" verify --dump "$dump" --manifest "$work/manifest.json"

# The replay floor kept outside the database. restore and promote refuse a
# release older than the one the database records, but that record lives
# in the database, which an attacker who can write to it can lower or
# remove (a new database records none); with the carried dump replaced by
# an older signed release, this script would restore and promote it and
# install it as the reference, and the nightly verify would pass. The
# references this system already holds for this database (every server's,
# or SWEFREQ_LIVE_MANIFEST) are the operator's files: the release must be
# newer than the newest of them, or byte for byte one of them (this release
# again, e.g. after a failed promote, or on a second server).
release_of() { # release_of FILE: the release number, "" for none; exit 3 when unreadable
    if ! grep -q '^  "release": {' "$1"; then
        return 0
    fi
    local n
    n=$(grep -A3 '^  "release": {' "$1" | sed -n 's/^    "number": \([1-9][0-9]\{0,17\}\),\{0,1\}$/\1/p' | head -n 1)
    [ -n "$n" ] || refuse "$1: its \"release\" number cannot be read (not a manifest written by export --release)"
    echo "$n"
}
new_release=$(release_of "$work/manifest.json")
floor= floor_file= same=
if [ -n "${SWEFREQ_LIVE_MANIFEST:-}" ]; then
    refs=("$ref")
else
    refs=("$SWEFREQ_REFERENCE_DIR"/*/"$db"/manifest.json)
fi
for r in "${refs[@]}"; do
    [ -f "$r" ] && [ ! -L "$r" ] || continue
    n=$(release_of "$r")
    if [ -n "$n" ] && { [ -z "$floor" ] || [ "$n" -gt "$floor" ]; }; then
        floor=$n floor_file=$r
    fi
    if cmp -s "$r" "$work/manifest.json"; then
        same=$r
    fi
done
if [ -n "$floor" ] && [ -z "$same" ]; then
    if [ -z "$new_release" ] || [ "$new_release" -le "$floor" ]; then
        echo "live-restore-and-promote.sh: $dump/manifest.json is ${new_release:+release $new_release}${new_release:-not numbered}, but the reference $floor_file is release $floor: only a newer release (or the same manifest again) is restored; nothing was changed (a replay of an older signed release?)" >&2
        exit 9
    fi
fi
"$tool" restore --db "$db" --dump "$dump" --manifest "$work/manifest.json"
"$tool" promote --db "$db" --manifest "$work/manifest.json"

mkdir -p "$(dirname "$ref")"
tmpref=$(mktemp "$(dirname "$ref")/.$(basename "$ref").XXXXXX")
cp "$work/manifest.json" "$tmpref"
cp "$work/manifest.json.sig" "$tmpref.sig"
chmod 0644 "$tmpref" "$tmpref.sig"
mv -f "$tmpref.sig" "$ref.sig"
mv -f "$tmpref" "$ref"
tmpref=
echo "live-restore-and-promote.sh: $db live and sealed; reference for the nightly verify: $ref" >&2
