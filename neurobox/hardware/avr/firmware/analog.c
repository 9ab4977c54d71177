/*
 * A unit's analog side (neurobox/hardware/analog.py): a sensor unit fires
 * from its ADC reading through its own 16-bit xorshift generator; a motor
 * unit's PWM duty (Timer2, OC2) follows a low-pass of its own spikes.
 * Timer1 keeps the tick, so Timer2 is the one PWM timer a unit has.
 */
#include <avr/io.h>

#include "unit.h"

#if SENSOR_ON
void sensor_init(struct unit_state *u)
{
    ADMUX = (1 << REFS0) | SENSOR_ADC_CHANNEL;                       /* AVCC reference, the planner's channel */
    ADCSRA = (1 << ADEN) | (1 << ADPS2) | (1 << ADPS1) | (1 << ADPS0);   /* 16 MHz / 128 = 125 kHz */
    u->rng = SENSOR_SEED;
}

/* start the tick's conversion (13 ADC clocks, about 1,700 cycles), early in the tick: it runs while the
 * LED frame goes out */
void sensor_start(void)
{
    ADCSRA |= 1 << ADSC;
}

/* wait for the conversion, step the generator, fire when x - 1 < threshold */
uint8_t sensor_step(struct unit_state *u)
{
    while (ADCSRA & (1 << ADSC)) {}
    u->adc = ADC;
    uint16_t x = u->rng;
    x ^= x << 7;
    x ^= x >> 9;
    x ^= x << 8;
    u->rng = x;
    uint16_t threshold = SENSOR_P_MIN + (uint16_t)(((uint32_t)SENSOR_SPAN * u->adc) >> 10);
    return (uint16_t)(x - 1) < threshold;
}
#endif

#if MOTOR_ON
void motor_init(void)
{
    OCR2 = 0;
    TCCR2 = (1 << WGM21) | (1 << WGM20) | (1 << COM21) | (1 << CS20);   /* fast PWM, non-inverting, 62.5 kHz */
    MOTOR_DDR |= 1 << MOTOR_BIT;
}

void motor_step(struct unit_state *u, uint8_t spiked)
{
    uint32_t acc = u->acc - (u->acc >> MOTOR_SHIFT);
    if (spiked) acc += MOTOR_INC;
    u->acc = acc;
    acc >>= 8;
    u->duty = acc > 255 ? 255 : (uint8_t)acc;
    OCR2 = u->duty;
}
#endif
