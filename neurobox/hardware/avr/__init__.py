"""The ATmega8 target: pin planner, configuration header, build, simavr runner, verification, resources."""
