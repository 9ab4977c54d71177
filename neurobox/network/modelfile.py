"""TOML model files: load to a Network, save a Network back.

Layout (every table optional except populations)::

    [network]            dt (ms), seed, duration (ms), precision
    [modules.NAME]       file = "other.toml" (relative to this file): that network's
                         populations, projections, stimuli and recorders, their
                         names prefixed "NAME." (networks of networks)
    [populations.NAME]   n, model, params = {...}, initial = {...}, method, preset, record_spikes,
                         fixed_point = { I_lsb = pA, V_lsb = mV } (the scales in the chips' arithmetic)
    [[projections]]      pre, post, rule, <rule options>, weight, delay, receptor, name, plasticity,
                         p_transmit,
                         type ("chemical", the default, or "gap_junction": weight in nS, no delay)
    [[stimuli]]          type = "step_current", target, times, amplitudes, neurons, name
    [[recorders]]        population, variables, neurons, every, name

Values follow the Python API (neurobox.network.values for weights,
delays and initial values). Loading validates everything and names the
offending field; nothing is half-built.
"""
from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w

from neurobox.checks import choice, given
from neurobox.checks import text as text_value
from neurobox.errors import ConfigError, one_line
from neurobox.files import atomic_write_text
from neurobox.network import connectivity
from neurobox.network.network import Network
from neurobox.network.population import Population
from neurobox.network.projection import GapJunction, Projection
from neurobox.network.recorders import StateRecorder
from neurobox.network.stimuli import StepCurrent
from neurobox.network.values import to_plain
from neurobox.paths import read_text_limited

TOP_LEVEL = ("network", "modules", "populations", "projections", "stimuli", "recorders")
MODULE_KEYS = ("file",)
NETWORK_KEYS = ("dt", "seed", "duration", "precision")
POPULATION_KEYS = ("n", "model", "params", "initial", "method", "preset", "record_spikes", "fixed_point")
PROJECTION_TYPES = ("chemical", "gap_junction")
PROJECTION_KEYS = ("pre", "post", "rule", "type", "weight", "delay", "receptor", "name", "plasticity", "p_transmit")
STIMULUS_TYPES = ("step_current",)
STIMULUS_KEYS = ("type", "target", "times", "amplitudes", "neurons", "name")
RECORDER_KEYS = ("population", "variables", "neurons", "every", "name")


def load(path: str | os.PathLike) -> Network:
    """Read a model file into a Network."""
    path = Path(path)
    try:
        text = read_text_limited(path)  # refuses a folder, a device, a FIFO and a file over 64 MiB
    except ConfigError:
        raise
    except FileNotFoundError:
        raise ConfigError(str(path), "file not found") from None
    except UnicodeDecodeError:
        raise ConfigError(str(path), "model file is not UTF-8 text") from None
    except (OSError, ValueError) as err:
        raise ConfigError(str(path), f"cannot read the model file ({type(err).__name__}: a directory, "
                                     "no permission...)") from None
    return loads(text, source=str(path), base_dir=path.parent, _including=(path.resolve(),))


def loads(text: str, source: str = "model", base_dir: str | os.PathLike | None = None,
          _including: tuple[Path, ...] = ()) -> Network:
    """Parse model-file text into a Network (module files are found relative to `base_dir`)."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(source, f"not valid TOML: {' '.join(str(err).split())}") from None
    return from_dict(doc, base_dir, _including)


def from_dict(doc: dict[str, Any], base_dir: str | os.PathLike | None = None,
              _including: tuple[Path, ...] = ()) -> Network:
    """Build a Network from a parsed model file."""
    _only(doc, TOP_LEVEL, "")
    settings = _table(doc.get("network", {}), "network")
    _only(settings, NETWORK_KEYS, "network")
    net = Network(**{k: settings[k] for k in NETWORK_KEYS if k in settings})
    for name, spec in _table(doc.get("modules", {}), "modules").items():
        field = f"modules.{name}"
        spec = _table(spec, field)
        _only(spec, MODULE_KEYS, field)
        if "file" not in spec:
            raise ConfigError(f"{field}.file", "is required (a model file, relative to this one)")
        given_path = text_value(spec["file"], f"{field}.file", "a model file, relative to this one")
        try:
            path = (Path(base_dir or ".") / given_path).resolve()
        except (OSError, ValueError, RuntimeError) as err:
            raise ConfigError(f"{field}.file", f"{given(given_path)} is not a usable path ({err})") from None
        if path in _including:
            raise ConfigError(f"{field}.file", f"{given(given_path)} includes itself (a cycle of modules)")
        try:
            text = read_text_limited(path, "module file")
        except ConfigError as err:  # a folder, a device, a FIFO, too large: said under the module's field
            raise ConfigError(f"{field}.file", f"{given(given_path)}: {err.message}") from None
        except FileNotFoundError:
            raise ConfigError(f"{field}.file", f"module file {given(str(path))} not found") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{field}.file", f"module file {given(str(path))} is not UTF-8 text") from None
        except (OSError, ValueError) as err:  # a directory, no permission, a NUL in the name...
            raise ConfigError(f"{field}.file", f"cannot read {given(given_path)} as a model file "
                                               f"({type(err).__name__}); allowed: a readable file") from None
        include(net, loads(text, str(path), path.parent, _including + (path,)), name)
    add_document(net, doc)
    if not net.populations:
        raise ConfigError("populations", "a model file needs at least one population")
    return net


def include(net: Network, module: Network, prefix: str) -> None:
    """Add a copy of `module`'s contents to `net`, every name prefixed "prefix."."""
    if abs(module.dt - net.dt) > 1e-12:
        raise ConfigError(f"modules.{prefix}", f"the module's dt ({module.dt:g} ms) differs from the "
                                               f"network's ({net.dt:g} ms)")
    doc = to_dict(module)

    def rename(name: str) -> str:
        return f"{prefix}.{name}"
    doc["populations"] = {rename(k): v for k, v in doc["populations"].items()}
    for spec in doc.get("projections", []):
        spec.update(pre=rename(spec["pre"]), post=rename(spec["post"]), name=rename(spec["name"]))
    for spec in doc.get("stimuli", []):
        spec.update(target=rename(spec["target"]), name=rename(spec["name"]))
    for spec in doc.get("recorders", []):
        spec.update(population=rename(spec["population"]), name=rename(spec["name"]))
    try:
        add_document(net, doc)
    except ConfigError as err:
        raise ConfigError(f"modules.{prefix}", f"{err}") from None


def add_document(net: Network, doc: dict[str, Any]) -> None:
    """Add the populations, projections, stimuli and recorders of a model-file document to `net`."""
    populations = _table(doc.get("populations"), "populations")
    for name, spec in populations.items():
        field = f"populations.{name}"
        spec = _table(spec, field)
        _only(spec, POPULATION_KEYS, field)
        for key in ("n", "model"):
            if key not in spec:
                raise ConfigError(f"{field}.{key}", "is required")
        _add(net, lambda: Population(spec["n"], spec["model"], _table(spec.get("params", {}), f"{field}.params"),
                                     name=name, initial=_table(spec.get("initial", {}), f"{field}.initial"),
                                     method=spec.get("method"), preset=spec.get("preset"),
                                     record_spikes=spec.get("record_spikes", True),
                                     fixed_point=spec.get("fixed_point")), field, name)
    for k, spec in enumerate(_list(doc.get("projections", []), "projections")):
        field = f"projections[{k}]"
        spec = dict(_table(spec, field))
        _only(spec, PROJECTION_KEYS + tuple(dict.fromkeys(sum(connectivity.RULES.values(), ())))
              + connectivity.COMMON_OPTIONS, field)
        for key in ("pre", "post"):
            if key not in spec:
                raise ConfigError(f"{field}.{key}", "is required (a population name)")
        kind = choice(spec.pop("type", "chemical"), PROJECTION_TYPES, f"{field}.type", "projection type")
        if kind == "gap_junction":
            for key in ("delay", "receptor"):
                if key in spec:
                    raise ConfigError(f"{field}.{key}", "a gap junction has no delay or receptor")
            kwargs = {key: spec.pop(key) for key in ("weight", "name") if key in spec}
            pre, post, rule = spec.pop("pre"), spec.pop("post"), spec.pop("rule", "one_to_one")
            _add(net, lambda: GapJunction(pre, post, rule, **kwargs, **spec), field, kwargs.get("name"))
        else:
            kwargs = {key: spec.pop(key) for key in ("weight", "delay", "receptor", "name", "plasticity",
                                                     "p_transmit") if key in spec}
            pre, post, rule = spec.pop("pre"), spec.pop("post"), spec.pop("rule", "all_to_all")
            _add(net, lambda: Projection(pre, post, rule, **kwargs, **spec), field, kwargs.get("name"))
    for k, spec in enumerate(_list(doc.get("stimuli", []), "stimuli")):
        field = f"stimuli[{k}]"
        spec = _table(spec, field)
        _only(spec, STIMULUS_KEYS, field)
        choice(spec.get("type", "step_current"), STIMULUS_TYPES, f"{field}.type", "stimulus type")
        for key in ("target", "times", "amplitudes"):
            if key not in spec:
                raise ConfigError(f"{field}.{key}", "is required")
        _add(net, lambda: StepCurrent(spec["target"], spec["times"], spec["amplitudes"],
                                      neurons=spec.get("neurons"), name=spec.get("name")), field, spec.get("name"))
    for k, spec in enumerate(_list(doc.get("recorders", []), "recorders")):
        field = f"recorders[{k}]"
        spec = _table(spec, field)
        _only(spec, RECORDER_KEYS, field)
        for key in ("population", "variables"):
            if key not in spec:
                raise ConfigError(f"{field}.{key}", "is required")
        _add(net, lambda: StateRecorder(spec["population"], spec["variables"], neurons=spec.get("neurons"),
                                        every=spec.get("every", 1), name=spec.get("name")), field,
             spec.get("name"))


def to_dict(net: Network) -> dict[str, Any]:
    """The model-file document of a Network (plain Python, TOML-ready)."""
    doc: dict[str, Any] = {"network": {"dt": net.dt, "seed": net.seed, "duration": net.duration,
                                       "precision": net.precision}}
    doc["populations"] = {}
    for name, pop in net.populations.items():
        spec: dict[str, Any] = {"n": pop.n, "model": pop.model.name, "method": pop.method}
        if pop.preset:
            spec["preset"] = pop.preset
        if pop.given_params:
            spec["params"] = {k: to_plain(v) for k, v in pop.given_params.items()}
        if pop.initial:
            spec["initial"] = {k: to_plain(v) for k, v in pop.initial.items()}
        if pop.record_spikes is not True:
            spec["record_spikes"] = pop.record_spikes
        if pop.fixed_point:
            spec["fixed_point"] = dict(pop.fixed_point)
        doc["populations"][name] = spec
    doc["projections"] = []
    for name, proj in net.projections.items():
        spec = {"name": name, "pre": proj.pre.name, "post": proj.post.name, "rule": proj.rule}
        spec.update({k: to_plain(v) for k, v in proj.rule_options.items()})
        if isinstance(proj, GapJunction):
            spec.update({"type": "gap_junction", "weight": to_plain(proj.weight)})
        else:
            spec.update({"weight": to_plain(proj.weight), "delay": to_plain(proj.delay), "receptor": proj.receptor})
            if proj.plasticity is not None:
                spec["plasticity"] = proj.plasticity.to_dict()
            if proj.p_transmit is not None:
                spec["p_transmit"] = proj.p_transmit
        doc["projections"].append(spec)
    doc["stimuli"] = [
        {"type": "step_current", "name": name, "target": s.target.name, "times": list(s.times),
         "amplitudes": list(s.amplitudes), **({"neurons": list(s.neurons)} if s.neurons is not None else {})}
        for name, s in net.stimuli.items()]
    doc["recorders"] = [
        {"name": name, "population": r.population.name, "variables": list(r.variables), "every": r.every,
         **({"neurons": list(r.neurons)} if r.neurons is not None else {})}
        for name, r in net.recorders.items()]
    return _plain(doc)


def dumps(net: Network) -> str:
    return tomli_w.dumps(to_dict(net))


def save(net: Network, path: str | os.PathLike) -> None:
    atomic_write_text(path, dumps(net))


def _plain(obj: Any) -> Any:
    """Numpy scalars and arrays to plain Python; drop empty lists of tables."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items() if not (isinstance(v, list) and not v and k in TOP_LEVEL)}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _plain(obj.tolist())
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    return obj


_SINGULAR = ("population", "projection", "stimulus", "recorder")


def _add(net: Network, make: Any, field: str, name: Any = None) -> None:
    """Make an object and add it, reporting errors under the file's field path (projections[2]...).

    An error's field starts with the object's own path (projections.NAME, or projection before it has a
    name); that part becomes `field`.
    """
    obj = None
    try:
        obj = make()
        net.add(obj)
    except ConfigError as err:
        kind = field.split("[", 1)[0].split(".", 1)[0]
        owners = [getattr(obj, "field", None), f"{kind}.{name}" if isinstance(name, str) else None, *_SINGULAR]
        rest = err.field
        for owner in owners:
            owner = owner and one_line(owner)
            if owner and (err.field == owner or err.field.startswith(owner + ".")):
                rest = err.field[len(owner) + 1:]
                break
        raise ConfigError(f"{field}.{rest}" if rest else field, err.message) from None


def _only(table: dict, allowed: tuple[str, ...], field: str) -> None:
    for key in table:
        if key not in allowed:
            where = f"{field}.{key}" if field else key
            raise ConfigError(where, f"unknown key; valid: {', '.join(allowed)}")


def _table(value: Any, field: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(field, f"expected a table, got {given(value)}")
    return value


def _list(value: Any, field: str) -> list:
    if not isinstance(value, list):
        raise ConfigError(field, f"expected an array of tables ([[{field}]]), got {given(value)}")
    return value
