#!/usr/bin/env bash
# Installs the Debian 12 packages vserver needs to build, test and run (as root). The one
# list: scripts/demo.sh and .ci/run both call this.
set -euo pipefail
packages=(
  build-essential g++ clang lld meson ninja-build pkg-config python3
  libcap-dev libmount-dev libseccomp-dev libcli11-dev libtomlplusplus-dev libarchive-dev
  libgtest-dev googletest
  busybox-static util-linux iproute2 nftables procps groff-base openssl
  debootstrap
)
missing() {
  local p
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
  done
}
todo=$(missing)
[ -z "$todo" ] && exit 0
echo "install-deps: installing" $todo
export DEBIAN_FRONTEND=noninteractive
for attempt in 1 2 3; do
  apt-get -q update -o Dpkg::Use-Pty=0 >/dev/null && break
  [ "$attempt" -eq 3 ] && { echo "install-deps: apt-get update failed 3 times" >&2; exit 1; }
  sleep $((attempt * 10))
done
# shellcheck disable=SC2086
apt-get -q -y install --no-install-recommends -o Dpkg::Use-Pty=0 $todo >/dev/null
todo=$(missing)
if [ -n "$todo" ]; then
  echo "install-deps: still missing:" $todo >&2
  exit 1
fi
