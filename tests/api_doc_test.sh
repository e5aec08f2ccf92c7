#!/usr/bin/env bash
# docs/api.md's complete program, exactly as the page shows it: extracted
# from its first ```c block, built with warnings as errors against the
# build tree's headers and shared library, and run on the sample VCF: it
# must convert, verify and exit 0.
#   api_doc_test.sh SOURCE_DIR BUILD_DIR TESTDATA [CC]
set -euo pipefail
src=$1 build=$2 td=$3 cc=${4:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk '/^```c$/ && !done {on=1; next} /^```$/ && on {on=0; done=1} on' "$src/docs/api.md" > "$tmp/example.c"
[ -s "$tmp/example.c" ] || { echo "no \`\`\`c block in docs/api.md"; exit 1; }
lib=$(dirname "$(find "$build/lib" -maxdepth 1 -name 'libswefreq-load.so' | head -1)")
"$cc" -std=c11 -Wall -Wextra -Werror -I"$src/include" -I"$build/lib/include" "$tmp/example.c" \
  -L"$lib" -lswefreq-load -Wl,-rpath,"$lib" -o "$tmp/example"
set +e
"$tmp/example" "$td/exac_sample.vcf" "$tmp/dump" > "$tmp/out" 2> "$tmp/err"
rc=$?
set -e
if [ $rc -ne 0 ] || ! grep -q "the dump equals its manifest" "$tmp/out" ||
   [ ! -f "$tmp/dump/example/variants.bson" ]; then
  cat "$tmp/out" "$tmp/err"
  echo "api doc example: exit $rc"
  exit 1
fi
# A bad source: the message names the file, exit 1.
set +e
"$tmp/example" "$tmp/missing.vcf" "$tmp/dump2" > /dev/null 2> "$tmp/err"
rc=$?
set -e
[ $rc -eq 1 ] && grep -q "missing.vcf" "$tmp/err" || { cat "$tmp/err"; echo "bad source: exit $rc"; exit 1; }
echo "api doc example: built from docs/api.md, converted and verified $(cat "$tmp/out")"
