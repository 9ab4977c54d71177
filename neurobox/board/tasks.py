"""Tasks the board runs while you watch: they feed the inputs, read the answers, reward, and keep score.

A task is called by the board (`neurobox.board.session.LiveBoard`) between
chunks of the run: `due()` is the next time (ms) it must act, and
`act(board)` schedules input spikes (`board.feed.add`), reads spikes
(`board.handle.spikes_between`), gives rewards (`board.handle.reward`)
and updates its score. `state()` is what the page's overlay shows (the
trial, the pattern, the answer, the reward, the running accuracy and its
curve); `version` changes whenever it does. The board's handle is the
engine's Simulation or the twin's TwinSession: a task runs on either.

`XorTask`: XOR trials (latency-coded bits) to the reward-modulated
learner of `neurobox.tasks.xor`, rewarded (+1) or punished (-1) when the
output fires, while learning is on, as the trainer does.

`DigitsTask`: the digits network of `neurobox.tasks.digits` learns from
scratch on the page: training digits one after the other, unsupervised
STDP with lateral inhibition; the labels the network never sees give each
neuron the class it has answered most to lately, and each digit's answer
is the class whose neurons fired most. `draw(...)` shows a pattern drawn
on the pixels (learning paused for it) and answers it.
"""
from __future__ import annotations

import numpy as np

BLOCK = 20
"""Trials per point of a task's accuracy curve."""
CURVE_POINTS = 200
"""Points of an accuracy curve kept (the oldest go first)."""


def _hex(values: np.ndarray) -> str:
    """Values in [0, 1] as one hex digit each (0..f)."""
    return "".join("0123456789abcdef"[int(v)] for v in np.clip(np.rint(np.asarray(values) * 15), 0, 15))


class Score:
    """Outcomes of trials: running accuracy over the last BLOCK, and the curve (one point per BLOCK)."""

    def __init__(self):
        self.outcomes: list[bool] = []
        self.curve: list[float] = []

    def add(self, correct: bool) -> None:
        self.outcomes.append(bool(correct))
        if len(self.outcomes) % BLOCK == 0:
            self.curve.append(round(float(np.mean(self.outcomes[-BLOCK:])), 3))
            del self.curve[:-CURVE_POINTS]

    def state(self) -> dict:
        recent = self.outcomes[-BLOCK:]
        return {"trials": len(self.outcomes), "accuracy": round(float(np.mean(recent)), 3) if recent else None,
                "recent": "".join("1" if c else "0" for c in recent), "curve": list(self.curve), "block": BLOCK}


class XorTask:
    """XOR trials for the reward-modulated learner (neurobox.tasks.xor); see the module docstring."""

    name = "xor"

    def __init__(self, config, seed: int = 0):
        self.config, self.seed = config, seed
        self.version = 0
        self.reset()

    def reset(self) -> None:
        self.rng = np.random.default_rng([self.seed, 404])
        self.trial: tuple[float, float, int] | None = None   # (start, end, pattern)
        self.next_onset = 0.0
        self.score = Score()
        self.rewards = 0
        self.by_hand = 0
        self.last: dict | None = None
        self.version += 1

    def due(self) -> float:
        return self.trial[1] if self.trial is not None else self.next_onset

    def act(self, board) -> None:
        from neurobox.tasks.xor import PATTERNS, TARGETS

        c, t = self.config, board.time
        if self.trial is not None and t >= self.trial[1] - 1e-9:
            start, end, p = self.trial
            fired = board.handle.spikes_between(start, t)["output"][1].size > 0
            reward = 0
            if fired and board.handle.learning:
                reward = 1 if TARGETS[p] else -1
                board.handle.reward(c.reward if reward > 0 else -c.punishment)
                self.rewards += 1
            self.score.add(fired == bool(TARGETS[p]))
            self.last = {"pattern": PATTERNS[p].tolist(), "target": int(TARGETS[p]), "answer": int(fired),
                         "correct": fired == bool(TARGETS[p]), "reward": reward}
            self.trial = None
            self.next_onset = end + c.rest_ms
            self.version += 1
        if self.trial is None and t >= self.next_onset - 1e-9:
            p = int(self.rng.integers(len(PATTERNS)))
            onset = t + 1.0
            times = onset + np.where(PATTERNS[p] == 1, 0.0, c.late_ms) + self.rng.normal(0.0, c.jitter_ms, 2)
            times = np.maximum(times, t + c.dt)
            board.feed.add("input", [[float(times[0])], [float(times[1])]])
            self.trial = (t, t + c.trial_ms, p)
            self.version += 1

    def rewarded(self, amount: float) -> None:
        """A reward or punishment given by hand."""
        self.by_hand += 1
        self.version += 1

    def state(self) -> dict:
        from neurobox.tasks.xor import PATTERNS, TARGETS

        now = None
        if self.trial is not None:
            p = self.trial[2]
            now = {"pattern": PATTERNS[p].tolist(), "target": int(TARGETS[p])}
        return {"task": "xor", "presenting": now, "last": self.last, "rewards": self.rewards,
                "by_hand": self.by_hand, **self.score.state()}


class DigitsTask:
    """Live learning of the 8x8 digits (neurobox.tasks.digits); see the module docstring."""

    name = "digits"
    pixels = "input"
    """The input population a pattern is drawn on (`draw`)."""
    FIELDS_EVERY = 10
    """Presentations between two copies of the learned weights (the receptive fields) in the state."""
    LABEL_RATE = 0.1
    """Weight of the newest digit of a class in each neuron's running mean response to that class."""
    FLOOR = 0.1
    """The learning rate falls linearly over the task's training images, down to this fraction."""

    def __init__(self, config, seed: int = 0):
        from neurobox.tasks.digits import load_split

        self.config, self.seed = config, seed
        self.images, self.labels, _, _ = load_split(seed)
        self.version = 0
        self.reset()

    def reset(self) -> None:
        from neurobox.tasks.digits import N_CLASSES

        n = self.config.n_exc
        self.order_rng = np.random.default_rng([self.seed, 11])
        self.order = self.order_rng.permutation(len(self.images))
        self.shown = 0
        self.response = np.zeros((N_CLASSES, n))
        self.neuron_labels = np.full(n, -1, dtype=np.int64)
        self.score = Score()
        self.current: dict | None = None
        self.next_start = 0.0
        self.repeat = 0
        self.drawn_queue: list[np.ndarray] = []
        self.drawn: dict | None = None
        self.last: dict | None = None
        self.fields = ""
        self.version += 1

    def due(self) -> float:
        return self.current["end"] if self.current is not None else self.next_start

    def draw(self, board, pixels: list[int]) -> str:
        """Show the pattern of `pixels` (drawn on the input grid) next, and answer it."""
        from neurobox.tasks.digits import N_PIXELS

        image = np.zeros(N_PIXELS)
        image[[p for p in pixels if 0 <= p < N_PIXELS]] = 1.0
        self.drawn_queue[:] = [image]
        return f"drawn: {int(image.sum())} pixels; the network answers after the current digit"

    def act(self, board) -> None:
        t = board.time
        if self.current is not None and t >= self.current["end"] - 1e-9:
            self._answer(board, t)
        if self.current is None and t >= self.next_start - 1e-9:
            self._present(board, t)

    def _present(self, board, t: float) -> None:
        from neurobox.coding import poisson_encode

        c = self.config
        if self.drawn_queue:
            image, label, kind = self.drawn_queue.pop(0), None, "drawn"
            rate = c.eval_rate_hz or c.max_rate_hz
            board.handle.learning = False            # a drawn pattern is answered, not learned
        else:
            if self.repeat == 0:
                self.shown += 1
                self._anneal(board)
            k = self.order[(self.shown - 1) % len(self.order)]
            image, label, kind = self.images[k], int(self.labels[k]), "train"
            rate = c.max_rate_hz + self.repeat * c.boost_hz
        rng = np.random.default_rng([self.seed, 17, self.shown, self.repeat, len(self.score.outcomes)])
        ts, ids = poisson_encode(image, c.present_ms - c.dt, rate, seed=rng, dt_ms=c.dt, t_start_ms=t + c.dt)
        board.feed.add("input", {p: ts[ids == p] for p in np.unique(ids)})
        self.current = {"start": t, "end": t + c.present_ms, "image": image, "label": label, "kind": kind}
        self.version += 1

    def _anneal(self, board) -> None:
        c = self.config
        if self.shown % 25 != 1 or not hasattr(board.handle, "set_plasticity"):
            return
        total = c.epochs * len(self.images)
        factor = max(self.FLOOR, 1.0 - c.anneal * (self.shown - 1) / total)
        board.handle.set_plasticity("input_exc", A_plus=c.A_plus * factor, A_minus=c.A_minus * factor)

    def _answer(self, board, t: float) -> None:
        from neurobox.tasks.digits import predict

        c, cur = self.config, self.current
        _, ids = board.handle.spikes_between(cur["start"], t)["exc"]
        counts = np.bincount(ids, minlength=c.n_exc)[None, :]
        known = self.neuron_labels >= 0
        answer = int(predict(counts, self.neuron_labels)[0]) if known.any() and counts.sum() else None
        if cur["kind"] == "drawn":
            board.handle.learning = board.learning
            self.drawn = {"image": _hex(cur["image"]), "answer": answer, "spikes": int(counts.sum()),
                          "t": round(t, 1)}
        elif counts.sum() == 0 and self.repeat < c.max_repeats:
            self.repeat += 1                     # silent: shown again with a stronger input (Diehl & Cook)
        else:
            self.repeat = 0
            label = cur["label"]
            self.score.add(answer == label)
            self.response[label] += self.LABEL_RATE * (counts[0] - self.response[label])
            best = self.response.max(axis=0)
            self.neuron_labels = np.where(best > 0, np.argmax(self.response, axis=0), -1)
            self.last = {"image": _hex(cur["image"]), "label": label, "answer": answer,
                         "correct": answer == label, "spikes": int(counts.sum())}
            if self.shown % self.FIELDS_EVERY == 1 or not self.fields:
                self.fields = self._fields(board)
        self.current = None
        self.next_start = t + c.rest_ms
        self.version += 1

    def _fields(self, board) -> str:
        """Each exc neuron's input weights as an 8x8 image (hex, scaled to its own largest weight)."""
        from neurobox.tasks.digits import N_PIXELS

        pre, post, w, _ = board.handle.weights("input_exc")
        grid = np.zeros((self.config.n_exc, N_PIXELS))
        grid[post, pre] = w
        grid /= np.maximum(grid.max(axis=1, keepdims=True), 1e-12)
        return _hex(grid.ravel())

    def state(self) -> dict:
        cur = self.current
        now = None if cur is None else {"image": _hex(cur["image"]), "label": cur["label"], "kind": cur["kind"]}
        return {"task": "digits", "presenting": now, "last": self.last, "drawn": self.drawn,
                "shown": self.shown, "neurons": {"pop": "exc", "labels": self.neuron_labels.tolist()},
                "fields": self.fields, "pixels": self.pixels, **self.score.state()}
