"""Property-based fuzzing of model files (Hypothesis).

Strategies built from the schema (the key lists of neurobox.network.modelfile,
the parameter tables of every neuron model, the connection rules, the
learning rules and the value distributions) generate well-typed model
files, and mutate them into ill-typed ones: wrong types (strings, tables,
arrays, dates, booleans where numbers or names are expected), extreme
numbers (1e308, -1e308, 1e-300, nan, inf, huge integers), negative and
zero values, empty strings, nested tables, missing and unknown keys, and
absurd sizes (millions of neurons, degrees beyond the population, delays
of 1e13 ms, tiny connection probabilities).

The property: `loads(text)` followed by `compile_network(net)` (every check,
the drawing of connectivity and initial state, the constants of every
model and rule, the loop's argument checks) either succeeds or raises a
neurobox error (neurobox.errors.NeuroboxError); never another exception,
never a case that runs past its deadline, never a case that makes the
process's memory grow past a cap (absurd sizes must be refused by the size
and memory checks, not allocated). A smaller set of small, mostly valid
files also runs one millisecond in the compiled engine.

Budgets (fixed seed: `derandomize=True`, so every run tries the same cases):

    default                          FUZZ_EXAMPLES build cases + RUN_EXAMPLES run cases
    NEUROBOX_FUZZ_EXAMPLES=N         N build cases (e.g. 200000 for a long night)
    pytest --fuzz-examples N         the same, as a pytest option (tests/conftest.py)

Each test prints the number of cases it ran ("fuzz: ... cases, 0 failures").
"""
from __future__ import annotations

import copy
import datetime
import functools
import math
import os
import resource
import signal
import string
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import neurobox as nb
from neurobox.engine.compile import compile_network
from neurobox.errors import NeuroboxError
from neurobox.network import connectivity, modelfile, values
from neurobox.neurons import MODELS
from neurobox.plasticity.rules import MODES, PAIRINGS, PARAMETERS, STRING_OPTIONS

FUZZ_EXAMPLES = 10_000
"""Build cases of the default run (loads + compile_network)."""
RUN_EXAMPLES = 20
"""Cases of the default run that also run 1 ms in the compiled engine."""
DEADLINE_S = 10.0
"""No build case may take longer (a hang is a failure)."""
RUN_DEADLINE_S = 300.0
"""The deadline of a run case, which may include numba compiling a new loop structure (cold cache)."""
MEMORY_CAP_MB = 1024
"""Growth of the process's peak resident memory allowed over the whole run."""
MEMORY_LIMIT_MB = 256
"""The engine's memory check (NEUROBOX_MEMORY_LIMIT_MB) during the fuzz: bigger networks are refused."""

MODEL_NAMES = sorted(MODELS)
POP_NAMES = ["a", "b", "c"]
MODULE_TEXT = """
[network]
dt = 0.1
[populations.cells]
n = 3
model = "iaf_psc_exp"
[[projections]]
pre = "cells"
post = "cells"
rule = "one_to_one"
weight = 5.0
delay = 1.0
"""


def budget(request) -> int:
    option = request.config.getoption("--fuzz-examples", default=None)
    if option:
        return int(option)
    return int(os.environ.get("NEUROBOX_FUZZ_EXAMPLES", FUZZ_EXAMPLES))


# -- well-typed files, from the schema ------------------------------------------------------------------------

finite = st.floats(allow_nan=False, allow_infinity=False)
small_float = st.floats(-100.0, 100.0, allow_nan=False)


@functools.lru_cache(maxsize=None)
def param_value(p):
    """A value inside the parameter's allowed range, often its default."""
    default = p.default if math.isfinite(p.default) else 1.0
    lo = p.low if math.isfinite(p.low) else default - 100.0
    hi = p.high if math.isfinite(p.high) else default + 100.0
    if p.low_open and lo == 0.0:
        lo = 1e-3
    if hi < lo:
        hi = lo
    return st.one_of(st.just(default), st.floats(lo, hi, allow_nan=False))


@functools.lru_cache(maxsize=None)
def params_of(model_name):
    m = MODELS[model_name]
    if not m.parameters:
        return st.just({})
    return st.lists(st.sampled_from(m.parameters), max_size=4, unique_by=lambda p: p.name).flatmap(
        lambda chosen: st.fixed_dictionaries({p.name: param_value(p) for p in chosen}))


@functools.lru_cache(maxsize=None)
def value_spec(n, low=-50.0, high=50.0):
    return _value_spec(n, low, high)


@st.composite
def _value_spec(draw, n, low, high):
    """A constant, an array of n numbers or a distribution (neurobox.network.values)."""
    kind = draw(st.sampled_from(["constant", "constant", "array", "normal", "uniform", "lognormal"]))
    if kind == "constant":
        return draw(st.floats(low, high, allow_nan=False))
    if kind == "array":
        return draw(st.lists(st.floats(low, high, allow_nan=False), min_size=n, max_size=n))
    if kind == "normal":
        spec = {"distribution": "normal", "mean": draw(st.floats(low, high)), "std": draw(st.floats(0.0, 5.0))}
    elif kind == "uniform":
        a = draw(st.floats(low, high))
        spec = {"distribution": "uniform", "low": a, "high": draw(st.floats(a, max(a, high)))}
    else:
        spec = {"distribution": "lognormal", "mu": draw(st.floats(-2.0, 2.0)), "sigma": draw(st.floats(0.0, 1.0))}
    if draw(st.booleans()):
        spec["min"] = low
    if draw(st.booleans()):
        spec["max"] = high
    return spec


@st.composite
def population(draw, fixed_ok=False):
    model = draw(st.sampled_from(MODEL_NAMES))
    m = MODELS[model]
    n = draw(st.integers(1, 12))
    spec = {"n": n, "model": model}
    params = dict(draw(params_of(model)))
    if "spike_times" in m.array_params and draw(st.booleans()):
        params["spike_times"] = sorted(draw(st.lists(st.floats(0.1, 20.0), max_size=5)))
    if params:
        spec["params"] = params
    if m.state and draw(st.booleans()):
        var = draw(st.sampled_from(m.state_names))
        spec["initial"] = {var: draw(value_spec(n, -70.0, -50.0))}
    if draw(st.integers(0, 4)) == 0:
        spec["method"] = draw(st.sampled_from(list(m.methods)))
    if m.presets and draw(st.integers(0, 4)) == 0:
        spec["preset"] = draw(st.sampled_from(sorted(m.presets)))
    if draw(st.integers(0, 4)) == 0:
        spec["record_spikes"] = draw(st.booleans())
    if draw(st.integers(0, 6)) == 0:
        spec["fixed_point"] = {"I_lsb": draw(st.sampled_from([0.25, 1.0, 2.0])), "V_lsb": 2.0 ** -7}
    return spec


@st.composite
def rule_options(draw, n_pre, n_post):
    rule = draw(st.sampled_from(list(connectivity.RULES)))
    spec = {"rule": rule}
    if rule == "fixed_probability":
        spec["p"] = draw(st.one_of(st.floats(0.0, 1.0), st.sampled_from([0.0, 1.0, 1e-16, 1e-20, 1e-300])))
    elif rule == "fixed_indegree":
        spec["indegree"] = draw(st.integers(0, n_pre + 1))
    elif rule == "fixed_outdegree":
        spec["outdegree"] = draw(st.integers(0, n_post + 1))
    elif rule == "fixed_total_number":
        spec["N"] = draw(st.integers(0, 2 * n_pre * n_post + 1))
    elif rule == "explicit":
        k = draw(st.integers(0, 6))
        spec["pre_ids"] = draw(st.lists(st.integers(0, n_pre - 1), min_size=k, max_size=k))
        spec["post_ids"] = draw(st.lists(st.integers(0, n_post - 1), min_size=k, max_size=k))
    for key in connectivity.COMMON_OPTIONS:
        if draw(st.integers(0, 3)) == 0:
            spec[key] = draw(st.booleans())
    return spec


@st.composite
def plasticity(draw):
    rule = draw(st.sampled_from(list(PARAMETERS)))
    spec = {"rule": rule}
    for p in draw(st.lists(st.sampled_from(PARAMETERS[rule]), max_size=3, unique_by=lambda p: p.name)):
        spec[p.name] = draw(param_value(p))
    spec["w_min"], spec["w_max"] = 0.0, 10.0
    if "mode" in STRING_OPTIONS[rule] and draw(st.booleans()):
        spec["mode"] = draw(st.sampled_from(MODES))
        spec["pairing"] = draw(st.sampled_from(PAIRINGS))
    if draw(st.integers(0, 3)) == 0:
        spec["learning"] = draw(st.booleans())
    return spec


@st.composite
def projection(draw, pops):
    pre = draw(st.sampled_from(sorted(pops)))
    post = draw(st.sampled_from(sorted(pops)))
    spec = {"pre": pre, "post": post}
    spec.update(draw(rule_options(pops[pre]["n"], pops[post]["n"])))
    kind = draw(st.sampled_from(["chemical"] * 5 + ["gap_junction"]))
    if kind == "gap_junction":
        spec["type"] = kind
        spec["weight"] = draw(st.floats(0.0, 5.0))
        return spec
    receptor = draw(st.sampled_from(["excitatory", "inhibitory"]))
    spec["receptor"] = receptor
    sign = -1.0 if receptor == "inhibitory" and MODELS[pops[post]["model"]].receptor_kind == "current" else 1.0
    spec["weight"] = sign * draw(st.floats(0.0, 10.0)) if draw(st.booleans()) else draw(value_spec(3, 0.0, 10.0))
    plastic = draw(st.integers(0, 4)) == 0
    if plastic:
        spec["plasticity"] = draw(plasticity())
        spec["weight"] = draw(st.floats(0.0, 10.0))
        spec["delay"] = draw(st.floats(0.1, 5.0))
    elif draw(st.booleans()):
        spec["delay"] = draw(st.one_of(st.floats(0.1, 5.0), value_spec(3, 0.1, 5.0)))
    if not plastic and draw(st.integers(0, 5)) == 0:
        spec["p_transmit"] = draw(st.floats(0.0, 1.0))
    if draw(st.integers(0, 3)) == 0:
        spec["name"] = draw(st.sampled_from(["p", "q", "proj-1", "x.y"]))
    return spec


@st.composite
def document(draw):
    """A well-typed model file (it may still break cross-field rules: those must be errors too)."""
    doc = {}
    if draw(st.booleans()):
        net = {"dt": draw(st.sampled_from([0.1, 0.05, 0.25, 1.0]))}
        if draw(st.booleans()):
            net["seed"] = draw(st.integers(0, 2 ** 32))
        if draw(st.booleans()):
            net["duration"] = draw(st.floats(1.0, 100.0))
        if draw(st.integers(0, 3)) == 0:
            net["precision"] = draw(st.sampled_from(["float", "fixed"]))
        doc["network"] = net
    names = draw(st.lists(st.sampled_from(POP_NAMES), min_size=1, max_size=3, unique=True))
    pops = {name: draw(population()) for name in names}
    doc["populations"] = pops
    if draw(st.integers(0, 5)) == 0:
        doc["modules"] = {"m": {"file": "module.toml"}}
        if doc.get("network", {}).get("dt", 0.1) != 0.1:
            doc["network"]["dt"] = 0.1
    projections = draw(st.lists(projection(pops), max_size=3))
    if projections:
        doc["projections"] = projections
    stims = []
    for _ in range(draw(st.integers(0, 1))):
        target = draw(st.sampled_from(names))
        k = draw(st.integers(0, 3))
        times = sorted(set(draw(st.lists(st.floats(0.0, 50.0), min_size=k, max_size=k))))
        stim = {"type": "step_current", "target": target, "times": times,
                "amplitudes": draw(st.lists(small_float, min_size=len(times), max_size=len(times)))}
        if draw(st.booleans()):
            stim["neurons"] = [0]
        stims.append(stim)
    if stims:
        doc["stimuli"] = stims
    recs = []
    for _ in range(draw(st.integers(0, 1))):
        pop = draw(st.sampled_from(names))
        m = MODELS[pops[pop]["model"]]
        rec = {"population": pop, "variables": draw(st.lists(st.sampled_from(m.state_names or ("V_m",)),
                                                            min_size=1, max_size=2, unique=True))}
        if draw(st.booleans()):
            rec["neurons"] = [0]
        if draw(st.booleans()):
            rec["every"] = draw(st.integers(1, 5))
        recs.append(rec)
    if recs:
        doc["recorders"] = recs
    return doc


# -- ill-typed values and mutations --------------------------------------------------------------------------
# Each Hypothesis example is a well-typed document and a seeded random stream (st.randoms); the document
# itself and MUTANTS mutations of it, each made with that stream, are the example's cases (mutating in plain
# Python keeps a case cheap, so that the default run reaches 10,000 cases in about a minute).

MUTANTS = 5
"""Mutated copies of each generated document (each one a case, besides the document itself)."""

EXTREMES = [0, -1, 1, 0.0, -0.0, -1.0, 1e308, -1e308, 1e-300, -1e-300, 5e-324, 1e13, 1e-16, 1e-20,
            math.inf, -math.inf, math.nan, 2 ** 31, 2 ** 63 - 1, -2 ** 63, 10 ** 30, 50_000_000, 10_000_000,
            2_000_000, 65536, 70000, "", " ", "x", "a", "b", "iaf_psc_exp", "normal", "stdp", "all_to_all",
            "excitatory", "V_m", "../", ".", "/", "subdir", "module.toml", "\x00", "nan", "1.0", "a\nb",
            True, False, [], {}, [[]], [{}], {"a": 1}, {"distribution": "normal"},
            {"distribution": ["normal"]}, {"distribution": "uniform", "low": 1e308, "high": -1e308},
            {"distribution": "uniform", "low": -1e308, "high": 1e308},
            {"distribution": "normal", "mean": 0.0, "std": -1.0},
            {"distribution": "normal", "mean": 1e308, "std": 1e308},
            {"distribution": "lognormal", "mu": 1e3, "sigma": 1.0},
            {"distribution": "uniform", "low": 1.0, "high": 2.0, "min": 5.0, "max": 6.0},
            ["iaf_psc_exp"], [1, "a"], [[1], [1, 2]], [1e308] * 3, [math.nan], list(range(40)), [0, 0, 0],
            [-1], [2 ** 40], [True], [[0.5], [1.0]],
            datetime.date(2024, 1, 1), datetime.time(12, 0), datetime.datetime(2024, 1, 1, 12, 0)]
SCALES = [1e13, -1.0, 1e-300, 1e308, 0, 10 ** 7, -1e308, 1e6, 1e-16, 0.5]
KNOWN_KEYS = sorted(set(modelfile.TOP_LEVEL + modelfile.NETWORK_KEYS + modelfile.POPULATION_KEYS
                        + modelfile.PROJECTION_KEYS + modelfile.STIMULUS_KEYS + modelfile.RECORDER_KEYS
                        + tuple(k for opts in connectivity.RULES.values() for k in opts)
                        + connectivity.COMMON_OPTIONS + tuple(values.DISTRIBUTIONS) + ("distribution", "min", "max")
                        + ("file", "tau_m", "C_m", "V_th", "spike_times", "rate", "bogus", "self", "__class__")))


def junk(rnd, depth=0):
    """An ill-typed or extreme value: a chosen extreme, a random number, string, array or table."""
    kind = rnd.randrange(9 if depth < 2 else 6)
    if kind <= 2:
        return copy.deepcopy(rnd.choice(EXTREMES))  # a copy: a later mutation must not change EXTREMES
    if kind == 3:
        return rnd.choice([rnd.randint(-2 ** 70, 2 ** 70), rnd.randint(-3, 3), rnd.randint(0, 2 ** 62)])
    if kind == 4:
        x = rnd.choice([rnd.uniform(-1e3, 1e3), rnd.lognormvariate(0, 50), -rnd.lognormvariate(0, 50)])
        return x if math.isfinite(x) else rnd.choice([math.inf, -math.inf])
    if kind == 5:
        return "".join(rnd.choice(string.printable) for _ in range(rnd.randrange(6)))
    if kind in (6, 7):
        return [junk(rnd, depth + 1) for _ in range(rnd.randrange(4))]
    return {rnd.choice(KNOWN_KEYS): junk(rnd, depth + 1) for _ in range(rnd.randrange(3))}


def paths(obj, prefix=()):
    """Every path into the document (keys and list indices), containers included."""
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += paths(v, prefix + (i,))
    return out


def get(obj, path):
    for p in path:
        obj = obj[p]
    return obj


def mutate(doc, rnd):
    """A copy of `doc` with 1 to 3 mutations: replaced by junk, scaled, deleted, a key added, wrapped."""
    doc = copy.deepcopy(doc)
    for _ in range(rnd.randint(1, 3)):
        all_paths = [p for p in paths(doc) if p]
        if not all_paths:
            break
        path = rnd.choice(all_paths)
        parent, key = get(doc, path[:-1]), path[-1]
        how = rnd.choice(["replace", "replace", "replace", "scale", "scale", "delete", "add", "wrap"])
        if how == "replace":
            parent[key] = junk(rnd)
        elif how == "scale":
            old = parent[key]
            if isinstance(old, (int, float)) and not isinstance(old, bool):
                try:
                    parent[key] = old * rnd.choice(SCALES)
                except OverflowError:
                    parent[key] = math.inf
            else:
                parent[key] = junk(rnd)
        elif how == "delete":
            del parent[key]
        elif how == "add" and isinstance(parent, dict):
            parent[rnd.choice(KNOWN_KEYS)] = junk(rnd)
        elif how == "wrap":
            parent[key] = rnd.choice([[parent[key]], {"value": parent[key]},
                                      [parent[key], copy.deepcopy(parent[key])]])
    return doc


def cases(doc, rnd):
    """The cases of one example: the document and MUTANTS mutations of it."""
    return [doc] + [mutate(doc, rnd) for _ in range(MUTANTS)]


def to_text(doc) -> str | None:
    try:
        return tomli_w.dumps(doc)
    except (TypeError, ValueError):
        return None  # not expressible in TOML (e.g. an array of tables where a table must be)


# -- the property ----------------------------------------------------------------------------------------------

class CaseTimeout(Exception):
    pass


def _alarm(signum, frame):
    raise CaseTimeout("a case ran past its deadline")


@pytest.fixture(scope="module")
def fuzz_env():
    """A directory with a module file, the engine's memory limit lowered, a deadline per case."""
    old_limit = os.environ.get("NEUROBOX_MEMORY_LIMIT_MB")
    os.environ["NEUROBOX_MEMORY_LIMIT_MB"] = str(MEMORY_LIMIT_MB)
    for model in MODEL_NAMES:  # warm up: the models' numba helpers load (or compile) before any deadline runs
        net = nb.Network(dt=0.1)
        net.population("warm", 1, model)
        compile_network(net)
    old_handler = signal.signal(signal.SIGALRM, _alarm)
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "module.toml").write_text(MODULE_TEXT)
        (Path(tmp) / "subdir").mkdir()
        yield Path(tmp)
    signal.signal(signal.SIGALRM, old_handler)
    if old_limit is None:
        os.environ.pop("NEUROBOX_MEMORY_LIMIT_MB", None)
    else:
        os.environ["NEUROBOX_MEMORY_LIMIT_MB"] = old_limit


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class Tally:
    def __init__(self):
        self.cases = self.built = self.refused = self.unwritable = 0
        self.start = time.perf_counter()
        self.rss0 = peak_rss_mb()

    def check_memory(self) -> None:
        grown = peak_rss_mb() - self.rss0
        assert grown < MEMORY_CAP_MB, f"peak memory grew by {grown:.0f} MB (cap {MEMORY_CAP_MB} MB)"

    def report(self, what: str) -> str:
        line = (f"fuzz {what}: {self.cases} cases ({self.built} built, {self.refused} refused with a neurobox "
                f"error, {self.unwritable} not TOML), 0 failures, {time.perf_counter() - self.start:.1f} s")
        print("\n" + line)
        return line


def check_case(doc, base_dir: Path, tally: Tally, run_ms: float | None = None) -> None:
    """The property for one document."""
    text = to_text(doc)
    tally.cases += 1
    if text is None:
        tally.unwritable += 1
        return
    signal.setitimer(signal.ITIMER_REAL, DEADLINE_S if run_ms is None else RUN_DEADLINE_S)
    try:
        net = nb.loads(text, base_dir=base_dir)
        if run_ms is None:
            compile_network(net)
        else:
            nb.Simulation(net, progress=False).run(run_ms)
        tally.built += 1
    except NeuroboxError as err:
        tally.refused += 1
        message = str(err)
        assert "\n" not in message, f"a multi-line error: {message!r}"
        assert len(message) < 600, f"an overlong error: {message[:200]!r}..."
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    tally.check_memory()


@pytest.mark.slow
def test_fuzz_model_files(request, fuzz_env):
    """Mutated model files: loaded and compiled, or refused with a neurobox error (nothing else)."""
    n = budget(request)
    tally = Tally()

    @settings(max_examples=-(-n // (MUTANTS + 1)), derandomize=True, database=None, deadline=None, print_blob=True,
              suppress_health_check=list(HealthCheck))
    @given(doc=document(), rnd=st.randoms(use_true_random=True))
    def prop(doc, rnd):
        for case in cases(doc, rnd):
            check_case(case, fuzz_env, tally)

    prop()
    request.node.user_properties.append(("fuzz_cases", tally.cases))
    tally.report("build")
    assert tally.cases >= n


@pytest.mark.slow
def test_fuzz_runs(request, fuzz_env):
    """A few small files, mutated or not, run 1 ms in the compiled engine."""
    tally = Tally()

    @settings(max_examples=RUN_EXAMPLES, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(doc=document(), rnd=st.randoms(use_true_random=True))
    def prop(doc, rnd):
        check_case(doc if rnd.random() < 0.5 else mutate(doc, rnd), fuzz_env, tally, run_ms=1.0)

    prop()
    request.node.user_properties.append(("fuzz_cases", tally.cases))
    tally.report("run")


# -- regressions: the crash classes an outside tester found (each must be a one-line neurobox error) ---------

BASE = """
[network]
dt = 0.1
seed = 1
[populations.a]
n = 10
model = "iaf_psc_exp"
[populations.b]
n = 5
model = "iaf_psc_exp"
[[projections]]
pre = "a"
post = "b"
rule = "all_to_all"
weight = 2.0
delay = 1.0
"""

REGRESSIONS = [
    # a list or table where a name is expected ("unhashable type")
    (BASE.replace('model = "iaf_psc_exp"', 'model = ["iaf_psc_exp"]', 1), "populations.a.model", "a string"),
    (BASE.replace('rule = "all_to_all"', "rule = { a = 1 }"), "projections[0].rule", "connection rule"),
    (BASE + 'plasticity = { rule = { a = 1 } }\n', "projections[0].plasticity.rule", "learning rule"),
    (BASE + 'plasticity = { rule = ["stdp"] }\n', "projections[0].plasticity.rule", "valid: stdp"),
    (BASE.replace('n = 10\nmodel = "iaf_psc_exp"', 'n = 10\nmodel = "iaf_psc_exp"\nmethod = ["exact"]'),
     "populations.a.method", "no integration method"),
    (BASE.replace('n = 10\nmodel = "iaf_psc_exp"', 'n = 10\nmodel = "izhikevich"\npreset = {}'),
     "populations.a.params.preset", "unknown preset"),
    (BASE + 'receptor = ["excitatory"]\n', "projections[0].receptor", "valid: excitatory"),
    (BASE.replace("seed = 1", 'precision = ["fixed"]'), "network.precision", "valid: float"),
    (BASE + '[[recorders]]\npopulation = { x = 1 }\nvariables = "V_m"\n', "recorders[0].population",
     "a population"),
    # modules
    ("[modules.x]\nfile = 7.0\n" + BASE, "modules.x.file", "non-empty string"),
    ('[modules.x]\nfile = ""\n' + BASE, "modules.x.file", "non-empty string"),
    ('[modules.x]\nfile = "subdir"\n' + BASE, "modules.x.file", "is a folder"),
    ('[modules.x]\nfile = "a\\u0000b"\n' + BASE, "modules.x.file", "not a usable path"),
    # malformed distributions, a negative standard deviation
    (BASE.replace("weight = 2.0", 'weight = { distribution = ["normal"], mean = 1.0, std = 1.0 }'),
     "projections[0].weight.distribution", "a string"),
    (BASE.replace("weight = 2.0", "weight = { mean = 1.0, std = 1.0 }"), "projections[0].weight.distribution",
     "valid: normal"),
    (BASE.replace("weight = 2.0", 'weight = { distribution = "normal", mean = 1.0, std = -1.0 }'),
     "projections[0].weight.std", "must be >= 0"),
    (BASE.replace("weight = 2.0", 'weight = { distribution = "normal", mean = "1", std = 1.0 }'),
     "projections[0].weight.mean", "got '1'"),
    (BASE.replace("weight = 2.0", 'weight = { distribution = "uniform", low = -1e308, high = 1e308 }'),
     "projections[0].weight.high", "finite"),
    (BASE.replace("weight = 2.0", 'weight = { distribution = "lognormal", mu = 1000.0, sigma = 1.0 }'),
     "projections.a_b.weight", "finite numbers"),  # found when drawing: named by the projection's name
    (BASE.replace("weight = 2.0", "weight = [[1.0], [1.0, 2.0]]"), "projections[0].weight[0]", "a number"),
    (BASE.replace("weight = 2.0", "weight = 1e300"), "projections[0].weight", "magnitude"),
    # delays: steps must fit the engine's delay type
    (BASE.replace("delay = 1.0", "delay = 1e13"), "projections[0].delay", "<= 65535 steps"),
    (BASE.replace("delay = 1.0", 'delay = { distribution = "normal", mean = 1e9, std = 1.0 }'),
     "projections.a_b.delay", "<= 65535 steps"),
    # recorders and stimuli
    (BASE + '[[recorders]]\npopulation = "a"\nvariables = 5\n', "recorders[0].variables", "got 5"),
    (BASE + '[[recorders]]\npopulation = "a"\nvariables = ["V_m", 3]\n', "recorders[0].variables[1]",
     "no state variable"),
    (BASE + '[[recorders]]\npopulation = "a"\nvariables = "V_m"\nneurons = 3.0\n', "recorders[0].neurons",
     "got 3.0"),
    (BASE + '[[recorders]]\npopulation = "a"\nvariables = "V_m"\nneurons = [[1], [1, 2]]\n',
     "recorders[0].neurons", "indices"),
    (BASE + '[[stimuli]]\ntarget = "a"\ntimes = 5\namplitudes = [1.0]\n', "stimuli[0].times", "got 5"),
    (BASE + '[[stimuli]]\ntarget = "a"\ntimes = [1.0]\namplitudes = [{}]\n', "stimuli[0].amplitudes[0]",
     "a number"),
    # math range errors in the models' constants
    (BASE.replace('n = 10\nmodel = "iaf_psc_exp"', 'n = 10\nmodel = "iaf_psc_exp"\nparams = { tau_m = 1e-300 }'),
     "populations.a.params.tau_m", "overflow"),
    (BASE.replace('n = 10\nmodel = "iaf_psc_exp"', 'n = 10\nmodel = "iaf_psc_exp"\nparams = { t_ref = 1e308 }'),
     "populations.a.params.t_ref", "overflow"),
    (BASE + "plasticity = { rule = \"stdp\", normalize_every_ms = 1e308, w_max = 10.0 }\n",
     "projections[0].plasticity", "overflow"),
    # types of numbers, flags, sizes
    (BASE.replace("n = 10", "n = 10.0"), "populations.a.n", "whole number"),
    (BASE.replace("n = 10", "n = 99999999999999999999999"), "populations.a.n", "between 1"),
    (BASE.replace('n = 10\nmodel = "iaf_psc_exp"', 'n = 10\nmodel = "iaf_psc_exp"\nparams = { C_m = "250" }'),
     "populations.a.params.C_m", "expected a number"),
    (BASE.replace('n = 10\nmodel = "iaf_psc_exp"', 'n = 10\nmodel = "iaf_psc_exp"\nparams = { C_m = 1e999999 }'),
     "populations.a.params.C_m", "finite"),
    (BASE.replace('n = 10\nmodel = "iaf_psc_exp"', 'n = 10\nmodel = "iaf_psc_exp"\nrecord_spikes = "no"'),
     "populations.a.record_spikes", "true, false or a whole number of neurons"),
    (BASE + 'allow_autapses = "yes"\n', "projections[0].allow_autapses", "true or false"),
    (BASE + "self = 1\n", "projections[0].self", "unknown key"),
    (BASE.replace("seed = 1", "seed = 99999999999999999999999"), "network.seed", "whole number"),
    (BASE.replace("dt = 0.1", "dt = 1e-300"), "network.dt", "must be in"),
    (BASE.replace("seed = 1", "duration = 1e300"), "network.duration", "at most"),
    (BASE.replace('rule = "all_to_all"', 'rule = "fixed_indegree"\nindegree = 1.5'),
     "projections[0].indegree", "whole number"),
    (BASE.replace('rule = "all_to_all"', 'rule = "fixed_probability"\np = true'), "projections[0].p",
     "a probability"),
    (BASE.replace('rule = "all_to_all"', 'rule = "explicit"\npre_ids = [[0], [1, 2]]\npost_ids = [0]'),
     "projections[0].pre_ids", "whole indices"),
    (BASE + "p_transmit = 1e999999\n", "projections[0].p_transmit", "finite"),
    (BASE.replace('n = 5\nmodel = "iaf_psc_exp"', 'n = 5\nmodel = "spike_generator"\nparams = { spike_times = 5 }'),
     "populations.b.params.spike_times", "an array of times"),
    (BASE.replace('n = 10\nmodel = "iaf_psc_exp"', 'n = 10\nmodel = "iaf_psc_exp"\ninitial = { V_m = [1.0, 2.0] }'),
     "populations.a.initial.V_m", "10 values"),
    (BASE + '[populations."a\\nb"]\nn = 1\nmodel = "iaf_psc_exp"\n', "populations.a\\nb",
     "names start with a letter"),
]


@pytest.mark.parametrize("text, field, words", REGRESSIONS, ids=[r[1] + ":" + r[2] for r in REGRESSIONS])
def test_bad_values_are_one_line_errors(tmp_path, text, field, words):
    (tmp_path / "subdir").mkdir()
    with pytest.raises(nb.ConfigError) as info:
        compile_network(nb.loads(text, base_dir=tmp_path))
    message = str(info.value)
    assert info.value.field == field, message
    assert words in message, message
    assert "\n" not in message and len(message) < 600


@pytest.mark.parametrize("p", [1e-16, 1e-20, 1e-300, 5e-324])
def test_tiny_connection_probabilities_finish(p):
    """The geometric skips of a tiny p reach int64's limit: no overflow, no endless loop, nothing drawn."""
    text = BASE.replace("n = 10", "n = 50000").replace("n = 5\n", "n = 50000\n").replace(
        'rule = "all_to_all"', f'rule = "fixed_probability"\np = {p!r}')
    start = time.perf_counter()
    net = compile_network(nb.loads(text))
    assert net.projections[0].n_synapses == 0
    assert time.perf_counter() - start < 10.0
    pre, post = connectivity._bernoulli_pairs(10 ** 7, 10 ** 7, p, np.random.default_rng(1))
    assert pre.size == post.size and pre.size <= 1


def test_small_probabilities_keep_their_statistics():
    pre, post = connectivity._bernoulli_pairs(10 ** 5, 10 ** 5, 1e-7, np.random.default_rng(2))
    assert 700 < pre.size < 1300  # 1000 expected
    assert np.all((pre >= 0) & (pre < 10 ** 5) & (post >= 0) & (post < 10 ** 5))


@pytest.mark.parametrize("change, field", [
    (("n = 10\nmodel = \"iaf_psc_exp\"\n[populations.b]\nn = 5",
      "n = 40000000\nmodel = \"iaf_psc_exp\"\n[populations.b]\nn = 40000000"), "projections.a_b.rule"),  # 1.6e15
    (('rule = "all_to_all"', 'rule = "fixed_indegree"\nindegree = 1000000000000000000'), "projections.a_b.rule"),
    (('rule = "all_to_all"', 'rule = "fixed_probability"\np = 0.9\n'), None),  # small: builds
])
def test_absurd_sizes_are_refused_before_allocation(change, field):
    """The memory check refuses them whatever the machine (no MemoryError, no swap)."""
    text = BASE.replace(*change)
    if field is None:
        compile_network(nb.loads(text))
        return
    with pytest.raises(nb.ConfigError, match="memory") as info:
        compile_network(nb.loads(text))
    assert info.value.field == field


def test_memory_limit_applies_to_populations(monkeypatch):
    monkeypatch.setenv("NEUROBOX_MEMORY_LIMIT_MB", "64")
    with pytest.raises(nb.ConfigError, match="memory") as info:
        compile_network(nb.loads(BASE.replace("n = 10", "n = 2000000")))
    assert info.value.field == "populations.a.n"


def test_dense_degrees_without_multapses_finish():
    """Drawing k distinct partners out of k (or k + 1 without autapses) is a permutation, not a long redraw."""
    text = BASE.replace("n = 5\n", "n = 400\n").replace("n = 10", "n = 400").replace(
        'pre = "a"', 'pre = "b"').replace(
        'rule = "all_to_all"', 'rule = "fixed_indegree"\nindegree = 399\nallow_multapses = false\n'
                               'allow_autapses = false')
    start = time.perf_counter()
    proj = compile_network(nb.loads(text)).projections[0]
    assert time.perf_counter() - start < 10.0
    pre, post, _, _ = proj.to_lists()
    assert pre.size == 400 * 399 and not np.any(pre == post)
    assert all(np.unique(pre[post == j]).size == 399 for j in range(0, 400, 37))
    with pytest.raises(nb.ConfigError, match="distinct partners") as info:
        compile_network(nb.loads(text.replace("indegree = 399", "indegree = 400")))
    assert info.value.field == "projections[0].indegree"
