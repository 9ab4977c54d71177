"""Regenerate the figure gallery: docs/figures.md and its images in docs/images/figures/ (`make figures`).

COMMANDS below is the one list of figures: the command line that draws each one, which of the files it writes
is the figure, and the figure's title and caption. The generator runs every command line as it is printed
(`python -m neurobox ARGS`, in a scratch folder, on this checkout's neurobox), copies the figures into
docs/images/figures/ and renders docs/figures.md from the same list; tests/test_figures_doc.py checks that
the page and the list agree. Every command is a quick configuration with a fixed seed, so a re-run draws the
same figures (until the code or the figure style changes) in a few minutes on two cores.

    python docs/make_figures.py              # everything
    python docs/make_figures.py gallery      # only the commands whose id is given (the page is rewritten whole)
    python docs/make_figures.py --list       # the ids and command lines
    python docs/make_figures.py --page       # only rewrite docs/figures.md (after editing a title or caption)
"""
from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
IMAGES = DOCS / "images" / "figures"       # the gallery's images; every PNG here belongs to it
PAGE = DOCS / "figures.md"
MAX_IMAGE_BYTES = 200_000                  # one figure
MAX_TOTAL_BYTES = 3_000_000                # the whole gallery
TIMEOUT_S = 600                            # one command


@dataclass(frozen=True)
class Figure:
    file: str       # the file the command writes, relative to the folder it runs in
    image: str      # its name in docs/images/figures/
    title: str      # the page's heading
    caption: str    # one sentence: what it shows


@dataclass(frozen=True)
class Command:
    id: str
    section: str
    args: tuple[str, ...]                  # after `neurobox`
    figures: tuple[Figure, ...]

    @property
    def line(self) -> str:
        """The command line as the page prints it (and as it is run)."""
        return "neurobox " + shlex.join(self.args)


def _gallery(family: str, name: str) -> Figure:
    return Figure(f"gallery/{family}.png", f"gallery_{family}.png", f"{name} firing patterns",
                  f"Every {name} preset under its paper's step current, labelled with the firing pattern "
                  "neurobox classifies it as.")


COMMANDS: tuple[Command, ...] = (
    Command("demo", "Networks", ("demo", "--quick", "--out", "demo", "--quiet"), (
        Figure("demo/raster.png", "demo_raster.png", "COBA raster",
               "The default network (COBA: 3200 excitatory and 800 inhibitory conductance-based LIF neurons) "
               "for 500 ms: a sample of the spikes and the population rates."),
        Figure("demo/traces.png", "demo_traces.png", "COBA membrane traces",
               "The membrane potential of three of COBA's excitatory neurons for one second, with their "
               "threshold and reset."),
    )),
    Command("run-vision", "Networks", ("run", "vision", "--plot", "vision.png", "--quiet"), (
        Figure("vision.png", "run_vision.png", "A network of networks",
               "The vision example: a retina module (receptors, centre and surround cells) feeding ten "
               "learners that compete through an inhibitory pool; the spikes and rates of every population."),
    )),
    Command("run-microcircuit", "Networks", ("run", "microcircuit", "--scale", "0.1", "--duration", "1000",
                                             "--plot", "microcircuit.png", "--quiet"), (
        Figure("microcircuit.png", "run_microcircuit.png", "The cortical microcircuit",
               "Potjans & Diesmann (2014) at a tenth of its size (7,717 neurons, 3 million synapses, Poisson "
               "background): the last 100 ms of an even sample of each population, layers top to bottom, beside "
               "each population's rate, irregularity and synchrony over the second."),
    )),
    Command("probe", "Neurons", ("probe", "izhikevich", "--preset", "chattering", "--current", "10",
                                 "--plot", "probe.png"), (
        Figure("probe.png", "probe_izhikevich.png", "One neuron under a current step",
               "An Izhikevich neuron with the chattering preset under a 10 pA step: its membrane potential "
               "bursts, and its recovery variable steps up with every spike."),
    )),
    Command("fi", "Neurons", ("fi", "hh_psc_alpha", "--currents", "0:3000:100", "--plot", "fi.png"), (
        Figure("fi.png", "fi_hh.png", "f-I curve",
               "The Hodgkin-Huxley neuron's firing rate against step current: no repetitive firing below about "
               "700 pA, then a jump straight to about 60 Hz (type II excitability)."),
    )),
    Command("gallery", "Neurons", ("gallery", "--out", "gallery"), (
        _gallery("lif", "LIF"),
        _gallery("adex", "AdEx"),
        _gallery("izhikevich", "Izhikevich"),
        _gallery("izhikevich2007", "Izhikevich (2007)"),
        _gallery("hodgkin_huxley", "Hodgkin-Huxley"),
    )),
    Command("motifs", "Networks", ("motifs", "--trials", "5", "--out", "motifs"), (
        Figure("motifs/reverberation.png", "motifs_reverberation.png", "Reverberation",
               "Two neurons in a loop, kicked once: with a long loop delay they keep firing, with a short one "
               "the activity dies out; the map shows how long it lasts for each loop weight and delay."),
        Figure("motifs/half_centre.png", "motifs_half_centre.png", "Half-centre oscillator",
               "Two neurons that inhibit each other fire in alternating bursts; the period grows with the "
               "mutual inhibition."),
        Figure("motifs/winnerless.png", "motifs_winnerless.png", "Winnerless competition",
               "Four groups under nonsymmetric inhibition pass activity round in the same order in every noisy "
               "trial; under symmetric inhibition one group wins and keeps it."),
    )),
    Command("reservoir-mg", "Reservoir computing", ("reservoir", "mackey-glass", "--neurons", "200",
                                                    "--plot", "mackey_glass.png"), (
        Figure("mackey_glass.png", "reservoir_mackey_glass.png", "Mackey-Glass prediction",
               "A 200-neuron spiking reservoir predicting the Mackey-Glass series 84 samples ahead on test "
               "data, with the error of an echo state network of the same size in the title."),
    )),
    Command("reservoir-patterns", "Reservoir computing", ("reservoir", "patterns", "--neurons", "200",
                                                          "--plot", "patterns.png"), (
        Figure("patterns.png", "reservoir_patterns.png", "Spike-pattern classification",
               "The first 2 s of the 200-neuron reservoir's spikes while it is fed the spike patterns its "
               "readout classifies (test accuracy in the title)."),
    )),
    Command("train-digits", "Learning", ("train", "digits", "--quick", "--fault-sweep", "--out", "digits",
                                         "--quiet"), (
        Figure("digits/weights.png", "digits_weights.png", "Learned digit weights",
               "The input weights of 40 neurons trained on 8x8 digits by unsupervised STDP with "
               "winner-take-all, each with the class it was assigned."),
        Figure("digits/test_raster.png", "digits_test_raster.png", "Digits test phase",
               "The pixel inputs and the learning neurons during the first 3 s of the test: one winner "
               "answers each image."),
        Figure("digits/faults.png", "digits_faults.png", "Digits under faults",
               "The trained network's test accuracy as packets are lost and units die."),
    )),
    Command("train-xor", "Learning", ("train", "xor", "--quick", "--out", "xor", "--quiet"), (
        Figure("xor/xor_learning_curve.png", "xor_learning_curve.png", "XOR learnt from rewards",
               "The fraction of XOR trials answered correctly as reward-modulated STDP learns it from latency "
               "codes, for each of 10 seeds and their mean."),
    )),
    Command("train-sine-waves", "Learning", ("train", "sine-waves", "--quick", "--out", "sine", "--quiet"), (
        Figure("sine/sine_waves_loss.png", "sine_waves_loss.png", "e-prop: the sine-wave loss",
               "The loss 0.5 sum_t (y - y*)^2 of NEST's sine-wave example over the quick run's iterations, as "
               "e-prop trains the recurrent network."),
        Figure("sine/sine_waves_after_training.png", "sine_waves_after_training.png", "e-prop: sine waves learnt",
               "The target (a sum of four sines) against the readout of the trained network, run from its saved "
               "model file in the ordinary engine, above a raster of the recurrent neurons."),
    )),
    Command("train-evidence", "Learning", ("train", "evidence", "--quick", "--out", "evidence", "--quiet"), (
        Figure("evidence/evidence_curves.png", "evidence_curves.png", "e-prop: evidence accumulation",
               "The training loss and error rate of the cue-accumulation task (quick configuration) as e-prop "
               "trains LIF and adaptive LIF neurons, with the error on held-out trials."),
        Figure("evidence/evidence_trial.png", "evidence_trial.png", "An evidence-accumulation trial",
               "One held-out trial: the left and right cues, the delay, and the readouts' softmax during the "
               "recall that makes the decision."),
    )),
    Command("vehicle-fear", "A vehicle", ("vehicle", "fear", "--starts", "4", "--out", "fear", "--quiet"), (
        Figure("fear/vehicle.png", "vehicle_fear.png", "Braitenberg's vehicle 2a",
               "Four drives of the hand-wired 2a 'fear' in the arena: it turns away from the light and flees "
               "faster the nearer it is; below, the first drive's sensor readings and motor rates."),
    )),
    Command("vehicle-learner", "A vehicle", ("vehicle", "learner", "--learn", "--quick", "--out", "learner",
                                             "--quiet"), (
        Figure("learner/vehicle.png", "vehicle_learner.png", "A vehicle that learnt",
               "The learner after a quick training by reward-modulated STDP, driven from held-out starts: it "
               "finds the light and steers round the obstacles."),
    )),
    Command("twin-bus", "The physical twin", ("twin", "board", "--plot", "twin_bus"), (
        Figure("twin_bus/bus_load.png", "twin_bus_load.png", "Bus load",
               "The board example on the twin, every neuron a unit on its own clock sharing one bus: how busy "
               "the line is, per tick and averaged."),
    )),
    Command("twin-wire", "The physical twin", (
        "twin", "board", "--transport", "wire", "--fault", "reset:sense.0@500ms", "--fault", "drop:5%",
        "--fault", "drift:relay=200ppm", "--plot", "twin_wire"), (
        Figure("twin_wire/latency.png", "twin_wire_latency.png", "Spike latency under faults",
               "The same board over wires with a unit reset, 5 % of spikes dropped and a drifting clock: "
               "the latency of every delivered spike and the number lost."),
    )),
    Command("kit", "The maker's kit", ("kit", "board", "--out", "kit", "--quiet"), (
        Figure("kit/cases/neuron-wired-4in.png", "kit_case.png", "A neuron box's case",
               "The printable case of a box with four dendrites: the base with its connector openings, the "
               "lid with the LED window and the ISP slot, and the diffuser disc, seen from the front and the "
               "back."),
        Figure("kit/circuits/neuron-wired-4in.png", "kit_circuit.png", "A neuron box's circuit",
               "The ATmega8 of that box and what hangs on each of its pins, from the pin planner's plan, with "
               "the parts list."),
        Figure("kit/wiring.png", "kit_wiring.png", "The board's wiring",
               "Every cable of the board example between its boxes, numbered as in wiring.csv, for the "
               "layered layout."),
    )),
)

SECTIONS = ("Neurons", "Networks", "Reservoir computing", "Learning", "The physical twin", "The maker's kit",
            "A vehicle")

NOT_HERE = """\
## Not in this gallery

- The live board (`neurobox board`) is a page in the browser, so its pictures are screenshots from a
  browser (the README's two; `tests/test_board.py` takes such screenshots into `test-artifacts/`), not the
  output of a command line.
- `neurobox render` writes a self-contained HTML replay (about 600 KB), not an image: run
  `neurobox render --demo xor --out xor.html` and open it.
- The digits network trained on the twin's units under faults (`neurobox train digits --target twin
  --fault-sweep`) draws the same kind of figure as "Digits under faults" but takes more than five minutes
  even with `--quick`.
"""


def figures() -> list[tuple[Command, Figure]]:
    return [(c, f) for c in COMMANDS for f in c.figures]


def render() -> str:
    """docs/figures.md, from COMMANDS alone."""
    out = ["# Figures", "",
           ("Every figure below is drawn by the command line printed above it, run in an empty folder (the "
           "small print under the image names the file it wrote). `make figures` (`docs/make_figures.py`) "
           "runs them all again with these quick settings and fixed seeds, in about two minutes, and "
           "rewrites this page from the same list; do not edit it by hand."), ""]
    for section in SECTIONS:
        out += [f"## {section}", ""]
        for command, fig in figures():
            if command.section != section:
                continue
            out += [f"### {fig.title}", "", fig.caption, "", "```sh", command.line, "```", "",
                    f"![{fig.title}](images/figures/{fig.image})", "",
                    f"<sub>`{fig.file}`, copied to `docs/images/figures/{fig.image}`</sub>", ""]
    out.append(NOT_HERE)
    return "\n".join(out)


def _check_list() -> None:
    ids = [c.id for c in COMMANDS]
    images = [f.image for _, f in figures()]
    assert len(set(ids)) == len(ids), "command ids must be unique"
    assert len(set(images)) == len(images), "image names must be unique"
    assert all(c.section in SECTIONS for c in COMMANDS), "a command's section is not in SECTIONS"


def run_command(command: Command, scratch: Path) -> float:
    """Run one command line in its own folder under `scratch`; SystemExit with its output if it fails."""
    folder = scratch / command.id
    folder.mkdir()
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONHASHSEED="0",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-m", "neurobox", *command.args], check=False, cwd=folder, env=env,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise SystemExit(f"make_figures: `{command.line}` ran past {TIMEOUT_S} s") from None
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise SystemExit(f"make_figures: `{command.line}` failed (exit status {proc.returncode})")
    for fig in command.figures:
        path = folder / fig.file
        if not path.is_file():
            raise SystemExit(f"make_figures: `{command.line}` did not write {fig.file}")
        size = path.stat().st_size
        if size > MAX_IMAGE_BYTES:
            raise SystemExit(f"make_figures: {fig.file} of `{command.line}` is {size} bytes, over "
                             f"{MAX_IMAGE_BYTES}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ids", nargs="*", help="run only these commands (default: all)")
    parser.add_argument("--list", action="store_true", help="print the ids and command lines, run nothing")
    parser.add_argument("--page", action="store_true", help="only rewrite docs/figures.md, run nothing")
    args = parser.parse_args(argv)
    _check_list()
    if args.list:
        for c in COMMANDS:
            print(f"{c.id:20s} {c.line}")
        return 0
    if args.page and args.ids:
        parser.error("--page runs nothing: give it no ids")
    unknown = sorted(set(args.ids) - {c.id for c in COMMANDS})
    if unknown:
        parser.error(f"unknown id(s) {', '.join(unknown)}; see --list")
    chosen = [] if args.page else [c for c in COMMANDS if not args.ids or c.id in args.ids]

    sys.path.insert(0, str(ROOT))
    from neurobox.files import atomic_write, atomic_write_text

    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="neurobox-figures-") as tmp:
        scratch = Path(tmp)
        for command in chosen:             # every command first: a failure leaves the gallery as it was
            elapsed = run_command(command, scratch)
            print(f"{elapsed:6.1f} s  {command.line}", flush=True)
        for command in chosen:
            for fig in command.figures:
                data = (scratch / command.id / fig.file).read_bytes()
                atomic_write(IMAGES / fig.image, lambda f, data=data: f.write(data))
    wanted = {f.image for _, f in figures()}
    for stale in IMAGES.glob("*.png"):
        if stale.name not in wanted:
            stale.unlink()
            print(f"removed {stale.relative_to(ROOT)} (no longer in the list)")
    atomic_write_text(PAGE, render())

    missing = sorted(name for name in wanted if not (IMAGES / name).is_file())
    if missing:
        raise SystemExit(f"make_figures: not drawn yet: {', '.join(missing)} (run without ids)")
    total = sum((IMAGES / name).stat().st_size for name in wanted)
    print(f"{len(wanted)} figures, {total / 1e6:.2f} MB in {IMAGES.relative_to(ROOT)}; "
          f"wrote {PAGE.relative_to(ROOT)}; total time {time.perf_counter() - t_start:.1f} s")
    if total > MAX_TOTAL_BYTES:
        raise SystemExit(f"make_figures: the gallery is {total} bytes, over {MAX_TOTAL_BYTES}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
