/*
 * A stand-in for Windows' bcryptprimitives.dll, for running gpaudit's Windows
 * build under Wine in CI only (never shipped).
 *
 * Why: Rust's standard library (1.78+) gets its randomness (HashMap seeds)
 * from ProcessPrng in bcryptprimitives.dll. Wine gained that DLL in 8.13;
 * Debian 12 ships Wine 8.0, where every Rust .exe fails to start (exit 53).
 * This DLL exports ProcessPrng and forwards it to RtlGenRandom
 * (advapi32!SystemFunction036), which Wine 8.0 has. .ci/run builds it with
 * MinGW and copies it into the throw-away Wine prefix's system32.
 *
 * When to drop it: once the CI image's Wine is 8.13 or newer
 * (`wine64 --version`), delete this folder and its lines in .ci/run.
 */
#include <windows.h>

/* advapi32's RtlGenRandom, exported under this name. */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    /* RtlGenRandom takes a ULONG length: fill large buffers in chunks. */
    while (length > 0) {
        ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
