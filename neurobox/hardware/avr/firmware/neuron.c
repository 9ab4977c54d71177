/*
 * Fixed-point LIF step with exponential current synapses.
 * Mirrors neurobox/neurons/lif_fixed.py `lif_update` line by line; see its
 * docstring for the number formats, rounding and saturation. The adaptive
 * threshold (THETA_ON) is compiled in only when theta_plus or the initial
 * theta is not 0.
 */
#include "unit.h"

static int16_t sat16(int32_t x)
{
    if (x < -32768) return -32768;
    if (x > 32767) return 32767;
    return (int16_t)x;
}

/* x * d / 2^16 rounded to nearest (halves up); a non-zero x always moves
 * at least one step toward 0, so every value returns exactly to rest */
static int16_t decay(int16_t x, uint16_t d)
{
    int16_t r = (int16_t)(((int32_t)x * (int32_t)d + 32768L) >> 16);
    if (r == x && x != 0) r = x > 0 ? x - 1 : x + 1;
    return r;
}

uint8_t lif_step(struct unit_state *u, int32_t in_ex, int32_t in_in)
{
    if (u->ref == 0) {
        int32_t acc = (int32_t)u->i_ex * LIF_P_EX + (int32_t)u->i_in * LIF_P_IN
                    + (int32_t)LIF_I_E * LIF_P_E;
#if LIF_S >= 8
        /* the same value as >> LIF_S: a byte move, then the remaining bits */
        int32_t dv = ((acc + (1L << (LIF_S - 1))) >> 8) >> (LIF_S - 8);
#else
        int32_t dv = (acc + (1L << (LIF_S - 1))) >> LIF_S;
#endif
        u->v = sat16((int32_t)decay(u->v, LIF_D_M) + dv);
    } else {
        u->ref--;
    }
    u->i_ex = sat16((int32_t)decay(u->i_ex, LIF_D_EX) + in_ex);
    u->i_in = sat16((int32_t)decay(u->i_in, LIF_D_IN) + in_in);
#if THETA_ON
    /* the adaptive threshold: v >= v_th + theta (int32); a spike adds theta_plus, saturating at 65535 */
    if ((int32_t)u->v >= (int32_t)LIF_V_TH + u->theta) {
#else
    if (u->v >= LIF_V_TH) {
#endif
        u->v = LIF_V_RESET;
        u->ref = LIF_REF_STEPS;
#if THETA_ON && LIF_THETA_PLUS
        u->theta = u->theta > 65535u - LIF_THETA_PLUS ? 65535u : u->theta + LIF_THETA_PLUS;
#endif
        return 1;
    }
    return 0;
}
