#!/usr/bin/env bash
# The README's test command: installs dependencies, builds with warnings as
# errors, and runs every CTest test (unit, integration, and mongo against
# the bundled FerretDB server when Go is present).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
BUILD=${BUILD:-build}
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSFL_WERROR=ON >/dev/null
cmake --build "$BUILD"
cd "$BUILD" && ctest --output-on-failure "$@"
