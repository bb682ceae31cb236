#!/usr/bin/env python3
"""Memory per idle guest (issue 18): the anchors' density benchmark
(../shared/anchors-bench/bench_density.py: N guests running /bin/sleep infinity, started one
after the other; PSS of every process in the guests' pid namespaces and of the helper processes
a tool leaves on the host, per guest) for vserver side by side with crun, lxc and the C floor.

Every tool runs the same payload file: the anchors' busybox rootfs. vserver guests are minit
guests whose init.command is /bin/sleep infinity, with the rootfs's /bin bound read-only over
their own (fstab), so that the sleep of every guest maps the very pages crun's do; what remains
is vserver's own cost, the built-in init. crun refuses this hybrid cgroup host unless the
cgroup2 mount is hidden (the anchors' inns.sh), and vserver needs that mount: the two runs are
separate invocations of the same script. Figures never pass or fail anything."""
import argparse, os, re, subprocess, sys

ap = argparse.ArgumentParser()
ap.add_argument("--vserver", required=True, help="path of the vserver binary")
ap.add_argument("-n", type=int, default=50)
ap.add_argument("--repeat", type=int, default=3)
ap.add_argument("--anchors", default=os.path.join(os.path.dirname(__file__), "../../shared/anchors-bench"))
a = ap.parse_args()
V = a.vserver
anchors = os.path.abspath(a.anchors)
work = os.environ.get("ANCHORS_WORK", "/var/tmp/anchors")
rootfs = work + "/rootfs"
if not os.path.exists(rootfs + "/bin/busybox") or not os.path.exists(work + "/oci-sleep-nonet"):
    sys.exit(f"bench density: run {anchors}/setup.sh first (it makes {work})")

names = [f"d{i}" for i in range(a.n)]
print(f"building {a.n} guests ...", file=sys.stderr)
for name in names:
    subprocess.run([V, name, "build", "-m", "busybox", "-q", "--force"], check=True,
                   stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    conf = os.path.join(os.environ["VSERVER_CONFDIR"], name)
    toml = os.path.join(conf, "vserver.toml")
    text = open(toml).read().replace('style = "minit"',
                                     'style = "minit"\ncommand = ["/bin/sleep", "infinity"]')
    open(toml, "w").write(text)
    with open(os.path.join(conf, "fstab"), "w") as f:
        f.write(f"{rootfs}/bin /bin none bind,ro 0 0\n")


def density(cmd):
    r = subprocess.run(cmd, cwd=anchors, stdout=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        sys.exit(f"bench density: {' '.join(cmd)}: exit {r.returncode}")
    rows = [l for l in r.stdout.splitlines() if l.startswith("| ") and not l.startswith("| tool")]
    return r.stdout, {row.split("|")[1].strip(): row for row in rows}


base = ["python3", "bench_density.py", "-n", str(a.n), "--repeat", str(a.repeat)]
out_ref, ref = density(["./inns.sh"] + base + ["--only", r"^(crun|lxc|C nsrun -d \(floor\)) \[nonet\]$"])
extra = f"vserver|nonet|{V} {{id}} start|{V} {{id}} stop"
out_vs, vs = density(base + ["--only", r"^vserver \[nonet\]$", "--extra", extra])
for name in names:
    subprocess.run([V, name, "delete", "--yes"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

print(out_ref.split("\n| tool")[0])
header = "| tool" + out_ref.split("\n| tool")[1].split("\n")[0]
print(header)
print("|" + "---|" * (header.count("|") - 1))
for row in list(ref.values()) + list(vs.values()):
    print(row)


def col(row, i):
    return float(row.split("|")[i].strip())


# Columns of the anchors' table: 11 guest PSS/guest, 8 helper PSS/guest.
crun = ref.get("crun [nonet]")
mine = vs.get("vserver [nonet]")
if crun and mine:
    g_crun, g_vs = col(crun, 11), col(mine, 11)
    h_vs = col(mine, 8)
    print(f"\nguest PSS per guest: vserver {g_vs:.0f} KiB, crun {g_crun:.0f} KiB: "
          f"{g_vs / g_crun:.2f}x crun (target <= 1.25x); host helper PSS per guest: {h_vs:.0f} KiB")
