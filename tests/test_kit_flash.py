"""Flashing the kit (neurobox.kit.flash): every generated avrdude command, run by the real avrdude against
a programmer with no hardware behind it, writes the unit's .hex and the stated fuses.

avrdude 7.1 (Debian 12) has no `-c dryrun` programmer (it came in 7.2), so the tests give avrdude an
STK500 v1 programmer on a pseudo-terminal: `FakeStk500` answers the protocol (Atmel AVR061) like an
ATmega8 on the ISP header, and keeps what avrdude writes, which the tests compare with the .hex file read
by their own Intel HEX reader and with the fuse bits of the ATmega8 datasheet.
"""
from __future__ import annotations

import os
import select
import shlex
import subprocess
import threading
import tty
from pathlib import Path

import pytest
from conftest import require_tool

from neurobox.cli import main as cli_main
from neurobox.errors import ConfigError, ToolMissingError
from neurobox.kit import flash as kit_flash
from neurobox.network.modelfile import load

ROOT = Path(__file__).resolve().parent.parent
BOARD = ROOT / "examples" / "board.toml"
UNITS = ["sense.0", "sense.1", "relay", "brake"]


def fuse_byte(bits: dict[str, int], order: list[str]) -> int:
    """A fuse byte from its named bits, bit 7 first (0 = programmed)."""
    return sum(bits[name] << (7 - k) for k, name in enumerate(order))


# ATmega8 datasheet (2486AA-AVR-02/2013), Tables 87/88 (the fuse bytes), 4 and 5 (a crystal above 8 MHz:
# CKOPT programmed, CKSEL3..1 = 111; slowly rising power: CKSEL0 = 1, SUT1..0 = 11); BOD on at 4.0 V;
# ISP kept on; the EEPROM kept across a chip erase; no boot loader.
LFUSE = fuse_byte({"BODLEVEL": 0, "BODEN": 0, "SUT1": 1, "SUT0": 1, "CKSEL3": 1, "CKSEL2": 1, "CKSEL1": 1,
                   "CKSEL0": 1}, ["BODLEVEL", "BODEN", "SUT1", "SUT0", "CKSEL3", "CKSEL2", "CKSEL1", "CKSEL0"])
HFUSE = fuse_byte({"RSTDISBL": 1, "WDTON": 1, "SPIEN": 0, "CKOPT": 0, "EESAVE": 0, "BOOTSZ1": 0, "BOOTSZ0": 0,
                   "BOOTRST": 1}, ["RSTDISBL", "WDTON", "SPIEN", "CKOPT", "EESAVE", "BOOTSZ1", "BOOTSZ0", "BOOTRST"])


def read_hex(path: Path) -> dict[int, int]:
    """Address -> byte of an Intel HEX file (data, end and extended-address records), checksums checked."""
    out, base = {}, 0
    for line in path.read_text().split():
        raw = bytes.fromhex(line[1:])
        assert line[0] == ":" and sum(raw) & 0xFF == 0, line
        n, addr, kind, data = raw[0], raw[1] << 8 | raw[2], raw[3], raw[4:-1]
        assert len(data) == n
        if kind == 0:
            out.update({base + addr + k: b for k, b in enumerate(data)})
        elif kind == 1:
            break
        elif kind == 2:
            base = int.from_bytes(data, "big") << 4
        elif kind == 4:
            base = int.from_bytes(data, "big") << 16
    return out


class FakeStk500:
    """An ATmega8 behind an STK500 v1 programmer on a pseudo-terminal (`port`), for avrdude -c stk500v1."""

    def __init__(self):
        self.flash = bytearray(b"\xff" * 8192)
        self.fuses = {"lfuse": 0xE1, "hfuse": 0xD9}          # a fresh chip: 1 MHz RC oscillator
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)
        self._addr, self._buf, self._stop = 0, bytearray(), False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def close(self):
        self._stop = True
        self._thread.join(2)
        os.close(self.master)
        os.close(self._slave)

    def _read(self, n: int) -> bytes:
        while len(self._buf) < n:
            if self._stop:
                raise EOFError
            if select.select([self.master], [], [], 0.1)[0]:
                try:
                    self._buf += os.read(self.master, 4096)
                except OSError:
                    raise EOFError from None
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    def _reply(self, payload: bytes = b"") -> None:
        ok = self._read(1) == b"\x20"                         # Sync_CRC_EOP
        os.write(self.master, b"\x14" + payload + b"\x10" if ok else b"\x15")

    def _serve(self) -> None:
        try:
            while True:
                cmd = self._read(1)[0]
                if cmd in (0x30, 0x50, 0x51):                   # get sync, enter/leave programming mode
                    self._reply()
                elif cmd == 0x41:                               # get parameter: HW 2, SW 1.18
                    self._reply(bytes([{0x80: 2, 0x81: 1, 0x82: 18}.get(self._read(1)[0], 0)]))
                elif cmd in (0x40, 0x42):                       # set parameter, set device
                    self._read(2 if cmd == 0x40 else 20)
                    self._reply()
                elif cmd == 0x45:                               # set device, extended
                    self._read(self._read(1)[0] - 1)
                    self._reply()
                elif cmd == 0x55:                               # load (word) address
                    lo, hi = self._read(2)
                    self._addr = 2 * (hi << 8 | lo)
                    self._reply()
                elif cmd == 0x56:                               # universal: the ISP instruction itself
                    self._reply(bytes([self._isp(self._read(4))]))
                elif cmd in (0x64, 0x74):                       # program / read page
                    hi, lo, memory = self._read(3)
                    n = hi << 8 | lo
                    if cmd == 0x64:
                        data = self._read(n)
                        if memory == ord("F"):
                            self.flash[self._addr:self._addr + n] = data
                        self._reply()
                    else:
                        self._reply(bytes(self.flash[self._addr:self._addr + n]) if memory == ord("F")
                                    else b"\xff" * n)
                elif cmd == 0x75:                               # read signature
                    self._reply(b"\x1e\x93\x07")
                else:
                    os.write(self.master, b"\x12")              # Resp_STK_UNKNOWN
        except EOFError:
            return

    def _isp(self, ins: bytes) -> int:
        """An ATmega8 serial programming instruction (datasheet: Serial Programming Instruction Set)."""
        a, b, c, d = ins
        if (a, b) == (0xAC, 0x80):                              # chip erase
            self.flash[:] = b"\xff" * len(self.flash)
        elif (a, b) == (0xAC, 0xA0):
            self.fuses["lfuse"] = d
        elif (a, b) == (0xAC, 0xA8):
            self.fuses["hfuse"] = d
        elif (a, b) == (0x50, 0x00):
            return self.fuses["lfuse"]
        elif (a, b) == (0x58, 0x08):
            return self.fuses["hfuse"]
        elif a == 0x30:
            return (0x1E, 0x93, 0x07)[c % 3]
        return 0


@pytest.fixture
def chip():
    fake = FakeStk500()
    yield fake
    fake.close()


@pytest.fixture(scope="module")
def kit_dir(tmp_path_factory):
    """A kit folder with the board example's firmware and flashing files (built once)."""
    require_tool("avr-gcc", "apt-get install gcc-avr avr-libc binutils-avr")
    require_tool("simavr", "apt-get install simavr libsimavr-dev libelf-dev")
    folder = tmp_path_factory.mktemp("kit")
    (folder / "firmware").mkdir()
    report = kit_flash.build_firmware(load(BOARD), folder / "firmware", "wired")
    assert [u["unit"] for u in report["units"]] == UNITS
    kit_flash.write_flashing(UNITS, folder)
    return folder


@pytest.fixture
def avrdude():
    return require_tool("avrdude", kit_flash.APT_AVRDUDE)


def written_as_hex(chip: FakeStk500, hex_file: Path) -> bool:
    image = read_hex(hex_file)
    return len(image) > 100 and all(chip.flash[a] == b for a, b in image.items()) and \
        all(chip.flash[a] == 0xFF for a in range(len(chip.flash)) if a not in image)


def test_the_fuses_are_the_datasheets():
    assert (LFUSE, HFUSE) == (0x3F, 0xC1)
    assert kit_flash.FUSES == {"lfuse": LFUSE, "hfuse": HFUSE}


def test_every_command_of_flash_txt_writes_its_unit(kit_dir, avrdude):
    lines = [ln for ln in (kit_dir / "flash.txt").read_text().splitlines() if ln and not ln.startswith("#")]
    assert len(lines) == len(UNITS)
    for unit, line in zip(UNITS, lines):
        cmd = shlex.split(line)
        assert cmd[:5] == ["avrdude", "-p", "m8", "-c", "usbasp"]
        assert cmd[5:] == ["-U", f"flash:w:{unit}.hex:i", "-U", f"lfuse:w:0x{LFUSE:02X}:m",
                           "-U", f"hfuse:w:0x{HFUSE:02X}:m"]
        fake = FakeStk500()
        try:
            cmd[4:5] = ["stk500v1", "-P", fake.port]
            done = subprocess.run([avrdude, *cmd[1:]], cwd=kit_dir / "firmware", capture_output=True, text=True,
                                  timeout=60, check=False)
            assert done.returncode == 0, done.stderr[-2000:]
            assert "bytes of flash verified" in done.stderr
            assert written_as_hex(fake, kit_dir / "firmware" / f"{unit}.hex")
            assert fake.fuses == {"lfuse": LFUSE, "hfuse": HFUSE}
        finally:
            fake.close()


def test_kit_flash_runs_avrdude(kit_dir, avrdude, chip, capsys):
    argv = ["kit", "flash", "relay", "--programmer", "stk500v1", "--port", chip.port, "--kit", str(kit_dir)]
    assert cli_main(argv) == 0
    assert written_as_hex(chip, kit_dir / "firmware" / "relay.hex")
    assert chip.fuses == {"lfuse": LFUSE, "hfuse": HFUSE}


def test_flash_sh_flashes_one_unit(kit_dir, avrdude, chip):
    env = {**os.environ, "PROGRAMMER": "stk500v1", "PORT": chip.port}
    done = subprocess.run(["sh", str(kit_dir / "flash.sh"), "brake"], env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert written_as_hex(chip, kit_dir / "firmware" / "brake.hex")
    assert chip.fuses == {"lfuse": LFUSE, "hfuse": HFUSE}
    bad = subprocess.run(["sh", str(kit_dir / "flash.sh"), "nobody"], capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "sense.0 sense.1 relay brake" in bad.stderr


def test_dry_run_prints_the_command(kit_dir, capsys):
    assert cli_main(["kit", "flash", "sense.1", "--kit", str(kit_dir), "--dry-run", "--port", "usb"]) == 0
    out = capsys.readouterr().out
    assert "avrdude -p m8 -c usbasp -P usb -U flash:w:sense.1.hex:i -U lfuse:w:0x3F:m -U hfuse:w:0xC1:m" in out


def test_refusals(kit_dir, monkeypatch, capsys):
    with pytest.raises(ConfigError, match="no firmware for unit 'ghost'.*sense.0"):
        kit_flash.flash("ghost", kit_dir, "usbasp")
    with pytest.raises(ConfigError, match="--programmer"):
        kit_flash.flash("relay", kit_dir, "usb asp")
    monkeypatch.setattr(kit_flash.shutil, "which", lambda name: None)
    with pytest.raises(ToolMissingError, match="apt-get install avrdude"):
        kit_flash.flash("relay", kit_dir, "usbasp")
    assert cli_main(["kit", "flash", "relay", "--kit", str(kit_dir)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "avrdude not found" in err
    assert cli_main(["kit", "flash", "relay", "--out", str(kit_dir)]) == 2
    assert "--kit DIR" in capsys.readouterr().err
