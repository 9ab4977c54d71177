"""Connection rules (NEST's names): which pre neuron connects to which post neuron.

Each rule returns parallel int32 arrays (pre, post), sorted by pre then
post, drawn from the projection's own random stream.

    all_to_all         every pair
    one_to_one         i -> i (populations of equal size)
    fixed_probability  each pair independently with probability p
                       (NEST: pairwise_bernoulli)
    fixed_indegree     each post neuron gets `indegree` random pre neurons
    fixed_outdegree    each pre neuron gets `outdegree` random post neurons
    fixed_total_number `N` pairs, pre and post each drawn uniformly
                       (multapses always; a minimal stand-in for the rule
                       being added on the build branch)
    explicit           the given arrays `pre_ids`, `post_ids`

`allow_autapses` (default True, as NEST) permits i -> i when pre and post
are the same population; `allow_multapses` (default True, as NEST)
permits repeated pairs in the fixed-degree rules.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from neurobox.checks import choice, flag, indices, number, whole
from neurobox.errors import ConfigError

RULES = {
    "all_to_all": (),
    "one_to_one": (),
    "fixed_probability": ("p",),
    "fixed_indegree": ("indegree",),
    "fixed_outdegree": ("outdegree",),
    "explicit": ("pre_ids", "post_ids"),
    "fixed_total_number": ("N",),
}
COMMON_OPTIONS = ("allow_autapses", "allow_multapses")


def check_rule(rule: str, options: dict[str, Any], n_pre: int, n_post: int, field: str) -> dict[str, Any]:
    """Validate a rule and its options; return the options normalised."""
    rule = choice(rule, RULES, f"{field}.rule", "connection rule")
    needed = RULES[rule]
    for key in options:
        if key not in needed + COMMON_OPTIONS:
            raise ConfigError(f"{field}.{key}", f"not an option of rule {rule}; valid: "
                                                f"{', '.join(needed + COMMON_OPTIONS)}")
    for key in needed:
        if key not in options:
            raise ConfigError(f"{field}.{key}", f"rule {rule} needs {', '.join(needed)}")
    out = {key: flag(options.get(key, True), f"{field}.{key}") for key in COMMON_OPTIONS}
    if rule == "one_to_one" and n_pre != n_post:
        raise ConfigError(f"{field}.rule", f"one_to_one needs populations of equal size, got {n_pre} and {n_post}")
    if rule == "fixed_probability":
        p = number(options["p"], f"{field}.p", "a probability in [0, 1]")
        if not 0.0 <= p <= 1.0:
            raise ConfigError(f"{field}.p", f"a probability must be in [0, 1], got {p:g}")
        out["p"] = p
    if rule in ("fixed_indegree", "fixed_outdegree"):
        key = needed[0]
        pool = n_pre if rule == "fixed_indegree" else n_post
        k = whole(options[key], f"{field}.{key}", 0, what="a whole number of partners")
        if not out["allow_multapses"] and k > pool:
            raise ConfigError(f"{field}.{key}", f"{k} exceeds the {pool} neurons available without multapses")
        out[key] = k
    if rule == "fixed_total_number":
        out["N"] = whole(options["N"], f"{field}.N", 0, what="a whole number of synapses")
        if out["N"] > 0 and (n_pre == 0 or n_post == 0):
            raise ConfigError(f"{field}.N", f"{out['N']} synapses cannot be drawn between empty populations")
    if rule == "explicit":
        for key, n in (("pre_ids", n_pre), ("post_ids", n_post)):
            out[key] = indices(options[key], n, f"{field}.{key}")
        if out["pre_ids"].shape != out["post_ids"].shape:
            raise ConfigError(f"{field}.post_ids", f"pre_ids and post_ids must have the same length, "
                                                   f"got {out['pre_ids'].size} and {out['post_ids'].size}")
    return out


def check_degree(rule: str, options: dict[str, Any], n_pre: int, n_post: int, same_population: bool,
                 field: str) -> None:
    """A fixed degree without multapses must leave enough distinct partners (one fewer without autapses
    inside one population)."""
    if rule not in ("fixed_indegree", "fixed_outdegree") or options["allow_multapses"]:
        return
    key = "indegree" if rule == "fixed_indegree" else "outdegree"
    pool = n_pre if rule == "fixed_indegree" else n_post
    available = pool - (1 if same_population and not options["allow_autapses"] else 0)
    if options[key] > available:
        raise ConfigError(f"{field}.{key}", f"{options[key]} distinct partners cannot be drawn from {available} "
                                            f"neurons (without multapses{' and autapses' if available < pool else ''})")


def expected_synapses(rule: str, options: dict[str, Any], n_pre: int, n_post: int, upper: bool = True) -> float:
    """The number of pairs a checked rule draws (before any is drawn); for fixed_probability the expected
    number, plus six standard deviations when `upper` (a bound a drawing stays under)."""
    if rule == "all_to_all":
        return float(n_pre) * n_post
    if rule == "one_to_one":
        return float(n_pre)
    if rule == "fixed_probability":
        mean = options["p"] * float(n_pre) * n_post
        return mean + 6.0 * mean ** 0.5 if upper else mean
    if rule == "fixed_indegree":
        return float(n_post) * options["indegree"]
    if rule == "fixed_outdegree":
        return float(n_pre) * options["outdegree"]
    if rule == "fixed_total_number":
        return float(options["N"])
    return float(options["pre_ids"].size)


def connect(rule: str, options: dict[str, Any], n_pre: int, n_post: int, same_population: bool,
            rng: np.random.Generator, field: str = "projection") -> tuple[np.ndarray, np.ndarray]:
    """Draw the pairs of a checked rule. Returns (pre, post) sorted by (pre, post)."""
    autapses = options["allow_autapses"] or not same_population
    if rule == "all_to_all":
        pre = np.repeat(np.arange(n_pre, dtype=np.int64), n_post)
        post = np.tile(np.arange(n_post, dtype=np.int64), n_pre)
    elif rule == "one_to_one":
        pre = post = np.arange(n_pre, dtype=np.int64)
    elif rule == "fixed_probability":
        pre, post = _bernoulli_pairs(n_pre, n_post, options["p"], rng)
    elif rule == "fixed_indegree":
        post, pre = _fixed_degree(n_post, n_pre, options["indegree"], options["allow_multapses"], autapses, rng,
                                  f"{field}.indegree")
    elif rule == "fixed_outdegree":
        pre, post = _fixed_degree(n_pre, n_post, options["outdegree"], options["allow_multapses"], autapses, rng,
                                  f"{field}.outdegree")
    elif rule == "fixed_total_number":
        pre = rng.integers(0, n_pre, options["N"], dtype=np.int64)
        post = rng.integers(0, n_post, options["N"], dtype=np.int64)
        same = np.flatnonzero(pre == post) if not autapses else np.zeros(0, np.int64)
        while same.size and n_pre > 1:  # redraw i -> i until N pairs remain
            post[same] = rng.integers(0, n_post, same.size, dtype=np.int64)
            same = same[pre[same] == post[same]]
    else:
        pre, post = options["pre_ids"], options["post_ids"]
    pre, post = pre.astype(np.int32, copy=False), post.astype(np.int32, copy=False)
    if not autapses and rule not in ("fixed_indegree", "fixed_outdegree", "fixed_total_number"):
        keep = pre != post
        pre, post = pre[keep], post[keep]
    if not _sorted_pairs(pre, post):
        order = np.lexsort((post, pre))
        pre, post = pre[order], post[order]
    return pre, post


def _sorted_pairs(pre: np.ndarray, post: np.ndarray) -> bool:
    """Whether the pairs are already in (pre, post) order (the pairwise rule draws them so)."""
    if pre.size < 2:
        return True
    dp = np.diff(pre)
    return bool(np.all((dp > 0) | ((dp == 0) & (np.diff(post) >= 0))))


def _bernoulli_pairs(n_pre: int, n_post: int, p: float, rng: np.random.Generator):
    """Every (pre, post) pair independently with probability p, by geometric skips.

    Cost is proportional to the number of connections, not of pairs.
    """
    total = n_pre * n_post
    if p <= 0.0 or total == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if p >= 1.0:
        idx = np.arange(total, dtype=np.int64)
        return idx // n_post, idx % n_post
    pres, posts = [], []
    position = -1
    expected = total * p
    while True:  # draw in batches of at most a few million, keeping only int32 pairs
        batch = int(min(expected - (position + 1) * p + 6.0 * np.sqrt(expected) + 1024, 1_000_000))
        # a skip past the last pair ends the draw; with a tiny p the skips reach int64's limit (numpy
        # returns its maximum), so each is capped there and the sum is cut at the first position past the end
        left = total - position
        skips = np.minimum(rng.geometric(p, size=batch), left)
        skips[skips <= 0] = left
        positions = position + np.cumsum(skips)
        past = np.flatnonzero(positions >= total)  # positions only grow until the first one past the end
        done = past.size > 0
        if done:
            positions = positions[:past[0]]
        pres.append((positions // n_post).astype(np.int32))
        posts.append((positions % n_post).astype(np.int32))
        if done or positions.size == 0:
            break
        position = int(positions[-1])
    return np.concatenate(pres), np.concatenate(posts)


def _fixed_degree(n_owner: int, n_pool: int, k: int, multapses: bool, autapses: bool,
                  rng: np.random.Generator, field: str = "degree"):
    """Each of n_owner neurons draws k partners from a pool of n_pool.

    Returns (owner, partner). Duplicates (without multapses) and self pairs
    (without autapses) are redrawn until none is left.
    """
    owner = np.repeat(np.arange(n_owner, dtype=np.int64), k)
    if k == 0 or n_owner == 0:
        return owner, np.zeros(0, np.int64)
    available = n_pool - (0 if autapses else 1)
    if available < 1 or (not multapses and k > available):
        raise ConfigError(field, f"{k} distinct partners cannot be drawn from {available} neurons "
                                            "(without autapses a neuron is not its own partner)")
    if not multapses and 2 * k > available:  # dense: redrawing duplicates would take ~available rounds
        return owner, _dense_partners(n_owner, n_pool, k, autapses, rng)
    partners = rng.integers(0, n_pool, size=(n_owner, k), dtype=np.int64)
    rows = np.arange(n_owner, dtype=np.int64)[:, None]
    for _ in range(10_000):
        bad = np.zeros(partners.shape, dtype=bool)
        if not autapses:
            bad |= partners == rows
        if not multapses:
            order = np.argsort(partners, axis=1, kind="stable")
            sorted_p = np.take_along_axis(partners, order, axis=1)
            dup_sorted = np.zeros_like(bad)
            dup_sorted[:, 1:] = sorted_p[:, 1:] == sorted_p[:, :-1]
            np.put_along_axis(bad, order, dup_sorted | np.take_along_axis(bad, order, axis=1), axis=1)
        n_bad = int(bad.sum())
        if n_bad == 0:
            return owner, partners.ravel()
        partners[bad] = rng.integers(0, n_pool, size=n_bad, dtype=np.int64)
    raise ConfigError(field, "could not draw distinct partners; the degree is too close to the pool size")


def _dense_partners(n_owner: int, n_pool: int, k: int, autapses: bool, rng: np.random.Generator) -> np.ndarray:
    """k distinct partners per owner, each row a random permutation's first k (owner i itself left out
    without autapses)."""
    width = n_pool if autapses else n_pool - 1
    partners = rng.permuted(np.tile(np.arange(width, dtype=np.int64), (n_owner, 1)), axis=1)[:, :k]
    if not autapses:
        partners += partners >= np.arange(n_owner, dtype=np.int64)[:, None]
    return partners.ravel()
