/*
 * Which of the scan kernel's builds this CPU (and its OS) can run. Compiled for the architecture's baseline,
 * so it is safe to call anywhere; ops/cpu_kernel.py asks it before loading a build.
 */
#include <string.h>

int cpu_supports(const char *isa) {
    if (!strcmp(isa, "generic")) return 1;
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    const int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (!strcmp(isa, "avx2")) return avx2;
    if (!strcmp(isa, "avx512"))
        return avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
#elif defined(__aarch64__)
    if (!strcmp(isa, "neon")) return 1;
#endif
    return 0;
}

/* The digest of the sources this library was built from (set by setup.py; empty in run-time builds). */
#ifndef POSEMAMBA_KERNEL_DIGEST
#define POSEMAMBA_KERNEL_DIGEST ""
#endif
const char *kernel_source_digest(void) { return POSEMAMBA_KERNEL_DIGEST; }
