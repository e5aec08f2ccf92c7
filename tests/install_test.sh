#!/usr/bin/env bash
# Installs the library and the CLI into a temporary prefix, then, each
# program run from a clean environment (env -i: no LD_LIBRARY_PATH, and
# PATH=/usr/bin:/bin at most, as cron would):
#   - the installed CLI: with its rpath (the default) it finds the installed
#     library as it is, no ldconfig; built with -DSFL_INSTALL_RPATH=OFF it
#     must fail for want of the library until `ldconfig` lists the prefix's
#     library folder (README's "Installing"; exercised in a private mount
#     namespace with its own /etc/ld.so.cache, so the host's cache is never
#     touched; skipped, saying so, where no namespace can be made);
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

# The installed CLI, from an environment as bare as cron's.
cli="$tmp/prefix/bin/swefreq-load"
[ -x "$cli" ] || { echo "install test: no $cli"; exit 1; }
rpath=$(readelf -d "$cli" | sed -n 's/.*R\(UN\)\?PATH.*\[\(.*\)\]/\2/p')
if [ -n "$rpath" ]; then
  env -i PATH=/usr/bin:/bin "$cli" --version | grep -q "swefreq-load"
  if [ -n "$testdata" ]; then
    env -i "$cli" dump --dry-run --json --vcf "$testdata/exac_sample.vcf" > "$tmp/dry.json"
    grep -q '"records_read"' "$tmp/dry.json"
  fi
  pass "installed CLI, env -i (rpath $rpath)"
else
  # -DSFL_INSTALL_RPATH=OFF: README's ldconfig step.
  if out=$(env -i PATH=/usr/bin:/bin "$cli" --version 2>&1); then
    echo "install test: $cli runs from a clean environment: $out"
  else
    case $out in
    *"error while loading shared libraries"*libswefreq-load*)
      echo "install test: without ldconfig, as README says: $out" ;;
    *) echo "install test: the installed binary fails otherwise: $out"; exit 1 ;;
    esac
    printf 'include /etc/ld.so.conf\n%s\n' "$libdir" >"$tmp/ld.so.conf"
    ldconfig -X -C "$tmp/ld.so.cache" -f "$tmp/ld.so.conf"
    ns=()
    if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
      ns=(unshare -m)
    elif unshare -r -m true 2>/dev/null; then
      ns=(unshare -r -m)
    fi
    if [ ${#ns[@]} -eq 0 ]; then
      echo "install test: no mount namespace here: the ldconfig step was not exercised"
    else
      out=$("${ns[@]}" sh -c 'mount --bind "$1" /etc/ld.so.cache &&
            exec env -i PATH=/usr/bin:/bin "$2" --version' sh "$tmp/ld.so.cache" "$cli" 2>&1) || {
        echo "install test: after ldconfig the installed binary still fails: $out"; exit 1; }
      case $out in "swefreq-load "*) ;; *) echo "install test: --version printed: $out"; exit 1 ;; esac
      echo "install test: after ldconfig it runs from a clean environment: $out"
    fi
  fi
  pass "installed CLI without rpath (-DSFL_INSTALL_RPATH=OFF), ldconfig"
fi

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
