#!/usr/bin/env python3
"""Guest lifecycle benchmarks (issue 6): `vserver NAME start|stop|exec` side by side with the C
floor of ../shared/anchors-bench (nsrun -d: clone + pivot_root + exec, detached; stop = an
external `kill -KILL` + wait; exec floor = `nsenter -t PID -a /bin/true`), interleaved rounds,
medians and ratios. Then density: N guests started one after the other, and stopped.

Payload as in the anchors: /bin/sleep infinity (the guest's init.command under the built-in
init). Guests are built into bench-private roots (VSERVER_CONFDIR/VDIRBASE/RUNDIR/
CGROUP_PARENT set by bench/run.sh). This script makes itself a child subreaper so guest inits
are reaped by it, as the anchors' harness does. Timings never pass or fail anything."""
import argparse, ctypes, os, shutil, signal, statistics as st, subprocess, sys, tempfile, time

ap = argparse.ArgumentParser()
ap.add_argument("--vserver", required=True, help="path of the vserver binary")
ap.add_argument("--rounds", type=int, default=30)
ap.add_argument("--density", type=int, default=50)
ap.add_argument("--anchors", default=os.path.join(os.path.dirname(__file__), "../../shared/anchors-bench"))
a = ap.parse_args()
DN = subprocess.DEVNULL

libc = ctypes.CDLL(None, use_errno=True)
PR_SET_CHILD_SUBREAPER = 36
libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def run(argv, **kw):
    r = subprocess.run(argv, stdin=DN, **kw)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: exit {r.returncode}")
    return r


def timed(argv, **kw):
    t0 = time.perf_counter()
    r = run(argv, **kw)
    return (time.perf_counter() - t0) * 1e3, r


def build(name, mark=None):
    run([V, name, "build", "-m", "busybox", "-q", "--force"], stdout=DN)
    toml = os.path.join(os.environ["VSERVER_CONFDIR"], name, "vserver.toml")
    init = 'style = "minit"\ncommand = ["/bin/sleep", "infinity"]'
    if mark:
        init += f'\nmark = "{mark}"'
    text = open(toml).read().replace('style = "minit"', init)
    open(toml, "w").write(text)


def wait_gone(pid):
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        reap()
        time.sleep(0.0002)


def fmt(v):
    return f"{st.median(v):7.2f} {min(v):7.2f} {max(v):7.2f}"


# The C floor, compiled from the anchors' source (not copied here).
nsrun = None
src = os.path.join(a.anchors, "c", "nsrun.c")
tmp = tempfile.mkdtemp(prefix="vs-bench-")
# The tools as installed (copied, as `meson install` does; the C floor too), not the
# linker's output: on this kernel the page cache of a freshly linked file maps slower (the
# same bytes took about 0.8 ms more per start here), which is no property of the tool.
V = os.path.join(tmp, "vserver")
for tool in ("vserver", "vserver-build", "vserver-boot"):
    built = os.path.join(os.path.dirname(a.vserver), tool)
    if os.path.exists(built):
        shutil.copy2(built, os.path.join(tmp, tool))
if os.path.exists(src) and shutil.which("cc"):
    nsrun = os.path.join(tmp, "nsrun")
    run(["cc", "-O2", "-o", nsrun + ".out", src])
    shutil.copy2(nsrun + ".out", nsrun)  # copied like ours
else:
    print(f"bench: {src} or cc missing: no C floor rows", file=sys.stderr)

print("building guests ...", file=sys.stderr)
build("lc")
build("ex")
build("floor")
rootfs = os.path.join(os.environ["VSERVER_VDIRBASE"], "floor")

# ---- start / stop ------------------------------------------------------------------------
S = {"vserver": [], "floor": []}
T = {"vserver": [], "floor": []}
for rd in range(-2, a.rounds):
    if nsrun:
        ms, r = timed([nsrun, "-d", rootfs, "/bin/sleep", "infinity"], stdout=subprocess.PIPE)
        pid = int(r.stdout)
        t0 = time.perf_counter()
        run(["kill", "-KILL", str(pid)])
        wait_gone(pid)
        stop = (time.perf_counter() - t0) * 1e3
        if rd >= 0:
            S["floor"].append(ms)
            T["floor"].append(stop)
    ms, _ = timed([V, "lc", "start"])
    ms2, _ = timed([V, "lc", "stop"])
    reap()
    if rd >= 0:
        S["vserver"].append(ms)
        T["vserver"].append(ms2)
print(f"\n## start / stop ({a.rounds} rounds, interleaved; wall ms: median min max)\n")
print(f"{'tool':28} {'start':>23} {'stop':>23}  start x floor  stop x floor")
for k, label in (("floor", "C nsrun -d / kill (floor)"), ("vserver", "vserver start / stop")):
    if not S[k]:
        continue
    rs = st.median(S[k]) / st.median(S["floor"]) if S["floor"] else float("nan")
    rt = st.median(T[k]) / st.median(T["floor"]) if T["floor"] else float("nan")
    print(f"{label:28} {fmt(S[k])} {fmt(T[k])}  {rs:12.2f}  {rt:12.2f}")

# ---- exec ------------------------------------------------------------------------------------
run([V, "ex", "start"])
init = int(subprocess.run([V, "ex", "status"], stdout=subprocess.PIPE, text=True).stdout
           .split("init pid ")[1].split(",")[0])
E = {"nsenter": [], "vserver": []}
for rd in range(-2, a.rounds):
    ms, _ = timed(["nsenter", "-t", str(init), "-a", "/bin/true"])
    ms2, _ = timed([V, "ex", "exec", "/bin/true"])
    if rd >= 0:
        E["nsenter"].append(ms)
        E["vserver"].append(ms2)
run([V, "ex", "stop"])
reap()
print(f"\n## exec /bin/true in a running guest ({a.rounds} rounds; wall ms: median min max)\n")
for k, label in (("nsenter", "nsenter -a (floor)"), ("vserver", "vserver exec")):
    print(f"{label:28} {fmt(E[k])}  x floor {st.median(E[k]) / st.median(E['nsenter']):.2f}")

# ---- density ---------------------------------------------------------------------------------
n = a.density
print(f"\nbuilding {n} guests ...", file=sys.stderr)
names = [f"d{i}" for i in range(n)]
for name in names:
    build(name, mark="bench")
t0 = time.perf_counter()
for name in names:
    run([V, name, "start"])
t1 = time.perf_counter()
hostns = os.readlink("/proc/self/ns/pid")
helpers = []  # processes of our binary in the host's pid namespace (guest inits are not)
for p in subprocess.run(["pgrep", "-f", "^" + V], stdout=subprocess.PIPE, text=True).stdout.split():
    try:
        if os.readlink(f"/proc/{p}/ns/pid") == hostns:
            helpers.append(p)
    except OSError:
        pass
t2 = time.perf_counter()
for name in names:
    run([V, name, "stop"])
t3 = time.perf_counter()
reap()
print(f"\n## density: {n} guests\n")
print(f"start all: {t1 - t0:.2f} s ({(t1 - t0) / n * 1e3:.1f} ms each); stop all: {t3 - t2:.2f} s; "
      f"host processes of ours while they ran: {len(helpers)}")
# The same guests as a boot starts them: vserver-boot, one `vserver NAME start` per guest,
# at most J at once (this machine has os.cpu_count() cores).
boot = os.path.normpath(os.path.join(os.path.dirname(V), "vserver-boot"))
if os.path.exists(boot):
    print(f"\n## density through vserver-boot --mark bench ({n} guests; {os.cpu_count()} cores)\n")
    for jobs in (1, 2, 4):
        t0 = time.perf_counter()
        run([boot, "start", "--mark", "bench", "-j", str(jobs)], stdout=DN)
        t1 = time.perf_counter()
        run([boot, "stop", "--mark", "bench", "-j", str(jobs)], stdout=DN)
        t2 = time.perf_counter()
        reap()
        print(f"-j {jobs}: start all {t1 - t0:.2f} s ({(t1 - t0) / n * 1e3:.1f} ms each); "
              f"stop all {t2 - t1:.2f} s")
for name in names + ["lc", "ex", "floor"]:
    subprocess.run([V, name, "delete", "--yes"], stdout=DN, stderr=DN)
shutil.rmtree(tmp, ignore_errors=True)
