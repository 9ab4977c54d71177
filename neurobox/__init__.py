"""neurobox: spiking neural networks built from independent neurons.

    import neurobox as nb
    net = nb.load("examples/coba.toml")
    results = net.run(1000.0)
"""
from neurobox.errors import ConfigError, NeuroboxError, SimulationError
from neurobox.network import (DCCurrent, GapJunction, Network, PoissonSource, Population, Projection, SpikeSource,
                              StateRecorder, StepCurrent, load, loads)
from neurobox.engine.results import Results

__version__ = "0.1.0"

__all__ = ["ConfigError", "DCCurrent", "GapJunction", "Network", "NeuroboxError", "PoissonSource", "Population",
           "Projection", "Results", "SimulationError", "SpikeSource", "StateRecorder", "StepCurrent",
           "load", "loads"]
