"""The digital twin: the network as independent physical units, on their own clocks, over wires or a bus.

    from neurobox.hardware.board import load_board
    from neurobox.twin import run_twin, summary
    result = run_twin(load_board("board.toml"), 2000.0, transport="bus", faults=["drop:0.05"])
    print(summary(result))

Modules: clocks (a unit's crystal), transport (wire, bus), faults (what can
go wrong, and the `--fault` syntax), units (the batched fixed-point units
with EEPROM), scheduler (the event loop), session (the run handle,
`TwinSession`, and `run_twin`), report (figures).
"""
from neurobox.twin.clocks import Clock, nominal
from neurobox.twin.faults import parse_fault, parse_faults
from neurobox.twin.report import compare_with_engine, latency_stats, summary, wall_time
from neurobox.twin.scheduler import TwinResult
from neurobox.twin.session import TwinSession, run_twin
from neurobox.twin.transport import BusParams, WireParams

__all__ = ["Clock", "nominal", "parse_fault", "parse_faults", "compare_with_engine", "latency_stats",
           "summary", "wall_time", "TwinResult", "TwinSession", "run_twin", "BusParams",
           "WireParams"]
