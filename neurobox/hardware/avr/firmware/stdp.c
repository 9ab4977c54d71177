/*
 * Pair STDP with integer traces, on chip.
 * Mirrors neurobox/plasticity/stdp_fixed.py `step`; see its docstring.
 */
#include "unit.h"

#if STDP_ON
#include "trace.h"

static const uint8_t plastic[N_SYN] = SYN_PLASTIC;

static int16_t clamp(int32_t w)
{
    if (w < STDP_W_MIN) return STDP_W_MIN;
    if (w > STDP_W_MAX) return STDP_W_MAX;
    return (int16_t)w;
}

uint8_t stdp_step(struct unit_state *u, const uint8_t *pre, uint8_t post)
{
    uint8_t changed = 0;
    u->x_post = trace_decay(u->x_post, STDP_K_MINUS);
    int32_t depression = -1;           /* computed at the first pre spike of the tick */
    for (uint8_t j = 0; j < N_SYN; j++) {
        if (!plastic[j]) continue;
        uint16_t x = trace_decay(u->x_pre[j], STDP_K_PLUS);
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
#endif
