/*
 * board_runner: a whole board in one simavr process. Every unit is its own
 * ATmega8 running its own firmware; units talk only through their pins:
 * an axon pin drives the dendrite pins it is wired to, and in bus mode every
 * UART byte a unit sends reaches the UART of every other unit. Built and
 * driven by neurobox.hardware.avr.board_emulator.
 *
 * usage: board_runner steps=N limit=CYCLES vector=BYTEADDR < description
 *
 * description, one item a line:
 *   unit ELF DUMPADDR DUMPLEN PHASE      a unit (numbered from 0 in order) whose ticks begin
 *                                       PHASE cycles after the board's: its start-up (until
 *                                       its first SLEEP, when its tick timer starts) runs
 *                                       before, however long it takes
 *   wire FROM PORTBIT TO PORTBIT         FROM's pin drives TO's pin (e.g. wire 0 B1 2 C0)
 *   bus                                  connect all UARTs (bus mode)
 *   pin CYCLE TO PORTBIT LEVEL           a stimulus drives TO's pin at board time CYCLE
 *   byte CYCLE HEX                       a stimulus sends a byte on the bus at board time CYCLE
 *
 * Units run interleaved, the one furthest behind in board time first, and a
 * sleeping unit advances at most SLICE cycles at a time, so no unit gets
 * more than SLICE cycles ahead of another. stdout: "S unit tick board_cycle HEXBYTES" at the
 * end of every tick of every unit (its first SLEEP after the tick interrupt),
 * then "R reason cycle".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_avr.h"
#include "sim_cycle_timers.h"
#include "sim_elf.h"
#include "sim_irq.h"
#include "sim_io.h"
#include "avr_ioport.h"
#include "avr_uart.h"

#define MAX_UNITS 64
#define MAX_LINKS 1024

struct unit {
    avr_t *avr;
    long long start;                /* board time of the unit's cycle 0 (its phase less its start-up) */
    unsigned addr, len;
    long tick;
    int awake;
};

struct link { int from, to; char to_port; int to_bit; };

static struct unit units[MAX_UNITS];
static int n_units;
static struct link links[MAX_LINKS];
static int n_links;
static int bus;

struct event { unsigned long long cycle; int to; char port; int bit; int level; int byte; };
static struct event *events;
static int n_events, next_event;

static void no_sleep(avr_t *a, avr_cycle_count_t how_long) { (void)a; (void)how_long; }

/* A sleeping core jumps straight to its next timer event; this timer keeps
 * every jump below SLICE cycles, so that no unit runs far ahead of the
 * others in board time while it sleeps (a UART byte from another unit
 * would otherwise arrive late). */
#define SLICE 128
static avr_cycle_count_t slice(avr_t *avr, avr_cycle_count_t when, void *param) {
    (void)avr; (void)param;
    return when + SLICE;
}

static void on_axon(struct avr_irq_t *irq, uint32_t value, void *param) {
    (void)irq;
    struct link *l = param;
    avr_raise_irq(avr_io_getirq(units[l->to].avr, AVR_IOCTL_IOPORT_GETIRQ(l->to_port), l->to_bit), value ? 1 : 0);
}

static void on_uart(struct avr_irq_t *irq, uint32_t value, void *param) {
    (void)irq;
    long from = (long)param;
    for (int i = 0; i < n_units; i++)
        if (i != from)
            avr_raise_irq(avr_io_getirq(units[i].avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_INPUT), value & 0xff);
}

static int by_cycle(const void *a, const void *b) {
    const struct event *x = a, *y = b;
    return x->cycle < y->cycle ? -1 : x->cycle > y->cycle;
}

static avr_t *load(const char *path) {
    elf_firmware_t fw;
    memset(&fw, 0, sizeof fw);
    if (elf_read_firmware(path, &fw) != 0) { fprintf(stderr, "board_runner: cannot read %s\n", path); exit(2); }
    strcpy(fw.mmcu, "atmega8");
    fw.frequency = 16000000;
    avr_t *avr = avr_make_mcu_by_name("atmega8");
    avr_init(avr);
    avr->gdb_port = 0;
    avr->log = 0;
    avr_load_firmware(avr, &fw);
    avr->frequency = 16000000;
    avr->sleep = no_sleep;
    uint32_t flags = 0;
    avr_ioctl(avr, AVR_IOCTL_UART_GET_FLAGS('0'), &flags);
    flags &= ~(AVR_UART_FLAG_STDIO | AVR_UART_FLAG_POLL_SLEEP);
    avr_ioctl(avr, AVR_IOCTL_UART_SET_FLAGS('0'), &flags);
    avr_cycle_timer_register(avr, SLICE, slice, NULL);
    return avr;
}

int main(int argc, char **argv) {
    long steps = 0;
    unsigned long long limit = 0;
    unsigned vector = 0;
    for (int i = 1; i < argc; i++) {
        if (!strncmp(argv[i], "steps=", 6)) steps = atol(argv[i] + 6);
        else if (!strncmp(argv[i], "limit=", 6)) limit = strtoull(argv[i] + 6, NULL, 10);
        else if (!strncmp(argv[i], "vector=", 7)) vector = (unsigned)strtoul(argv[i] + 7, NULL, 0);
        else { fprintf(stderr, "board_runner: unknown argument %s\n", argv[i]); return 2; }
    }
    int cap = 1024;
    events = malloc(sizeof *events * cap);
    char line[4096];
    while (fgets(line, sizeof line, stdin)) {
        char kind[8], path[3000], a[8], b[8];
        int from, to, level;
        unsigned long long cycle;
        unsigned addr, len, byte;
        if (sscanf(line, "unit %2999s %u %u %llu", path, &addr, &len, &cycle) == 4) {
            if (n_units == MAX_UNITS) { fprintf(stderr, "board_runner: too many units\n"); return 2; }
            struct unit *u = &units[n_units++];
            u->avr = load(path);
            while (!(u->avr->state == cpu_Running && u->avr->flash[u->avr->pc] == 0x88 &&
                     u->avr->flash[u->avr->pc + 1] == 0x95))
                avr_run(u->avr);                /* start-up: up to the first SLEEP */
            u->start = (long long)cycle - (long long)u->avr->cycle;
            u->addr = addr; u->len = len; u->tick = -1; u->awake = 1;
        } else if (sscanf(line, "wire %d %7s %d %7s", &from, a, &to, b) == 4) {
            if (n_links == MAX_LINKS || from >= n_units || to >= n_units) { fprintf(stderr, "board_runner: bad wire\n"); return 2; }
            struct link *l = &links[n_links++];
            l->from = from; l->to = to; l->to_port = b[0]; l->to_bit = b[1] - '0';
            avr_irq_register_notify(avr_io_getirq(units[from].avr, AVR_IOCTL_IOPORT_GETIRQ(a[0]), a[1] - '0'), on_axon, l);
        } else if (sscanf(line, "%7s", kind) == 1 && !strcmp(kind, "bus")) {
            bus = 1;
            for (long i = 0; i < n_units; i++)
                avr_irq_register_notify(avr_io_getirq(units[i].avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUTPUT),
                                        on_uart, (void *)i);
        } else if (sscanf(line, "pin %llu %d %7s %d", &cycle, &to, a, &level) == 4) {
            if (n_events == cap) events = realloc(events, sizeof *events * (cap *= 2));
            events[n_events++] = (struct event){ cycle, to, a[0], a[1] - '0', level, -1 };
        } else if (sscanf(line, "byte %llu %x", &cycle, &byte) == 2) {
            if (n_events == cap) events = realloc(events, sizeof *events * (cap *= 2));
            events[n_events++] = (struct event){ cycle, -1, 0, 0, 0, (int)(byte & 0xff) };
        } else if (line[0] != '\n') {
            fprintf(stderr, "board_runner: bad line %s", line);
            return 2;
        }
    }
    qsort(events, n_events, sizeof *events, by_cycle);

    const char *reason = "done";
    unsigned long long now = 0;
    for (;;) {
        /* the unit furthest behind in board time runs next */
        int k = -1;
        unsigned long long best = ~0ULL;
        for (int i = 0; i < n_units; i++) {
            unsigned long long t = (unsigned long long)(units[i].start + (long long)units[i].avr->cycle);
            if (units[i].tick + 1 < steps || units[i].awake) {
                if (t < best) { best = t; k = i; }
            }
        }
        if (k < 0) break;
        now = best;
        while (next_event < n_events && events[next_event].cycle <= now) {
            struct event *e = &events[next_event++];
            if (e->byte >= 0) {
                for (int i = 0; i < n_units; i++)
                    avr_raise_irq(avr_io_getirq(units[i].avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_INPUT), e->byte);
            } else {
                avr_raise_irq(avr_io_getirq(units[e->to].avr, AVR_IOCTL_IOPORT_GETIRQ(e->port), e->bit), e->level);
            }
        }
        struct unit *u = &units[k];
        avr_t *avr = u->avr;
        if (u->awake && avr->state == cpu_Running && avr->flash[avr->pc] == 0x88 && avr->flash[avr->pc + 1] == 0x95) {
            u->awake = 0;
            if (u->tick >= 0) {
                printf("S %d %ld %llu ", k, u->tick, now);
                for (unsigned i = 0; i < u->len; i++) printf("%02x", avr->data[u->addr + i]);
                printf("\n");
            }
            if (u->tick + 1 >= steps) continue;
        }
        int state = avr_run(avr);
        if (state == cpu_Done || state == cpu_Crashed) { reason = "crashed"; break; }
        if (avr->pc == vector && avr->state == cpu_Running) {
            if (u->awake && u->tick >= 0) { reason = "overrun"; break; }
            u->tick++;
            u->awake = 1;
        }
        if (limit && now > limit) { reason = "cycle_limit"; break; }
    }
    printf("R %s %llu\n", reason, now);
    return 0;
}
