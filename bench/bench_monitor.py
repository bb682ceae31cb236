#!/usr/bin/env python3
"""Monitoring benchmark: `vps ax` against plain `ps ax`, and `vserver-stat` (table, --json,
--prometheus), with COUNT running guests on the host.

The guests are real: the first is built with `vserver NAME build -m busybox`; the others are
copies of its tree and configuration (a build per guest costs O(guests), as it checks every
other guest's configuration). Each has its own copy of the host's static busybox, the
built-in minit as init, a static context (20000 + i) and a shared-stack address from 198.18.0.0/15, the range RFC 2544
sets aside for benchmarks (a shared-stack address is only a cgroup-BPF binding: nothing is
added to a device and nothing leaves the machine). Each is started with `vserver NAME start`,
in the bench's own configuration, vdir and run roots and cgroup parent (bench/run.sh makes
them, the roots on a tmpfs, and removes them). Afterwards every guest is stopped
(`stop --kill`); bench/run.sh's cleanup kills whatever is left through cgroup.kill and
removes the roots, also after an error or Ctrl-C.

Method: ROUNDS interleaved rounds (the order rotates every round), each command RUNS times
per round, timed with time.perf_counter() around subprocess.run() with stdout to /dev/null.
Reported: median, min, max (ms), and the median over rounds of (vps round median / ps round
median). A benchmark never passes or fails on a time.

Run as root through `bench/run.sh monitor [--count 1000]`.
"""
import argparse
import concurrent.futures as cf
import os
import shutil
import statistics as st
import subprocess
import sys
import time

ROOT = "/tmp/vs-bench-monitor"
RUNDIR = "/tmp/vs-bench-monitor-run"
CGROUP_PARENT = "vserver-bench-monitor"
PREFIX = "bm"
# Static contexts: a dynamic guest's first start looks for a running context of its name in
# the whole table (lib/guest/lifecycle.cc find_guest_context, O(guests)); a static one
# looks at its own xid only.
FIRST_XID = 20000
DN = subprocess.DEVNULL
# What `vserver NAME build -m busybox --interface ADDRESS` writes (lib/build/guest_build.cc).
CONFIG = """# Copied from bm0 by bench/bench_monitor.py (as `vserver {name} build -m busybox`).
context = {xid}

[uts]
nodename = "{name}"

{interfaces}[init]
style = "minit"

[build]
method = "busybox"
"""


def name(i):
    return f"{PREFIX}{i}"


def address(i):
    # 198.18.0.1 .. 198.19.255.254: 131070 distinct host addresses, none .0 or .255.
    n = i + 1
    hi, lo = divmod(n, 254)
    return f"198.{18 + hi // 256}.{hi % 256}.{lo + 1}/32"


def vserver(tools, *args, check=True):
    argv = [tools + "/vserver", "--confdir", ROOT + "/etc", "--vdirbase", ROOT + "/vservers",
            "--rundir", RUNDIR, "--cgroup-parent", CGROUP_PARENT, *args]
    p = subprocess.run(argv, stdin=DN, stdout=DN, stderr=subprocess.PIPE, text=True)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: exit {p.returncode}: {p.stderr.strip()}")
    return p.returncode


def in_parallel(fn, count, jobs, verbose, what):
    t0 = time.perf_counter()
    done = 0
    with cf.ThreadPoolExecutor(max_workers=jobs) as pool:
        for f in cf.as_completed([pool.submit(fn, i) for i in range(count)]):
            f.result()
            done += 1
            if verbose and done % 100 == 0:
                print(f"  {done} guests {what}", file=sys.stderr)
    return time.perf_counter() - t0


def run_rounds(cmds, rounds, runs, warmup):
    samples = {n: [] for n, _ in cmds}
    per_round = {n: [] for n, _ in cmds}
    for r in range(warmup + rounds):
        order = cmds[r % len(cmds):] + cmds[:r % len(cmds)]
        for n, argv in order:
            times = []
            for _ in range(runs):
                t0 = time.perf_counter()
                p = subprocess.run(argv, stdin=DN, stdout=DN)
                times.append((time.perf_counter() - t0) * 1000)
                if p.returncode != 0:
                    raise SystemExit(f"bench: {' '.join(argv)} exited {p.returncode}")
            if r >= warmup:
                samples[n] += times
                per_round[n].append(st.median(times))
    return samples, per_round


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=1000, help="running guests (default 1000)")
    ap.add_argument("--rounds", type=int, default=15, help="counted rounds (default 15)")
    ap.add_argument("--runs", type=int, default=5, help="runs per command per round (default 5)")
    ap.add_argument("--warmup", type=int, default=1, help="uncounted warm-up rounds (default 1)")
    ap.add_argument("--jobs", type=int, default=2, help="parallel builds and starts (default 2)")
    ap.add_argument("--build", default="build", help="meson build dir (default build)")
    ap.add_argument("--no-address", action="store_true",
                    help="guests without a shared-stack address (faster starts: each start "
                         "with one checks every running guest's addresses)")
    ap.add_argument("--vps-baseline", metavar="PATH",
                    help="also time `PATH ax` (another build's vps) and its ratio to ps ax")
    ap.add_argument("-v", "--verbose", action="store_true", help="progress on stderr")
    a = ap.parse_args()
    if a.count < 1 or FIRST_XID + a.count - 1 > 49151:  # static xids end at 49151
        raise SystemExit(f"bench: --count must be 1..{49152 - FIRST_XID}")
    tools = os.path.abspath(os.path.join(a.build, "tools"))
    os.environ["VSERVER_RUNDIR"] = RUNDIR
    os.environ["VSERVER_CGROUP_PARENT"] = CGROUP_PARENT
    started = set()

    def interfaces(i):
        if a.no_address:
            return ""
        return f'[[interfaces]]\naddress = "{address(i)}"\nmode = "shared"\n\n'

    def build(i):
        itf = [] if a.no_address else ["--interface", address(i)]
        vserver(tools, name(i), "build", "-m", "busybox", "--quiet", "--context",
                str(FIRST_XID + i), *itf)

    def copy(i):
        # What `build -m busybox` makes, without its check against every other guest's
        # configuration (O(guests) per build): guest 0's tree copied, its configuration
        # written with this guest's name and address. `start` still checks the live ones.
        shutil.copytree(os.path.join(ROOT, "vservers", name(0)),
                        os.path.join(ROOT, "vservers", name(i)), symlinks=True)
        cfg = os.path.join(ROOT, "etc", name(i))
        os.mkdir(cfg, 0o755)
        with open(os.path.join(cfg, "vserver.toml"), "w") as f:
            f.write(CONFIG.format(name=name(i), xid=FIRST_XID + i, interfaces=interfaces(i)))

    def start(i):
        vserver(tools, name(i), "start")
        started.add(i)

    def stop(i):
        vserver(tools, name(i), "stop", "--kill", check=False)

    try:
        t0 = time.perf_counter()
        build(0)
        build_s = time.perf_counter() - t0
        copy_s = in_parallel(lambda i: copy(i + 1), a.count - 1, a.jobs, a.verbose, "copied")
        start_s = in_parallel(start, a.count, a.jobs, a.verbose, "started")
        nproc = sum(1 for d in os.listdir("/proc") if d.isdigit())
        cmds = [("ps ax", ["ps", "ax"]),
                ("vps ax", [tools + "/vps", "ax"]),
                ("vserver-stat", [tools + "/vserver-stat"]),
                ("vserver-stat --json", [tools + "/vserver-stat", "--json"]),
                ("vserver-stat --prometheus", [tools + "/vserver-stat", "--prometheus"])]
        if a.vps_baseline:
            cmds.insert(2, ("vps ax (baseline)", [os.path.abspath(a.vps_baseline), "ax"]))
        samples, per_round = run_rounds(cmds, a.rounds, a.runs, a.warmup)
    finally:
        t0 = time.perf_counter()
        with cf.ThreadPoolExecutor(max_workers=a.jobs) as pool:
            list(pool.map(stop, sorted(started)))
        stop_s = time.perf_counter() - t0
    print(f"monitoring with {a.count} running guests ({nproc} processes on the host); "
          f"one built in {build_s:.2f} s, {a.count - 1} copied in {copy_s:.1f} s, started in {start_s:.1f} s, stopped in {stop_s:.1f} s "
          f"({a.jobs} at a time); {a.rounds} rounds x {a.runs} runs, ms")
    print(f"{'command':<28}{'median':>9}{'min':>9}{'max':>9}")
    for n, _ in cmds:
        s = samples[n]
        print(f"{n:<28}{st.median(s):9.1f}{min(s):9.1f}{max(s):9.1f}")
    for n in ("vps ax", "vps ax (baseline)"):
        if n not in samples:
            continue
        ratios = [v / p for v, p in zip(per_round[n], per_round["ps ax"])]
        print(f"{n} / ps ax: pooled {st.median(samples[n]) / st.median(samples['ps ax']):.2f}"
              f", median of round ratios {st.median(ratios):.2f}")


if __name__ == "__main__":
    main()
