/*
 * The operations on integer traces both learning rules share.
 * Mirrors neurobox/plasticity/stdp_fixed.py `trace_decay`, `bump`, `dw`.
 */
#ifndef NEUROBOX_TRACE_H
#define NEUROBOX_TRACE_H

#include <stdint.h>

#define ONE 16384u
#define TRACE_MAX 32767u

/* x - ceil(x / 2^k); x + 2^k - 1 < 2^16 for x <= TRACE_MAX, k <= 15 */
static inline uint16_t trace_decay(uint16_t x, uint8_t k)
{
    return x - (uint16_t)((x + ((1u << k) - 1)) >> k);
}

/* + ONE, saturating at TRACE_MAX */
static inline uint16_t bump(uint16_t x)
{
    return x + ONE > TRACE_MAX ? TRACE_MAX : x + ONE;
}

/* (a * x) >> 14 for a, x in 0..32767: the 32-bit product from four 8 x 8
 * hardware multiplications (its lowest byte is not needed), then bits 14..29
 * (a * x < 2^30) as (bytes 3..1 << 2) >> 8 */
static inline uint16_t dw(uint16_t a, uint16_t x)
{
    uint16_t r;
    uint8_t b1, zero = 0;
    __asm__(
        "mul  %A[a], %A[x]  \n\t"   /* byte 0 (dropped), carry into byte 1 */
        "mov  %[b1], r1     \n\t"
        "mul  %B[a], %B[x]  \n\t"   /* bytes 2..3 */
        "movw %A[r], r0     \n\t"
        "mul  %A[a], %B[x]  \n\t"   /* bytes 1..2 */
        "add  %[b1], r0     \n\t"
        "adc  %A[r], r1     \n\t"
        "adc  %B[r], %[z]   \n\t"
        "mul  %B[a], %A[x]  \n\t"   /* bytes 1..2 */
        "add  %[b1], r0     \n\t"
        "adc  %A[r], r1     \n\t"
        "adc  %B[r], %[z]   \n\t"
        "clr  r1            \n\t"
        "lsl  %[b1]         \n\t"   /* << 2 across bytes 1..3 */
        "rol  %A[r]         \n\t"
        "rol  %B[r]         \n\t"
        "lsl  %[b1]         \n\t"
        "rol  %A[r]         \n\t"
        "rol  %B[r]         \n\t"
        : [r] "=&r"(r), [b1] "=&r"(b1)
        : [a] "r"(a), [x] "r"(x), [z] "r"(zero));
    return r;
}

#endif
