#!/usr/bin/env python3
"""One-shot benchmark: run /bin/true in a fresh isolated context and wait for it.

Compares `vcontext --create -- /bin/true` with util-linux `unshare` (the floor every ratio is
relative to) and, where installed, bubblewrap, crun and lxc-execute. Two variants:

  nonet  vcontext default namespaces (mnt,pid,uts,ipc,cgroup) | unshare -fpmui | bwrap pid,uts,ipc
  net    vcontext --namespaces mnt,pid,uts,ipc,net             | unshare -fpmuin | bwrap + net

and a third, `netmode` (skip with --no-netmode): what a guest's network costs at start, each
row the same shape `vcontext --create --persistent X -- /bin/true; [chbind ...]; vcontext
--release X` (create, set up, tear down), in a bench-made network namespace (NETNS, with the
bridge vsbench0 made beforehand, as an administrator's would be), so nothing reaches the host:

  base      no net namespace, no binding (the floor of this variant)
  shared    + chbind --xid X --ip 10.199.0.1/24 (cgroup-BPF programs)
  netns     own net namespace, loopback only
  isolated  own net namespace + chbind --xid X --isolated --bridge vsbench0 --ip 10.199.0.2/24
            (veth pair, bridge port, address, route; teardown deletes the veth)

Method: ROUNDS interleaved rounds (the command order rotates each round); in every round each
command runs RUNS times, each run timed with time.perf_counter() around subprocess.run().
Two warm-up rounds are not counted. Reported per command: median, min, max (ms) of all samples,
the ratio of its pooled median to the floor's pooled median, and the median over rounds of
(round median / floor's round median), which is robust to drift on a shared machine.
A benchmark never passes or fails on a time: the exit status only says whether it could run.

Run as root through bench/run.sh, which also cleans up afterwards.
"""
import argparse
import ctypes
import os
import shutil
import statistics as st
import subprocess
import sys
import tempfile
import time

RUNDIR = "/tmp/vs-bench-run"
CGROUP_PARENT = "vserver-bench"
NETNS = "vs-bench-net"
BENCH_XID = "45001"
DN = subprocess.DEVNULL


def become_subreaper():
    """Processes orphaned by a tool (a daemonised helper, an init that outlives its parent)
    are reparented to us and reaped here, never left to PID 1."""
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_CHILD_SUBREAPER = 36
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "prctl(PR_SET_CHILD_SUBREAPER): " + os.strerror(err))


def reap():
    n = 0
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return n
        if pid == 0:
            return n
        n += 1


def mount_points():
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4].encode().decode("unicode_escape") for line in f]


def make_rootfs(top):
    """A minimal busybox-static guest root: bin/busybox and the applets the runs need."""
    root = os.path.join(top, "rootfs")
    for d in ("bin", "proc", "dev", "sys", "tmp", "etc", "root"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    busybox = shutil.which("busybox") or "/bin/busybox"
    shutil.copy2(busybox, os.path.join(root, "bin", "busybox"))
    for applet in ("true", "sh", "ps", "hostname"):
        os.symlink("busybox", os.path.join(root, "bin", applet))
    with open(os.path.join(root, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\n")
    os.chmod(os.path.join(root, "tmp"), 0o1777)
    return root


def crun_bundle(top, root, net):
    """An OCI bundle from `crun spec` (as root), running /bin/true in ROOT read-only."""
    import json
    bundle = os.path.join(top, "oci-" + ("net" if net else "nonet"))
    os.makedirs(bundle)
    subprocess.run(["crun", "spec"], cwd=bundle, check=True, stdout=DN, stderr=DN)
    path = os.path.join(bundle, "config.json")
    with open(path) as f:
        cfg = json.load(f)
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = ["/bin/true"]
    cfg["root"] = {"path": root, "readonly": True}
    if not net:
        ns = cfg["linux"]["namespaces"]
        cfg["linux"]["namespaces"] = [n for n in ns if n["type"] != "network"]
    with open(path, "w") as f:
        json.dump(cfg, f)
    return bundle


def lxc_config(top, root, net):
    lxcpath = os.path.join(top, "lxc")
    os.makedirs(lxcpath, exist_ok=True)
    conf = os.path.join(lxcpath, "bench-%s.conf" % ("net" if net else "nonet"))
    with open(conf, "w") as f:
        f.write("lxc.uts.name = guest\n"
                "lxc.rootfs.path = dir:%s\n"
                "lxc.mount.auto = proc:mixed sys:ro\n"
                "lxc.autodev = 1\n"
                "lxc.apparmor.profile = unconfined\n"
                "lxc.tty.max = 0\n"
                "lxc.console.path = none\n"
                "lxc.net.0.type = %s\n" % (root, "empty" if net else "none"))
    return lxcpath, conf


class Cmd:
    def __init__(self, variant, tool, argv, floor=False):
        self.variant, self.tool, self.argv, self.floor = variant, tool, argv, floor
        self.samples = []      # every timed run, ms
        self.rounds = []       # per-round median, ms
        self.failures = 0
        self.counter = 0       # for tools that need a fresh container name per run

    def render(self):
        return [a.replace("{n}", str(self.counter)) for a in self.argv]

    def label(self):
        return f"{self.variant} | {self.tool}"


def make_netns(notes):
    """The bench's network namespace with an existing bridge; False (and a note) if not."""
    cmds = [["ip", "netns", "add", NETNS],
            ["ip", "-n", NETNS, "link", "set", "lo", "up"],
            ["ip", "-n", NETNS, "link", "add", "vsbench0", "type", "bridge"],
            ["ip", "-n", NETNS, "link", "set", "vsbench0", "up"]]
    for c in cmds:
        r = subprocess.run(c, stdin=DN, stdout=DN, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            notes.append(f"netmode skipped: `{' '.join(c)}`: {r.stderr.strip()[:200]}")
            return False
    return True


def remove_netns():
    subprocess.run(["ip", "netns", "del", NETNS], stdin=DN, stdout=DN, stderr=DN)


def netmode_commands(a):
    tools = os.path.join(a.build, "tools")
    common = ["--rundir", RUNDIR, "--cgroup-parent", CGROUP_PARENT]
    vc = " ".join([os.path.join(tools, "vcontext")] + common)
    chbind = " ".join([os.path.join(tools, "chbind")] + common)
    x = BENCH_XID

    def row(tool, ns, setup, floor=False):
        script = (f"{vc} --create --persistent --silent --xid {x} --namespaces {ns} -- /bin/true"
                  f"{' && ' + setup if setup else ''} && {vc} --release --xid {x}")
        return Cmd("netmode", tool, ["nsenter", f"--net=/run/netns/{NETNS}", "/bin/sh", "-c",
                                     script], floor=floor)
    return [
        row("base: no net namespace, not bound", "mnt,pid,uts,ipc", "", floor=True),
        row("shared: + chbind --ip (cgroup-BPF)", "mnt,pid,uts,ipc",
            f"{chbind} --xid {x} --ip 10.199.0.1/24"),
        row("netns: own net namespace, loopback only", "mnt,pid,uts,ipc,net", ""),
        row("isolated: + chbind --isolated --bridge (veth)", "mnt,pid,uts,ipc,net",
            f"{chbind} --xid {x} --isolated --bridge vsbench0 --ip 10.199.0.2/24"),
    ]


def build_commands(a, top, root, notes):
    cmds = []
    vcontext = os.path.join(a.build, "tools", "vcontext")
    vc = [vcontext, "--rundir", RUNDIR, "--cgroup-parent", CGROUP_PARENT, "--silent", "--create"]
    have_vcontext = os.access(vcontext, os.X_OK)
    if not have_vcontext:
        notes.append(f"vcontext skipped: {vcontext} not found (build it: meson compile -C {a.build})")
    have_bwrap = shutil.which("bwrap") is not None
    if not have_bwrap:
        notes.append("bwrap skipped: not installed (Debian package bubblewrap)")
    have_crun = shutil.which("crun") is not None
    if not have_crun:
        notes.append("crun skipped: not installed")
    have_lxc = shutil.which("lxc-execute") is not None
    if not have_lxc:
        notes.append("lxc-execute skipped: not installed")

    for net in (False, True):
        v = "net" if net else "nonet"
        n = "n" if net else ""
        cmds.append(Cmd(v, "unshare (util-linux)",
                        ["unshare", f"-fpmui{n}", f"--mount-proc={root}/proc", "chroot", root,
                         "/bin/true"], floor=True))
        if have_vcontext:
            if net:
                cmds.append(Cmd(v, "vcontext --namespaces mnt,pid,uts,ipc,net",
                                vc + ["--namespaces", "mnt,pid,uts,ipc,net", "--", "/bin/true"]))
            else:
                cmds.append(Cmd(v, "vcontext (default namespaces)", vc + ["--", "/bin/true"]))
        if a.reference:
            # vcontext runs the host's /bin/true (no chroot); this row has the same payload.
            cmds.append(Cmd(v, "unshare, host /bin/true (no chroot)",
                            ["unshare", f"-fpmui{n}", "--mount-proc", "/bin/true"]))
        if have_bwrap:
            cmds.append(Cmd(v, "bwrap",
                            ["bwrap", "--bind", root, "/", "--proc", "/proc", "--dev", "/dev",
                             "--unshare-pid", "--unshare-uts", "--unshare-ipc"] +
                            (["--unshare-net"] if net else []) + ["/bin/true"]))
        if have_crun:
            try:
                bundle = crun_bundle(top, root, net)
                cmds.append(Cmd(v, "crun run", ["crun", "run", "--bundle", bundle,
                                                f"vs-bench-{v}-{{n}}"]))
            except (OSError, subprocess.CalledProcessError, KeyError) as e:
                notes.append(f"crun [{v}] skipped: could not make a bundle: {e}")
        if have_lxc:
            lxcpath, conf = lxc_config(top, root, net)
            cmds.append(Cmd(v, "lxc-execute", ["lxc-execute", "-P", lxcpath, "-n",
                                               f"vs-bench-{v}-{{n}}", "-f", conf, "--",
                                               "/bin/true"]))
    if a.netmode and have_vcontext and make_netns(notes):
        cmds += netmode_commands(a)
    return cmds


def check(cmds, notes):
    """Runs every command once; a command that fails is dropped with a note (never timed)."""
    ok = []
    for c in cmds:
        r = subprocess.run(c.render(), stdin=DN, stdout=DN, stderr=subprocess.PIPE, text=True)
        c.counter += 1
        reap()
        if r.returncode == 0:
            ok.append(c)
        elif c.floor:
            raise SystemExit(f"bench: the floor does not run: {' '.join(c.render())}: "
                             f"exit {r.returncode}: {r.stderr.strip()[:300]}")
        else:
            notes.append(f"{c.label()} skipped: exit {r.returncode}: "
                         f"{r.stderr.strip()[:300] or '(no message)'}")
    return ok


def run_rounds(cmds, rounds, runs, warmup, verbose):
    for rd in range(-warmup, rounds):
        k = rd % len(cmds)
        for c in cmds[k:] + cmds[:k]:
            times = []
            for _ in range(runs):
                argv = c.render()
                c.counter += 1
                t0 = time.perf_counter()
                r = subprocess.run(argv, stdin=DN, stdout=DN, stderr=DN)
                t1 = time.perf_counter()
                if r.returncode != 0:
                    c.failures += rd >= 0
                    continue
                times.append((t1 - t0) * 1e3)
            if rd >= 0 and times:
                c.samples += times
                c.rounds.append(st.median(times))
            elif rd >= 0:
                c.rounds.append(None)
        reap()
        if verbose:
            print(f"round {rd + 1}/{rounds}" if rd >= 0 else "warm-up", file=sys.stderr)


def report(cmds, a, notes, root):
    print(f"# one-shot: /bin/true in a fresh context\n")
    print(f"{a.rounds} rounds x {a.runs} runs per command (interleaved, order rotating; "
          f"{a.warmup} warm-up rounds not counted), wall ms per run (perf_counter around "
          f"subprocess.run). Ratios are to `unshare` of the same variant.\n")
    print("| variant | tool | median | min | max | x unshare (pooled medians) "
          "| x unshare (median of per-round ratios) | samples | failed |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    floors = {c.variant: c for c in cmds if c.floor}
    for c in cmds:
        f = floors[c.variant]
        if not c.samples:
            print(f"| {c.variant} | {c.tool} | - | - | - | - | - | 0 | {c.failures} |")
            continue
        med = st.median(c.samples)
        pooled = med / st.median(f.samples) if f.samples else float("nan")
        per_round = [x / y for x, y in zip(c.rounds, f.rounds) if x is not None and y]
        r2 = st.median(per_round) if per_round else float("nan")
        print(f"| {c.variant} | {c.tool} | {med:.2f} | {min(c.samples):.2f} | "
              f"{max(c.samples):.2f} | {pooled:.2f} | {r2:.2f} | {len(c.samples)} | "
              f"{c.failures} |")
    print("\ncommands (ROOT = a busybox-static rootfs made for this run):")
    for c in cmds:
        print(f"- [{c.variant}] {c.tool}: `{' '.join(c.argv).replace(root, 'ROOT')}`")
    print("\nnotes:")
    print("- vcontext runs the host's /bin/true (dynamically linked) without a chroot; unshare "
          "and bwrap run busybox's static /bin/true in ROOT. Pass --reference for an unshare "
          "row with vcontext's payload.")
    print("- vcontext's default namespaces include cgroup (mnt,pid,uts,ipc,cgroup); "
          "unshare -fpmui does not make a cgroup namespace.")
    if any(c.variant == "netmode" for c in cmds):
        print("- netmode rows: three tool runs each (create a persistent context running "
              "/bin/true, set up its network, release = reap + teardown), through nsenter "
              "into a bench network namespace; ratios are to the `base` row. The network's "
              "own cost is a row minus `base` (shared, netns) or minus `netns` (isolated).")
    for n in notes:
        print(f"- {n}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=40, help="counted rounds (default 40)")
    ap.add_argument("--runs", type=int, default=5, help="runs per command per round (default 5)")
    ap.add_argument("--warmup", type=int, default=2, help="uncounted warm-up rounds (default 2)")
    ap.add_argument("--build", default="build-gcc",
                    help="meson build dir with tools/vcontext (default build-gcc)")
    ap.add_argument("--reference", action="store_true",
                    help="add an `unshare ... /bin/true` row without chroot (vcontext's payload)")
    ap.add_argument("--no-netmode", dest="netmode", action="store_false",
                    help="skip the shared vs isolated network rows")
    ap.add_argument("--keep-rootfs", action="store_true", help="do not remove the temp rootfs")
    ap.add_argument("-v", "--verbose", action="store_true", help="print progress on stderr")
    a = ap.parse_args()
    if a.rounds < 1 or a.runs < 1 or a.warmup < 0:
        ap.error("--rounds and --runs must be >= 1, --warmup >= 0")
    if os.geteuid() != 0:
        raise SystemExit("bench: run as root (namespaces, cgroups)")
    become_subreaper()
    top = tempfile.mkdtemp(prefix="vs-bench-")
    notes = []
    try:
        root = make_rootfs(top)
        cmds = build_commands(a, top, root, notes)
        cmds = check(cmds, notes)
        run_rounds(cmds, a.rounds, a.runs, a.warmup, a.verbose)
        report(cmds, a, notes, root)
    finally:
        reap()
        remove_netns()
        if a.keep_rootfs:
            print(f"(rootfs kept in {top})", file=sys.stderr)
        elif any(m == top or m.startswith(top + "/") for m in mount_points()):
            print(f"bench: {top} still has mounts; not removing it", file=sys.stderr)
        else:
            shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    main()
