#!/usr/bin/env bash
# Installs what swefreq-load needs to build and test on Debian (bookworm):
# the C toolchain, CMake, Ninja, htslib, mongo-c-driver, libbson, xxhash,
# zlib, OpenSSL's libcrypto (digests, signatures) and the openssl tool (tests), bgzip/bcftools (tests, bench), pymongo (bench) and numpy (the metrics
# are tested against numpy.histogram). Go (for the
# MongoDB test server) comes with the machine. Skips apt when all is there.
set -euo pipefail
pkgs=(build-essential cmake ninja-build pkg-config libhts-dev libmongoc-dev libbson-dev
      libxxhash-dev zlib1g-dev libssl-dev openssl tabix bcftools python3 python3-pymongo python3-numpy time)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "deps: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
