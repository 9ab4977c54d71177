"""The errors neurobox raises.

Every error about user input names the field it concerns and what is
allowed, so a user can fix a model file or a call without reading code.
"""


class NeuroboxError(Exception):
    """Base class of every error neurobox raises on purpose."""


class ConfigError(NeuroboxError, ValueError):
    """Bad input: an unknown name, a value out of range, a file that does not parse.

    `field` is the dotted path of the offending entry (for example
    ``projections[2].delay`` or ``populations.exc.params.tau_m``).
    """

    def __init__(self, field: str, message: str):
        self.field = one_line(str(field))
        self.message = one_line(str(message))
        super().__init__(f"{self.field}: {self.message}" if self.field else self.message)


def one_line(text: str) -> str:
    """`text` with line breaks and other unprintable characters escaped (a user's key may hold them)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class SimulationError(NeuroboxError, RuntimeError):
    """A run that cannot go on (for example a state that became NaN)."""


class ToolMissingError(NeuroboxError, RuntimeError):
    """An external tool (avr-gcc, simavr, yosys...) is not installed.

    The message says how to install it.
    """


class ToolError(NeuroboxError, RuntimeError):
    """An external tool (avr-gcc, yosys...) ran and failed on something neurobox gave it.

    The message is one line: what was being built (the unit), the tool, and its first error.
    """
