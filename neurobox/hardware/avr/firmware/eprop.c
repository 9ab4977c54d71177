/*
 * e-prop on chip: eligibility traces, the broadcast error, local gradients, weight steps on the apply pulse.
 * Mirrors neurobox/plasticity/eprop_fixed.py (the eprop branch of neurobox/hardware/unit.py `unit_tick`);
 * see its docstring. z-bar is kept in x_pre, the eligibility in c.
 */
#include "unit.h"

#if EPROP_ON
#include "trace.h"

#define Z_ONE 2048u
#define G_MAX 1073741823L

static const int8_t feedback[N_READOUTS] = EPROP_FEEDBACK;

/* eprop_fixed.surrogate: the peak if the unit fired, 0 while refractory, else max(0, W - |v - th|) >> k_psi */
static uint8_t surrogate(const struct unit_state *u, uint8_t post)
{
    if (post) return EPROP_WIDTH >> EPROP_K_PSI;
    if (u->ref) return 0;
#if THETA_ON
    int32_t d = (int32_t)u->v - ((int32_t)LIF_V_TH + u->theta);
#else
    int32_t d = (int32_t)u->v - LIF_V_TH;
#endif
    if (d < 0) d = -d;
    return d < EPROP_WIDTH ? (uint8_t)((EPROP_WIDTH - d) >> EPROP_K_PSI) : 0;
}

/* the bytes 1..3 of x, sign extended: x >> 8 (arithmetic) as a byte move */
static inline int32_t shr8(int32_t x)
{
    union { int32_t w; uint8_t b[4]; } in = { .w = x }, out;
    out.b[0] = in.b[1];
    out.b[1] = in.b[2];
    out.b[2] = in.b[3];
    out.b[3] = (int8_t)in.b[3] < 0 ? 0xff : 0;
    return out.w;
}

/* x >> EPROP_K_ETA (arithmetic) with whole bytes moved first: a shift by a constant that is not a multiple of
 * 8 is a loop on the chip */
static inline int32_t shr_eta(int32_t x)
{
#if EPROP_K_ETA >= 16
    return shr8(shr8(x)) >> (EPROP_K_ETA - 16);
#elif EPROP_K_ETA >= 8
    return shr8(x) >> (EPROP_K_ETA - 8);
#else
    return x >> EPROP_K_ETA;
#endif
}

/* eprop_fixed.applied: clamp(w - round((g >> 8) * eta_mul / 2^k_eta)) */
static int16_t applied(int16_t w, int32_t g)
{
    int32_t d = shr_eta(shr8(g) * EPROP_ETA_MUL + (1L << (EPROP_K_ETA - 1)));
    int32_t r = (int32_t)w - d;
    if (r < EPROP_W_MIN) return EPROP_W_MIN;
    if (r > EPROP_W_MAX) return EPROP_W_MAX;
    return (int16_t)r;
}

/* pre[j]: a spike arrived on input j; post: the unit fired; u->err, u->apply: what the host sent.
 * Returns 1 if a weight changed. */
uint8_t eprop_step(struct unit_state *u, const uint8_t *pre, uint8_t post)
{
    uint8_t psi = surrogate(u, post);
    int16_t L = 0;
    for (uint8_t k = 0; k < N_READOUTS; k++) L += (int16_t)feedback[k] * u->err[k];
    uint8_t changed = 0;
    for (uint8_t j = 0; j < N_PLASTIC; j++) {
        int32_t g = u->g[j];
        if (u->apply) {
            int16_t w = applied(u->w[j], g);
            if (w != u->w[j]) {
                u->w[j] = w;
                changed = 1;
            }
            g = 0;
        }
        uint16_t z = trace_decay(u->x_pre[j], EPROP_K_Z);
        uint16_t e = trace_decay(u->c[j], EPROP_K_KAPPA);
        if (psi) {                     /* (psi z) >> k_e as ((psi z) >> 8) >> k_kappa, k_e = 8 + k_kappa */
            uint32_t p = (uint32_t)psi * z;
            e += (uint16_t)(p >> 8) >> EPROP_K_KAPPA;
        }
        if (L) {                       /* e < 2^15: a signed 16 x 16 product */
            g += shr8((int32_t)L * (int16_t)e);
            if (g > G_MAX) g = G_MAX;
            else if (g < -G_MAX) g = -G_MAX;
        }
        u->g[j] = g;
        u->c[j] = e;
        u->x_pre[j] = pre[j] ? (z > TRACE_MAX - Z_ONE ? TRACE_MAX : z + Z_ONE) : z;
    }
    return changed;
}
#endif
