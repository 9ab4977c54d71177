"""Wording of the lines a person reads on a terminal: counts with their noun, singular or plural.

The one home of it: `plural(1, "neuron")` is "1 neuron", `plural(3, "neuron")` is "3 neurons",
`plural(2, "delivery", "deliveries")` is "2 deliveries". Every summary the command prints counts with it.
"""
from __future__ import annotations


def noun(count, singular: str, plural_form: str | None = None) -> str:
    """`singular` for a count of exactly one, else its plural (`plural_form`, default singular + "s")."""
    return singular if count == 1 else (plural_form or singular + "s")


def plural(count, singular: str, plural_form: str | None = None, width: int = 0) -> str:
    """The count and its noun: "1 neuron", "0 neurons", "2.5 ms"; `width`: the count right-aligned in it."""
    number = f"{count:g}" if isinstance(count, float) else str(count)
    return f"{number:>{width}} {noun(count, singular, plural_form)}"
