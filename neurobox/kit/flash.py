"""Firmware and flashing: every unit's image, the ATmega8's fuses, and the avrdude command that writes them.

The images are those `neurobox firmware build` makes (neurobox.hardware.avr.network.build_board: avr-gcc,
then every unit measured in simavr). The fuses set the clock the firmware is timed for, a 16 MHz crystal
(ATmega8 datasheet, 2486AA-AVR-02/2013, "Crystal Oscillator": Table 4, CKOPT programmed (0) with
CKSEL3..1 = 111 for a crystal above 8 MHz, 1.0-16 MHz; Table 5, CKSEL0 = 1 and SUT1..0 = 11 for a crystal
with slowly rising power, 16K CK + 65 ms; fuse bytes: Tables 87 and 88):

    lfuse 0x3F   BODLEVEL=0 (brown-out at 4.0 V), BODEN=0 (enabled), SUT1..0=11, CKSEL3..0=1111
    hfuse 0xC1   RSTDISBL=1, WDTON=1, SPIEN=0 (ISP stays on), CKOPT=0 (full-swing oscillator, > 8 MHz),
                 EESAVE=0 (the EEPROM survives a re-flash), BOOTSZ1..0=00, BOOTRST=1 (no boot loader)

An ATmega8 (not the 8L) runs at 16 MHz from 4.5 V; the brown-out detector holds it in reset below 4.0 V
instead of letting it run wrong. EESAVE keeps a unit's learned weights across a re-flash of the same
firmware (main.c keeps them only while its configuration hash matches, so new firmware starts afresh).
A fresh chip runs from its 1 MHz RC oscillator, which a USBasp programs only at its slow ISP clock:
`-B 32` (about 16 kHz) is safe for the first flash.
"""
from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

from neurobox.errors import ConfigError, ToolError, ToolMissingError

PART = "m8"
FUSES = {"lfuse": 0x3F, "hfuse": 0xC1}
APT_AVRDUDE = "apt-get install avrdude"
PROGRAMMERS = ("usbasp", "usbtiny", "avrisp2", "arduino", "stk500v1", "stk500v2", "atmelice_isp", "pickit4_isp")
"""Common ISP programmers (avrdude -c ID); any id avrdude knows is accepted."""
FIRMWARE_DIR = "firmware"
SCRIPT = "flash.sh"
COMMANDS = "flash.txt"
_ID = re.compile(r"^[A-Za-z0-9_.+-]+$")


def build_firmware(net, folder: str | Path, mode: str) -> dict:
    """Build every unit of `net` into `folder` as `neurobox firmware build` does (UNIT.hex, UNIT.elf, UNIT.h,
    UNIT.pins.json, report.json); the resource report."""
    from neurobox.hardware.avr.network import build_board
    from neurobox.hardware.board import units_from_network

    return build_board(units_from_network(net), Path(folder), mode)


def avrdude_command(hex_name: str, programmer: str = "usbasp", port: str | None = None,
                    bitclock: str | None = None) -> list[str]:
    """The avrdude command that writes `hex_name` (a file name in the current folder: avrdude's -U splits
    on ':') and the fuses into an ATmega8 through `programmer` (avrdude -c ID) on `port` (-P, if given)."""
    if not _ID.match(programmer or ""):
        raise ConfigError("--programmer", f"{programmer!r} is not a programmer id; e.g. {', '.join(PROGRAMMERS[:4])} "
                                          "(avrdude -c '?' lists them)")
    if ":" in hex_name:
        raise ConfigError("unit", f"{hex_name}: a file name for avrdude's -U must not contain ':'")
    cmd = ["avrdude", "-p", PART, "-c", programmer]
    if port:
        cmd += ["-P", port]
    if bitclock:
        cmd += ["-B", bitclock]
    cmd += ["-U", f"flash:w:{hex_name}:i"]
    for fuse, value in FUSES.items():
        cmd += ["-U", f"{fuse}:w:0x{value:02X}:m"]
    return cmd


def units_in(kit_dir: str | Path) -> list[str]:
    """The units whose firmware a kit folder holds (firmware/UNIT.hex), in name order."""
    return sorted(p.name[:-len(".hex")] for p in (Path(kit_dir) / FIRMWARE_DIR).glob("*.hex"))


def flash_text(units: list[str], programmer: str = "usbasp") -> str:
    """flash.txt: the fuses and every unit's avrdude command, run in the kit's firmware/ folder."""
    lines = ["# Flash one ATmega8 per unit (run in the firmware/ folder; one chip on the ISP header at a time).",
             f"# fuses: lfuse 0x{FUSES['lfuse']:02X}, hfuse 0x{FUSES['hfuse']:02X} (16 MHz crystal, CKOPT "
             "programmed, brown-out at 4.0 V, EEPROM kept; see ASSEMBLY.md)",
             "# a fresh chip runs at 1 MHz until its fuses are written: add -B 32 if the programmer cannot reach it"]
    lines += [shlex.join(avrdude_command(f"{u}.hex", programmer)) for u in units]
    return "\n".join(lines) + "\n"


def flash_script(units: list[str], programmer: str = "usbasp") -> str:
    """flash.sh UNIT: flash one unit (PROGRAMMER, PORT and BITCLOCK from the environment; no UNIT: the list)."""
    cases = "\n".join(f"    {shlex.quote(u)}) ;;" for u in units)
    return f"""#!/bin/sh
# Flash one unit's ATmega8: ./flash.sh UNIT   (PROGRAMMER=usbasp PORT=... BITCLOCK=32 to change the defaults)
# fuses: lfuse 0x{FUSES['lfuse']:02X}, hfuse 0x{FUSES['hfuse']:02X} (16 MHz crystal; see ASSEMBLY.md)
set -eu
unit="${{1:-}}"
case "$unit" in
{cases}
    *) echo "usage: $0 UNIT; units: "{shlex.quote(' '.join(units))} >&2; exit 2 ;;
esac
cd "$(dirname "$0")/{FIRMWARE_DIR}"
exec avrdude -p {PART} -c "${{PROGRAMMER:-{programmer}}}" ${{PORT:+-P "$PORT"}} ${{BITCLOCK:+-B "$BITCLOCK"}} \\
    -U "flash:w:$unit.hex:i" {' '.join(f'-U {f}:w:0x{v:02X}:m' for f, v in FUSES.items())}
"""


def write_flashing(units: list[str], folder: str | Path, programmer: str = "usbasp") -> dict:
    """Write `folder`/flash.sh (executable) and flash.txt; return the fuses and every unit's command."""
    from neurobox.files import atomic_write_text

    folder = Path(folder)
    script = atomic_write_text(folder / SCRIPT, flash_script(units, programmer))
    script.chmod(0o755)
    atomic_write_text(folder / COMMANDS, flash_text(units, programmer))
    return {"fuses": {k: f"0x{v:02X}" for k, v in FUSES.items()}, "programmer": programmer,
            "commands": {u: shlex.join(avrdude_command(f"{u}.hex", programmer)) for u in units},
            "files": [SCRIPT, COMMANDS]}


def flash(unit: str, kit_dir: str | Path, programmer: str, port: str | None = None, bitclock: str | None = None,
          dry_run: bool = False) -> list[str]:
    """Write `unit`'s firmware (kit_dir/firmware/UNIT.hex) and the fuses with avrdude; dry_run: only check
    and return the command. ConfigError for an unknown unit, ToolMissingError without avrdude, ToolError
    when avrdude fails."""
    firmware = Path(kit_dir) / FIRMWARE_DIR
    units = units_in(kit_dir)
    if unit not in units:
        where = f"units in {firmware}: {', '.join(units)}" if units else \
            f"{firmware} holds no firmware; make the kit first (neurobox kit MODEL.toml --out {kit_dir})"
        raise ConfigError("unit", f"no firmware for unit {unit!r}; {where}")
    cmd = avrdude_command(f"{unit}.hex", programmer, port, bitclock)
    if dry_run:
        return cmd
    exe = shutil.which("avrdude")
    if exe is None:
        raise ToolMissingError(f"avrdude not found; install it with: {APT_AVRDUDE}")
    done = subprocess.run([exe, *cmd[1:]], cwd=firmware, check=False)
    if done.returncode != 0:
        raise ToolError(f"unit {unit}: avrdude failed (exit {done.returncode}); check the programmer "
                        f"({programmer}), its cable and port, and the chip's power")
    return cmd
