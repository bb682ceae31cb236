#!/usr/bin/env bash
# The main job, until guests exist: build, then create a context, look inside, kill it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
[ -d build-demo ] || meson setup build-demo -Dtests=false >/dev/null
ninja -C build-demo >/dev/null
T=build-demo/tools
xid=4242
run() { echo "+ $*"; "$@"; }

echo "== a context runs sleep under its own init, with its own hostname, ipc and pids"
$T/vcontext --create --xid $xid -- sh -c 'hostname demo-ctx; exec sleep 300' &
creator=$!
for _ in $(seq 100); do [ -e /run/vservers/$xid/state ] && break; sleep 0.05; done
run $T/vcontext --list
run $T/vcontext --migrate --xid $xid -- ps -o pid,comm
run $T/vcontext --migrate --xid $xid -- hostname
run $T/vuname --xid $xid --get
echo "== a sealed context (--endsetup): the guest bounding set, seccomp, no new user namespace"
run $T/vcontext --create --silent --xid 4243 --endsetup -- \
  sh -c 'grep CapBnd /proc/self/status; unshare -U true 2>/dev/null || echo "unshare -U: refused"'
echo "== kill every process of the context at once; nothing is left"
run $T/vkill --xid $xid -s KILL
wait "$creator" || echo "(the creator reports the command's end: exit $?)"
run $T/vcontext --list
test ! -e /run/vservers/$xid && echo "context $xid is gone: no pins, no cgroups"
