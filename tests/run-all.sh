#!/bin/bash
# Runs the whole test suite, as CI does: builds with g++ and clang++ (-Werror both), runs every
# suite of the g++ build (unit, integration, e2e; as root) and the unit suite of the clang++
# build, then checks that
#   1. every skipped test case (the "SKIPPED: <Suite.Test> — <reason>" lines the test mains
#      print) and every skipped meson test is listed in tests/expected-skips.txt,
#   2. no test left a cgroup (/sys/fs/cgroup/*/vserver-test-*) or a mount under
#      /tmp/vserver-test-* behind.
# Exit status: 0 only if everything built, passed and checked out. Re-runnable: existing build
# directories are reconfigured, not recreated.
#
#   sudo tests/run-all.sh            # from anywhere inside the source tree
#   VS_CLANG_SUITES=all sudo tests/run-all.sh   # run every suite with the clang++ build too
#   VS_DEBOOTSTRAP=0 sudo tests/run-all.sh      # leave out the debootstrap suite (no mirror)
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$src"

build_gcc=build-gcc
build_clang=build-clang
expected_skips=tests/expected-skips.txt
failed=()

note() { printf '\n=== %s\n' "$*"; }
fail() {
  printf 'run-all: FAIL: %s\n' "$*" >&2
  failed+=("$*")
}

if [ "$(id -u)" -ne 0 ]; then
  echo "run-all: the integration and e2e suites need root; run as root (sudo $0)." >&2
  echo "run-all: for the unit tests alone: meson setup build && meson test -C build --suite unit" >&2
  exit 2
fi

# setup DIR CXX: configure (or reconfigure) a build directory with -Werror.
setup() {
  local dir=$1 cxx=$2
  if [ -f "$dir/meson-private/coredata.dat" ]; then
    meson setup --reconfigure -Dwerror=true "$dir"
  else
    CXX=$cxx meson setup -Dwerror=true "$dir"
  fi
}

note "configure + build: g++ ($build_gcc)"
setup "$build_gcc" g++
meson compile -C "$build_gcc"

note "configure + build: clang++ ($build_clang)"
setup "$build_clang" clang++
meson compile -C "$build_clang"

# From here on, keep going after a failure so the skip and leak checks always run.
# The debootstrap suite downloads a guest from a Debian mirror: it runs on its own below.
note "meson test -C $build_gcc (all suites but debootstrap)"
if ! meson test -C "$build_gcc" --print-errorlogs --no-suite debootstrap; then
  fail "meson test -C $build_gcc"
fi

if [ "${VS_DEBOOTSTRAP:-1}" != 0 ]; then
  note "meson test -C $build_gcc --suite debootstrap (network: a Debian mirror; VS_DEBOOTSTRAP=0 skips)"
  # --logbase keeps the main run's testlog (which the skip check reads) intact.
  if ! meson test -C "$build_gcc" --print-errorlogs --suite debootstrap --logbase testlog-debootstrap; then
    fail "meson test -C $build_gcc --suite debootstrap"
  fi
fi

clang_args=(--suite unit)
[ "${VS_CLANG_SUITES:-unit}" = all ] && clang_args=(--no-suite debootstrap)
note "meson test -C $build_clang ${clang_args[*]:-(all suites)}"
if ! meson test -C "$build_clang" --print-errorlogs "${clang_args[@]}"; then
  fail "meson test -C $build_clang"
fi

# --- skip check ----------------------------------------------------------------------------
# expected-skips.txt: "Suite.Test  reason" per line (a gtest case), or "test:NAME  reason" for a
# whole meson test that may report SKIP (NAME as meson prints it after "suite / ").
note "skip check against $expected_skips"
declare -A allowed=()
if [ -f "$expected_skips" ]; then
  lineno=0
  while IFS= read -r line || [ -n "$line" ]; do
    lineno=$((lineno + 1))
    line=${line%%#*}
    read -r name reason <<<"$line" || true
    [ -z "${name:-}" ] && continue
    if [ -z "${reason:-}" ]; then
      fail "$expected_skips:$lineno: \`$name\` has no reason (format: Suite.Test  reason)"
    fi
    allowed[$name]=1
  done <"$expected_skips"
else
  fail "$expected_skips is missing"
fi

# The logs of every meson test run above (path without .txt/.json).
logs=("$build_gcc/meson-logs/testlog" "$build_clang/meson-logs/testlog")
[ "${VS_DEBOOTSTRAP:-1}" != 0 ] && logs+=("$build_gcc/meson-logs/testlog-debootstrap")
unexpected=0
for logbase in "${logs[@]}"; do
  dir=${logbase%/meson-logs/*}
  log=$logbase.txt
  json=$logbase.json
  if [ ! -f "$log" ] || [ ! -f "$json" ]; then
    fail "no test log $log (did meson test run?)"
    continue
  fi
  # gtest cases that skipped (printed by tests/support/skip_listener.h or the root test main).
  while IFS= read -r line; do
    rest=${line#SKIPPED: }
    name=${rest%% *}
    if [ -n "${allowed[$name]:-}" ]; then
      echo "expected skip: $rest"
    else
      echo "UNEXPECTED SKIP ($dir): $rest" >&2
      unexpected=$((unexpected + 1))
    fi
  done < <(grep -a '^SKIPPED: ' "$log" | sort -u || true)
  # Whole meson tests that reported SKIP (exit 77).
  while IFS= read -r name; do
    short=${name##* / }
    if [ -n "${allowed[test:$name]:-}" ] || [ -n "${allowed[test:$short]:-}" ]; then
      echo "expected skip of meson test: $name"
    else
      echo "UNEXPECTED SKIP of meson test ($dir): $name" >&2
      unexpected=$((unexpected + 1))
    fi
  done < <(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    line = line.strip()
    if line:
        t = json.loads(line)
        if t.get("result") == "SKIP":
            print(t["name"])
' "$json")
done
if [ "$unexpected" -ne 0 ]; then
  fail "$unexpected unexpected skip(s); fix the cause or list them in $expected_skips with a reason"
fi

# --- leak check ----------------------------------------------------------------------------
note "leak check"
shopt -s nullglob
leaked_cgroups=(/sys/fs/cgroup/*/vserver-test-* /sys/fs/cgroup/vserver-test-*)
shopt -u nullglob
for d in "${leaked_cgroups[@]}"; do
  [ -d "$d" ] || continue
  fail "cgroup left behind: $d (remove with: find $d -depth -type d -exec rmdir {} +)"
done
while IFS= read -r mnt; do
  fail "mount left behind: $mnt (remove with: umount -l $mnt)"
done < <(awk '$5 ~ "^/tmp/vserver-test-" { print $5 }' /proc/self/mountinfo)

# --- totals ----------------------------------------------------------------------------------
# The gtest binaries print "[  PASSED  ] N tests." and "[  FAILED  ] N tests, listed below:";
# add them up over every run into one plain closing line.
passed=0
failed_cases=0
for logbase in "${logs[@]}"; do
  log=$logbase.txt
  [ -f "$log" ] || continue
  # (grep finds nothing when no case failed; `|| true` keeps pipefail from ending the script.)
  p=$({ grep -aoE '^\[  PASSED  \] [0-9]+ test' "$log" || true; } | awk '{s += $4} END {print s + 0}')
  f=$({ grep -aoE '^\[  FAILED  \] [0-9]+ tests?, listed below' "$log" || true; } |
    awk '{s += $4} END {print s + 0}')
  passed=$((passed + p))
  failed_cases=$((failed_cases + f))
done

echo
if [ "${#failed[@]}" -ne 0 ]; then
  echo "run-all: ${#failed[@]} problem(s):"
  printf '  - %s\n' "${failed[@]}"
  echo "$passed passed, $failed_cases failed"
  exit 1
fi
echo "run-all: OK (g++ and clang++ built with -Werror, all tests passed, no unexpected skips, no leaks)"
echo "$passed passed, 0 failed"
