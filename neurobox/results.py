"""What a run produces: spikes, state traces, timings, and the model that made them.

Spikes are time-sorted parallel arrays (t_ms float64, id int32) per
population; traces are (T, variables..., neurons) arrays with their
times. `Results.save` writes one .npz file (atomically) that `Results.load`
reads back exactly, model file included.
"""
from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurobox.errors import ConfigError
from neurobox.files import atomic_write

FORMAT = "neurobox-results-1"


@dataclass
class SpikeTrains:
    """Spikes of one population: t_ms[k] is when neuron ids[k] fired (sorted by time, then id)."""

    t_ms: np.ndarray
    ids: np.ndarray
    n: int

    def __len__(self) -> int:
        return int(self.t_ms.size)

    def rate_hz(self, duration_ms: float) -> float:
        """Mean firing rate per neuron over `duration_ms`."""
        return float(self.t_ms.size) / self.n / (duration_ms * 1e-3) if duration_ms > 0 else 0.0

    def per_neuron(self) -> list[np.ndarray]:
        """Spike times (ms) of each neuron."""
        order = np.argsort(self.ids, kind="stable")
        bounds = np.searchsorted(self.ids[order], np.arange(self.n + 1))
        t = self.t_ms[order]
        return [t[bounds[i]:bounds[i + 1]] for i in range(self.n)]


@dataclass
class Trace:
    """A recorded state variable: values[k, j] of neurons[j] at t_ms[k]."""

    population: str
    variable: str
    neurons: np.ndarray
    t_ms: np.ndarray
    values: np.ndarray


@dataclass
class Results:
    dt: float
    seed: int
    bio_ms: float
    spikes: dict[str, SpikeTrains]
    traces: dict[str, dict[str, Trace]]        # recorder name -> variable -> Trace
    model_source: Any = ""   # the model file's text, or a function that writes it (called once, when needed)
    timings: dict[str, float] = field(default_factory=dict)  # setup_s (engine: build_s + compile_s), simulate_s, wall_s, threads
    synapses: int = 0                                         # chemical synapses simulated
    extras: dict[str, Any] = field(default_factory=dict)     # what only one target knows (JSON-ready)

    @property
    def model_toml(self) -> str:
        """The model file of the network that produced these results."""
        if callable(self.model_source):
            self.model_source = self.model_source()
        return self.model_source

    def trace(self, population: str, variable: str) -> Trace:
        """The first recorded trace of `variable` in `population`."""
        for by_var in self.traces.values():
            tr = by_var.get(variable)
            if tr is not None and tr.population == population:
                return tr
        raise ConfigError("trace", f"no recorder of {population}.{variable}; recorded: "
                                   + (", ".join(f"{t.population}.{t.variable}" for bv in self.traces.values()
                                                for t in bv.values()) or "nothing"))

    def summary(self) -> dict:
        """The run as one JSON-ready dict (what `neurobox run --json` prints)."""
        pops = {name: {"n": s.n, "spikes": len(s), "rate_hz": round(s.rate_hz(self.bio_ms), 4)}
                for name, s in self.spikes.items()}
        out = {"populations": pops, "bio_ms": self.bio_ms, "seed": self.seed, "synapses": self.synapses}
        out.update({k: round(v, 4) for k, v in self.timings.items()})
        return out

    @staticmethod
    def summary_text(summary: dict) -> str:
        """`summary()` (plus the caller's wall_s) as the lines `neurobox run` prints."""
        from neurobox.text import plural

        if "simulate_s" in summary:
            threads = summary.get("threads", 1)
            timing = (f" in {summary['simulate_s']:.3f} s (setup {summary.get('setup_s', 0.0):.3f} s, "
                      f"whole run {summary['wall_s']:.3f} s{f', {threads} threads' if threads > 1 else ''})")
        else:
            timing = f" in {summary['wall_s']:.3f} s"
        lines = [f"{summary['bio_ms']:g} ms simulated{timing}, seed {summary['seed']}"]
        width = max([12] + [len(name) for name in summary["populations"]])
        for name, pop in summary["populations"].items():
            lines.append(f"  {name:<{width}} {plural(pop['n'], 'neuron ', 'neurons', 8)} "
                         f"{plural(pop['spikes'], 'spike ', 'spikes', 10)} {pop['rate_hz']:>9.2f} Hz")
        return "\n".join(lines)

    # -- files ----------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Write everything to one .npz file, atomically."""
        arrays: dict[str, np.ndarray] = {}
        meta = {"format": FORMAT, "dt": self.dt, "seed": self.seed, "bio_ms": self.bio_ms,
                "timings": self.timings, "synapses": self.synapses, "extras": self.extras, "spikes": {},
                "traces": {}}
        for name, s in self.spikes.items():
            meta["spikes"][name] = {"n": s.n}
            arrays[f"spikes.{name}.t_ms"] = s.t_ms
            arrays[f"spikes.{name}.ids"] = s.ids
        for rec, by_var in self.traces.items():
            meta["traces"][rec] = {}
            for var, tr in by_var.items():
                meta["traces"][rec][var] = {"population": tr.population}
                arrays[f"traces.{rec}.{var}.neurons"] = tr.neurons
                arrays[f"traces.{rec}.{var}.t_ms"] = tr.t_ms
                arrays[f"traces.{rec}.{var}.values"] = tr.values
        arrays["meta"] = np.array(json.dumps(meta))
        arrays["model_toml"] = np.array(self.model_toml)

        def write(f):
            buf = io.BytesIO()
            np.savez_compressed(buf, **arrays)
            f.write(buf.getvalue())
        atomic_write(path, write)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Results":
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                if meta.get("format") != FORMAT:
                    raise ConfigError(str(path), f"not a neurobox results file (format {meta.get('format')!r})")
                spikes = {name: SpikeTrains(data[f"spikes.{name}.t_ms"], data[f"spikes.{name}.ids"], info["n"])
                          for name, info in meta["spikes"].items()}
                traces = {rec: {var: Trace(info["population"], var, data[f"traces.{rec}.{var}.neurons"],
                                           data[f"traces.{rec}.{var}.t_ms"], data[f"traces.{rec}.{var}.values"])
                                for var, info in by_var.items()}
                          for rec, by_var in meta["traces"].items()}
                return cls(meta["dt"], meta["seed"], meta["bio_ms"], spikes, traces,
                           str(data["model_toml"]), meta.get("timings", {}), meta.get("synapses", 0),
                           meta.get("extras", {}))
        except FileNotFoundError:
            raise ConfigError(str(path), "results file not found") from None
        except (ValueError, KeyError, OSError) as err:
            raise ConfigError(str(path), f"not a readable neurobox results file ({err})") from None

    @classmethod
    def from_arrays(cls, *, dt: float, seed: int | None, bio_ms: float, spikes: dict, traces: dict,
                    model_source: str = "", synapses: int = 0, extras: dict | None = None) -> "Results":
        """Results from plain arrays: spikes {population: (t_ms, ids, n)}, traces {recorder: {variable:
        (population, neurons, t_ms, values)}} (what readers of other tools' files build)."""
        return cls(dt, seed, bio_ms,
                   {name: SpikeTrains(np.asarray(t, np.float64), np.asarray(ids, np.int32), int(n))
                    for name, (t, ids, n) in spikes.items()},
                   {rec: {var: Trace(pop, var, np.asarray(neurons), np.asarray(t, np.float64), np.asarray(values))
                          for var, (pop, neurons, t, values) in by_var.items()} for rec, by_var in traces.items()},
                   model_source, {}, synapses, dict(extras or {}))

    # -- Neo and NWB (neurobox.io.neo; the optional extra neurobox[exchange]) ------------------------
    def to_neo(self):
        """A neo.Block: one Segment, a SpikeTrain per neuron (ms), an AnalogSignal per recorded variable."""
        from neurobox.io.neo import to_neo
        return to_neo(self)

    @classmethod
    def from_neo(cls, block) -> "Results":
        """Results from a neo.Block of one Segment (SpikeTrains annotated population and neuron_id, or not)."""
        from neurobox.io.neo import from_neo
        return from_neo(block, cls)

    def save_nwb(self, path: str | os.PathLike, model: str = "model") -> None:
        """Write an NWB file (pynwb), atomically; `model` names the model in its metadata."""
        from neurobox.io.neo import write_nwb
        write_nwb(self, path, model=model)

    @classmethod
    def from_nwb(cls, path: str | os.PathLike) -> "Results":
        """Results from an NWB file: its Units table and acquisition TimeSeries."""
        from neurobox.io.neo import read_nwb
        return read_nwb(path, cls)

    def network(self):
        """The Network that produced these results (from the embedded model file)."""
        from neurobox.network.modelfile import loads
        return loads(self.model_toml, source="results.model_toml")
