"""The board's learning switch: the one server-side hook that turns plasticity on or off."""
from __future__ import annotations


def set_learning(sim, on: bool) -> str:
    """Switch learning of every plastic projection of the running simulation on or off from the next chunk on.

    Returns a note for the page.
    """
    sim.learning = bool(on)
    plastic = [name for name, p in sim.network.projections.items() if getattr(p, "plasticity", None) is not None]
    if not plastic:
        return f"learning {'on' if on else 'off'}: this network has no plastic projection"
    return f"learning {'on' if on else 'off'} for {', '.join(plastic)}"
