#!/usr/bin/env bash
# The main job on the built-in defaults (/etc/vservers, /vservers, /run/vservers): build a
# guest from the busybox method, start it, run commands in it, list it (vserver --list,
# vserver-stat), stop it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
[ -d build-demo ] || meson setup build-demo -Dtests=false >/dev/null
ninja -C build-demo >/dev/null
V=build-demo/tools/vserver
guest=demo
run() { echo "+ $*"; "$@"; }

# A guest of that name left by an earlier run is stopped and rebuilt.
if $V $guest running 2>/dev/null; then run $V $guest stop; fi
force=()
[ -d /etc/vservers/$guest ] && force=(--force)
echo "== build a guest from the busybox method (configuration + root tree)"
run $V $guest build -m busybox "${force[@]}"
run $V $guest config
echo "== start it: the tool returns once the guest's init runs; no process of ours stays"
run $V $guest start
run $V $guest status
echo "== run commands inside: its own hostname, pid 1, root tree and capability bounds"
run $V $guest exec hostname
run $V $guest exec ps -o pid,user,comm
run $V $guest exec sh -c 'grep CapBnd /proc/self/status; ls /; exit 3' || echo "(exit status $? came through)"
echo "== every guest and its state; the running ones with their accounting"
run $V --list
run build-demo/tools/vserver-stat
echo "== stop it; nothing is left"
run $V $guest stop
run $V $guest status || true
run $V --list
