#!/usr/bin/env bash
# The shared library exports exactly the symbols listed in
# lib/exported-symbols.txt: an accidental export (a private function
# without `static` that slipped past the hidden visibility) or a removal
# (an ABI break: docs/api.md, "Versions and ABI") fails here.
#   exported_symbols.sh LIBRARY LIST
set -euo pipefail
lib=$1
list=$2
actual=$(nm -D --defined-only --format=posix "$lib" | awk '{print $1}' | LC_ALL=C sort -u)
expected=$(grep -v '^#' "$list" | sed '/^$/d' | LC_ALL=C sort -u)
if [ "$actual" != "$expected" ]; then
    echo "exported symbols of $lib differ from $list:"
    diff <(echo "$expected") <(echo "$actual") | sed -n 's/^> /  exported but not listed: /p; s/^< /  listed but not exported: /p'
    cat <<MSG

If you added a public function on purpose (SFL_API in include/swefreq/),
add its name to $list (one per line, sorted), e.g. regenerate the list with
  (sed -n '/^#/p' $list; nm -D --defined-only --format=posix $lib | awk '{print \$1}' | LC_ALL=C sort -u) > $list.new && mv $list.new $list
and review the diff. A symbol listed but no longer exported is a removal or
a rename: that breaks the ABI and needs a new major version (docs/api.md).
A symbol exported but not meant to be public needs 'static' or no SFL_API.
MSG
    exit 1
fi
bad=$(echo "$actual" | grep -v '^sfl_' || true)
if [ -n "$bad" ]; then
    echo "exported symbols without the sfl_ prefix: $bad"
    exit 1
fi
echo "exported symbols: $(echo "$actual" | wc -l), as listed in $list"
