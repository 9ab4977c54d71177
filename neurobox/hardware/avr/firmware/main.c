/*
 * One neuron unit on an ATmega8 at 16 MHz: the tick loop.
 *
 * Every tick (Timer1 compare A, one simulation step dt) the unit
 *   1. collects the spikes received since the last tick, and the reward
 *      pulse (units that learn by reward)
 *      wired: a rising edge on a dendrite pin (polled now), on the reward
 *             or the punishment pin;
 *      bus:   an address-event byte 0x80|address received on the UART,
 *             0x80|REWARD_ADDRESS a reward, 0x80|PUNISH_ADDRESS a punishment;
 *             a unit that learns by e-prop takes 0x80|REWARD_ADDRESS as the
 *             apply pulse and the data bytes (bit 7 clear) as the readouts'
 *             error bytes, in the order they were sent,
 *      and shifts them into the delay lines (units with delays),
 *   2. sends the LED frame decided in the last tick (before any bus slot),
 *   3. sums the weights of the spikes that arrive per receptor and runs the
 *      neuron step (a sensor unit: reads its ADC and fires by its generator;
 *      a motor unit then steps its PWM duty: analog.c),
 *   4. emits its own spike (wired: axon pin high for AXON_HOLD ticks;
 *      bus: one byte 0x80|UNIT_ADDRESS), in its time slot of the tick:
 *      the Timer1 compare B interrupt, half way through the tick (wired)
 *      or at the unit's bus slot (bus), writes the axon pin or the byte;
 *      on the bus it is armed right after the neuron step, so the rest of
 *      the update may run past the slot,
 *   5. runs the learning rule on the plastic synapses (pair STDP,
 *      reward-modulated STDP or e-prop),
 *   6. decides the LED's colour and copies changed weights to EEPROM, a
 *      little at a time, once every PERSIST_STEPS ticks,
 * then sleeps (idle) until the next tick.
 */
#include <avr/eeprom.h>
#include <avr/interrupt.h>
#include <avr/io.h>
#include <avr/pgmspace.h>
#include <avr/sleep.h>
#include <string.h>

#include "delay.h"
#include "unit.h"

struct unit_state unit;

static const int16_t init_weights[N_SYN] PROGMEM = SYN_WEIGHTS;   /* read once, at reset */
static const uint8_t receptor[N_SYN] PROGMEM = SYN_RECEPTOR;       /* 0 excitatory, 1 inhibitory */
#if DELAY_LINES
static const uint16_t arrival_bit[N_SYN] = SYN_ARRIVAL_BIT;   /* 1 << (delay - 1) */
#endif
static volatile uint8_t tick;
static uint8_t pre[N_SYN];             /* per input: a spike was received in this tick, then: it arrives */
static int32_t in_ex, in_in;           /* the weights of the spikes that arrive, per receptor */

#if BUS_MODE
static volatile uint8_t rx_head;
static volatile uint8_t rx_mark;       /* rx_head when the tick began: the bytes received before it */
#endif

ISR(TIMER1_COMPA_vect)
{
    tick = 1;
#if BUS_MODE
    rx_mark = rx_head;
#endif
}

/* A spike arrives on input j: its weight, as before this tick's learning, joins its receptor's sum
 * (unit_tick, step 2). */
static void arrive(uint8_t j)
{
    if (pgm_read_byte(&receptor[j])) in_in += unit.w[j];
    else in_ex += unit.w[j];
}

#if BUS_MODE
/* the inputs an address feeds, as chains: 1 + the first input (0: none), then 1 + the next one */
static const uint8_t first_input[128] PROGMEM = SYN_FIRST_INPUT;
static const uint8_t next_input[N_SYN] PROGMEM = SYN_NEXT_INPUT;
static volatile uint8_t rx_buf[RX_SIZE];   /* RX_SIZE: a power of two, at most 128 */
static volatile uint8_t rx_tail;

ISR(USART_RXC_vect)
{
    uint8_t b = UDR;
    uint8_t head = rx_head;
#if EPROP_ON
    if ((uint8_t)(head - rx_tail) < RX_SIZE) {          /* error bytes too */
#else
    if ((b & 0x80) && (uint8_t)(head - rx_tail) < RX_SIZE) {
#endif
        rx_buf[head % RX_SIZE] = b;
        rx_head = head + 1;
    }
}

/* pre[j] = 1 for every input whose source's byte was received before the tick
 * (a table look-up per byte; two bytes of one source make one spike), and without delay lines
 * the spike arrives at once; a reward and a punishment received in the same
 * tick cancel (unit.reward = 0) */
static void read_inputs(void)
{
#if RSTDP_ON
    uint8_t rewarded = 0, punished = 0;
#endif
#if EPROP_ON
    uint8_t n_err = 0;
    memset(unit.err, 0, sizeof unit.err);
    unit.apply = 0;
#endif
    while (rx_tail != rx_mark) {       /* not the bytes of this tick, which arrive while it is read */
        uint8_t byte = rx_buf[rx_tail % RX_SIZE];
        uint8_t address = byte & 0x7f;
        rx_tail++;
#if EPROP_ON
        if (!(byte & 0x80)) {          /* an error byte: a signed 7-bit value */
            if (n_err < N_READOUTS) unit.err[n_err++] = (int8_t)(byte << 1) >> 1;
            continue;
        }
        if (address == APPLY_ADDRESS) unit.apply = 1;
#endif
#if RSTDP_ON
        if (address == REWARD_ADDRESS) rewarded = 1;
        if (address == PUNISH_ADDRESS) punished = 1;
#endif
        for (uint8_t j = pgm_read_byte(&first_input[address]); j; j = pgm_read_byte(&next_input[j - 1])) {
            if (pre[j - 1]) continue;
            pre[j - 1] = 1;
#if !DELAY_LINES
            arrive(j - 1);
#endif
        }
    }
#if RSTDP_ON
    unit.reward = (int8_t)(rewarded - punished);
#endif
}

/* This unit's byte goes out in its own slot of the tick, so that units never
 * talk at the same time: the slot's timer interrupt (Timer1 compare B at
 * BUS_ARM_TCNT) comes BUS_LEAD_CYCLES early and waits for the slot's first
 * cycle (BUS_SLOT_TCNT) with interrupts off, so that a receive interrupt
 * running when it falls due cannot delay the byte into the next slot. A
 * spike armed after the slot began goes out at once (late). */
static void send_in_slot(void)
{
    while (TCNT1 < BUS_SLOT_TCNT) {}
    UDR = 0x80 | UNIT_ADDRESS;
}

ISR(TIMER1_COMPB_vect)
{
    send_in_slot();
    TIMSK &= (uint8_t)~(1 << OCIE1B);
}

static void emit_spike(void)
{
    cli();
    TIFR = 1 << OCF1B;                 /* forget a match from an earlier tick */
    if (TCNT1 >= BUS_ARM_TCNT) send_in_slot();
    else TIMSK |= 1 << OCIE1B;
    sei();
}
#else
#if EPROP_ON
#error "a unit that learns by e-prop hears the host's error bytes on the bus only"
#endif
/* The axon changes half way through the tick, whatever the update took:
 * a unit whose tick starts up to half a tick before or after this one's
 * polls the pulse in exactly the next tick. */
static volatile uint8_t axon_level;

ISR(TIMER1_COMPB_vect)
{
    if (axon_level) AXON_PORT |= 1 << AXON_BIT;
    else AXON_PORT &= (uint8_t)~(1 << AXON_BIT);
}

static const uint8_t pin_port[N_SYN] = SYN_PORT;       /* 0 PINB, 1 PINC, 2 PIND */
static const uint8_t pin_mask[N_SYN] = SYN_MASK;
static uint8_t last_pins[3];

static void sample_pins(uint8_t *pins)
{
    pins[0] = PINB;
    pins[1] = PINC;
    pins[2] = PIND;
}

/* pre[j] = 1 for every dendrite with a rising edge, and without delay lines
 * the spike arrives at once; a rising edge on the reward and on the
 * punishment pin in the same tick cancel (unit.reward = 0) */
static void read_inputs(void)
{
    uint8_t pins[3], rise[3];
    sample_pins(pins);
    for (uint8_t p = 0; p < 3; p++) {
        rise[p] = pins[p] & (uint8_t)~last_pins[p];
        last_pins[p] = pins[p];
    }
    for (uint8_t j = 0; j < N_SYN; j++) {
        pre[j] = (rise[pin_port[j]] & pin_mask[j]) != 0;
#if !DELAY_LINES
        if (pre[j]) arrive(j);
#endif
    }
#if RSTDP_ON
    unit.reward = (int8_t)((rise[REWARD_PORT] & REWARD_MASK) != 0)
                - (int8_t)((rise[PUNISH_PORT] & PUNISH_MASK) != 0);
#endif
}
#endif

#if LEARNING
#define EE_HASH ((uint16_t *)0)
#define EE_WEIGHTS ((uint8_t *)2)
static int16_t snapshot[N_PLASTIC];    /* the plastic weights (the others never change) */
static uint16_t persist_count;
static uint8_t persist_pos = 0xff;     /* byte of the snapshot; 0xff: no copy in progress */

static void load_weights(void)
{
    if (eeprom_read_word(EE_HASH) == CONFIG_HASH) {
        eeprom_read_block(unit.w, EE_WEIGHTS, sizeof unit.w);
    } else {
        eeprom_update_block(unit.w, EE_WEIGHTS, sizeof unit.w);
        eeprom_update_word(EE_HASH, CONFIG_HASH);
    }
}

/* Copy a snapshot of the weights to EEPROM, at most one byte a tick and
 * never waiting for the EEPROM: a pass starts every PERSIST_STEPS ticks.
 * Only the plastic weights (the first ones) are copied: the others always
 * equal their bytes in EEPROM, which a pass over all of them would skip. */
static void persist_weights(void)
{
    if (++persist_count >= PERSIST_STEPS) {
        persist_count = 0;
        if (persist_pos == 0xff) {
            memcpy(snapshot, unit.w, sizeof snapshot);
            persist_pos = 0;
        }
    }
    if (persist_pos == 0xff || !eeprom_is_ready()) return;
    const uint8_t *src = (const uint8_t *)snapshot;
    while (persist_pos < sizeof snapshot) {
        uint8_t pos = persist_pos++;
        if (eeprom_read_byte(EE_WEIGHTS + pos) != src[pos]) {
            eeprom_write_byte(EE_WEIGHTS + pos, src[pos]);
            break;
        }
    }
    if (persist_pos >= sizeof snapshot) persist_pos = 0xff;
}
#endif

/* One tick: neurobox/hardware/unit.py `unit_tick`, steps 1 to 5 (the learning
 * rule always runs: the firmware learns whenever it has a rule). On the bus
 * the spike byte is armed as soon as the neuron has stepped, so that it goes
 * out in the unit's slot however long the learning rule takes. */
static void update(void)
{
#if SENSOR_ON
    sensor_start();
#endif
    memset(pre, 0, sizeof pre);
    in_ex = in_in = 0;
    read_inputs();
    led_send(&unit);
#if DELAY_LINES
    for (uint8_t j = 0; j < N_SYN; j++) {
        pre[j] = delay_line(&unit.line[j], pre[j], arrival_bit[j]);   /* now: arrived */
        if (pre[j]) arrive(j);
    }
#endif
#if SENSOR_ON
    unit.spiked = sensor_step(&unit);
#else
    unit.spiked = lif_step(&unit, in_ex, in_in);
#endif
#if MOTOR_ON
    motor_step(&unit, unit.spiked);
#endif
#if BUS_MODE
    if (unit.spiked) emit_spike();
#endif
#if STDP_ON
    unit.learned = stdp_step(&unit, pre, unit.spiked);
#elif RSTDP_ON
    unit.learned = rstdp_step(&unit, pre, unit.spiked);
#elif EPROP_ON
    unit.learned = eprop_step(&unit, pre, unit.spiked);
#endif
#if !BUS_MODE
    if (unit.spiked) {
        axon_level = 1;
        unit.axon_hold = AXON_HOLD;
    } else if (unit.axon_hold && --unit.axon_hold == 0) {
        axon_level = 0;
    }
#endif
    led_update(&unit);
#if LEARNING
    persist_weights();
#endif
}

int main(void)
{
    memcpy_P(unit.w, init_weights, sizeof unit.w);
#if THETA_ON
    unit.theta = LIF_THETA_INIT;
#endif
    unit.led_since = 255;
    LED_DDR |= 1 << LED_BIT;
    LED_PORT &= (uint8_t)~(1 << LED_BIT);
#if BUS_MODE
    UBRRH = 0;
    UBRRL = BUS_UBRR;
    UCSRA = BUS_U2X ? 1 << U2X : 0;
    UCSRC = (1 << URSEL) | (1 << UCSZ1) | (1 << UCSZ0);
    UCSRB = (1 << RXEN) | (1 << TXEN) | (1 << RXCIE);
#else
    AXON_DDR |= 1 << AXON_BIT;
    sample_pins(last_pins);
#endif
#if LEARNING
    load_weights();
#endif
#if SENSOR_ON
    sensor_init(&unit);
#endif
#if MOTOR_ON
    motor_init();
#endif
    OCR1A = TICK_OCR;
#if BUS_MODE
    OCR1B = BUS_ARM_TCNT;
#else
    OCR1B = AXON_TCNT;
    TIMSK |= 1 << OCIE1B;
#endif
    TCCR1A = 0;
    TCCR1B = (1 << WGM12) | TICK_CS;
    TIMSK |= 1 << OCIE1A;
    set_sleep_mode(SLEEP_MODE_IDLE);
    sei();
    for (;;) {
        cli();
        if (!tick) {
            sleep_enable();
            sei();
            sleep_cpu();
            sleep_disable();
            continue;
        }
        tick = 0;
        sei();
        update();
    }
}
