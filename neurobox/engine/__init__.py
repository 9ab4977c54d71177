"""The compiled, clock-driven engine: compile a Network to flat arrays and run it.

    sim = Simulation(net)        # the run handle: compiles a snapshot of the description
    res = sim.run(1000.0)        # ms; a second run continues
    res = run(net, 1000.0)       # the same in one call
"""
from neurobox.engine.compile import CompiledNetwork, compile_network
from neurobox.engine.simulation import Simulation, run

__all__ = ["CompiledNetwork", "Simulation", "compile_network", "run"]
