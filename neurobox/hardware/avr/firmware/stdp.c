/*
 * Pair STDP with integer traces, on chip.
 * Mirrors neurobox/plasticity/stdp_fixed.py `step`; see its docstring.
 */
#include "unit.h"

#if STDP_ON
static const uint8_t plastic[N_SYN] = SYN_PLASTIC;

#define ONE 16384u
#define TRACE_MAX 32767u

static uint16_t bump(uint16_t x)
{
    return x + ONE > TRACE_MAX ? TRACE_MAX : x + ONE;
}

static int16_t clamp(int32_t w)
{
    if (w < STDP_W_MIN) return STDP_W_MIN;
    if (w > STDP_W_MAX) return STDP_W_MAX;
    return (int16_t)w;
}

/* (a * x) >> 14 for a, x in 0..32767; a * x < 2^30, so (a * x) << 2 fits
 * 32 bits and its upper half is the result (cheaper than 14 shifts) */
static int32_t dw(uint16_t a, uint16_t x)
{
    return (int32_t)(uint16_t)((((uint32_t)a * x) << 2) >> 16);
}

uint8_t stdp_step(struct unit_state *u, const uint8_t *pre, uint8_t post)
{
    uint8_t changed = 0;
    u->x_post -= (uint16_t)((u->x_post + ((1u << STDP_K_MINUS) - 1)) >> STDP_K_MINUS);
    int32_t depression = -1;           /* computed at the first pre spike of the tick */
    for (uint8_t j = 0; j < N_SYN; j++) {
        if (!plastic[j]) continue;
        uint16_t x = u->x_pre[j];
        x -= (uint16_t)((x + ((1u << STDP_K_PLUS) - 1)) >> STDP_K_PLUS);
        int16_t w = u->w[j];
        if (pre[j]) {
            if (depression < 0) depression = dw(STDP_A_MINUS, u->x_post);
            w = clamp((int32_t)w - depression);
        }
        if (post) w = clamp((int32_t)w + dw(STDP_A_PLUS, x));
        if (w != u->w[j]) changed = 1;
        u->w[j] = w;
        u->x_pre[j] = pre[j] ? bump(x) : x;
    }
    if (post) u->x_post = bump(u->x_post);
    return changed;
}
#else
uint8_t stdp_step(struct unit_state *u, const uint8_t *pre, uint8_t post)
{
    (void)u; (void)pre; (void)post;
    return 0;
}
#endif
