#!/usr/bin/env bash
# Installs the library and the CLI into a temporary prefix, then, each
# program run from a clean environment (env -i: no LD_LIBRARY_PATH, no
# PATH, as cron would):
#   - the installed CLI (its rpath finds the installed library, no ldconfig);
#   - a tiny program linked dynamically, with CMake's find_package and with
#     pkg-config;
#   - the same linked statically (libswefreq-load.a), with CMake's
#     find_package(... COMPONENTS static) and with pkg-config
#     (swefreq-load-static.pc).
# usage: install_test.sh BUILD_DIR [TESTDATA]
set -euo pipefail
build=$1
testdata=${2:-}
passed=0
pass() { passed=$((passed + 1)); echo "ok: $*"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
mkdir -p "$tmp/app"
cat > "$tmp/app/main.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <swefreq/swefreq.h>
int main(void)
{
    sfl_init();
    sfl_error_t err;
    sfl_job_t *job = sfl_job_new(NULL, &err);
    int ok = job != NULL && strcmp(sfl_version(), SFL_VERSION_STRING) == 0;
    sfl_job_destroy(job);
    sfl_cleanup();
    printf("linked swefreq-load %s\n", sfl_version());
    return ok ? 0 : 1;
}
C
cat > "$tmp/app/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.25)
project(app C)
find_package(swefreq_load REQUIRED)
add_executable(app main.c)
target_link_libraries(app PRIVATE swefreq::swefreq_load)
CM
# The CMake package must not need pkg-config on the user's machine.
cmake -S "$tmp/app" -B "$tmp/app/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" \
  -DPKG_CONFIG_EXECUTABLE=/nonexistent/pkg-config >/dev/null
cmake --build "$tmp/app/build" >/dev/null
libdir=$(dirname "$(find "$tmp/prefix" -name 'libswefreq-load.so*' | head -1)")
needs_so() { readelf -d "$1" | grep -q 'NEEDED.*libswefreq-load\.so'; }
# CMake gives the program a build rpath to the prefix: it runs as it is.
env -i "$tmp/app/build/app"
needs_so "$tmp/app/build/app"
pass "find_package, shared, env -i"

# The installed CLI, from a clean environment.
cli="$tmp/prefix/bin/swefreq-load"
env -i "$cli" --version | grep -q "swefreq-load"
if [ -n "$testdata" ]; then
  env -i "$cli" dump --dry-run --json --vcf "$testdata/exac_sample.vcf" > "$tmp/dry.json"
  grep -q '"records_read"' "$tmp/dry.json"
fi
pass "installed CLI, env -i (rpath $(readelf -d "$cli" | sed -n 's/.*R\(UN\)\?PATH.*\[\(.*\)\]/\2/p'))"

[ -f "$libdir/libswefreq-load.a" ] || { echo "install test: no libswefreq-load.a in $libdir"; exit 1; }
cat > "$tmp/app/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.25)
project(app C)
find_package(swefreq_load REQUIRED COMPONENTS static)
add_executable(app main.c)
target_link_libraries(app PRIVATE swefreq::swefreq_load_static)
CM
cmake -S "$tmp/app" -B "$tmp/app/build-static" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/app/build-static" >/dev/null
env -i "$tmp/app/build-static/app"
if needs_so "$tmp/app/build-static/app"; then
  echo "install test: the static build needs libswefreq-load.so"
  exit 1
fi
pass "find_package COMPONENTS static, env -i"

export PKG_CONFIG_PATH=$libdir/pkgconfig
# No public header includes a dependency, so nothing is a public Requires.
if [ -n "$(pkg-config --print-requires swefreq-load)" ]; then
  echo "install test: the .pc file has public Requires: $(pkg-config --print-requires swefreq-load)"
  exit 1
fi
cc "$tmp/app/main.c" $(pkg-config --cflags --libs swefreq-load) -o "$tmp/app/pc"
env -i LD_LIBRARY_PATH="$libdir" "$tmp/app/pc"
pass "pkg-config, shared (LD_LIBRARY_PATH only)"
# Static: swefreq-load-static.pc names the archive and its dependencies.
cc "$tmp/app/main.c" $(pkg-config --cflags --libs swefreq-load-static) -o "$tmp/app/pc-static"
env -i "$tmp/app/pc-static"
if needs_so "$tmp/app/pc-static"; then
  echo "install test: the pkg-config static build needs libswefreq-load.so"
  exit 1
fi
pass "pkg-config swefreq-load-static, env -i"
echo "install test: $passed passed, 0 failed"
