/*
 * Delay lines: a spike received on input j reaches its synapse delay[j] - 1
 * ticks later. Mirrors neurobox/hardware/unit.py `unit_tick`, step 1:
 *     line[j] = ((line[j] << 1) | received[j]) & 0xFFFF
 *     arrived[j] = (line[j] >> (delay[j] - 1)) & 1
 * Compiled in only when some input of the unit has a delay above 1 tick
 * (DELAY_LINES); without them a spike arrives in the tick it is received.
 */
#ifndef NEUROBOX_DELAY_H
#define NEUROBOX_DELAY_H

#include <stdint.h>

/* shift `received` (0 or 1) into *line; 1 if a spike arrives now (arrival_bit = 1 << (delay - 1)) */
static inline uint8_t delay_line(uint16_t *line, uint8_t received, uint16_t arrival_bit)
{
    uint16_t l = (uint16_t)(*line << 1) | received;
    *line = l;
    return (l & arrival_bit) != 0;
}

#endif
