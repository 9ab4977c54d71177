"""Other simulators as targets: the same description run by another engine (NEST)."""
