#!/usr/bin/env python3
"""Monitoring benchmark: `vps ax` against plain `ps ax`, and `vserver-stat` (table, --json,
--prometheus), with COUNT running contexts on the host.

Each context is made with `vcontext --create --persistent --namespaces mnt,uts,ipc` (a
shared-stack guest without its own pid namespace) running one `busybox sleep`, in the
bench-private run dir and cgroup parent; every context is killed (cgroup.kill) and released
afterwards, and bench/run.sh removes the run dir and the cgroups.

Method: ROUNDS interleaved rounds (the order rotates every round), each command RUNS times
per round, timed with time.perf_counter() around subprocess.run() with stdout to /dev/null.
Reported: median, min, max (ms), and the median over rounds of (vps round median / ps round
median). A benchmark never passes or fails on a time.

Run as root through `bench/run.sh monitor [--count 1000]`.
"""
import argparse
import os
import statistics as st
import subprocess
import sys
import time

RUNDIR = "/tmp/vs-bench-monitor-run"
CGROUP_PARENT = "vserver-bench-monitor"
FIRST_XID = 30000
DN = subprocess.DEVNULL


def v2_root():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            parts = line.split()
            sep = parts.index("-")
            if parts[sep + 1] == "cgroup2":
                return parts[4]
    raise SystemExit("bench: no cgroup2 hierarchy mounted")


def create(tools, count, verbose):
    t0 = time.perf_counter()
    for i in range(count):
        xid = FIRST_XID + i
        subprocess.run([tools + "/vcontext", "--create", "--persistent", "--silent", "--xid",
                        str(xid), "--namespaces", "mnt,uts,ipc", "--", "busybox", "sh", "-c",
                        "busybox sleep 1000000 </dev/null >/dev/null 2>&1 &"],
                       check=True, stdin=DN, stdout=DN)
        if verbose and (i + 1) % 100 == 0:
            print(f"  {i + 1} contexts", file=sys.stderr)
    return time.perf_counter() - t0


def destroy(tools, count):
    base = os.path.join(v2_root(), CGROUP_PARENT)
    for i in range(count):
        xid = FIRST_XID + i
        kill = os.path.join(base, str(xid), "cgroup.kill")
        try:
            with open(kill, "w") as f:
                f.write("1")
        except OSError:
            pass
    time.sleep(0.5)
    for i in range(count):
        subprocess.run([tools + "/vcontext", "--release", "--xid", str(FIRST_XID + i)],
                       stdin=DN, stdout=DN, stderr=DN)
    subprocess.run([tools + "/vcontext", "--list"], stdin=DN, stdout=DN, stderr=DN)


def run_rounds(cmds, rounds, runs, warmup):
    samples = {name: [] for name, _ in cmds}
    per_round = {name: [] for name, _ in cmds}
    for r in range(warmup + rounds):
        order = cmds[r % len(cmds):] + cmds[:r % len(cmds)]
        for name, argv in order:
            times = []
            for _ in range(runs):
                t0 = time.perf_counter()
                p = subprocess.run(argv, stdin=DN, stdout=DN)
                times.append((time.perf_counter() - t0) * 1000)
                if p.returncode != 0:
                    raise SystemExit(f"bench: {' '.join(argv)} exited {p.returncode}")
            if r >= warmup:
                samples[name] += times
                per_round[name].append(st.median(times))
    return samples, per_round


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=1000, help="running contexts (default 1000)")
    ap.add_argument("--rounds", type=int, default=10, help="counted rounds (default 10)")
    ap.add_argument("--runs", type=int, default=5, help="runs per command per round (default 5)")
    ap.add_argument("--warmup", type=int, default=1, help="uncounted warm-up rounds (default 1)")
    ap.add_argument("--build", default="build", help="meson build dir (default build)")
    ap.add_argument("-v", "--verbose", action="store_true", help="progress on stderr")
    a = ap.parse_args()
    tools = os.path.abspath(os.path.join(a.build, "tools"))
    os.environ["VSERVER_RUNDIR"] = RUNDIR
    os.environ["VSERVER_CGROUP_PARENT"] = CGROUP_PARENT
    try:
        secs = create(tools, a.count, a.verbose)
        nproc = sum(1 for d in os.listdir("/proc") if d.isdigit())
        cmds = [("ps ax", ["ps", "ax"]),
                ("vps ax", [tools + "/vps", "ax"]),
                ("vserver-stat", [tools + "/vserver-stat"]),
                ("vserver-stat --json", [tools + "/vserver-stat", "--json"]),
                ("vserver-stat --prometheus", [tools + "/vserver-stat", "--prometheus"])]
        samples, per_round = run_rounds(cmds, a.rounds, a.runs, a.warmup)
    finally:
        destroy(tools, a.count)
    print(f"monitoring with {a.count} contexts ({nproc} processes on the host; "
          f"contexts made in {secs:.1f} s); {a.rounds} rounds x {a.runs} runs, ms")
    print(f"{'command':<28}{'median':>9}{'min':>9}{'max':>9}")
    for name, _ in cmds:
        s = samples[name]
        print(f"{name:<28}{st.median(s):9.1f}{min(s):9.1f}{max(s):9.1f}")
    ratios = [v / p for v, p in zip(per_round["vps ax"], per_round["ps ax"])]
    print(f"vps ax / ps ax: pooled {st.median(samples['vps ax']) / st.median(samples['ps ax']):.2f}"
          f", median of round ratios {st.median(ratios):.2f}")


if __name__ == "__main__":
    main()
