"""One neuron (or a few independent ones) under a current step: traces, spikes, f-I curves.

`probe` and `fi_curve` build a small Network (one population of the
model, a step current per amplitude, spike generators for synaptic
inputs, a recorder of every state variable) and run it with the engine,
so they show exactly what the model does inside a network. They serve
the `neurobox probe` / `neurobox fi` / `neurobox gallery` commands and
the model tests.

Timing conventions (the engine's): step k integrates from t = k dt to
(k+1) dt; a spike found in step k is reported at t = (k+1) dt ms; the trace
row k+1 holds the state at (k+1) dt (row 0 is the initial state at t = 0).
The current is `current_pA` from `onset_ms` on (rounded to the step grid)
until the end of the run, 0 before. A synaptic input (t, receptor, weight)
is delivered in the step that ends at t, so (NEST order) it enters the
synaptic state at t and acts on the membrane from t on. It comes from a
spike generator firing at t - dt over a synapse of one step's delay, so
t >= 2 dt, and its weight is stored as float32, as every synapse of the
engine.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from neurobox.engine import Simulation
from neurobox.errors import ConfigError
from neurobox.results import Results
from neurobox.network import Network, StepCurrent
from neurobox.neurons import MODELS, get_model
from neurobox.neurons.base import NeuronModel

MAX_STEPS = 20_000_000
"""Upper bound on duration/dt, so a typo cannot allocate gigabytes of traces."""

NEURONS = "neurons"
"""The name of the probed population."""


def _extra_models() -> dict[str, NeuronModel]:
    """The float models beyond iaf_psc_exp / iaf_cond_exp (the model tests iterate over these)."""
    from neurobox.neurons.adex import AEIF_COND_EXP, AEIF_PSC_EXP
    from neurobox.neurons.hodgkin_huxley import HH_PSC_ALPHA
    from neurobox.neurons.izhikevich import IZHIKEVICH, IZHIKEVICH2007
    from neurobox.neurons.lif_alpha import IAF_COND_ALPHA, IAF_PSC_ALPHA
    return {m.name: m for m in (IZHIKEVICH, IZHIKEVICH2007, AEIF_COND_EXP, AEIF_PSC_EXP,
                                HH_PSC_ALPHA, IAF_PSC_ALPHA, IAF_COND_ALPHA)}


def all_models() -> dict[str, NeuronModel]:
    """Every neuron model by name (a copy of neurobox.neurons.MODELS)."""
    return dict(MODELS)


def resolve_model(model: str | NeuronModel, field_path: str = "model") -> NeuronModel:
    """`model` itself, or the model called `model`; ConfigError listing the valid names."""
    return get_model(model, field_path)


@dataclass
class ProbeResult:
    """What one probe run produced.

    times:          float64[T+1], ms (0, dt, ..., T dt)
    traces:         state variable name -> float64[T+1] (one neuron) or [T+1, N]
    spike_times_ms: float64 array of spike times (one neuron), or a list of arrays (N > 1)
    """

    model: str
    method: str
    params: dict[str, float]
    current_pA: float | np.ndarray
    dt: float
    duration_ms: float
    times: np.ndarray
    traces: dict[str, np.ndarray]
    spike_times_ms: np.ndarray | list[np.ndarray]
    units: dict[str, str] = field(default_factory=dict)
    voltage: str | None = "V_m"
    onset_ms: float = 0.0

    @property
    def v(self) -> np.ndarray:
        """The membrane potential trace, mV."""
        if self.voltage is None:
            raise ConfigError("voltage", f"model {self.model} has no membrane potential")
        return self.traces[self.voltage]

    def to_dict(self, with_traces: bool = False) -> dict:
        """A JSON-ready dict (spike times; traces only when asked)."""
        spikes = self.spike_times_ms
        out = {
            "model": self.model, "method": self.method, "params": dict(self.params),
            "current_pA": np.asarray(self.current_pA).tolist(), "dt_ms": self.dt,
            "duration_ms": self.duration_ms, "onset_ms": self.onset_ms,
            "spike_times_ms": (spikes.tolist() if isinstance(spikes, np.ndarray)
                               else [s.tolist() for s in spikes]),
        }
        n_spk = len(spikes) if isinstance(spikes, np.ndarray) else [len(s) for s in spikes]
        out["n_spikes"] = n_spk
        if with_traces:
            out["times_ms"] = self.times.tolist()
            out["traces"] = {k: v.tolist() for k, v in self.traces.items()}
            out["units"] = dict(self.units)
        return out


def _check_run(duration_ms: float, dt: float) -> int:
    try:
        dt = float(dt)
        duration_ms = float(duration_ms)
    except (TypeError, ValueError):
        raise ConfigError("dt", "dt and duration must be numbers (ms)") from None
    if not (math.isfinite(dt) and dt > 0):
        raise ConfigError("dt", f"must be > 0 ms, got {dt:g}")
    if not (math.isfinite(duration_ms) and duration_ms > 0):
        raise ConfigError("duration", f"must be > 0 ms, got {duration_ms:g}")
    n_steps = int(round(duration_ms / dt))
    if n_steps < 1:
        raise ConfigError("duration", f"must be at least one step (dt = {dt:g} ms), got {duration_ms:g} ms")
    if n_steps > MAX_STEPS:
        raise ConfigError("duration", f"{n_steps} steps exceed the limit of {MAX_STEPS}; "
                                      "use a larger dt or a shorter duration")
    return n_steps


def _neuron_model(model: str | NeuronModel, purpose: str) -> NeuronModel:
    m = resolve_model(model)
    if m.is_source:
        raise ConfigError("model", f"{m.name} is a spike source; {purpose} needs a neuron model")
    return m


def _currents(current_pA, field_path: str, usage: str) -> np.ndarray:
    currents = np.atleast_1d(np.asarray(current_pA, dtype=np.float64))
    if currents.ndim != 1 or currents.size == 0 or not np.all(np.isfinite(currents)):
        raise ConfigError(field_path, usage)
    return currents


def _network(model: NeuronModel, params: Mapping[str, float], currents: np.ndarray, dt: float, method: str | None,
             onset_step: int = 0, initial: Mapping[str, float] | None = None) -> Network:
    """One population NEURONS of len(currents) neurons, neuron j under currents[j] pA from onset_step on."""
    net = Network(dt=dt)
    net.population(NEURONS, currents.size, model, dict(params), method=method, initial=initial)
    for amplitude in np.unique(currents[currents != 0.0]):
        net.add(StepCurrent(NEURONS, [onset_step * dt], [float(amplitude)],
                            neurons=np.flatnonzero(currents == amplitude).tolist()))
    return net


def _add_inputs(net: Network, model: NeuronModel, inputs: Iterable[tuple[float, str, float]], dt: float) -> None:
    """Per receptor, spike generators (one per input) that fire one step before their input is due,
    connected to every neuron with the input's weight over one step of delay."""
    by_receptor: dict[str, list[tuple[int, float]]] = {}
    for t_ms, receptor, weight in inputs:
        model.receptor_index(receptor, "inputs.receptor")
        step = int(round(float(t_ms) / dt)) - 1  # the step whose end is t_ms
        if step < 1:
            raise ConfigError("inputs", f"input times must be >= 2 dt = {2 * dt:g} ms (an input arrives one step "
                                        f"after its spike generator fires), got {t_ms:g}")
        by_receptor.setdefault(receptor, []).append((step, float(weight)))
    n = net.populations[NEURONS].n
    for receptor, events in by_receptor.items():
        source = f"inputs_{receptor}"
        net.population(source, len(events), "spike_generator", {"spike_times": [[step * dt] for step, _ in events]},
                       record_spikes=False)
        try:
            net.connect(source, NEURONS, "all_to_all", weight=np.repeat([w for _, w in events], n), delay=dt,
                        receptor=receptor)
        except ConfigError as err:
            raise ConfigError("inputs", err.message) from None


def _run(net: Network, duration_ms: float) -> tuple[np.ndarray, Results]:
    """Run `net` with the engine; returns (the state of NEURONS at t = 0, one row per variable; the Results)."""
    sim = Simulation(net, progress=False)
    names = net.populations[NEURONS].model.state_names
    initial = np.stack([sim.state(NEURONS, name) for name in names])
    return initial, sim.run(duration_ms)


def probe(model: str | NeuronModel, params: Mapping[str, float] | None = None, preset: str | None = None,
          current_pA: float | Sequence[float] = 0.0, duration_ms: float = 500.0, dt: float = 0.1, *,
          method: str | None = None, onset_ms: float = 0.0,
          inputs: Iterable[tuple[float, str, float]] = (),
          initial: Mapping[str, float] | None = None) -> ProbeResult:
    """Simulate one neuron (or one per current when `current_pA` is a list) under a current step.

    model:       a model name (e.g. "aeif_cond_exp") or a NeuronModel
    params:      parameter overrides (NEST names and units), applied over the preset
    preset:      a named parameter set of the model
    current_pA:  step amplitude, pA, applied from `onset_ms` to the end
    duration_ms: simulated time, ms
    dt:          time step, ms
    method:      integration method (None: the model's default)
    inputs:      synaptic events (time ms, receptor name, weight pA or nS)
    initial:     initial values of state variables (name -> value), overriding the model's
    """
    m = _neuron_model(model, "probe")
    p = m.resolve_params(params, "params", preset)
    n_steps = _check_run(duration_ms, dt)
    currents = _currents(current_pA, "current", f"expected a finite current in pA (or a list of them), "
                                                f"got {current_pA!r}")
    if not (math.isfinite(float(onset_ms)) and onset_ms >= 0):
        raise ConfigError("onset", f"must be >= 0 ms, got {onset_ms}")
    onset_step = int(round(float(onset_ms) / dt))
    m.kernel(method)
    values = {}
    for name, value in (initial or {}).items():
        m.state_index(name, f"initial.{name}")
        try:
            values[name] = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"initial.{name}", f"expected a number, got {value!r}") from None
        if not math.isfinite(values[name]):
            raise ConfigError(f"initial.{name}", f"must be finite, got {value}")
    net = _network(m, p, currents, dt, method, onset_step, values)
    _add_inputs(net, m, inputs, dt)
    net.record(NEURONS, list(m.state_names))
    state0, results = _run(net, duration_ms)
    single = np.ndim(current_pA) == 0
    traces = {}
    for k, name in enumerate(m.state_names):
        trace = np.concatenate([state0[k][None, :], results.trace(NEURONS, name).values])
        traces[name] = trace[:, 0] if single else trace
    spikes = results.spikes[NEURONS].per_neuron()
    return ProbeResult(
        model=m.name, method=method or m.default_method, params=dict(p),
        current_pA=float(currents[0]) if single else currents, dt=float(dt), duration_ms=n_steps * dt,
        times=np.arange(n_steps + 1) * dt, traces=traces,
        spike_times_ms=spikes[0] if single else spikes,
        units={var.name: var.unit for var in m.state}, voltage=m.voltage, onset_ms=onset_step * dt)


@dataclass
class FICurve:
    """An f-I curve.

    currents_pA:    the step amplitudes, pA
    rate_hz:        spikes / duration, Hz (the mean rate over the whole step)
    steady_rate_hz: 1000 / mean ISI of the spikes in the second half of the
                    step, Hz (NaN with fewer than two of them); the rate once
                    adaptation has settled
    first_isi_rate_hz: 1000 / first ISI, Hz (NaN with fewer than two spikes)
    spike_times_ms: one array per current
    """

    model: str
    params: dict[str, float]
    currents_pA: np.ndarray
    rate_hz: np.ndarray
    steady_rate_hz: np.ndarray
    first_isi_rate_hz: np.ndarray
    spike_times_ms: list[np.ndarray]
    duration_ms: float
    dt: float

    def to_dict(self) -> dict:
        def clean(a):
            return [None if not math.isfinite(x) else float(x) for x in a]
        return {"model": self.model, "params": dict(self.params), "duration_ms": self.duration_ms,
                "dt_ms": self.dt, "currents_pA": self.currents_pA.tolist(), "rate_hz": clean(self.rate_hz),
                "steady_rate_hz": clean(self.steady_rate_hz),
                "first_isi_rate_hz": clean(self.first_isi_rate_hz),
                "n_spikes": [len(s) for s in self.spike_times_ms]}


def steady_rate(spike_times_ms: np.ndarray, t_start: float, t_end: float) -> float:
    """1000 / mean ISI (Hz) of the spikes in [t_start, t_end]; NaN with fewer than two."""
    s = np.asarray(spike_times_ms)
    s = s[(s >= t_start) & (s <= t_end)]
    if s.size < 2:
        return math.nan
    return 1000.0 * (s.size - 1) / (s[-1] - s[0])


def fi_curve(model: str | NeuronModel, currents_pA: Sequence[float], params: Mapping[str, float] | None = None,
             preset: str | None = None, duration_ms: float = 1000.0, dt: float = 0.1, *,
             method: str | None = None) -> FICurve:
    """The f-I curve: one independent neuron per current, all simulated together (see FICurve)."""
    m = _neuron_model(model, "an f-I curve")
    p = m.resolve_params(params, "params", preset)
    n_steps = _check_run(duration_ms, dt)
    currents = _currents(currents_pA, "currents", "expected a non-empty list of finite currents (pA)")
    m.kernel(method)
    _, results = _run(_network(m, p, currents, dt, method), duration_ms)
    spikes = results.spikes[NEURONS].per_neuron()
    t_end = n_steps * dt
    rate = np.array([1000.0 * len(s) / t_end for s in spikes])
    steady = np.array([steady_rate(s, t_end / 2, t_end) for s in spikes])
    first = np.array([1000.0 / (s[1] - s[0]) if len(s) >= 2 else math.nan for s in spikes])
    return FICurve(m.name, dict(p), currents, rate, steady, first, spikes, t_end, float(dt))


def parse_range(text: str, field_path: str = "currents") -> np.ndarray:
    """'START:STOP:STEP' (STOP included when it falls on the grid) -> array; or 'A,B,C'."""
    usage = f"expected START:STOP:STEP or a comma-separated list (pA), got {text!r}"
    parts = text.split(":") if ":" in text else text.split(",")
    try:
        numbers = [float(x) for x in parts]
    except ValueError:
        raise ConfigError(field_path, usage) from None
    if not all(math.isfinite(x) for x in numbers):
        raise ConfigError(field_path, f"currents must be finite, got {text!r}")
    if ":" not in text:
        return np.array(numbers)
    if len(numbers) != 3:
        raise ConfigError(field_path, usage)
    start, stop, step = numbers
    if step <= 0 or stop < start:
        raise ConfigError(field_path, f"need STEP > 0 and STOP >= START, got {text!r}")
    n = int(math.floor((stop - start) / step + 1e-9)) + 1
    if n > 10_000:
        raise ConfigError(field_path, f"{n} currents is too many (at most 10000)")
    return start + step * np.arange(n)


@dataclass(frozen=True)
class GalleryCase:
    """One trace of the gallery: a model (and preset) under the step current its source uses.

    expected: the firing pattern the source describes (a name of neurobox.neurons.patterns.PATTERNS)
    initial:  initial state values that differ from the model's, as (name, value) pairs
    """

    model: str
    preset: str | None
    current_pA: float
    onset_ms: float
    duration_ms: float
    expected: str
    source: str
    initial: tuple[tuple[str, float], ...] = ()

    @property
    def label(self) -> str:
        return f"{self.preset or self.model} ({self.current_pA:g} pA)"


def gallery_cases() -> dict[str, list[GalleryCase]]:
    """The gallery's families: every preset of every model family with its paper's step current."""
    from neurobox.neurons.adex import NAUD2008
    from neurobox.neurons.izhikevich import IZHIKEVICH2007_PRESET_INFO, IZHIKEVICH_PRESET_INFO, IZHIKEVICH_PRESETS

    def cases(model, table):
        return [GalleryCase(model, name, float(i), float(on), float(dur), pat, src)
                for name, (pat, i, on, dur, src) in table.items()]

    izh = cases("izhikevich", IZHIKEVICH_PRESET_INFO)
    # the resonator starts at its resting point (NEST's V = -65 mV, U = bV would make it fire once)
    b = IZHIKEVICH_PRESETS["resonator"]["b"]
    v_rest = (-(5.0 - b) - math.sqrt((5.0 - b) ** 2 - 4 * 0.04 * 140.0)) / (2 * 0.04)
    izh = [GalleryCase(**{**c.__dict__, "initial": (("V_m", v_rest), ("U_m", b * v_rest))})
           if c.preset == "resonator" else c for c in izh]
    hh_src = "Hodgkin & Huxley 1952; repetitive firing from 626 pA"
    lif_src = "NEST defaults; LIF fires tonically above rheobase"
    return {
        "adex": cases("aeif_cond_exp", NAUD2008),
        "izhikevich": izh,
        "izhikevich2007": cases("izhikevich2007", IZHIKEVICH2007_PRESET_INFO),
        "hodgkin_huxley": [
            GalleryCase("hh_psc_alpha", None, 500.0, 50.0, 300.0, "transient", hh_src + ": one spike below it"),
            GalleryCase("hh_psc_alpha", None, 700.0, 50.0, 300.0, "tonic", hh_src),
            GalleryCase("hh_psc_alpha", None, 2000.0, 50.0, 300.0, "tonic", hh_src),
        ],
        "lif": [
            GalleryCase(m, None, i, 50.0, 300.0, "tonic", lif_src)
            for m, i in (("iaf_psc_exp", 500.0), ("iaf_psc_alpha", 500.0), ("iaf_cond_exp", 400.0),
                         ("iaf_cond_alpha", 400.0))
        ],
    }


def gallery_runs(*, dt: float = 0.1, progress: Callable[[int, int, str], None] | None = None
                 ) -> dict[str, list[tuple[GalleryCase, ProbeResult, Any]]]:
    """Probe every preset of every model family under its paper's step current and classify its firing
    (neurobox.neurons.patterns.classify): per family, (case, probe result, Pattern) per preset.
    progress: called with (presets done, presets in all, the next one's label) before each."""
    from neurobox.neurons.patterns import classify

    families = gallery_cases()
    total = sum(len(cases) for cases in families.values())
    out: dict[str, list] = {}
    done = 0
    for family, cases in families.items():
        runs = out.setdefault(family, [])
        for case in cases:
            if progress is not None:
                progress(done, total, case.label)
            res = probe(case.model, preset=case.preset, current_pA=case.current_pA, duration_ms=case.duration_ms,
                        dt=dt, onset_ms=case.onset_ms, initial=dict(case.initial))
            runs.append((case, res, classify(res.spike_times_ms, case.onset_ms, case.duration_ms)))
            done += 1
    return out


def gallery(out_dir: str | os.PathLike = "gallery", *, dt: float = 0.1,
            runs: dict[str, list] | None = None) -> list[Path]:
    """Probe every preset of every model family, classify its firing, and draw one PNG per family into out_dir
    (runs: `gallery_runs` made before, else made here)."""
    from neurobox.viz.neuron_plots import plot_gallery_family

    out = Path(out_dir)
    paths = []
    for family, family_runs in (runs if runs is not None else gallery_runs(dt=dt)).items():
        paths.append(plot_gallery_family(family, family_runs, out / f"{family}.png",
                                         summary=resolve_model(family_runs[0][0].model).summary))
    return paths

