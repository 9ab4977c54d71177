"""The compiled, clock-driven engine: compile a Network to flat arrays and run it."""
from neurobox.engine.compile import CompiledNetwork, compile_network
from neurobox.engine.results import Results, SpikeTrains, Trace
from neurobox.engine.simulation import Simulation

__all__ = ["CompiledNetwork", "Results", "Simulation", "SpikeTrains", "Trace", "compile_network"]
