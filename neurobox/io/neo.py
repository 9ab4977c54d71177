"""Results as Neo objects and NWB files, and back (Neo, pynwb: the optional extra neurobox[exchange]).

Neo (`to_neo`, `from_neo`): one Block with one Segment. A SpikeTrain per
neuron of every population (times in ms, t_start 0, t_stop the run's
duration; annotations population and neuron_id; a neuron that never fired
is an empty train); an AnalogSignal per recorded variable (one channel per
recorded neuron, array annotation neuron_id; annotations population,
variable, recorder, unit) in the unit of the neuron model's table (mV, pA,
nS, ms; a unit quantities does not know, such as steps, is dimensionless
and named by the annotation unit). The Block's annotations hold the seed,
dt_ms, duration_ms, population_sizes, synapses and the model file
(source_script).

NWB (`write_nwb`, `read_nwb`), written with pynwb itself: the Units table
holds one row per neuron of every population (so a population's size
survives even where it never fired), with columns population and
neuron_id, spike times in seconds (NWB's unit) and obs_intervals [0,
duration]; each trace is a TimeSeries in acquisition with its SI unit and
conversion (the data stay in mV, pA, nS), timestamps in seconds and a JSON
description naming population, variable, recorder, neurons and unit. The
file's notes are a JSON object with the run's dt, duration, seed,
population sizes and generator; its source_script is the model file.
Seconds are turned back into the float64 ms written (`ms_from_s`, with the
run's dt), so Results -> NWB -> Results keeps spikes and traces bit for bit.

This module never imports neurobox.results: the Results class is passed in.
"""
from __future__ import annotations

import datetime
import json
import os
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from neurobox.errors import ConfigError
from neurobox.io import require
from neurobox.paths import GENERATOR, check_input_file

FORMAT = "neurobox-nwb-1"
"""The `format` entry of the JSON object neurobox writes as an NWB file's notes."""

MAX_NWB_BYTES = 1 << 36
"""The largest NWB file `read_nwb` opens, bytes (64 GiB; it reads the spikes and traces into memory)."""

SI = {"mV": ("volts", 1e-3), "pA": ("amperes", 1e-12), "nS": ("siemens", 1e-9), "ms": ("seconds", 1e-3)}
"""neurobox unit -> (NWB unit, conversion): NWB data times conversion are in the SI unit."""

FOREIGN_POPULATION = "units"
"""The population of spike trains that name none (a Block or an NWB file another tool wrote)."""


def _version() -> str:
    # the package is loaded as this module's parent; its version is a constant, no facade import needed
    return getattr(sys.modules.get("neurobox"), "__version__", "unknown")


def ms_from_s(seconds: Any, dt_ms: float | None = None) -> np.ndarray:
    """Times in s -> float64 ms, giving back the x whose fl(x / 1000) was written.

    A candidate within two units in the last place of fl(s * 1000) whose division gives back s is
    taken. About 2 % of float64 ms values share their seconds with a neighbour (x / 1000 lands in a
    finer binade when x's mantissa is near 2); there the value on the step grid k * dt_ms, the
    engine's times, is taken when `dt_ms` is given.
    """
    s = np.asarray(seconds, dtype=np.float64)
    out = s * 1000.0
    found = out / 1000.0 == s
    up, down = out, out
    for _ in range(2):
        up, down = np.nextafter(up, np.inf), np.nextafter(down, -np.inf)
        for cand in (up, down):
            hit = ~found & (cand / 1000.0 == s)
            out = np.where(hit, cand, out)
            found |= hit
    if dt_ms is not None and np.isfinite(dt_ms) and dt_ms > 0:
        grid = np.rint(out / dt_ms) * dt_ms
        out = np.where(grid / 1000.0 == s, grid, out)
    return out


def _quantity(unit: str):
    """The quantities unit of a neurobox unit string (dimensionless when quantities does not know it)."""
    pq = require("quantities", "quantities")
    try:
        return pq.Quantity(1.0, unit).units if unit not in ("", "1") else pq.dimensionless
    except (LookupError, ValueError, SyntaxError, NameError, TypeError, AttributeError):
        return pq.dimensionless


def _trace_units(results) -> dict[tuple[str, str], str]:
    """(recorder, variable) -> unit string, from the model's tables (or the units a reader kept in extras)."""
    units = {(rec, var): unit for rec, by_var in results.extras.get("trace_units", {}).items()
             for var, unit in by_var.items()}
    missing = [(rec, var, tr.population) for rec, by_var in results.traces.items() for var, tr in by_var.items()
               if (rec, var) not in units]
    if missing and results.model_toml:
        net = results.network()
        for rec, var, pop in missing:
            model = net.populations[pop].model
            units[(rec, var)] = model.state[model.state_names.index(var)].unit
    return units


def _meta(results) -> dict:
    """The run's facts both formats keep (JSON-ready)."""
    return {"generator": GENERATOR, "version": _version(), "format": FORMAT, "dt_ms": float(results.dt),
            "duration_ms": float(results.bio_ms), "seed": results.seed,
            "population_sizes": {name: int(s.n) for name, s in results.spikes.items()},
            "synapses": int(results.synapses)}


# -- Neo ----------------------------------------------------------------------
def to_neo(results):
    """A neo.Block of `results` (see the module docstring)."""
    neo = require("neo", "neo")
    pq = require("quantities", "quantities")
    meta = _meta(results)
    block = neo.Block(name="neurobox run", description=f"neurobox {meta['version']} run, seed {results.seed}",
                      source_script=results.model_toml, **{k: meta[k] for k in
                                                           ("generator", "seed", "dt_ms", "duration_ms",
                                                            "population_sizes", "synapses")})
    seg = neo.Segment(name="run")
    block.segments.append(seg)
    t_stop = float(results.bio_ms) * pq.ms
    for pop, s in results.spikes.items():
        for nid, times in enumerate(s.per_neuron()):
            seg.spiketrains.append(neo.SpikeTrain(times * pq.ms, t_stop=t_stop, t_start=0.0 * pq.ms,
                                                  name=f"{pop}[{nid}]", population=pop, neuron_id=nid))
    units = _trace_units(results)
    for rec, by_var in results.traces.items():
        for var, tr in by_var.items():
            unit = units[(rec, var)]
            common = {"units": _quantity(unit), "name": f"{tr.population}.{var}", "population": tr.population,
                      "variable": var, "recorder": rec, "unit": unit,
                      "array_annotations": {"neuron_id": np.asarray(tr.neurons, np.int64)}}
            t = np.asarray(tr.t_ms, np.float64)
            steps = np.diff(t)
            if t.size >= 2 and np.allclose(steps, steps[0], rtol=1e-9, atol=0.0):
                period = (t[-1] - t[0]) / (t.size - 1)
                seg.analogsignals.append(neo.AnalogSignal(tr.values, t_start=t[0] * pq.ms,
                                                          sampling_period=period * pq.ms, **common))
            else:
                seg.irregularlysampledsignals.append(neo.IrregularlySampledSignal(t * pq.ms, tr.values, **common))
    return block


def _times_ms(q, field: str, dt_ms: float | None = None) -> np.ndarray:
    """A quantity array of times -> float64 ms; ConfigError naming `field` when it is not a time."""
    pq = require("quantities", "quantities")
    if q.units.dimensionality == pq.s.dimensionality and float(q.units.rescale(pq.s).magnitude) == 1.0:
        return ms_from_s(q.magnitude, dt_ms)
    try:
        return np.asarray(q.rescale(pq.ms).magnitude, np.float64)
    except ValueError:
        what = "no time units (dimensionless)" if q.units.dimensionality == pq.dimensionless.dimensionality \
            else f"units of {q.units.dimensionality}, not of time"
        raise ConfigError(field, f"has {what}; spike and sample times need a time unit (ms, s)") from None


def _neurobox_values(sig, unit: str | None) -> tuple[np.ndarray, str]:
    """A signal's values in neurobox's unit for its dimension (mV, pA, nS, ms), or as they are."""
    pq = require("quantities", "quantities")
    for name in ([unit] if unit else []) + list(SI):
        target = _quantity(name)
        if target is pq.dimensionless and sig.units.dimensionality != pq.dimensionless.dimensionality:
            continue
        try:
            return np.asarray(sig.rescale(target).magnitude, np.float64), name
        except ValueError:
            continue
    return np.asarray(sig.magnitude, np.float64), str(sig.units.dimensionality)


def from_neo(block, results_cls):
    """`results_cls` (neurobox.results.Results) from a neo.Block of one Segment.

    SpikeTrains without a population annotation form the population "units"; without neuron_id
    they are numbered in order. Facts the block does not carry: dt NaN, seed None, the duration
    the latest t_stop.
    """
    neo = require("neo", "neo")
    if not isinstance(block, neo.Block):
        raise ConfigError("block", f"expected a neo.Block, got {type(block).__name__}")
    if len(block.segments) != 1:
        raise ConfigError("block.segments", f"neurobox reads a Block of one Segment; this one has "
                                            f"{len(block.segments)}")
    ann = block.annotations
    dt = ann.get("dt_ms")
    seg = block.segments[0]
    trains: dict[str, dict[int, np.ndarray]] = {}
    t_stop = 0.0
    for k, st in enumerate(seg.spiketrains):
        field = f"block.segments[0].spiketrains[{k}]"
        t = _times_ms(st, field, dt)
        t_stop = max(t_stop, float(_times_ms(st.t_stop.reshape(1), f"{field}.t_stop")[0]))
        pop = str(st.annotations.get("population", FOREIGN_POPULATION))
        mine = trains.setdefault(pop, {})
        nid = st.annotations.get("neuron_id", len(mine))
        if not isinstance(nid, (int, np.integer)) or nid < 0:
            raise ConfigError(f"{field}.neuron_id", f"must be a whole number >= 0, got {nid!r}")
        if int(nid) in mine:
            raise ConfigError(f"{field}.neuron_id", f"neuron {nid} of population {pop} has two spike trains")
        mine[int(nid)] = t
    sizes = ann.get("population_sizes", {})
    spikes = {}
    for pop, by_id in trains.items():
        n = int(sizes.get(pop, max(by_id) + 1))
        if n <= max(by_id):
            raise ConfigError("block.annotations.population_sizes", f"{pop} has {n} neurons but a spike train "
                                                                     f"of neuron {max(by_id)}")
        spikes[pop] = _spike_trains(by_id, n)
    for pop, n in sizes.items():
        spikes.setdefault(pop, _spike_trains({}, int(n)))
    traces: dict[str, dict[str, Any]] = {}
    units: dict[str, dict[str, str]] = {}
    signals = list(seg.analogsignals) + list(seg.irregularlysampledsignals)
    for k, sig in enumerate(signals):
        kind = "analogsignals" if k < len(seg.analogsignals) else "irregularlysampledsignals"
        field = f"block.segments[0].{kind}[{k if kind == 'analogsignals' else k - len(seg.analogsignals)}]"
        t = _times_ms(sig.times, f"{field}.times", dt)
        t_stop = max(t_stop, float(t[-1]) if t.size else 0.0)
        values, unit = _neurobox_values(sig, sig.annotations.get("unit"))
        rec = str(sig.annotations.get("recorder", f"signal{k}"))
        var = str(sig.annotations.get("variable", sig.name or "signal"))
        neurons = np.asarray(sig.array_annotations.get("neuron_id", np.arange(values.shape[1])), np.int64)
        if var in traces.get(rec, {}):
            raise ConfigError(field, f"a second signal of recorder {rec}, variable {var}")
        traces.setdefault(rec, {})[var] = (str(sig.annotations.get("population", FOREIGN_POPULATION)), neurons,
                                           t, values)
        units.setdefault(rec, {})[var] = unit
    return _results(results_cls, ann, spikes, traces, units, t_stop, ann.get("source_script", ""))


def _spike_trains(by_id: dict[int, np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray, int]:
    """(t_ms, ids, n) of a population from each neuron's times, sorted by time, then id."""
    if not by_id:
        return np.zeros(0, np.float64), np.zeros(0, np.int32), n
    t = np.concatenate([np.asarray(v, np.float64) for v in by_id.values()])
    ids = np.concatenate([np.full(len(v), i, np.int32) for i, v in by_id.items()])
    order = np.lexsort((ids, t))
    return t[order], ids[order], n


def _results(results_cls, meta: dict, spikes: dict, traces: dict, units: dict, t_stop: float, model: str):
    """results_cls.from_arrays with the run's facts from `meta` (a block's annotations or an NWB file's notes)."""
    seed = meta.get("seed")
    return results_cls.from_arrays(
        dt=float(meta.get("dt_ms", np.nan)), seed=None if seed is None else int(seed),
        bio_ms=float(meta.get("duration_ms", t_stop)), spikes=spikes, traces=traces,
        model_source=model if isinstance(model, str) else "", synapses=int(meta.get("synapses", 0)),
        extras={"trace_units": units} if units else {})


# -- NWB ----------------------------------------------------------------------
def write_nwb(results, path: str | os.PathLike, *, model: str = "model") -> Path:
    """Write `results` as an NWB file (see the module docstring), atomically; `model` names the model.

    session_start_time is the time of writing (UTC): a simulation has no session of its own, and pynwb's
    file_create_date and object ids differ from write to write anyway; identifier is a fresh UUID.
    """
    pynwb = require("pynwb", "pynwb")
    hdmf_table = require("hdmf.common.table", "pynwb")
    meta = _meta(results)
    now = datetime.datetime.now(datetime.UTC)
    nwb = pynwb.NWBFile(
        session_description=f"neurobox {meta['version']} simulation of {model}: {results.bio_ms:g} ms, "
                            f"dt {results.dt:g} ms, seed {results.seed}",
        identifier=f"neurobox-{model}-seed{results.seed}-{uuid.uuid4()}", session_start_time=now,
        source_script=results.model_toml or "", source_script_file_name=f"{model}.toml",
        notes=json.dumps(meta))
    names, sizes = list(results.spikes), [s.n for s in results.spikes.values()]
    per_neuron = [t for s in results.spikes.values() for t in s.per_neuron()]
    n = sum(sizes)
    times = np.concatenate(per_neuron) / 1000.0 if n else np.zeros(0)
    col = hdmf_table.VectorData
    spike_times = col(name="spike_times", description="spike times of the neuron, s", data=times)
    intervals = col(name="obs_intervals", description="the simulated time, s",
                    data=np.tile([[0.0, results.bio_ms / 1000.0]], (n, 1)))
    nwb.units = pynwb.misc.Units(
        name="units", description="every neuron of every population of the simulated network",
        id=hdmf_table.ElementIdentifiers(name="id", data=np.arange(n)),
        columns=[spike_times, hdmf_table.VectorIndex(name="spike_times_index", target=spike_times,
                                                     data=np.cumsum([len(t) for t in per_neuron], dtype=np.int64)),
                 intervals, hdmf_table.VectorIndex(name="obs_intervals_index", target=intervals,
                                                   data=np.arange(1, n + 1)),
                 col(name="population", description="the neuron's population",
                     data=np.repeat(np.array(names, dtype=object), sizes)),
                 col(name="neuron_id", description="the neuron's index in its population",
                     data=np.concatenate([np.arange(k) for k in sizes]) if n else np.zeros(0, np.int64))])
    units = _trace_units(results)
    for rec, by_var in results.traces.items():
        for var, tr in by_var.items():
            unit = units[(rec, var)]
            si, conversion = SI.get(unit, (unit or "dimensionless", 1.0))
            info = {"population": tr.population, "variable": var, "recorder": rec, "unit": unit,
                    "neurons": [int(i) for i in tr.neurons]}
            nwb.add_acquisition(pynwb.TimeSeries(
                name=f"{rec}.{var}", data=np.asarray(tr.values, np.float64), unit=si, conversion=conversion,
                timestamps=np.asarray(tr.t_ms, np.float64) / 1000.0, description=json.dumps(info),
                comments=f"{var} of neurons {_span(tr.neurons)} of {tr.population}, {unit}"))
    _write_atomically(Path(path), lambda tmp: _write_file(pynwb, nwb, tmp))
    return Path(path)


def _write_file(pynwb, nwb, path: str) -> None:
    with pynwb.NWBHDF5IO(path, "w") as io:
        io.write(nwb)


def _write_atomically(path: Path, write) -> None:
    """write(temporary path) in `path`'s folder, flushed to
    disk, then renamed over `path`: a failed or killed write never leaves a half-written file there
    (the hidden sibling .NAME.PID.XXXX.tmp.nwb: pynwb wants the suffix .nwb)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp.nwb", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual permissions
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _span(neurons) -> str:
    neurons = np.asarray(neurons)
    if neurons.size and np.array_equal(neurons, np.arange(neurons[0], neurons[0] + neurons.size)):
        return f"{neurons[0]}-{neurons[-1]}" if neurons.size > 1 else str(neurons[0])
    return ", ".join(str(i) for i in neurons)


def read_nwb(path: str | os.PathLike, results_cls):
    """`results_cls` (neurobox.results.Results) from an NWB file: its Units table and acquisition TimeSeries.

    A file neurobox wrote comes back as it was. Another tool's: Units rows without a population column
    form the population "units", numbered in row order; a TimeSeries is a trace of recorder
    "acquisition" in neurobox's unit for its dimension (mV, pA, nS, ms), or as stored.
    """
    pynwb = require("pynwb", "pynwb")
    h5py = require("h5py", "h5py")
    try:
        check_input_file(path, "NWB file", limit=MAX_NWB_BYTES)
    except FileNotFoundError:
        raise ConfigError(str(path), "NWB file not found") from None
    if not h5py.is_hdf5(path):
        raise ConfigError(str(path), "not an NWB file (NWB files are HDF5; this one is not)")
    try:
        io = pynwb.NWBHDF5IO(str(path), "r", load_namespaces=True)
        nwb = io.read()
    except Exception as err:  # pynwb raises many kinds for an HDF5 file that is not NWB
        raise ConfigError(str(path), f"not a readable NWB file ({type(err).__name__}: "
                                     f"{str(err).splitlines()[0] if str(err) else ''})") from None
    try:
        return _from_nwbfile(nwb, str(path), results_cls)
    finally:
        io.close()


def _from_nwbfile(nwb, path: str, results_cls):
    pynwb = require("pynwb", "pynwb")
    units_table = nwb.units
    if units_table is None:
        raise ConfigError(f"{path}: units", "the file has no Units table; neurobox reads spike times from it")
    try:
        meta = json.loads(nwb.notes or "")
    except ValueError:
        meta = {}
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        meta = {}
    cols = set(units_table.colnames)
    if "spike_times" not in cols:
        raise ConfigError(f"{path}: units.spike_times", "the Units table has no spike_times column")
    n = len(units_table)
    pops = [str(p) for p in units_table["population"][:]] if "population" in cols else [FOREIGN_POPULATION] * n
    ids = [int(i) for i in units_table["neuron_id"][:]] if "neuron_id" in cols else list(range(n))
    index = units_table["spike_times"]
    ends = np.asarray(index.data[:], np.int64)
    dt = meta.get("dt_ms")
    all_t = ms_from_s(np.asarray(index.target.data[:], np.float64), dt)
    t_stop = float(all_t.max()) if all_t.size else 0.0
    if "obs_intervals" in cols and n:
        ivals = np.asarray(units_table["obs_intervals"].target.data[:], np.float64)
        if ivals.size:
            t_stop = max(t_stop, float(ms_from_s(ivals.max())))
    trains: dict[str, dict[int, np.ndarray]] = {}
    for row in range(n):
        start = int(ends[row - 1]) if row else 0
        mine = trains.setdefault(pops[row], {})
        if ids[row] in mine:
            raise ConfigError(f"{path}: units[{row}].neuron_id", f"neuron {ids[row]} of population {pops[row]} "
                                                                 f"has two rows")
        mine[ids[row]] = all_t[start:int(ends[row])]
    sizes = meta.get("population_sizes", {})
    spikes = {pop: _spike_trains(by_id, int(sizes.get(pop, max(by_id) + 1))) for pop, by_id in trains.items()}
    for pop, size in sizes.items():
        spikes.setdefault(pop, _spike_trains({}, int(size)))
    traces: dict[str, dict[str, Any]] = {}
    units: dict[str, dict[str, str]] = {}
    for name, ts in nwb.acquisition.items():
        if not isinstance(ts, pynwb.TimeSeries) or ts.data is None:
            continue
        values = np.asarray(ts.data[:], np.float64)
        if values.ndim == 1:
            values = values[:, None]
        if values.ndim != 2:
            continue
        try:
            info = json.loads(ts.description or "")
        except ValueError:
            info = {}
        if not isinstance(info, dict) or "variable" not in info:
            info = {}
        t = ms_from_s(ts.timestamps[:] if ts.timestamps is not None else
                      ts.starting_time + np.arange(values.shape[0]) / ts.rate, dt)
        values, unit = _from_si(values, ts.unit, float(ts.conversion), info.get("unit"))
        rec, var = info.get("recorder", "acquisition"), info.get("variable", name)
        neurons = np.asarray(info.get("neurons", np.arange(values.shape[1])), np.int64)
        traces.setdefault(rec, {})[var] = (info.get("population", FOREIGN_POPULATION), neurons, t, values)
        units.setdefault(rec, {})[var] = unit
        t_stop = max(t_stop, float(t[-1]) if t.size else 0.0)
    return _results(results_cls, meta, spikes, traces, units, t_stop, nwb.source_script if meta else "")


def _from_si(values: np.ndarray, unit: str, conversion: float, mine: str | None) -> tuple[np.ndarray, str]:
    """NWB data with (unit, conversion) -> values in neurobox's unit: exact when neurobox wrote them."""
    if mine is not None and SI.get(mine, (mine or "dimensionless", 1.0)) == (unit, conversion):
        return values, mine
    for name, (si, factor) in SI.items():
        if unit in (si, si.rstrip("s")):
            return values * (conversion / factor), name
    return values * conversion, unit
