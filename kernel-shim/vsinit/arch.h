/* Raw system calls and the process entry point of vsinit, for x86_64 and aarch64 only. No
 * libc: every call returns the kernel's value, -errno on failure. */
#ifndef VSINIT_ARCH_H
#define VSINIT_ARCH_H

#if defined(__x86_64__)

#define NR_read 0
#define NR_write 1
#define NR_close 3
#define NR_rt_sigaction 13
#define NR_rt_sigprocmask 14
#define NR_clone 56
#define NR_getpid 39
#define NR_execve 59
#define NR_wait4 61
#define NR_kill 62
#define NR_fcntl 72
#define NR_rt_sigtimedwait 128
#define NR_prctl 157
#define NR_clock_gettime 228
#define NR_exit_group 231
#define NR_pipe2 293
#define NR_close_range 436

static inline __attribute__((always_inline)) long sys6(long n, long a, long b, long c, long d,
                                                       long e, long f) {
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}

static inline __attribute__((always_inline)) long sys3(long n, long a, long b, long c) {
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a), "S"(b), "d"(c)
                   : "rcx", "r11", "memory");
  return ret;
}

/* The kernel starts us with %rsp at argc; the ABI wants a 16-byte aligned stack before the
 * call (which pushes the return address). */
#define VSINIT_ENTRY(main_fn)                      \
  __asm__(".text\n"                                \
          ".global _start\n"                       \
          ".type _start,@function\n"               \
          "_start:\n"                              \
          "  xor %ebp, %ebp\n"                     \
          "  mov %rsp, %rdi\n"                     \
          "  and $-16, %rsp\n"                     \
          "  call " #main_fn "\n"                  \
          "  hlt\n"                                \
          ".size _start, .-_start\n")

#elif defined(__aarch64__)

#define NR_fcntl 25
#define NR_close 57
#define NR_pipe2 59
#define NR_read 63
#define NR_write 64
#define NR_exit_group 94
#define NR_clock_gettime 113
#define NR_kill 129
#define NR_getpid 172
#define NR_rt_sigaction 134
#define NR_rt_sigprocmask 135
#define NR_rt_sigtimedwait 137
#define NR_prctl 167
#define NR_clone 220
#define NR_execve 221
#define NR_wait4 260
#define NR_close_range 436

static inline __attribute__((always_inline)) long sys6(long n, long a, long b, long c, long d,
                                                       long e, long f) {
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  register long x4 __asm__("x4") = e;
  register long x5 __asm__("x5") = f;
  __asm__ volatile("svc 0"
                   : "+r"(x0)
                   : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                   : "memory");
  return x0;
}

static inline __attribute__((always_inline)) long sys3(long n, long a, long b, long c) {
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
  return x0;
}

/* The kernel starts us with sp at argc, already 16-byte aligned. */
#define VSINIT_ENTRY(main_fn)                      \
  __asm__(".text\n"                                \
          ".global _start\n"                       \
          ".type _start,%function\n"               \
          "_start:\n"                              \
          "  mov x29, #0\n"                        \
          "  mov x30, #0\n"                        \
          "  mov x0, sp\n"                         \
          "  bl " #main_fn "\n"                    \
          "  brk #0\n"                             \
          ".size _start, .-_start\n")

#else
#error "vsinit: no system call glue for this architecture (x86_64 and aarch64 only)"
#endif

#endif /* VSINIT_ARCH_H */
