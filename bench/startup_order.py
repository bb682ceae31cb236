#!/usr/bin/env python3
"""Make DIR/startup.order, the symbol order lld gives vserver's text, and configure the build
DIR to link with it (meson option startup_order_file). A profile of one build, like a PGO
profile: never committed. Run through `bench/run.sh order --build DIR` (bench-private roots).

Why: on this machine a page fault costs about 10 us and every first touch of a 64 KiB window
of text is one (the kernel's fault-around maps the rest of the window). Linked in archive
order, `vserver NAME start` touched 46 windows in the tool and 26 again in the guest's first
process (a new process maps text anew). With the code a start runs packed together, and the
guest's first process's code first, about 18 remain.

How: the functions a start, an exec and a stop run, from (1) sampling user-space time with
perf and (2) the text page faults themselves, repeated: each relink moves what was found,
and a function that shared a window with one of them faults in the next round. What the
guest's first process runs comes first: it maps the text anew. The file's own symbols are
kept after those (--fresh drops them), so that runs refine it. DIR must be a build of
vserver; it is configured with -Dstartup_order_file and relinked after every round."""
import argparse, bisect, os, subprocess, sys, tempfile

ap = argparse.ArgumentParser()
ap.add_argument("--build", required=True, help="meson build dir (vserver linked with lld)")
ap.add_argument("--order", help="the order file (default: DIR/startup.order)")
ap.add_argument("--rounds", type=int, default=60, help="start/exec/stop rounds sampled")
ap.add_argument("--iterations", type=int, default=6, help="fault-driven relinks")
ap.add_argument("--fresh", action="store_true", help="start from an empty order, not the file's")
a = ap.parse_args()
DN = subprocess.DEVNULL
build = os.path.abspath(a.build)
a.order = os.path.abspath(a.order or os.path.join(build, "startup.order"))
V = os.path.join(build, "tools", "vserver")
tmp = tempfile.mkdtemp(prefix="vs-order-")
data = os.path.join(tmp, "perf.data")


def sh(argv, **kw):
    r = subprocess.run(argv, stdin=DN, **kw)
    if r.returncode != 0:
        sys.exit(f"startup_order: {' '.join(argv)}: exit {r.returncode}")
    return r


def workload(rounds):
    """A shell loop: start, exec, stop; what vserver's own processes run is what we order."""
    one = f"{V} ord start && {V} ord exec /bin/true && {V} ord stop"
    return ["sh", "-c", f"for i in $(seq 1 {rounds}); do {one} || exit 1; done"]


def symbols():
    """(addresses, names) of the binary's text symbols, sorted, and .text's bounds."""
    out = sh(["nm", "-n", "--defined-only", V], capture_output=True, text=True).stdout
    syms = [(int(f[0], 16), f[2]) for f in (l.split() for l in out.splitlines())
            if len(f) == 3 and f[1] in "tTwWiI"]
    text = None
    for l in sh(["readelf", "-SW", V], capture_output=True, text=True).stdout.splitlines():
        f = l.replace("[ ", "[").split()
        if len(f) > 5 and f[1] == ".text":
            text = (int(f[3], 16), int(f[3], 16) + int(f[5], 16))
    if text is None:
        sys.exit("startup_order: no .text in " + V)
    return [s[0] for s in syms], [s[1] for s in syms], text


def events(record, rounds, field):
    """(pid, is the guest's first process, address) of each event of the vserver processes
    in a workload run. That process is the one renamed vserver-init (a COMM event)."""
    sh(["perf", "record", "-q"] + record + ["-o", data, "--"] + workload(rounds),
       stdout=DN, stderr=DN)
    out = sh(["perf", "script", "-i", data, "--show-task-events", "-F", "pid,comm," + field],
             stdout=subprocess.PIPE, text=True, stderr=DN).stdout
    inits, evs = set(), []
    for l in out.splitlines():
        if "PERF_RECORD_COMM" in l and "vserver-init:" in l:
            inits.add(l.split("vserver-init:")[1].split("/")[0])
            continue
        f = l.split()
        if len(f) >= 3 and f[0] in ("vserver", "vserver-init"):  # comm pid address
            try:
                evs.append((f[1], int(f[2], 16)))
            except ValueError:
                continue
    return [(pid, pid in inits, addr) for pid, addr in evs]


def classify(evs, into):
    """Adds the text symbols of evs to into["child"] (the guest's first process, the one
    that becomes vserver-init: a new process maps its text anew, so its code goes first and
    dense) or into["rest"], in first-seen order. Returns the number of text events."""
    addrs, names, text = symbols()
    n = 0
    for _, child, addr in evs:
        if not text[0] <= addr < text[1]:
            continue
        n += 1
        i = bisect.bisect_right(addrs, addr) - 1
        if i >= 0:
            into["child" if child else "rest"].append(names[i])
    return n


def sampled(into):
    classify(events(["-e", "cpu-clock:u", "-F", "40000"], a.rounds, "ip"), into)


def faulting(into):
    return classify(events(["-e", "page-faults", "-c", "1", "-d"], 5, "addr"), into) / 5


def write(order):
    with open(a.order, "w") as f:
        f.write("# The symbols `vserver NAME start|exec|stop` runs, placed first in vserver's\n"
                "# text by lld (meson option startup_order_file). Made by `bench/run.sh order` for\n"
                "# one build; see bench/startup_order.py.\n")
        f.write("\n".join(order) + "\n")


def relink():
    sh(["ninja", "-C", build, "tools/vserver"], stdout=DN)


try:
    sh([V, "ord", "build", "-m", "busybox", "-q", "--force"], stdout=DN)
    toml = os.path.join(os.environ["VSERVER_CONFDIR"], "ord", "vserver.toml")
    text = open(toml).read().replace(
        'style = "minit"', 'style = "minit"\ncommand = ["/bin/sleep", "infinity"]')
    open(toml, "w").write(text)
    found = {"child": [], "rest": []}
    if not a.fresh and os.path.exists(a.order):
        found["rest"] += [l.strip() for l in open(a.order) if l.strip() and not l.startswith("#")]

    def order():
        seen, out = set(), []
        for sym in found["child"] + found["rest"]:
            if sym not in seen:
                seen.add(sym)
                out.append(sym)
        return out

    if not os.path.exists(a.order):
        write([])
    sh(["meson", "configure", build, "-Dstartup_order_file=" + a.order], stdout=DN)
    relink()
    print(f"linked as is: {faulting(found):.0f} text page faults per start+exec+stop")
    sampled(found)
    for i in range(a.iterations):
        write(order())
        relink()
        per_round = faulting(found)
        print(f"round {i + 1}: {len(order())} symbols ordered, {per_round:.0f} text page faults")
    write(order())
    relink()
    print(f"wrote {a.order}: {len(order())} symbols")
finally:
    subprocess.run([V, "ord", "stop"], stdin=DN, stdout=DN, stderr=DN)
    subprocess.run([V, "ord", "delete", "--yes"], stdin=DN, stdout=DN, stderr=DN)
    subprocess.run(["rm", "-rf", tmp])
