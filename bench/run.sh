#!/bin/bash
# Benchmarks (never pass/fail on time): one-shot `/bin/true` in a fresh context, vcontext
# side by side with unshare (the floor) and, where installed, bwrap, crun and lxc-execute.
#
#   sudo bench/run.sh [--build build-gcc] [--rounds 40] [--runs 5] [--reference] [-v]
#   sudo bench/run.sh guests [--build DIR] [--rounds 30] [--density 50]
#
# `guests`: vserver start/stop/exec against the C floor of ../shared/anchors-bench (nsrun -d,
# kill, nsenter -a) and N guests started one after the other (bench_guests.py), in bench-private
# configuration, vdir and run roots under /tmp/vs-bench-guests.
#   sudo bench/run.sh density [--build DIR] [-n 50] [--repeat 3]
#      (memory per idle guest: ../shared/anchors-bench/bench_density.py for vserver beside crun,
#      lxc and the C floor, the same busybox payload for all; needs that directory's setup.sh
#      run once; see bench/bench_density.py)
#   sudo bench/run.sh order --build DIR [--rounds 60] [--iterations 6] [--fresh]
#      (makes DIR/startup.order from perf samples and text page faults of start/exec/stop
#      rounds and configures DIR with -Dstartup_order_file, relinking DIR's vserver after
#      each round; needs perf and lld; see bench/startup_order.py)
#   sudo bench/run.sh monitor [--build build] [--count 1000] [--rounds 15] [--jobs 2] [-v]
#      (builds and starts COUNT busybox guests with `vserver`, in its own roots on a tmpfs at
#      /tmp/vs-bench-monitor, run dir /tmp/vs-bench-monitor-run and cgroup parent
#      vserver-bench-monitor; times vps ax against ps ax, and vserver-stat; stops and removes
#      every guest afterwards)
#
# vcontext uses a bench-private run dir (/tmp/vs-bench-run) and cgroup parent (vserver-bench);
# both are removed afterwards, also when the benchmark fails or is interrupted.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here/.."

rundir=/tmp/vs-bench-run
cgparent=vserver-bench
mode=oneshot
if [ "${1:-}" = monitor ]; then
  # Its own run dir and cgroup parent: a one-shot benchmark may run at the same time.
  mode=monitor
  rundir=/tmp/vs-bench-monitor-run
  cgparent=vserver-bench-monitor
elif [ "${1:-}" = guests ] || [ "${1:-}" = order ] || [ "${1:-}" = density ]; then
  mode=$1
  rundir=/tmp/vs-bench-$1-run
  cgparent=vserver-bench-$1
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "bench: run as root (namespaces, cgroups)" >&2
  exit 2
fi
for tool in python3 unshare chroot busybox nsenter ip; do
  command -v "$tool" >/dev/null || { echo "bench: $tool not found" >&2; exit 2; }
done
if ! file -L "$(command -v busybox)" 2>/dev/null | grep -q 'statically linked' &&
   ! ldd "$(command -v busybox)" 2>&1 | grep -Eq 'not a dynamic executable|statically linked'; then
  echo "bench: busybox is not static (install busybox-static)" >&2
  exit 2
fi

cleanup() {
  # The netmode rows' network namespace (its bridge and any veth go with it).
  ip netns del vs-bench-net 2>/dev/null || true
  # Mounts under the run dir (its tmpfs, namespace pins), deepest first.
  local m
  while read -r m; do
    umount -l "$m" 2>/dev/null || echo "bench cleanup: umount $m failed" >&2
  done < <(awk -v d="$rundir" '$5 == d || index($5, d "/") == 1 { print $5 }' \
             /proc/self/mountinfo | sort -r)
  if awk -v d="$rundir" '$5 == d || index($5, d "/") == 1 { f = 1 } END { exit !f }' \
       /proc/self/mountinfo; then
    echo "bench cleanup: mounts remain under $rundir; not removing it" >&2
  else
    rm -rf "$rundir"
  fi
  # Context cgroups under the bench parent, children first, in every hierarchy.
  local d
  for d in /sys/fs/cgroup/*/"$cgparent" /sys/fs/cgroup/"$cgparent"; do
    [ -d "$d" ] || continue
    if [ "$mode" = monitor ]; then
      # Persistent contexts the monitor benchmark left behind: killed through cgroup.kill.
      for k in "$d"/*/cgroup.kill; do
        [ -e "$k" ] && echo 1 > "$k" 2>/dev/null
      done
      sleep 0.2
    fi
    find "$d" -depth -type d -exec rmdir {} + 2>/dev/null ||
      echo "bench cleanup: could not remove $d (processes left in it?)" >&2
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$mode" = guests ] || [ "$mode" = order ] || [ "$mode" = density ]; then
  shift
  build=build
  args=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --build) build=$2; shift 2 ;;
      *) args+=("$1"); shift ;;
    esac
  done
  groot=/tmp/vs-bench-$mode
  mkdir -p "$groot/etc" && mkdir -m 0700 -p "$groot/vservers"
  export VSERVER_CONFDIR=$groot/etc VSERVER_VDIRBASE=$groot/vservers VSERVER_RUNDIR=$rundir \
    VSERVER_CGROUP_PARENT=$cgparent
  trap 'cleanup; rm -rf "$groot"' EXIT
  if [ "$mode" = order ]; then
    if ! command -v perf >/dev/null; then
      echo "bench order: perf not found (apt-get install linux-perf)" >&2
      exit 2
    fi
    python3 "$here/startup_order.py" --build "$build" "${args[@]}"
  elif [ "$mode" = density ]; then
    python3 "$here/bench_density.py" --vserver "$(cd "$build" && pwd)/tools/vserver" "${args[@]}"
  else
    python3 "$here/bench_guests.py" --vserver "$(cd "$build" && pwd)/tools/vserver" "${args[@]}"
  fi
  exit
fi
if [ "$mode" = monitor ]; then
  shift
  # The guests' configurations and root trees: on a tmpfs of the bench's own (1000 busybox
  # copies are about 2 GiB of page cache; nothing reaches the disk), removed afterwards.
  mroot=/tmp/vs-bench-monitor
  monitor_cleanup() {
    cleanup
    if mountpoint -q "$mroot"; then
      umount "$mroot" 2>/dev/null || umount -l "$mroot" ||
        echo "bench cleanup: umount $mroot failed" >&2
    fi
    if ! mountpoint -q "$mroot"; then rm -rf "$mroot"; fi
  }
  trap monitor_cleanup EXIT
  mkdir -p "$mroot"
  mountpoint -q "$mroot" || mount -t tmpfs -o mode=0755,size=8g vs-bench-monitor "$mroot"
  mkdir -p "$mroot/etc" && mkdir -m 0700 -p "$mroot/vservers"
  python3 "$here/bench_monitor.py" "$@"
else
  python3 "$here/bench_oneshot.py" "$@"
fi
