/*
 * One neuron unit on an ATmega8: shared declarations.
 *
 * The arithmetic mirrors the Python specification exactly:
 *   neuron.c  <->  neurobox/neurons/lif_fixed.py
 *   delay.h   <->  neurobox/hardware/unit.py (unit_tick, step 1: delay lines)
 *   stdp.c    <->  neurobox/plasticity/stdp_fixed.py
 *   rstdp.c   <->  neurobox/plasticity/rstdp_fixed.py
 *   eprop.c   <->  neurobox/plasticity/eprop_fixed.py
 *   led.c     <->  neurobox/hardware/led.py
 *   analog.c  <->  neurobox/hardware/analog.py
 * unit_config.h is generated per unit by neurobox.hardware.avr.config.
 */
#ifndef NEUROBOX_UNIT_H
#define NEUROBOX_UNIT_H

#include <stdint.h>
#include "unit_config.h"

/* the unit learns (one rule per unit): its weights are kept in EEPROM */
#define LEARNING (STDP_ON || RSTDP_ON || EPROP_ON)

/* The whole state of the unit. The emulator reads it from SRAM after
 * every tick, so its layout is part of the specification
 * (neurobox.hardware.avr.config.STATE_LAYOUT): little-endian, no padding.
 * Inputs are kept with the plastic ones first, inputs 0 .. N_PLASTIC - 1
 * (neurobox.hardware.avr.config.input_order). */
struct unit_state {
    int16_t v;            /* membrane, V_lsb relative to E_L */
    int16_t i_ex;         /* excitatory current, I_lsb */
    int16_t i_in;         /* inhibitory current, I_lsb */
    uint8_t ref;          /* refractory steps left */
    uint8_t spiked;       /* 1 if the unit fired in the last tick */
    uint16_t x_post;      /* STDP post-synaptic trace */
    uint8_t led_flash;    /* ticks left of the firing flash */
    uint8_t led_learn;    /* ticks left of the learning flash */
    uint8_t led_since;    /* ticks since the last LED frame, saturating at 255 */
    uint8_t led_last[3];  /* last colour sent, G R B */
    uint8_t axon_hold;    /* ticks left of the axon pulse (wired mode) */
    uint8_t learned;      /* 1 if a weight changed in the last tick */
#if THETA_ON
    uint16_t theta;       /* adaptive threshold, V_lsb above v_th */
#endif
#if STDP_SCHEDULE
    uint16_t n_post;      /* own spikes while learning, saturating */
#endif
    int16_t w[N_SYN];     /* synaptic weights, I_lsb: the plastic inputs first */
#if LEARNING
    uint16_t x_pre[N_PLASTIC];  /* pre-synaptic traces of the plastic inputs */
#endif
#if DELAY_LINES
    uint16_t line[N_SYN]; /* delay lines: bit k set = received k ticks ago */
#endif
#if RSTDP_ON || EPROP_ON
    uint16_t c[N_PLASTIC];/* eligibilities of the plastic inputs (R-STDP: I_lsb; e-prop: e) */
#endif
#if RSTDP_ON
    int8_t reward;        /* reward pulse seen in the last tick: -1, 0, +1 */
#endif
#if EPROP_ON
    int32_t g[N_PLASTIC]; /* e-prop's gradients since the last apply */
    int8_t err[N_READOUTS];/* error bytes seen in the last tick, -64 .. 63 */
    uint8_t apply;        /* 1 if the apply pulse was seen in the last tick */
#endif
#if SENSOR_ON
    uint16_t adc;         /* the ADC value read in the last tick */
    uint16_t rng;         /* the sensor's xorshift generator */
#endif
#if MOTOR_ON
    uint32_t acc;         /* low-pass of the unit's spikes */
    uint8_t duty;         /* PWM duty (OCR2) */
#endif
};

extern struct unit_state unit;

uint8_t lif_step(struct unit_state *u, int32_t in_ex, int32_t in_in);
uint8_t stdp_step(struct unit_state *u, const uint8_t *pre, uint8_t post);
uint8_t rstdp_step(struct unit_state *u, const uint8_t *pre, uint8_t post);
uint8_t eprop_step(struct unit_state *u, const uint8_t *pre, uint8_t post);
void led_update(struct unit_state *u);
void led_send(const struct unit_state *u);
void ws2812_send(const uint8_t *grb, uint8_t n);
void sensor_init(struct unit_state *u);
void sensor_start(void);
uint8_t sensor_step(struct unit_state *u);
void motor_init(void);
void motor_step(struct unit_state *u, uint8_t spiked);

#endif
