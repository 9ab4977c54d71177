/*
 * unit_runner: runs one neuron unit's firmware in simavr (libsimavr) for a
 * number of ticks, feeding it a recorded input sequence and reporting what
 * it did. Built and driven by neurobox.hardware.avr.emulator.
 *
 * usage: unit_runner FW.elf steps=N limit=CYCLES vector=BYTEADDR dump=ADDR:LEN
 *                    [watch=B2,D7,...] [eeprom=HEX] [eeprom_out=1] [reg=ADDR]
 *
 * A tick begins when the CPU jumps to the tick interrupt vector (byte address
 * `vector`); it ends when the CPU first executes SLEEP after that. At each such
 * end, and at the first sleep after reset (tick -1), the runner prints the
 * SRAM bytes [ADDR, ADDR+LEN). The input line for tick t + 1, read from stdin,
 * is applied in tick t: tokens "C3=1" (drive pin PC3 high) and "U85" (send
 * byte 0x85 to the UART receiver) at the end of tick t, "U85@4096" 4096
 * cycles after tick t began (a byte sent in its bus slot); the line for tick
 * 0 is applied at once, at the first sleep. "A2=1234" sets ADC channel 2's input
 * to 1234 mV (AVCC and AREF are 5000 mV) at the end of tick t.
 *
 * stdout, one record a line (cycles are CPU cycles since reset):
 *   S tick tick_cycle sleep_cycle HEXBYTES    state at the end of a tick
 *   O tick HEXBYTE                            the data-space byte at `reg` (an I/O register) then
 *   P port bit cycle level                    a watched pin changed
 *   U cycle HEXBYTE                           the firmware sent a UART byte
 *   X HEXBYTES                                EEPROM at the end (eeprom_out=1)
 *   R reason cycle stack                      done | cycle_limit | overrun | crashed;
 *                                             stack: most bytes the stack held (RAMEND - lowest SP)
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
#include "avr_eeprom.h"
#include "avr_adc.h"

#define EEPROM_SIZE 512
#define SPL_DATA 0x5d               /* SPL, SPH in data space (I/O 0x3d, 0x3e) */
#define RAMEND 0x45f

static avr_t *avr;

static void no_sleep(avr_t *a, avr_cycle_count_t how_long) { (void)a; (void)how_long; }

static void on_pin(struct avr_irq_t *irq, uint32_t value, void *param) {
    (void)irq;
    long code = (long)param;
    printf("P %c %ld %llu %u\n", (char)(code >> 8), code & 7, (unsigned long long)avr->cycle, value ? 1 : 0);
}

static void on_uart(struct avr_irq_t *irq, uint32_t value, void *param) {
    (void)irq; (void)param;
    printf("U %llu %02x\n", (unsigned long long)avr->cycle, value & 0xff);
}

static void send_byte(unsigned byte) {
    avr_raise_irq(avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_INPUT), byte & 0xff);
}

/* bytes waiting for their cycle (in order), sent by one cycle timer */
#define MAX_TIMED 512
static struct { unsigned long long cycle; unsigned byte; } timed[MAX_TIMED];
static int n_timed, next_timed;

static avr_cycle_count_t send_timed(avr_t *a, avr_cycle_count_t when, void *param) {
    (void)a; (void)param;
    while (next_timed < n_timed && timed[next_timed].cycle <= when) send_byte(timed[next_timed++].byte);
    return next_timed < n_timed ? timed[next_timed].cycle : 0;
}

static char pending[8192];          /* the line read at the start of a tick: its tokens applied at its end */

/* the line for the next tick: its timed bytes scheduled from `tick_cycle` (at once when `now`), the rest kept
 * for apply_inputs */
static void read_inputs(unsigned long long tick_cycle, int now) {
    char line[8192];
    pending[0] = 0;
    if (!fgets(line, sizeof line, stdin)) return;
    n_timed = next_timed = 0;
    char *rest = pending;
    for (char *tok = strtok(line, " \t\r\n"); tok; tok = strtok(NULL, " \t\r\n")) {
        char *at = strchr(tok, '@');
        if (tok[0] == 'U' && at && !now) {
            if (n_timed == MAX_TIMED) { fprintf(stderr, "unit_runner: too many bytes in a tick\n"); exit(2); }
            unsigned long long cycle = tick_cycle + strtoull(at + 1, NULL, 10);
            int k = n_timed++;
            while (k > 0 && timed[k - 1].cycle > cycle) { timed[k] = timed[k - 1]; k--; }
            timed[k].cycle = cycle;
            timed[k].byte = (unsigned)strtoul(tok + 1, NULL, 16);
        } else {
            rest += sprintf(rest, "%s ", tok);
        }
    }
    if (n_timed) avr_cycle_timer_register(avr, timed[0].cycle - avr->cycle, send_timed, NULL);
}

static void apply_inputs(void) {
    for (char *tok = strtok(pending, " "); tok; tok = strtok(NULL, " ")) {
        if (tok[0] == 'U') {
            send_byte((unsigned)strtoul(tok + 1, NULL, 16));
        } else if (tok[0] == 'A' && tok[2] == '=') {
            avr_raise_irq(avr_io_getirq(avr, AVR_IOCTL_ADC_GETIRQ, ADC_IRQ_ADC0 + (tok[1] - '0')),
                          (uint32_t)strtoul(tok + 3, NULL, 10));
        } else if (tok[0] >= 'B' && tok[0] <= 'D' && tok[2] == '=') {
            int bit = tok[1] - '0';
            int level = tok[3] == '1';
            avr_raise_irq(avr_io_getirq(avr, AVR_IOCTL_IOPORT_GETIRQ(tok[0]), bit), level);
        } else {
            fprintf(stderr, "unit_runner: bad input token %s\n", tok);
            exit(2);
        }
    }
}

static unsigned reg;                /* a data-space byte printed after each state (0: none) */

static void dump(long tick, unsigned long long tick_cycle, unsigned addr, unsigned len) {
    printf("S %ld %llu %llu ", tick, tick_cycle, (unsigned long long)avr->cycle);
    for (unsigned i = 0; i < len; i++) printf("%02x", avr->data[addr + i]);
    printf("\n");
    if (reg) printf("O %ld %02x\n", tick, avr->data[reg]);
}

static int hexval(char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; }

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: unit_runner FW.elf key=value...\n"); return 2; }
    long steps = 0;
    unsigned long long limit = 0;
    unsigned vector = 0, addr = 0, len = 0;
    const char *watch = "", *eeprom_in = NULL;
    int eeprom_out = 0;
    for (int i = 2; i < argc; i++) {
        char *a = argv[i];
        if (!strncmp(a, "steps=", 6)) steps = atol(a + 6);
        else if (!strncmp(a, "limit=", 6)) limit = strtoull(a + 6, NULL, 10);
        else if (!strncmp(a, "vector=", 7)) vector = (unsigned)strtoul(a + 7, NULL, 0);
        else if (!strncmp(a, "dump=", 5)) sscanf(a + 5, "%u:%u", &addr, &len);
        else if (!strncmp(a, "watch=", 6)) watch = a + 6;
        else if (!strncmp(a, "eeprom=", 7)) eeprom_in = a + 7;
        else if (!strncmp(a, "eeprom_out=", 11)) eeprom_out = atoi(a + 11);
        else if (!strncmp(a, "reg=", 4)) reg = (unsigned)strtoul(a + 4, NULL, 0);
        else { fprintf(stderr, "unit_runner: unknown argument %s\n", a); return 2; }
    }

    elf_firmware_t fw;
    memset(&fw, 0, sizeof fw);
    if (elf_read_firmware(argv[1], &fw) != 0) { fprintf(stderr, "unit_runner: cannot read %s\n", argv[1]); return 2; }
    strcpy(fw.mmcu, "atmega8");
    fw.frequency = 16000000;
    avr = avr_make_mcu_by_name("atmega8");
    if (!avr) { fprintf(stderr, "unit_runner: simavr has no atmega8\n"); return 2; }
    avr_init(avr);
    avr->gdb_port = 0;
    avr->log = 0;
    avr_load_firmware(avr, &fw);
    avr->frequency = 16000000;
    avr->sleep = no_sleep;
    avr->vcc = avr->avcc = avr->aref = 5000;   /* mV: the ADC's reference (AVCC) */

    uint32_t flags = 0;
    avr_ioctl(avr, AVR_IOCTL_UART_GET_FLAGS('0'), &flags);
    flags &= ~(AVR_UART_FLAG_STDIO | AVR_UART_FLAG_POLL_SLEEP);
    avr_ioctl(avr, AVR_IOCTL_UART_SET_FLAGS('0'), &flags);
    avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUTPUT), on_uart, NULL);

    for (const char *w = watch; w[0] && w[1]; ) {
        long code = ((long)w[0] << 8) | (w[1] - '0');
        avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_IOPORT_GETIRQ(w[0]), w[1] - '0'), on_pin, (void *)code);
        w += 2;
        if (*w == ',') w++;
    }

    if (eeprom_in && *eeprom_in) {
        static uint8_t ee[EEPROM_SIZE];
        size_t n = strlen(eeprom_in) / 2;
        if (n > EEPROM_SIZE) n = EEPROM_SIZE;
        for (size_t i = 0; i < n; i++) ee[i] = (uint8_t)(hexval(eeprom_in[2 * i]) << 4 | hexval(eeprom_in[2 * i + 1]));
        avr_eeprom_desc_t d = { .ee = ee, .offset = 0, .size = (uint16_t)n };
        avr_ioctl(avr, AVR_IOCTL_EEPROM_SET, &d);
    }

    long tick = -1;                 /* tick in progress; -1 = start-up */
    int awake = 1;                  /* the tick in progress has not slept yet */
    unsigned long long tick_cycle = 0;
    const char *reason = "done";
    unsigned lowest_sp = RAMEND;
    for (;;) {
        /* about to execute SLEEP (opcode 0x9588): the tick's work is done */
        if (awake && avr->state == cpu_Running && avr->flash[avr->pc] == 0x88 && avr->flash[avr->pc + 1] == 0x95) {
            awake = 0;
            dump(tick, tick_cycle, addr, len);
            if (tick + 1 >= steps) break;
            if (tick < 0) read_inputs(avr->cycle, 1);
            apply_inputs();
        }
        int state = avr_run(avr);
        if (state == cpu_Done || state == cpu_Crashed) { reason = state == cpu_Done ? "stopped" : "crashed"; break; }
        unsigned sp = avr->data[SPL_DATA] | (unsigned)avr->data[SPL_DATA + 1] << 8;
        if (sp < lowest_sp) lowest_sp = sp;
        if (avr->pc == vector && avr->state == cpu_Running) {
            if (awake && tick >= 0) { reason = "overrun"; break; }
            tick++;
            awake = 1;
            tick_cycle = avr->cycle;
            if (tick + 1 < steps) read_inputs(tick_cycle, 0);
        }
        if (limit && avr->cycle > limit) { reason = "cycle_limit"; break; }
    }
    if (eeprom_out) {
        static uint8_t ee[EEPROM_SIZE];
        avr_eeprom_desc_t d = { .ee = ee, .offset = 0, .size = EEPROM_SIZE };
        avr_ioctl(avr, AVR_IOCTL_EEPROM_GET, &d);
        printf("X ");
        for (int i = 0; i < EEPROM_SIZE; i++) printf("%02x", d.ee[i]);
        printf("\n");
    }
    printf("R %s %llu %u\n", reason, (unsigned long long)avr->cycle, RAMEND - lowest_sp);
    return 0;
}
