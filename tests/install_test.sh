#!/usr/bin/env bash
# Installs the library into a temporary prefix and builds a tiny program
# against it twice: with CMake's find_package(swefreq_load) and with
# pkg-config. Then README's "Installing" steps: the installed binary run
# from an environment as bare as cron's (env -i PATH=/usr/bin:/bin); when
# it does not find its shared library there (no rpath), `ldconfig` with the
# prefix's library folder listed must make it run (exercised in a private
# mount namespace with its own /etc/ld.so.cache, so the host's cache is
# never touched; skipped, saying so, where no namespace can be made).
# usage: install_test.sh BUILD_DIR
set -euo pipefail
build=$1
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
LD_LIBRARY_PATH=$libdir "$tmp/app/build/app"
export PKG_CONFIG_PATH=$libdir/pkgconfig
# No public header includes a dependency, so nothing is a public Requires.
if [ -n "$(pkg-config --print-requires swefreq-load)" ]; then
  echo "install test: the .pc file has public Requires: $(pkg-config --print-requires swefreq-load)"
  exit 1
fi
cc "$tmp/app/main.c" $(pkg-config --cflags --libs swefreq-load) -o "$tmp/app/pc"
LD_LIBRARY_PATH=$libdir "$tmp/app/pc"
passed=2

bin=$tmp/prefix/bin/swefreq-load
[ -x "$bin" ] || { echo "install test: no $bin"; exit 1; }
if out=$(env -i PATH=/usr/bin:/bin "$bin" --version 2>&1); then
  echo "install test: $bin runs from a clean environment: $out"
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
          exec env -i PATH=/usr/bin:/bin "$2" --version' sh "$tmp/ld.so.cache" "$bin" 2>&1) || {
      echo "install test: after ldconfig the installed binary still fails: $out"; exit 1; }
    case $out in "swefreq-load "*) ;; *) echo "install test: --version printed: $out"; exit 1 ;; esac
    echo "install test: after ldconfig it runs from a clean environment: $out"
  fi
fi
passed=$((passed + 1))
echo "install test: $passed passed, 0 failed"
