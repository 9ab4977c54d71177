"""Read a benchmark network (examples/coba.toml, examples/cuba.toml, or a
scaled copy of them) into a plain dict that the peer scripts build from.

Only what the Brette et al. (2007) benchmark networks use is accepted:
populations of `iaf_cond_exp` or `iaf_psc_exp`, initial values drawn from
"normal" or "uniform" distributions (or constants), and `fixed_probability`
projections with a constant weight and delay. Anything else raises
SystemExit with a clear message, so that a peer never silently simulates a
network other than the one neurobox runs.

This module imports nothing but the standard library: it runs in the
benchmark venv (.venv-bench), which does not have neurobox installed.
"""
from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NETS = {"coba": ROOT / "examples" / "coba.toml", "cuba": ROOT / "examples" / "cuba.toml"}

# Defaults of neurobox's (and NEST's) models for parameters a file may omit.
DEFAULTS = {
    "iaf_cond_exp": dict(C_m=250.0, g_L=16.6667, E_L=-70.0, V_th=-55.0, V_reset=-60.0, t_ref=2.0,
                         E_ex=0.0, E_in=-85.0, tau_syn_ex=0.2, tau_syn_in=2.0, I_e=0.0),
    "iaf_psc_exp": dict(C_m=250.0, tau_m=10.0, tau_syn_ex=2.0, tau_syn_in=2.0, t_ref=2.0,
                        E_L=-70.0, V_reset=-70.0, V_th=-55.0, I_e=0.0),
}
DEFAULT_METHOD = {"iaf_cond_exp": "euler", "iaf_psc_exp": "exact"}


def _fail(msg: str) -> None:
    raise SystemExit(f"benchmark model: {msg}")


def load(net_or_path: str) -> dict:
    """Load "coba", "cuba" or a path to a TOML model file."""
    path = NETS.get(net_or_path, Path(net_or_path))
    with open(path, "rb") as f:
        doc = tomllib.load(f)
    network = doc.get("network", {})
    out = {
        "path": str(path),
        "dt": float(network.get("dt", 0.1)),
        "seed": int(network.get("seed", 0)),
        "duration": float(network.get("duration", 1000.0)),
        "populations": {},
        "projections": [],
    }
    for name, pop in doc.get("populations", {}).items():
        model = pop.get("model")
        if model not in DEFAULTS:
            _fail(f"populations.{name}.model: only {', '.join(DEFAULTS)} are supported by the peers, got {model!r}")
        params = dict(DEFAULTS[model])
        for k, v in pop.get("params", {}).items():
            if k not in params:
                _fail(f"populations.{name}.params.{k}: unknown parameter of {model}")
            params[k] = float(v)
        method = pop.get("method", DEFAULT_METHOD[model])
        if method != DEFAULT_METHOD[model]:
            _fail(f"populations.{name}.method: the peers implement {model} only with {DEFAULT_METHOD[model]!r}")
        initial = {}
        for var, spec in pop.get("initial", {}).items():
            if isinstance(spec, (int, float)):
                initial[var] = {"distribution": "constant", "value": float(spec)}
            elif spec.get("distribution") in ("normal", "uniform"):
                initial[var] = dict(spec)
            else:
                _fail(f"populations.{name}.initial.{var}: only normal, uniform or a number are supported")
        out["populations"][name] = {"n": int(pop["n"]), "model": model, "method": method,
                                    "params": params, "initial": initial}
    if not out["populations"]:
        _fail("no populations")
    models = {p["model"] for p in out["populations"].values()}
    if len(models) != 1:
        _fail("all populations must use the same model")
    out["model"] = models.pop()
    for k, proj in enumerate(doc.get("projections", [])):
        field = f"projections[{k}]"
        if proj.get("rule") != "fixed_probability":
            _fail(f"{field}.rule: only fixed_probability is supported by the peers")
        for key in ("allow_autapses", "allow_multapses"):
            if key in proj and not proj[key]:
                _fail(f"{field}.{key}: the peers assume the default (true)")
        for key in ("weight", "delay"):
            if not isinstance(proj.get(key, 0.0), (int, float)):
                _fail(f"{field}.{key}: the peers need a constant")
        for key in ("pre", "post"):
            if proj[key] not in out["populations"]:
                _fail(f"{field}.{key}: no population {proj[key]!r}")
        receptor = proj.get("receptor", "excitatory")
        if receptor not in ("excitatory", "inhibitory"):
            _fail(f"{field}.receptor: excitatory or inhibitory")
        out["projections"].append({
            "pre": proj["pre"], "post": proj["post"], "p": float(proj["p"]),
            "weight": float(proj["weight"]), "delay": float(proj.get("delay", out["dt"])),
            "receptor": receptor,
        })
    out["n"] = sum(p["n"] for p in out["populations"].values())
    return out
