"""neurobox: spiking neural networks built from independent neurons.

    import neurobox as nb
    net = nb.load("examples/coba.toml")      # a description
    results = nb.run(net, 1000.0)            # ms
    sim = nb.Simulation(net)                 # or a run handle: run, reward, change, continue

The names below are imported on first use, so that importing one layer
(say `neurobox.network`) does not import the layers above it (the engine).
"""
from importlib import import_module

__version__ = "0.1.0"

_PUBLIC = {
    "ConfigError": "neurobox.errors", "NeuroboxError": "neurobox.errors", "SimulationError": "neurobox.errors",
    "DCCurrent": "neurobox.network", "GapJunction": "neurobox.network", "Network": "neurobox.network",
    "PoissonSource": "neurobox.network", "Population": "neurobox.network", "Projection": "neurobox.network",
    "SpikeSource": "neurobox.network", "StateRecorder": "neurobox.network", "StepCurrent": "neurobox.network",
    "load": "neurobox.network", "loads": "neurobox.network",
    "Results": "neurobox.results",
    "Simulation": "neurobox.engine", "run": "neurobox.engine",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    if name in _PUBLIC:
        value = getattr(import_module(_PUBLIC[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'neurobox' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_PUBLIC))
