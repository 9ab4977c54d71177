"""The network description: what to simulate, independent of any target."""
from neurobox.network.modelfile import load, loads
from neurobox.network.network import Network
from neurobox.network.population import PoissonSource, Population, SpikeSource
from neurobox.network.projection import GapJunction, Projection
from neurobox.network.recorders import StateRecorder
from neurobox.network.stimuli import DCCurrent, StepCurrent

__all__ = ["DCCurrent", "GapJunction", "Network", "PoissonSource", "Population", "Projection", "SpikeSource",
           "StateRecorder", "StepCurrent", "load", "loads"]
