/* LD_PRELOAD shim: the process sees an AVX2-only x86 CPU (no AVX-512, VNNI, AVX-VNNI, BF16, FP16, AMX).

   Approximates a CPU without bf16 or VNNI (e.g. a Zen 2/3 AMD EPYC) on a newer Intel host, for
   ONNX Runtime (MLAS), oneDNN, MKL and torch, which all pick their kernels from CPUID.  Uses Linux
   CPUID faulting (flag "cpuid_fault" in /proc/cpuinfo): every CPUID instruction traps to SIGSEGV,
   the handler runs the real CPUID with faulting briefly off and clears the feature bits.
   Only for benchmarks: it owns SIGSEGV (no Python faulthandler), and the timings it gives are of
   AVX2 code on this host's cores, not of an EPYC.

   gcc -O2 -shared -fPIC -o /tmp/avx2_only.so benchmarks/avx2_only.c
   LD_PRELOAD=/tmp/avx2_only.so python benchmarks/quantization.py ...
*/
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <cpuid.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#define BIT(n) (1u << (n))

static long set_cpuid(int enabled) { return syscall(SYS_arch_prctl, ARCH_SET_CPUID, enabled); }

static void on_segv(int sig, siginfo_t *info, void *ctx) {
    ucontext_t *uc = ctx;
    greg_t *r = uc->uc_mcontext.gregs;
    const unsigned char *ip = (const unsigned char *)r[REG_RIP];
    (void)info;
    if (ip[0] != 0x0f || ip[1] != 0xa2) {  /* a real crash: let it happen */
        signal(sig, SIG_DFL);
        return;
    }
    unsigned leaf = (unsigned)r[REG_RAX], sub = (unsigned)r[REG_RCX], a, b, c, d;
    set_cpuid(1);
    __cpuid_count(leaf, sub, a, b, c, d);
    set_cpuid(0);
    if (leaf == 7 && sub == 0) {
        b &= ~(BIT(16) | BIT(17) | BIT(21) | BIT(26) | BIT(27) | BIT(28) | BIT(30) | BIT(31)); /* AVX-512 F DQ IFMA PF ER CD BW VL */
        c &= ~(BIT(1) | BIT(6) | BIT(11) | BIT(12) | BIT(14));   /* AVX-512 VBMI VBMI2 VNNI BITALG VPOPCNTDQ */
        d &= ~(BIT(2) | BIT(3) | BIT(8) | BIT(22) | BIT(23) | BIT(24) | BIT(25)); /* 4VNNIW 4FMAPS VP2INTERSECT AMX-BF16 FP16 AMX-TILE AMX-INT8 */
    } else if (leaf == 7 && sub == 1) {
        a &= ~(BIT(4) | BIT(5) | BIT(21) | BIT(23));  /* AVX-VNNI, AVX512-BF16, AMX-FP16, AVX-IFMA */
        d &= ~(BIT(4) | BIT(5) | BIT(10));            /* AVX-VNNI-INT8, AVX-NE-CONVERT, AVX-VNNI-INT16 */
    } else if (leaf == 0xd && sub == 0) {
        a &= ~(BIT(5) | BIT(6) | BIT(7) | BIT(17) | BIT(18)); /* XSAVE state of AVX-512 and AMX */
    }
    r[REG_RAX] = a;
    r[REG_RBX] = b;
    r[REG_RCX] = c;
    r[REG_RDX] = d;
    r[REG_RIP] += 2;
}

__attribute__((constructor)) static void avx2_only(void) {
    struct sigaction sa = {0};
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    if (set_cpuid(0) != 0) {
        fprintf(stderr, "avx2_only: this kernel or CPU has no CPUID faulting; the CPU is not masked\n");
        exit(3);
    }
}
