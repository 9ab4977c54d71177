/*
 * Pair STDP with integer traces, on chip: the unit's learning-rate schedule
 * (STDP_SCHEDULE) and the normalisation of its plastic weights after its own
 * spikes (STDP_NORM) are compiled in only when the rule has them.
 * Mirrors neurobox/plasticity/stdp_fixed.py `step` (the STDP branch of
 * neurobox/hardware/unit.py `unit_tick`); see its docstring.
 */
#include "unit.h"

#if STDP_ON
#include "trace.h"

static int16_t clamp(int32_t w)
{
    if (w < STDP_W_MIN) return STDP_W_MIN;
    if (w > STDP_W_MAX) return STDP_W_MAX;
    return (int16_t)w;
}

#if STDP_SCHEDULE
/* stdp_fixed.halved: a_plus >> min((n_post - 1) // halve_every, halvings), for n_post >= 1 */
static uint16_t amplitude(uint16_t n_post)
{
    uint16_t h = (uint16_t)(n_post - 1) / STDP_HALVE_EVERY;
    return STDP_A_PLUS >> (h < STDP_HALVINGS ? h : STDP_HALVINGS);
}
#endif

#if STDP_NORM
/* (w f + 2^15) >> 16 for a signed w and f < 2^16 (stdp_fixed.scaled before the clamp): the signed x unsigned
 * 16 x 16 -> 32 product from four 8 x 8 multiplications (Atmel AVR201), its lowest byte left out (nothing
 * is added to it), then 2^15 added to bytes 1..3 and bytes 2..3 kept */
static inline int16_t scale(int16_t w, uint16_t f)
{
    int16_t r;
    uint8_t b1, zero = 0;
    __asm__(
        "mulsu %B[w], %B[f]  \n\t"   /* bytes 2..3 */
        "movw  %A[r], r0     \n\t"
        "mul   %A[w], %A[f]  \n\t"   /* bytes 0..1 */
        "mov   %[b1], r1     \n\t"
        "mulsu %B[w], %A[f]  \n\t"   /* bytes 1..2, signed: its sign (C) into byte 3 */
        "sbc   %B[r], %[z]   \n\t"
        "add   %[b1], r0     \n\t"
        "adc   %A[r], r1     \n\t"
        "adc   %B[r], %[z]   \n\t"
        "mul   %B[f], %A[w]  \n\t"   /* bytes 1..2 */
        "add   %[b1], r0     \n\t"
        "adc   %A[r], r1     \n\t"
        "adc   %B[r], %[z]   \n\t"
        "clr   r1            \n\t"
        "subi  %[b1], 0x80   \n\t"   /* + 2^15: - 0xFFFF80 on bytes 1..3 */
        "sbci  %A[r], 0xff   \n\t"
        "sbci  %B[r], 0xff   \n\t"
        : [r] "=&d"(r), [b1] "=&d"(b1)
        : [w] "a"(w), [f] "a"(f), [z] "r"(zero));
    return r;
}

/* stdp_fixed.scale_factor and scaled, after an own spike: if the plastic weights sum to more than norm_target,
 * f = round(target 2^16 / total) in one 32-bit division (f < 2^16), then every plastic weight
 * w = clamp((w f + 2^15) >> 16), a value between 0 and w */
static void normalise(int16_t *w)
{
    int32_t total = 0;
    for (uint8_t k = 0; k < N_PLASTIC; k++) {
#if STDP_W_MIN >= 0
        total += (uint16_t)w[k];       /* the same sum, without sign extension */
#else
        total += w[k];
#endif
    }
    if (total <= STDP_NORM_TARGET) return;
    uint16_t f = (uint16_t)((((uint32_t)STDP_NORM_TARGET << 16) + ((uint32_t)total >> 1)) / (uint32_t)total);
    for (uint8_t k = N_PLASTIC; k; k--, w++) {
        if (!*w) continue;             /* 0 stays 0 (and lies within the bounds) */
        int16_t s = scale(*w, f);
#if STDP_W_MIN > 0 || STDP_W_MAX < 0
        *w = s < STDP_W_MIN ? STDP_W_MIN : s > STDP_W_MAX ? STDP_W_MAX : s;
#else
        *w = s;                        /* between 0 and w: within the bounds, which hold 0 */
#endif
    }
}
#endif

/* One tick of the pair rule on the plastic inputs: the traces decay; an arriving spike depresses by
 * dw(a_minus, x_post) (nothing when a_minus is 0: the weights stay within their bounds); if `post`, every
 * weight is potentiated by dw(a, x_pre) (nothing when the trace is 0); an arriving spike bumps its trace.
 * Inlined twice, so each loop is compiled for its constant `post`. Returns 1 if a weight changed. */
static inline __attribute__((always_inline)) uint8_t step(struct unit_state *u, const uint8_t *pre, uint8_t post,
                                                          uint16_t a)
{
    uint8_t changed = 0;
    int32_t depression = -1;           /* computed at the first pre spike of the tick */
    int16_t *wp = u->w;
    uint16_t *xp = u->x_pre;
    for (uint8_t k = N_PLASTIC; k; k--, wp++, xp++) {
        uint8_t arrived = *pre++;
        uint16_t x = *xp;
        if (x) x = trace_decay(x, STDP_K_PLUS);
        if ((STDP_A_MINUS && arrived) || (post && x)) {
            int16_t w = *wp;
            if (STDP_A_MINUS && arrived) {
                if (depression < 0) depression = dw(STDP_A_MINUS, u->x_post);
                w = clamp((int32_t)w - depression);
            }
            if (post && x) {
                uint16_t room = (uint16_t)(STDP_W_MAX - w);   /* w <= w_max: clamp(w + d) in 16 bits */
                uint16_t d = dw(a, x);
                w = d > room ? STDP_W_MAX : w + d;
            }
            if (w != *wp) {
                *wp = w;
                changed = 1;
            }
        }
        *xp = arrived ? bump(x) : x;
    }
    return changed;
}

/* pre[j]: a spike arrived on input j; post: the unit fired. Returns 1 if a weight changed (by the pair
 * rule; the normalisation does not count, as in unit_tick). */
uint8_t stdp_step(struct unit_state *u, const uint8_t *pre, uint8_t post)
{
    uint8_t changed;
    u->x_post = trace_decay(u->x_post, STDP_K_MINUS);
    if (post) {
        uint16_t a = STDP_A_PLUS;
#if STDP_SCHEDULE
        if (u->n_post != 65535u) u->n_post++;
        a = amplitude(u->n_post);
#endif
        changed = step(u, pre, 1, a);
#if STDP_NORM
        normalise(u->w);
#endif
        u->x_post = bump(u->x_post);
    } else {
        changed = step(u, pre, 0, 0);
    }
    return changed;
}
#endif
