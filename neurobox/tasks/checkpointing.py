"""The checks a task's training makes of its checkpoint options before it starts (digits, XOR)."""
from __future__ import annotations

import numpy as np

from neurobox.errors import ConfigError


def check_checkpoint_options(checkpoint_every, checkpoint_dir, resume, target: str, what: str) -> None:
    """checkpoint_every: a whole number >= 0 of `what` (images, trials); it needs checkpoint_dir; neither it
    nor resume runs on the twin, whose run handle cannot export its complete state."""
    if isinstance(checkpoint_every, bool) or not isinstance(checkpoint_every, (int, np.integer)) \
            or checkpoint_every < 0:
        raise ConfigError("checkpoint_every", f"must be a whole number >= 0 ({what}), got {checkpoint_every!r}")
    if checkpoint_every and checkpoint_dir is None:
        raise ConfigError("checkpoint_dir", "needed with checkpoint_every")
    if (checkpoint_every or resume is not None) and target == "twin":
        raise ConfigError("--checkpoint-every" if checkpoint_every else "--resume",
                          "the twin's run handle cannot export its complete state (each unit's clock, the bus "
                          "queues and the packets in flight): checkpoints work on --target engine and fixed")
