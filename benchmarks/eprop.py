"""e-prop in NEST 3.10 (its own shipped example scripts) against neurobox's e-prop trainer, in one run.

    python benchmarks/eprop.py                  # sine waves 200 iterations, evidence 5 iterations; ~5 min
    python benchmarks/eprop.py --full           # evidence as shipped: 50 training iterations and the test
    python benchmarks/eprop.py --tasks sine-waves --threads 1

NEST runs the installed example scripts themselves (nest/doc/examples/pynest/eprop_plasticity/), each in a
fresh process: the file is read, parsed, and a few top-level constants are replaced in memory before it is
executed (the number of iterations, `do_plotting = False`, so that no figure is drawn); `nest.set` is wrapped
so that the scripts' `total_num_virtual_procs` becomes --threads, and `nest.Simulate` is wrapped to time the
simulation. The losses are read from the script's own globals (`loss`; `results_dict`), so they are NEST's
figures, computed by NEST's script.

neurobox runs its tasks (neurobox.tasks.sine_waves, neurobox.tasks.evidence) at the same sizes in fresh
processes too, twice: from its own draw, and from the initial condition NEST's script drew (its globals hold
the weights, the frozen input and the target; for evidence the trials of every iteration are read back from
the script's generator settings, and neurobox learns in the training iterations only), so that the two loss
curves can be compared iteration by iteration. The time per iteration is NEST's time in nest.Simulate over
the iterations it simulated, and neurobox's median training iteration (compilation reported apart).

Results go to benchmarks/results/eprop.json (written atomically), the loss curves to eprop_<task>.png there.
The machine's other load is reported next to each timing (others' CPU): timings are only comparable on an
otherwise idle machine.
"""
from __future__ import annotations

import argparse
import ast
import importlib.util
import json
import os
import sys
import tempfile
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.runner import RESULTS, run_child  # noqa: E402

SCRIPTS = {"sine-waves": "eprop_supervised_regression_sine-waves.py",
           "evidence": "eprop_supervised_classification_evidence-accumulation_bsshslm_2020.py"}
ITERATIONS = {"sine-waves": ("n_iter", 200), "evidence": ("n_iter_train", 50)}
"""Per task: the script's constant that sets its number of training iterations, and its shipped value."""
SINE_MARKS = (1, 50, 100, 200)


def nest_script(task: str) -> Path:
    import nest

    return Path(nest.__file__).parent / "doc" / "examples" / "pynest" / "eprop_plasticity" / SCRIPTS[task]


def run_nest_example(task: str, iterations: int, threads: int) -> dict:
    """Execute NEST's example script for `task` in this process; its globals after the run, plus
    `_simulate_s` (the time spent in nest.Simulate) and `_inputs` (evidence: the spike generators' and
    rate generators' settings per iteration, as the script set them)."""
    import matplotlib

    matplotlib.use("Agg")
    import nest

    if importlib.util.find_spec("IPython") is None:   # the scripts import it to show a picture in notebooks
        stub = types.ModuleType("IPython.display")
        stub.Image = lambda *a, **k: None
        sys.modules.setdefault("IPython", types.ModuleType("IPython")).display = stub
        sys.modules["IPython.display"] = stub
    path = nest_script(task)
    tree = ast.parse(path.read_text(), str(path))
    name, _ = ITERATIONS[task]
    overrides = {name: iterations, "do_plotting": False}
    found = set()
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id in overrides):
            node.value = ast.copy_location(ast.Constant(overrides[node.targets[0].id]), node.value)
            found.add(node.targets[0].id)
    if found != set(overrides):
        raise SystemExit(f"{path.name}: no top-level assignment of {sorted(set(overrides) - found)}; "
                         "the script has changed, this benchmark needs updating")
    spent = [0.0]
    settings: list = []
    real_simulate, real_set, real_nc_set = nest.Simulate, nest.set, nest.NodeCollection.set

    def simulate(t):
        t0 = time.perf_counter()
        real_simulate(t)
        spent[0] += time.perf_counter() - t0

    def kernel_set(**params):
        if "total_num_virtual_procs" in params:
            params["total_num_virtual_procs"] = threads
        return real_set(**params)

    def nc_set(self, params=None, **kwargs):
        if isinstance(params, list) and params and isinstance(params[0], dict):
            settings.append(params)
        return real_nc_set(self, params, **kwargs) if params is not None else real_nc_set(self, **kwargs)

    nest.__dict__["Simulate"] = simulate
    nest.__dict__["set"] = kernel_set
    nest.NodeCollection.set = nc_set
    scope = {"__name__": "__main__", "__file__": str(path)}
    try:
        exec(compile(tree, str(path), "exec"), scope)
    except SystemExit:
        pass
    finally:
        nest.__dict__["Simulate"] = real_simulate
        del nest.__dict__["set"]
        nest.NodeCollection.set = real_nc_set
    scope["_simulate_s"] = spent[0]
    scope["_inputs"] = settings
    return scope


def nest_start(task: str, g: dict) -> dict:
    """The initial condition NEST's script drew (its globals) as neurobox takes it: weights (n_pre, n_post),
    recurrent neurons in NEST's order (evidence: LIF first, as neurobox's task). Sine waves: the frozen input
    (steps, n_in) and the target (steps,). Evidence: every simulated iteration's trials as the script set its
    generators, `inputs` (iterations, batch, steps, n_in), `answers` (iterations, batch), and `phases` (the
    script's label of each iteration: validation, training, early-stopping, test)."""
    import numpy as np

    start = {"in_rec": g["weights_in_rec"].T, "rec_rec": g["weights_rec_rec"].T, "rec_out": g["weights_rec_out"].T,
             "feedback": g["weights_out_rec"]}
    if task == "sine-waves":
        start.update(inputs=g["input_spike_bools"].T.astype(np.uint8),
                     target=g["target_signal"].reshape(-1, g["steps"]["sequence"])[0])
        return start
    batch, steps, n_in = int(g["batch_size"]), int(g["steps"]["sequence"]), int(g["n_in"])
    sets = g["_inputs"]            # per simulated iteration: the spike generators', then the rate generators'
    n = len(sets) // 2
    inputs = np.zeros((n, batch, steps, n_in), np.uint8)
    answers = np.zeros((n, batch), np.int64)
    for k in range(n):
        offset = k * batch * steps
        for i, p in enumerate(sets[2 * k]):
            j = np.rint(np.asarray(p["spike_times"], float) - offset - g["duration"]["offset_gen"]).astype(int)
            inputs[k, j // steps, j % steps, i] = 1            # a spike at offset + 1 + j: step j (ends at j + 1)
        answers[k] = np.asarray(sets[2 * k + 1][1]["amplitude_values"]) > 0.5   # readout 1 (right) is the target
    start.update(inputs=inputs, answers=answers, phases=np.array([str(x) for x in g["results_dict"]["label"]]))
    return start


def nest_child(task: str, iterations: int, threads: int, start_file: str | None) -> dict:
    """NEST's example in this process; the initial condition it drew into `start_file` (sine waves)."""
    import numpy as np

    t0 = time.perf_counter()
    g = run_nest_example(task, iterations, threads)
    wall = time.perf_counter() - t0
    out = {"tool": "nest", "task": task, "threads": threads, "iterations": iterations,
           "simulate_s": round(g["_simulate_s"], 3), "process_s": round(wall, 3)}
    if start_file:
        with open(start_file, "wb") as f:
            np.savez_compressed(f, **nest_start(task, g))
    if task == "sine-waves":
        loss = [float(x) for x in g["loss"]]
        out.update(loss=loss, final_loss=loss[-1], simulated_iterations=len(loss),
                   per_iteration_s=g["_simulate_s"] / len(loss))
    else:
        res = g["results_dict"]
        labels = [str(x) for x in res["label"]]
        loss, err = [float(x) for x in res["loss"]], [float(x) for x in res["error"]]
        train = [i for i, lab in enumerate(labels) if lab == "training"]
        test = [i for i, lab in enumerate(labels) if lab == "test"]
        simulated = int(g["n_iter_sim"])
        out.update(loss=[loss[i] for i in train], error=[err[i] for i in train], phases=labels,
                   final_loss=loss[train[-1]] if train else None,
                   test_error=sum(err[i] for i in test) / len(test), test_loss=sum(loss[i] for i in test) / len(test),
                   simulated_iterations=simulated, per_iteration_s=g["_simulate_s"] / simulated,
                   batch_size=int(g["batch_size"]), test_trials=len(test) * int(g["batch_size"]))
    return out


def neurobox_child(task: str, iterations: int, threads: int, start_file: str | None, seed: int) -> dict:
    """neurobox's task at NEST's sizes in this process (from NEST's initial condition when start_file)."""
    from dataclasses import replace

    import numpy as np

    t0 = time.perf_counter()
    out = {"tool": "neurobox", "task": task, "threads": threads, "iterations": iterations, "seed": seed,
           "start": "nest" if start_file else "own"}
    if task == "sine-waves":
        from neurobox.tasks import sine_waves

        start = dict(np.load(start_file)) if start_file else None
        run = sine_waves.train(replace(sine_waves.SineConfig(), iterations=iterations), seed, start=start,
                               threads=threads)
        out.update(loss=run.loss, final_loss=run.loss[-1])
    elif start_file:
        out.update(evidence_from_nest(dict(np.load(start_file)), seed, threads))
        out["process_s"] = round(time.perf_counter() - t0, 3)
        return out
    else:
        from neurobox.tasks import evidence

        run = evidence.train(replace(evidence.EvidenceConfig(), iterations=iterations), seed, threads=threads)
        recall = run.config.recall_ms        # NEST's loss is the mean over the recall's steps: the same scale
        out.update(loss=[v / recall for v in run.loss], error=run.error, final_loss=run.loss[-1] / recall,
                   test_error=run.test_error, test_loss=run.test_loss / recall, test_trials=run.test_trials,
                   batch_size=run.config.batch)
    out.update(setup_s=round(run.setup_s, 3), first_iteration_s=round(run.first_iteration_s, 3),
               per_iteration_s=run.per_iteration_s, train_s=round(run.train_s, 3),
               process_s=round(time.perf_counter() - t0, 3))
    return out


def evidence_from_nest(start: dict, seed: int, threads: int) -> dict:
    """neurobox's evidence network from NEST's initial weights through NEST's own sequence of iterations (the
    same trials; learning in the training iterations only), scored as NEST's script scores them: the cross
    entropy per step of the recall, the error rate of each batch."""
    import numpy as np

    from neurobox.engine.eprop import EpropTrainer
    from neurobox.tasks import evidence

    config = evidence.EvidenceConfig()
    weights = {k: start[k] for k in ("in_rec", "rec_rec", "rec_out", "feedback")}
    t0 = time.perf_counter()
    trainer = EpropTrainer(evidence.build_network(config, seed, weights, start["inputs"][0, 0]), threads=threads)
    setup_s = time.perf_counter() - t0
    mask = evidence.recall_mask(config)
    rows, times = [], []
    for k, phase in enumerate(start["phases"]):
        answers = start["answers"][k]
        t1 = time.perf_counter()
        out = trainer.run(start["inputs"][k], evidence.targets(config, answers), loss="cross_entropy", mask=mask,
                          learn=phase == "training")
        times.append(time.perf_counter() - t1)
        rows.append((str(phase), out.loss / config.recall_ms,
                     float(np.mean(evidence.decisions(config, out.readout) != answers))))
    train = [r for r in rows if r[0] == "training"]
    test = [r for r in rows if r[0] == "test"]
    return {"loss": [r[1] for r in train], "error": [r[2] for r in train], "final_loss": train[-1][1],
            "test_error": sum(r[2] for r in test) / len(test), "test_loss": sum(r[1] for r in test) / len(test),
            "test_trials": len(test) * config.batch, "batch_size": config.batch, "setup_s": round(setup_s, 3),
            "first_iteration_s": round(times[0], 3),
            "per_iteration_s": float(np.median([t for t, r in zip(times, rows) if r[0] == "training"])),
            "train_s": round(sum(times), 3), "phases": [r[0] for r in rows]}


def _child(args) -> int:
    result = (nest_child(args.child_task, args.child_iterations, args.threads, args.start_file)
              if args.child == "nest" else
              neurobox_child(args.child_task, args.child_iterations, args.threads, args.start_file, args.seed))
    print(json.dumps(result))
    return 0


def _spawn(args, tool: str, task: str, iterations: int, start_file: str | None, timeout: float) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", tool, "--child-task", task,
           "--child-iterations", str(iterations), "--threads", str(args.threads), "--seed", str(args.seed)]
    if start_file:
        cmd += ["--start-file", start_file]
    env = {"PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = run_child(cmd, timeout=timeout, env=env)
    if not done["ok"]:
        raise SystemExit(f"{tool} {task} failed: {done['error'] or done['stderr'][-800:]}")
    row = json.loads(done["json_line"])
    row.update(others_cpu=done["other_cpu"], peak_mb=done["maxrss_mb"])
    return row


def _at(curve: list[float], k: int) -> str:
    return f"{curve[k - 1]:8.2f}" if len(curve) >= k else f"{'-':>8}"


def _compare(nest: dict, own: dict, same: dict, final: str, curve: str) -> dict:
    """Print and return how neurobox's runs (its own draw, NEST's start) compare with NEST's: time per iteration,
    final loss, and the largest relative difference of the loss curve from NEST's start."""
    diff = max(abs(a - b) / abs(b) for a, b in zip(same["loss"], nest["loss"]))
    print(f"time per iteration NEST / neurobox: {nest['per_iteration_s'] / same['per_iteration_s']:.1f}x; "
          f"{final} neurobox / NEST: {same['final_loss'] / nest['final_loss']:.3f} (NEST's start), "
          f"{own['final_loss'] / nest['final_loss']:.3f} (own draw); largest relative difference {curve} "
          f"from NEST's start: {100 * diff:.1f} %")
    return {"nest": nest, "neurobox_own": own, "neurobox_nest_start": same,
            "time_ratio": nest["per_iteration_s"] / same["per_iteration_s"],
            "loss_ratio_final": same["final_loss"] / nest["final_loss"], "max_rel_diff": diff}


def sine_rows(args, tmp: str) -> dict:
    n = args.sine_iterations
    start = os.path.join(tmp, "nest_start.npz")
    nest = _spawn(args, "nest", "sine-waves", n, start, 3600)
    own = _spawn(args, "neurobox", "sine-waves", n, None, 3600)
    same = _spawn(args, "neurobox", "sine-waves", n, start, 3600)
    marks = [k for k in SINE_MARKS if k <= n] or [n]
    print(f"\nsine waves: 100 inputs, 100 eprop_iaf, 1 readout, 1000 ms per iteration, {n} iterations "
          f"({args.threads} threads)")
    print(f"{'':<28}" + "".join(f"{'loss@' + str(k):>9}" for k in marks) + f"{'s/iter':>9}{'others CPU':>12}")
    for label, row in (("NEST 3.10", nest), ("neurobox, own draw", own), ("neurobox, NEST's start", same)):
        print(f"{label:<28}" + "".join(" " + _at(row["loss"], k) for k in marks)
              + f"{row['per_iteration_s']:9.4f}{_pct(row['others_cpu']):>12}")
    return _compare(nest, own, same, "final loss", "over the curve")


def evidence_rows(args, tmp: str) -> dict:
    n = args.evidence_iterations
    start = os.path.join(tmp, "nest_evidence_start.npz")
    nest = _spawn(args, "nest", "evidence", n, start, 7200)
    ours = _spawn(args, "neurobox", "evidence", n, None, 7200)
    same = _spawn(args, "neurobox", "evidence", n, start, 7200)
    print(f"\nevidence accumulation: 40 inputs, 50 eprop_iaf + 50 eprop_iaf_adapt, 2 readouts, batch 32 x "
          f"2250 ms, {n} training iterations ({args.threads} threads)")
    print("(loss: cross entropy per step of the recall, mean over the batch, NEST's script's definition; train: "
          "the last training batch)")
    print(f"{'':<28}{'train loss':>11}{'train err':>10}{'test err':>9}{'test trials':>12}{'s/iter':>9}"
          f"{'others CPU':>12}")
    for label, row in (("NEST 3.10", nest), ("neurobox, own draw", ours), ("neurobox, NEST's start", same)):
        print(f"{label:<28}{row['final_loss']:11.3f}{row['error'][-1]:10.3f}{row['test_error']:9.3f}"
              f"{row['test_trials']:12d}{row['per_iteration_s']:9.3f}{_pct(row['others_cpu']):>12}")
    return _compare(nest, ours, same, "final training loss", "of the training loss")


def draw(results: dict, folder: Path) -> list[Path]:
    """The loss curves side by side: NEST's, neurobox's from NEST's start and from its own draw."""
    from neurobox.viz.eprop_plots import loss_curve

    paths = []
    for task, ylabel in (("sine-waves", "loss  0.5 Σ$_t$ (y - y*)$^2$"),
                         ("evidence", "cross entropy per recall step")):
        if task not in results:
            continue
        r = results[task]
        curves = {"NEST 3.10": r["nest"]["loss"], "neurobox from NEST's start": r["neurobox_nest_start"]["loss"],
                  "neurobox, own draw": r["neurobox_own"]["loss"]}
        paths.append(loss_curve(curves, folder / f"eprop_{task}.png", ylabel=ylabel,
                                title=f"{task}: NEST 3.10 and neurobox"))
    return paths


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.0f} %"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", default="sine-waves,evidence", help="comma list of sine-waves, evidence")
    ap.add_argument("--threads", type=int, default=2, help="NEST's threads and neurobox's (default 2)")
    ap.add_argument("--sine-iterations", type=int, default=200, help="default 200, NEST's shipped example")
    ap.add_argument("--evidence-iterations", type=int, default=5,
                    help="training iterations of evidence accumulation (default 5, for the timing; --full: 50)")
    ap.add_argument("--full", action="store_true", help="evidence as NEST ships it: 50 training iterations")
    ap.add_argument("--seed", type=int, default=0, help="neurobox's seed for its own draw")
    ap.add_argument("--json", default=str(RESULTS / "eprop.json"), help="where the results go")
    ap.add_argument("--child", choices=("nest", "neurobox"), help=argparse.SUPPRESS)
    ap.add_argument("--child-task", help=argparse.SUPPRESS)
    ap.add_argument("--child-iterations", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--start-file", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return _child(args)
    if args.full:
        args.evidence_iterations = ITERATIONS["evidence"][1]
    tasks = args.tasks.split(",")
    unknown = set(tasks) - set(SCRIPTS)
    if unknown:
        ap.error(f"--tasks: unknown {', '.join(sorted(unknown))}; valid: {', '.join(SCRIPTS)}")
    results: dict = {"threads": args.threads, "machine": os.uname().nodename, "cpus": os.cpu_count(),
                     "load_before": os.getloadavg()}
    with tempfile.TemporaryDirectory() as tmp:
        if "sine-waves" in tasks:
            results["sine-waves"] = sine_rows(args, tmp)
        if "evidence" in tasks:
            results["evidence"] = evidence_rows(args, tmp)
    results["load_after"] = os.getloadavg()
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, part = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as f:
        json.dump(results, f, indent=1)
    os.replace(part, path)
    print(f"\nwrote {path}")
    for png in draw(results, path.parent):
        print(f"wrote {png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
