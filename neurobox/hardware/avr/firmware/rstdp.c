/*
 * Reward-modulated STDP with integer eligibilities, on chip.
 * Mirrors neurobox/plasticity/rstdp_fixed.py `step` (the rstdp branch of
 * neurobox/hardware/unit.py `unit_tick`); see its docstring.
 */
#include "unit.h"

#if RSTDP_ON
#include "trace.h"

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

/* One tick of the rule on every plastic input (rstdp_fixed.step): if `rewarding`, the pulse r on the weight
 * with the eligibility before it decays (rstdp_fixed.rewarded); then x and c decay; if `post`, c +=
 * dw(a_plus, x), saturating (rstdp_fixed.eligible); an arriving spike bumps x. Inlined four times, so each
 * loop is compiled for its constant `rewarding` and `post`. Returns 1 if a weight changed. */
static inline __attribute__((always_inline)) uint8_t step(struct unit_state *u, const uint8_t *pre,
                                                          uint8_t rewarding, int8_t r, uint8_t post)
{
    uint8_t changed = 0;
    for (uint8_t j = 0; j < N_PLASTIC; j++) {
        uint16_t c = u->c[j];
        if (rewarding) {
            int16_t w = rewarded(u->w[j], c, r);
            if (w != u->w[j]) {
                u->w[j] = w;
                changed = 1;
            }
        }
        uint16_t x = trace_decay(u->x_pre[j], RSTDP_K_PRE);
        c = trace_decay(c, RSTDP_K_C);
        if (post) {
            uint16_t d = dw(RSTDP_A_PLUS, x);
            c = d > TRACE_MAX - c ? TRACE_MAX : c + d;
        }
        u->c[j] = c;
        u->x_pre[j] = pre[j] ? bump(x) : x;
    }
    return changed;
}

/* pre[j]: a spike arrived on input j; post: the unit fired; u->reward: this tick's pulse.
 * Returns 1 if a weight changed. */
uint8_t rstdp_step(struct unit_state *u, const uint8_t *pre, uint8_t post)
{
    int8_t r = u->reward;
    if (r) return post ? step(u, pre, 1, r, 1) : step(u, pre, 1, r, 0);
    return post ? step(u, pre, 0, 0, 1) : step(u, pre, 0, 0, 0);
}
#endif
