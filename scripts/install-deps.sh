#!/usr/bin/env bash
# Installs the Debian 12 packages vserver needs to build, test and run (as root).
set -euo pipefail
packages=(
  build-essential g++ clang meson ninja-build pkg-config
  libcap-dev libmount-dev libseccomp-dev libcli11-dev libtomlplusplus-dev
  libgtest-dev googletest busybox-static util-linux iproute2 procps groff-base
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
