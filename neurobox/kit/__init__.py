"""The maker's kit: everything needed to build a network as physical neuron boxes.

`units` says which boxes a network needs (one per unit and per stimulus input, grouped into kinds that
share a case and a circuit) and where each of their wires goes, from the pin planner
(neurobox.hardware.plan): the one source of truth every part of the kit reads. The parts: the cases
(`case`), each kind's circuit (`circuit`), the wiring between boxes (`wiring`), the bill of materials
(`bom`), firmware and flashing (`flash`), the assembly guide, and `build` that writes them all into one
folder (`neurobox kit MODEL --out kit/`).
"""
