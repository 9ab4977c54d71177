/*
 * The unit's WS2812 LED: colour map and bit-banged driver.
 * The colour map mirrors neurobox/hardware/led.py (`colour`, `LedState`).
 */
#include <avr/io.h>
#include "unit.h"

#define LEVEL 64

static void colour(const struct unit_state *u, uint8_t *grb)
{
    if (u->led_flash) {            /* firing: white */
        grb[0] = LED_FIRING_G; grb[1] = LED_FIRING_R; grb[2] = LED_FIRING_B;
        return;
    }
    if (u->led_learn) {            /* learning: violet */
        grb[0] = LED_LEARNING_G; grb[1] = LED_LEARNING_R; grb[2] = LED_LEARNING_B;
        return;
    }
    uint16_t m = u->v >= 0 ? (uint16_t)u->v : (uint16_t)(-(int32_t)u->v);
    if (m > LED_SPAN) m = LED_SPAN;
#if LED_SCALE <= 65535
    uint8_t f = (uint8_t)(((uint32_t)m * (uint16_t)LED_SCALE) >> 16);   /* 16 x 16 -> 32 bits */
#else
    uint8_t f = (uint8_t)(((uint32_t)m * LED_SCALE) >> 16);
#endif
    grb[0] = LEVEL - f;
    grb[1] = u->v >= 0 ? f : 0;    /* depolarised: towards red */
    grb[2] = u->v >= 0 ? 0 : f;    /* below rest (inhibited): towards blue */
}

static uint8_t pending;    /* a frame decided in the last tick, to be sent */

/* neurobox/hardware/led.py: the colour of this tick, and whether it is sent (it changed, and the line has been
 * low long enough); the frame itself goes out at the start of the next tick (led_send) */
void led_update(struct unit_state *u)
{
    uint8_t grb[3];
    if (u->spiked) u->led_flash = LED_FLASH_STEPS;
    else if (u->led_flash) u->led_flash--;
    if (u->learned) u->led_learn = LED_FLASH_STEPS;
    else if (u->led_learn) u->led_learn--;
    if (u->led_since < 255) u->led_since++;
    colour(u, grb);
    if (u->led_since >= LED_MIN_STEPS &&
        (grb[0] != u->led_last[0] || grb[1] != u->led_last[1] || grb[2] != u->led_last[2])) {
        u->led_last[0] = grb[0]; u->led_last[1] = grb[1]; u->led_last[2] = grb[2];
        u->led_since = 0;
        pending = 1;
    }
}

/* The frame decided in the last tick, sent early in this one: before the bus slots begin, so that its
 * interrupt-free bytes never delay this unit's own spike byte. */
void led_send(const struct unit_state *u)
{
    if (!pending) return;
    pending = 0;
    ws2812_send(u->led_last, 3);
}

/*
 * WS2812 at 16 MHz, 20 cycles a bit, MSB first, interrupts off during a
 * byte (160 cycles) and on between bytes: a bus byte received meanwhile
 * waits at most one byte of the frame, so the UART's two-byte buffer never
 * overruns even at 2 Mbaud (the line stays low a few microseconds longer
 * between bytes, far below the latch time).
 * A bit starts with the line high; a 0 goes low after 6 cycles (375 ns),
 * a 1 after 13 cycles (812.5 ns). Cycle counts are written next to each
 * instruction (cycle at whose end the instruction completes, bit start = 0).
 */
void ws2812_send(const uint8_t *grb, uint8_t n)
{
    uint8_t sreg = SREG;
    while (n--) {
        uint8_t b = *grb++;
        uint8_t cnt = 8;
        __asm__ volatile("cli" ::: "memory");
        /* read the port with interrupts off: an interrupt may change its other pins */
        uint8_t hi = LED_PORT | (1 << LED_BIT);
        uint8_t lo = LED_PORT & (uint8_t)~(1 << LED_BIT);
        __asm__ volatile(
            "1:  out  %[port], %[hi]  \n\t"  /*  0: line high          */
            "    nop                  \n\t"  /*  1                      */
            "    nop                  \n\t"  /*  2                      */
            "    nop                  \n\t"  /*  3                      */
            "    nop                  \n\t"  /*  4                      */
            "    sbrs %[b], 7         \n\t"  /*  5 (6 when skipping)   */
            "    out  %[port], %[lo]  \n\t"  /*  6: a 0 goes low       */
            "    nop                  \n\t"  /*  7                      */
            "    nop                  \n\t"  /*  8                      */
            "    nop                  \n\t"  /*  9                      */
            "    nop                  \n\t"  /* 10                      */
            "    nop                  \n\t"  /* 11                      */
            "    nop                  \n\t"  /* 12                      */
            "    out  %[port], %[lo]  \n\t"  /* 13: a 1 goes low       */
            "    lsl  %[b]            \n\t"  /* 14                      */
            "    dec  %[cnt]          \n\t"  /* 15                      */
            "    nop                  \n\t"  /* 16                      */
            "    nop                  \n\t"  /* 17                      */
            "    brne 1b              \n\t"  /* 19: next bit at 20     */
            : [b] "+r"(b), [cnt] "+r"(cnt)
            : [port] "I"(_SFR_IO_ADDR(LED_PORT)), [hi] "r"(hi), [lo] "r"(lo));
        SREG = sreg;
    }
}
