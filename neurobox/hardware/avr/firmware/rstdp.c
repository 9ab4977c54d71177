/*
 * Reward-modulated STDP with integer eligibilities, on chip.
 * Mirrors neurobox/plasticity/rstdp_fixed.py `step` (the rstdp branch of
 * neurobox/hardware/unit.py `unit_tick`); see its docstring.
 */
#include "unit.h"

#if RSTDP_ON
#include "trace.h"

static const uint8_t plastic[N_SYN] = SYN_PLASTIC;

/* rstdp_fixed.rewarded for r = +1 or -1: clamp(w + r c). The sum is taken
 * in offset binary (w + 32768, order preserving) in 16 bits, saturating at
 * 0 and 65535, which clamp maps to w_min and w_max as the int32 sum would. */
static int16_t rewarded(int16_t w, uint16_t c, int8_t r)
{
    uint16_t b = (uint16_t)w ^ 0x8000u;
    uint16_t s;
    if (r > 0) {
        s = b + c;
        if (s < b) s = 0xFFFFu;
    } else {
        s = b - c;
        if (s > b) s = 0;
    }
    int16_t v = (int16_t)(s ^ 0x8000u);
    if (v < RSTDP_W_MIN) return RSTDP_W_MIN;
    if (v > RSTDP_W_MAX) return RSTDP_W_MAX;
    return v;
}

/* the reward pulse r on every plastic weight, with the eligibilities before they decay; 1 if a weight changed */
static uint8_t reward_step(struct unit_state *u, int8_t r)
{
    uint8_t changed = 0;
    for (uint8_t j = 0; j < N_SYN; j++) {
        if (!plastic[j]) continue;
        int16_t w = rewarded(u->w[j], u->c[j], r);
        if (w != u->w[j]) {
            u->w[j] = w;
            changed = 1;
        }
    }
    return changed;
}

/* the traces' step: x and c decay; if post, rstdp_fixed.eligible (c + dw(a_plus, x), saturating);
 * an arriving spike bumps x. Inlined twice, so each loop is compiled for its constant `post`. */
static inline __attribute__((always_inline)) void trace_step(struct unit_state *u, const uint8_t *pre, uint8_t post)
{
    for (uint8_t j = 0; j < N_SYN; j++) {
        if (!plastic[j]) continue;
        uint16_t x = trace_decay(u->x_pre[j], RSTDP_K_PRE);
        uint16_t c = trace_decay(u->c[j], RSTDP_K_C);
        if (post) {
            uint16_t d = dw(RSTDP_A_PLUS, x);
            c = d > TRACE_MAX - c ? TRACE_MAX : c + d;
        }
        u->c[j] = c;
        u->x_pre[j] = pre[j] ? bump(x) : x;
    }
}

/* pre[j]: a spike arrived on input j; post: the unit fired; u->reward: this tick's pulse.
 * Returns 1 if a weight changed. */
uint8_t rstdp_step(struct unit_state *u, const uint8_t *pre, uint8_t post)
{
    uint8_t changed = u->reward ? reward_step(u, u->reward) : 0;
    if (post) trace_step(u, pre, 1);
    else trace_step(u, pre, 0);
    return changed;
}
#endif
