"""`neurobox probe`, `neurobox fi` and `neurobox gallery` (parsed and run in-process, as neurobox.cli.main does)."""
from __future__ import annotations

import argparse
import json
import sys

import pytest

from neurobox.cli import probe as probe_cli
from neurobox.errors import ConfigError, NeuroboxError
from neurobox.neurons.patterns import classify
from neurobox.tasks.probe import gallery_cases, probe

PNG = b"\x89PNG\r\n\x1a\n"


def cli(*argv):
    """Parse and run like neurobox.cli.main: NeuroboxError -> one line on stderr, status 2."""
    parser = argparse.ArgumentParser(prog="neurobox")
    sub = parser.add_subparsers(dest="command")
    probe_cli.register(sub)
    args = parser.parse_args([str(a) for a in argv])
    try:
        return int(args.func(args) or 0)
    except NeuroboxError as err:
        print(f"neurobox {args.command}: error: {err}", file=sys.stderr)
        return 2


def test_probe_json(capsys):
    assert cli("probe", "aeif_cond_exp", "--preset", "adapting", "--current", 500, "--duration", 300,
               "--json") == 0
    out = json.loads(capsys.readouterr().out)
    ref = probe("aeif_cond_exp", preset="adapting", current_pA=500.0, duration_ms=300.0)
    assert out["spike_times_ms"] == ref.spike_times_ms.tolist()
    assert out["pattern"] == "adapting" and out["n_spikes"] == len(ref.spike_times_ms)
    assert out["params"]["b"] == 60.0 and "traces" not in out


def test_probe_params_traces_and_plot(capsys, tmp_path):
    png = tmp_path / "v.png"
    assert cli("probe", "izhikevich", "--param", "d=2", "--param", "c=-50", "--current", 10, "--duration", 100,
               "--json", "--traces", "--plot", png) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["params"]["c"] == -50.0 and out["params"]["d"] == 2.0
    assert len(out["traces"]["V_m"]) == len(out["times_ms"]) == 1001
    assert png.read_bytes()[:8] == PNG and png.stat().st_size < 200_000


def test_probe_text(capsys):
    assert cli("probe", "hh_psc_alpha", "--current", 1000, "--duration", 100) == 0
    text = capsys.readouterr().out
    assert "hh_psc_alpha" in text and "spikes" in text and "pattern" in text
    assert cli("probe", "hh_psc_alpha", "--current", 0, "--duration", 20) == 0
    assert "no spikes" in capsys.readouterr().out


def test_fi_json_and_plot(capsys, tmp_path):
    png = tmp_path / "fi.png"
    assert cli("fi", "iaf_psc_alpha", "--currents", "0:800:200", "--duration", 500, "--json", "--plot", png) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["currents_pA"] == [0.0, 200.0, 400.0, 600.0, 800.0]
    assert out["rate_hz"][0] == 0.0 and out["steady_rate_hz"][0] is None
    assert out["rate_hz"] == sorted(out["rate_hz"]) and out["rate_hz"][-1] > 30
    assert png.read_bytes()[:8] == PNG


@pytest.mark.parametrize("argv,message", [
    (("probe", "lif", "--current", 1), "unknown model 'lif'; valid models: "),
    (("probe", "izhikevich", "--preset", "rs", "--current", 1), "valid presets: chattering"),
    (("probe", "izhikevich", "--param", "e=1", "--current", 1), "params.e: unknown parameter"),
    (("probe", "izhikevich", "--param", "a", "--current", 1), "--param: expected NAME=VALUE"),
    (("probe", "izhikevich", "--param", "a=x", "--current", 1), "--param a: expected a number"),
    (("probe", "aeif_cond_exp", "--param", "C_m=-1", "--current", 1), "params.C_m: -1 is outside"),
    (("probe", "izhikevich", "--current", 1, "--dt", 0), "dt: must be > 0 ms"),
    (("fi", "izhikevich", "--currents", "5:1:1"), "--currents: need STEP > 0"),
    (("gallery", "--dt", -1), "--dt: must be > 0 ms"),
])
def test_errors_are_one_line(capsys, argv, message):
    assert cli(*argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_gallery_writes_a_small_png_per_family(capsys, tmp_path):
    assert cli("gallery", "--out", tmp_path) == 0
    out = capsys.readouterr().out.splitlines()
    paths = [line.removeprefix("wrote ") for line in out if line.startswith("wrote ")]
    assert "fire as their source describes" in out[-len(paths) - 1]      # the table of classes comes first
    assert sorted(p.rsplit("/", 1)[-1] for p in paths) == sorted(f"{f}.png" for f in gallery_cases())
    for p in paths:
        data = open(p, "rb").read()
        assert data[:8] == PNG and len(data) < 300_000


def test_gallery_cases_are_classified_as_their_sources_say():
    for family, cases in gallery_cases().items():
        for case in cases:
            res = probe(case.model, preset=case.preset, current_pA=case.current_pA, duration_ms=case.duration_ms,
                        onset_ms=case.onset_ms, initial=dict(case.initial))
            assert classify(res.spike_times_ms, case.onset_ms, case.duration_ms).name == case.expected, case


def test_probe_initial_values():
    res = probe("izhikevich", current_pA=0.0, duration_ms=1.0, initial={"V_m": -70.0, "U_m": -14.0})
    assert res.v[0] == -70.0 and res.traces["U_m"][0] == -14.0
    with pytest.raises(ConfigError, match="no state variable 'u'"):
        probe("izhikevich", current_pA=0.0, initial={"u": 1.0})
