"""Build one unit's firmware with avr-gcc: ELF, flashable Intel HEX, and its flash/SRAM use.

    avr-gcc -mmcu=atmega8 -DF_CPU=16000000UL -O2  main.c neuron.c stdp.c rstdp.c eprop.c led.c analog.c
    avr-objcopy -O ihex -j .text -j .data  unit.elf unit.hex
    avr-size -A unit.elf    (flash = .text + .data, SRAM = .data + .bss)

Nothing test-only is compiled in: the emulator reads the unit's state from
SRAM, so the image that is verified is the image that is flashed. -O2, not
-Os: the per-input loops of a tick run about a third faster (constant shifts
unrolled instead of looped); the code stays under 3.4 KB of the 8 KB of flash.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from neurobox.errors import ConfigError, ToolError, ToolMissingError

APT_AVR = "apt-get install gcc-avr avr-libc binutils-avr"
SOURCES = ("main.c", "neuron.c", "stdp.c", "rstdp.c", "eprop.c", "led.c", "analog.c")
FLASH_BYTES = 8192
SRAM_BYTES = 1024
STACK_RESERVE = 128
"""SRAM kept free for the stack (the deepest call chain uses well under this)."""
CFLAGS = ("-mmcu=atmega8", "-DF_CPU=16000000UL", "-O2", "-fno-ipa-icf", "-std=gnu99", "-Wall", "-Wextra", "-Werror",
          "-ffunction-sections", "-fdata-sections", "-Wl,--gc-sections")
"""-fno-ipa-icf: -O2 folds identical read-only tables into one, even a table in SRAM with one in flash
(PROGMEM), which are read with different instructions (two all-zero tables of a bus unit did)."""


def tool(name: str) -> str:
    """Path of an AVR tool, or ToolMissingError saying how to install it."""
    path = shutil.which(name)
    if path is None:
        raise ToolMissingError(f"{name} not found; install it with: {APT_AVR}")
    return path


def firmware_dir() -> Path:
    return Path(str(resources.files("neurobox.hardware.avr") / "firmware"))


@dataclass(frozen=True)
class Image:
    """A built unit: paths of its files and its memory use in bytes."""

    elf: Path
    hex: Path
    flash: int
    sram: int
    state_address: int
    """SRAM address of `struct unit_state unit` (data space, as the emulator reads it)."""

    def check_fits(self, unit: str) -> None:
        if self.flash > FLASH_BYTES:
            raise ConfigError(f"units.{unit}", f"unit {unit} needs {self.flash} B of flash; the ATmega8 has {FLASH_BYTES}")
        if self.sram > SRAM_BYTES - STACK_RESERVE:
            raise ConfigError(f"units.{unit}", f"unit {unit} needs {self.sram} B of SRAM for data; the ATmega8 has "
                                               f"{SRAM_BYTES}, of which {STACK_RESERVE} are kept for the stack")


def first_error(text: str) -> str:
    """The first line of a tool's output that says what went wrong (else its first line), shortened."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    telling = [x for x in lines if re.search(r"error|not within region|overflow", x, re.IGNORECASE) and "collect2" not in x]
    line = (telling or lines or ["no message"])[0]
    return line if len(line) <= 300 else line[:297] + "..."


def _run(cmd: list[str], unit: str = "unit") -> str:
    """Run an AVR tool; ToolError in one line (the unit, the tool, its first error) when it fails."""
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        raise ToolError(f"unit {unit}: {Path(cmd[0]).name} did not finish within 120 s") from None
    if done.returncode != 0:
        raise ToolError(f"unit {unit}: {Path(cmd[0]).name} failed (exit {done.returncode}): "
                        f"{first_error(done.stderr or done.stdout)}")
    return done.stdout


def build(config_header: str, out_dir: Path, name: str = "unit") -> Image:
    """Compile the firmware with `config_header` as unit_config.h into out_dir/name.{elf,hex}.

    The header comes from neurobox.hardware.avr.config.header, which refuses a unit whose SRAM or flash does
    not fit (neurobox.hardware.avr.memory) before this runs; should a tool still fail, ToolError says so in
    one line naming the unit and the tool."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    gcc, objcopy, size, nm = (tool(t) for t in ("avr-gcc", "avr-objcopy", "avr-size", "avr-nm"))
    src = firmware_dir()
    elf, hexfile = out_dir / f"{name}.elf", out_dir / f"{name}.hex"
    with tempfile.TemporaryDirectory(prefix="neurobox-avr-") as inc:
        (Path(inc) / "unit_config.h").write_text(config_header)
        _run([gcc, *CFLAGS, f"-I{inc}", f"-I{src}", *(str(src / s) for s in SOURCES), "-o", str(elf)], name)
    _run([objcopy, "-O", "ihex", "-j", ".text", "-j", ".data", str(elf), str(hexfile)], name)
    sections = {}
    for line in _run([size, "-A", str(elf)], name).splitlines():
        m = re.match(r"^\.(\w+)\s+(\d+)\s+(\d+)", line)
        if m:
            sections[m.group(1)] = int(m.group(2))
    address = None
    for line in _run([nm, str(elf)], name).splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == "unit":
            address = int(parts[0], 16) & 0xFFFF
    if address is None:
        raise ToolError(f"unit {name}: avr-nm found no symbol 'unit' in {elf}")
    return Image(elf=elf, hex=hexfile, flash=sections.get("text", 0) + sections.get("data", 0),
                 sram=sections.get("data", 0) + sections.get("bss", 0), state_address=address)
