#!/usr/bin/env bash
# Installs the library into a temporary prefix and builds a tiny program
# against it twice: with CMake's find_package(swefreq_load) and with
# pkg-config. usage: install_test.sh BUILD_DIR
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
echo "install test: 2 passed, 0 failed"
