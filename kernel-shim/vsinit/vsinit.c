/* vsinit: the guest-side helper of vserver (kernel-shim/helper.h says why it exists).
 *
 * Freestanding C, no libc, no allocation, no writable globals: a static-pie of one text page
 * whose every byte of state lives on the stack, so that an idle guest init costs a few pages
 * of its own and the last image before a guest's command is never a host binary.
 *
 *   vserver-init [-r FD] [-k MS] [-s] [-t TITLE] -- [COMMAND ARGS...]
 *   vserver-exec [-r FD] -- COMMAND ARGS...
 *
 * Any other argv[0] (the kernel running us as the interpreter of a `#!/proc/self/exe` script
 * is the case that matters) is refused with a line on stderr and exit code 126, as are bad
 * options and init mode in a process that is not pid 1. The exec report on FD is a native
 * int: the errno of a failed exec (then exit 127; without FD a line on stderr), or, in init
 * mode, 0 once the command's exec is past its point of no return.
 */
#include "arch.h"

typedef unsigned long size_t;

/* The same numbers on x86_64 and aarch64 (asm-generic). */
enum {
  kENOENT = 2, kENOEXEC = 8, kECHILD = 10, kEACCES = 13, kENODEV = 19, kENOTDIR = 20,
  kENAMETOOLONG = 36, kETIMEDOUT = 110, kESTALE = 116,
};

enum {
  kSIGHUP = 1, kSIGINT = 2, kSIGQUIT = 3, kSIGKILL = 9, kSIGUSR1 = 10, kSIGUSR2 = 12,
  kSIGTERM = 15, kSIGCHLD = 17, kSIGCONT = 18, kSIGWINCH = 28, kSIGPWR = 30,
  kNSIG = 64,
};

enum {
  kPR_SET_NAME = 15, kPR_SET_DUMPABLE = 4, kF_SETFD = 2, kFD_CLOEXEC = 1,
  kO_NONBLOCK = 04000, kO_CLOEXEC = 02000000, kCLONE_VFORK = 0x4000, kWNOHANG = 1,
  kCLOCK_MONOTONIC = 1, kSIG_SETMASK = 2, kSIG_BLOCK = 0, kNAME_MAX = 255,
};

#define SIGBIT(s) (1UL << ((s)-1))

/* What init takes with rt_sigtimedwait (blocked, so queued even for a pid-namespace init). */
#define kInitSignals                                                                        \
  (SIGBIT(kSIGHUP) | SIGBIT(kSIGINT) | SIGBIT(kSIGQUIT) | SIGBIT(kSIGTERM) |                \
   SIGBIT(kSIGUSR1) | SIGBIT(kSIGUSR2) | SIGBIT(kSIGWINCH) | SIGBIT(kSIGCONT) |             \
   SIGBIT(kSIGCHLD) | SIGBIT(kSIGPWR))
/* What stops a staying init. */
#define kStopSignals (SIGBIT(kSIGTERM) | SIGBIT(kSIGINT) | SIGBIT(kSIGPWR))

struct kernel_sigaction {
  void* handler;
  unsigned long flags;
  void* restorer;
  unsigned long mask;
};

struct timespec64 {
  long sec;
  long nsec;
};

/* gcc may emit calls to these for struct copies even when freestanding. The build passes
 * -fno-tree-loop-distribute-patterns so these loops do not turn into calls to themselves. */
void* memset(void* d, int c, size_t n) {
  unsigned char* p = d;
  while (n--) *p++ = (unsigned char)c;
  return d;
}
void* memcpy(void* d, const void* s, size_t n) {
  unsigned char* p = d;
  const unsigned char* q = s;
  while (n--) *p++ = *q++;
  return d;
}

static size_t str_len(const char* s) {
  size_t n = 0;
  while (s[n]) ++n;
  return n;
}

static int str_eq(const char* a, const char* b) {
  while (*a && *a == *b) ++a, ++b;
  return *a == *b;
}

static __attribute__((noreturn)) void exit_now(int code) {
  for (;;) sys3(NR_exit_group, code, 0, 0);
}

/* "vsinit: ABCD\n" on fd 2 (parts may be NULL), cut at 255 bytes. */
static void say(const char* a, const char* b, const char* c, const char* d) {
  char buf[256];
  size_t n = 0;
  const char* parts[5] = {"vsinit: ", a, b, c, d};
  for (int i = 0; i < 5; ++i) {
    for (const char* s = parts[i]; s && *s && n < sizeof buf - 1; ++s) buf[n++] = *s;
  }
  buf[n++] = '\n';
  sys3(NR_write, 2, (long)buf, (long)n);
}

/* The program is not what was asked for: exit 126. */
static __attribute__((noreturn)) void refuse(const char* what, const char* arg) {
  say(what, arg, 0, 0);
  exit_now(126);
}

/* A decimal without sign, blanks or overflow past `max`; -1 if it is none. */
static long parse_number(const char* s, long max) {
  long v = 0;
  if (!s || !*s) return -1;
  for (; *s; ++s) {
    if (*s < '0' || *s > '9') return -1;
    v = v * 10 + (*s - '0');
    if (v > max) return -1;
  }
  return v;
}

static void report(int fd, int value) {
  if (fd >= 0) sys3(NR_write, fd, (long)&value, sizeof value);
}

/* The command cannot be exec'd: its errno on the report fd, or said on stderr where nobody
 * reads a report; exit 127. */
static __attribute__((noreturn)) void exec_failed(int report_fd, int err, const char* cmd) {
  if (report_fd >= 0) {
    report(report_fd, err);
  } else {
    char num[16];
    char* p = num + sizeof num;
    *--p = 0;
    do *--p = (char)('0' + err % 10); while ((err /= 10) > 0 && p > num);
    say("cannot exec ", cmd, ": errno ", p);
  }
  exit_now(127);
}

static const char* get_env(char** envp, const char* name) {
  for (; *envp; ++envp) {
    const char* e = *envp;
    const char* n = name;
    while (*n && *e == *n) ++e, ++n;
    if (!*n && *e == '=') return e + 1;
  }
  return 0;
}

/* Signals as the command should find them: none blocked, every disposition the default (a
 * caller's SIG_IGN would survive exec). SIGKILL and SIGSTOP refuse the call; that is fine. */
static void reset_dispositions(void) {
  struct kernel_sigaction sa = {0, 0, 0, 0};
  for (long sig = 1; sig <= kNSIG; ++sig) {
    sys6(NR_rt_sigaction, sig, (long)&sa, 0, sizeof sa.mask, 0, 0);
  }
}

static void set_mask(int how, unsigned long mask) {
  sys6(NR_rt_sigprocmask, how, (long)&mask, 0, sizeof mask, 0, 0);
}

/* execve, and for a file the kernel does not know how to run, `/bin/sh FILE ARGS...` as
 * glibc does. argv[-1] is ours to borrow (the `--` before the command). Returns errno. */
static int try_exec(const char* path, char** argv, char** envp) {
  long r = sys3(NR_execve, (long)path, (long)argv, (long)envp);
  if (r != -kENOEXEC) return (int)-r;
  char* saved_dash = argv[-1];
  char* saved_zero = argv[0];
  argv[-1] = "/bin/sh";
  argv[0] = (char*)path;
  r = sys3(NR_execve, (long)argv[-1], (long)(argv - 1), (long)envp);
  argv[-1] = saved_dash;
  argv[0] = saved_zero;
  return (int)-r;
}

/* execvp with glibc's semantics: a name with a '/' is run as it is; else each entry of PATH
 * (default "/bin:/usr/bin"; an empty entry is the current directory) until one runs. Missing
 * or unreachable candidates go on to the next entry; EACCES is remembered and returned if no
 * other succeeded; any other error ends the search. Returns errno. */
static int exec_command(char** argv, char** envp) {
  const char* file = argv[0];
  if (!*file) return kENOENT;
  for (const char* s = file; *s; ++s) {
    if (*s == '/') return try_exec(file, argv, envp);
  }
  size_t file_len = str_len(file);
  if (file_len > kNAME_MAX) return kENAMETOOLONG;
  const char* path = get_env(envp, "PATH");
  if (!path) path = "/bin:/usr/bin";
  char buf[4096 + kNAME_MAX + 2];
  int got_eacces = 0;
  int err = kENOENT;
  for (const char* p = path;;) {
    const char* end = p;
    while (*end && *end != ':') ++end;
    size_t dir_len = (size_t)(end - p);
    if (dir_len <= 4096) {
      size_t n = 0;
      for (const char* d = p; d < end; ++d) buf[n++] = *d;
      if (dir_len) buf[n++] = '/';
      for (size_t i = 0; i <= file_len; ++i) buf[n++] = file[i];
      err = try_exec(buf, argv, envp);
      switch (err) {
        case kEACCES:
          got_eacces = 1;
          break;
        case kENOENT:
        case kESTALE:
        case kENOTDIR:
        case kENODEV:
        case kETIMEDOUT:
          break;
        default:
          return err;
      }
    }
    if (!*end) break;
    p = end + 1;
  }
  return got_eacces ? kEACCES : err;
}

static long now_ms(void) {
  struct timespec64 ts = {0, 0};
  sys3(NR_clock_gettime, kCLOCK_MONOTONIC, (long)&ts, 0);
  return ts.sec * 1000 + ts.nsec / 1000000;
}

/* What /proc/PID/cmdline shows: the kernel reads a process's argument area (the strings the
 * exec copied, from argv[0] to the end of the last one) as NUL-separated strings, unless the
 * area's last byte is no NUL (setproctitle's mark): then it shows the area up to its first
 * NUL (fs/proc/base.c, get_mm_cmdline and get_mm_proctitle). So TITLE, NULs, and a blank in
 * the last byte. Called once the command runs with its own copy of the area, so nothing of
 * it needs saving first. */
static void set_title(char** argv, int argc, const char* title) {
  char* start = argv[0];
  char* end = argv[argc - 1] + str_len(argv[argc - 1]) + 1;
  size_t len = (size_t)(end - start);
  if (len < 2) return;
  size_t n = str_len(title);
  if (n > len - 2) n = len - 2;
  /* TITLE may be one of our own arguments, never before `start`: copying forward is safe. */
  for (size_t i = 0; i < n; ++i) start[i] = title[i];
  for (char* p = start + n; p < end - 1; ++p) *p = 0;
  end[-1] = ' ';
}

struct InitOptions {
  int report_fd;
  int stays;
  long kill_after_ms;
  const char* title;
  char** cmd;  /* NULL: none */
};

/* Starts the command as a vfork-like child of its own (no CLONE_VM: copy-on-write, so plain
 * C runs in it): init sleeps until the child's exec passed its point of no return or the
 * child exited. An exec error comes back through a close-on-exec pipe that is full before the
 * child lets go of its memory, so init reads it without blocking. Returns the pid, or exits
 * 127 after reporting the error. */
static int start_command(const struct InitOptions* o, char** envp) {
  int pipe_fds[2];
  long r = sys3(NR_pipe2, (long)pipe_fds, kO_CLOEXEC | kO_NONBLOCK, 0);
  if (r < 0) exec_failed(o->report_fd, (int)-r, o->cmd[0]);
  long pid = sys6(NR_clone, kCLONE_VFORK | kSIGCHLD, 0, 0, 0, 0, 0);
  if (pid == 0) {
    set_mask(kSIG_SETMASK, 0);
    int err = exec_command(o->cmd, envp);
    sys3(NR_write, pipe_fds[1], (long)&err, sizeof err);
    exit_now(127);
  }
  sys3(NR_close, pipe_fds[1], 0, 0);
  int err = 0;
  if (pid < 0) {
    err = (int)-pid;
  } else if (sys3(NR_read, pipe_fds[0], (long)&err, sizeof err) != sizeof err) {
    err = 0;
  }
  sys3(NR_close, pipe_fds[0], 0, 0);
  if (err != 0) exec_failed(o->report_fd, err, o->cmd[0]);
  return (int)pid;
}

static __attribute__((noreturn)) void run_init(const struct InitOptions* o, char** argv,
                                               int argc, char** envp) {
  /* kill(-1) of a process that is no pid-namespace init would reach the whole machine. */
  if (sys3(NR_getpid, 0, 0, 0) != 1) refuse("vserver-init runs as pid 1 only", "");
  sys6(NR_prctl, kPR_SET_NAME, (long)"vserver-init", 0, 0, 0, 0);
  if (o->report_fd >= 0 && sys3(NR_fcntl, o->report_fd, kF_SETFD, kFD_CLOEXEC) < 0) {
    refuse("bad report fd", "");
  }
  set_mask(kSIG_BLOCK, kInitSignals);
  int cmd = o->cmd ? start_command(o, envp) : 0;
  /* The command has its own copy of the argument area now: ours may become the title. */
  set_title(argv, argc, o->title);
  report(o->report_fd, 0);
  /* Init keeps nothing beyond stdio: not the report channel, nothing of its creator. */
  if (sys3(NR_close_range, 3, ~0U, 0) < 0 && o->report_fd >= 0) {
    sys3(NR_close, o->report_fd, 0, 0);
  }

  unsigned long set = kInitSignals;
  int stopping = 0;
  int killed = 0;
  long deadline = 0;
  for (;;) {
    long siginfo[16];
    struct timespec64 ts;
    struct timespec64* timeout = 0;
    if (stopping && !killed) {
      long left = deadline - now_ms();
      if (left <= 0) {
        sys3(NR_kill, -1, kSIGKILL, 0); /* everybody in the namespace but init */
        killed = 1;
        continue;
      }
      ts.sec = left / 1000;
      ts.nsec = (left % 1000) * 1000000;
      timeout = &ts;
    }
    long sig = sys6(NR_rt_sigtimedwait, (long)&set, (long)siginfo, (long)timeout, sizeof set,
                    0, 0);
    if (sig < 0) continue; /* -EAGAIN: the deadline; -EINTR */
    if (sig != kSIGCHLD) {
      if (o->stays && (SIGBIT(sig) & kStopSignals)) {
        if (!stopping) {
          stopping = 1;
          deadline = now_ms() + o->kill_after_ms;
          sys3(NR_kill, -1, kSIGTERM, 0);
        }
      } else {
        if (cmd > 0) sys3(NR_kill, cmd, sig, 0);
        continue;
      }
    }
    for (;;) {
      int status = 0;
      long pid = sys6(NR_wait4, -1, (long)&status, kWNOHANG, 0, 0, 0);
      if (pid == -kECHILD && stopping) exit_now(0);
      if (pid <= 0) break;
      if (pid != cmd) continue;
      cmd = 0;
      if (!o->stays) {
        /* The kernel kills the rest of the namespace when init exits. */
        exit_now((status & 0x7f) ? 128 + (status & 0x7f) : (status >> 8) & 0xff);
      }
    }
  }
}

/* Options before `--`; returns the index of the command (argc: none). */
static int parse_options(int argc, char** argv, int init_mode, struct InitOptions* o) {
  int i = 1;
  for (; i < argc; ++i) {
    const char* a = argv[i];
    if (str_eq(a, "--")) return i + 1;
    if (str_eq(a, "-s") && init_mode) {
      o->stays = 1;
      continue;
    }
    int takes_value = str_eq(a, "-r") || (init_mode && (str_eq(a, "-k") || str_eq(a, "-t")));
    if (!takes_value) refuse("unknown option ", a);
    if (i + 1 >= argc) refuse("missing value for ", a);
    const char* v = argv[++i];
    if (a[1] == 'r') {
      o->report_fd = (int)parse_number(v, 0x7fffffff);
      if (o->report_fd < 0) refuse("bad report fd ", v);
    } else if (a[1] == 'k') {
      o->kill_after_ms = parse_number(v, 0xffffffffL);
      if (o->kill_after_ms < 0) refuse("bad kill-after milliseconds ", v);
    } else {
      o->title = v;
    }
  }
  return i;
}

__attribute__((noreturn, used)) void vsinit_main(long* sp) {
  int argc = (int)sp[0];
  char** argv = (char**)(sp + 1);
  char** envp = argv + argc + 1;
  /* First of all: a guest's root must not ptrace us nor open our /proc/PID/{exe,mem,fd}. */
  sys6(NR_prctl, kPR_SET_DUMPABLE, 0, 0, 0, 0, 0);
  int init_mode;
  if (argc > 0 && str_eq(argv[0], "vserver-init")) {
    init_mode = 1;
  } else if (argc > 0 && str_eq(argv[0], "vserver-exec")) {
    init_mode = 0;
  } else {
    refuse("this is vserver's guest helper, not a program to run: argv[0] is ",
           argc > 0 ? argv[0] : "missing");
  }
  struct InitOptions o = {-1, 0, 5000, "vserver-init", 0};
  int first = parse_options(argc, argv, init_mode, &o);
  if (first < argc) o.cmd = argv + first;
  if (!o.cmd && !(init_mode && o.stays)) refuse("missing command after ", "--");
  reset_dispositions();
  if (init_mode) run_init(&o, argv, argc, envp);

  if (o.report_fd >= 0 && sys3(NR_fcntl, o.report_fd, kF_SETFD, kFD_CLOEXEC) < 0) {
    refuse("bad report fd", "");
  }
  set_mask(kSIG_SETMASK, 0);
  exec_failed(o.report_fd, exec_command(o.cmd, envp), o.cmd[0]);
}

VSINIT_ENTRY(vsinit_main);
