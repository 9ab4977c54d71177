"""Every figure says what it shows (issue 18): content, not pixels.

Figures are caught before they are closed (pyplot.close is replaced for the test), and their text is read:
axis labels with units, titles that state the sample and the window, the digits test raster's time axis
from the test's start, font sizes at the saved size, the colour scale of the reverberation diagram.
"""
from __future__ import annotations

import struct

import numpy as np
import pytest
from matplotlib.colors import LogNorm

from neurobox.results import Results, SpikeTrains, Trace
from neurobox.viz import style
from neurobox.viz.figure import plt


@pytest.fixture
def caught(monkeypatch):
    """The figures saved during a test, kept open until it ends."""
    close = plt.close
    figs = []
    monkeypatch.setattr(plt, "close", lambda fig=None: figs.append(fig))
    yield figs
    for f in figs:
        close(f)


def png_size(path) -> tuple[int, int]:
    head = open(path, "rb").read(24)
    return struct.unpack(">II", head[16:24])


def texts(fig) -> list:
    """Every Text of a figure: titles, labels, tick labels, annotations, legends."""
    from matplotlib.text import Text
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def all_text(fig) -> str:
    return "\n".join(t.get_text() for t in texts(fig))


def smallest_font(fig) -> float:
    return min(t.get_fontsize() for t in texts(fig))


def coba_like(n_exc=3200, n_inh=800, ms=1000.0, seed=0) -> Results:
    rng = np.random.default_rng(seed)
    spikes = {}
    for name, n in (("exc", n_exc), ("inh", n_inh)):
        k = int(n * 5 * ms / 1000)
        t = np.sort(rng.uniform(0, ms, k))
        spikes[name] = SpikeTrains(t, rng.integers(0, n, k), n)
    t = np.arange(0, ms, 0.1)
    v = -65 + 5 * np.sin(t[:, None] / 20 + np.arange(3))
    traces = {"rec0": {"V_m": Trace("exc", "V_m", np.arange(3), t, v)}}
    return Results(dt=0.1, seed=seed, bio_ms=ms, spikes=spikes, traces=traces)


def test_style_fonts_and_roles():
    assert min(style.FONT.values()) >= style.MIN_FONT_PT >= 8
    assert style.role_of("exc") == "excitatory" and style.role_of("inh") == "inhibitory"
    assert style.role_of("input") == "input" and style.role_of("noise", source=True) == "input"
    colours = style.population_colours(["exc", "inh", "input"])
    assert colours["exc"] != colours["inh"] and len(set(colours.values())) == 3
    assert style.every_nth(400, 3200) == "every 8th of 3200" and style.every_nth(800, 800) == "all 800"
    assert isinstance(style.colour_norm([1.0, 5.0, 900.0]), LogNorm)
    assert not isinstance(style.colour_norm([10.0, 20.0, 30.0]), LogNorm)


def test_raster_states_sample_and_window(tmp_path, caught):
    from neurobox.viz.plots import raster
    png = raster(coba_like(), tmp_path / "r.png", title="COBA")
    fig = caught[-1]
    title = fig.axes[0].get_title(loc="left")
    assert "every 8th of 3200 exc" in title and "every 8th of 800 inh" in title and "0-1000 ms" in title
    assert "of a" not in title                                  # the whole run: no "of a 1000 ms run"
    ax_r, ax_h = fig.axes[:2]
    assert ax_h.get_xlabel() == "time (ms)" and "Hz" in ax_h.get_ylabel()   # raster over a rate histogram
    assert ax_r.get_position().y0 > ax_h.get_position().y0
    assert ax_r.get_ylim()[1] == pytest.approx(400 + 100 - 0.5)            # 500 rows: 1 in 8 of both
    assert smallest_font(fig) >= 8
    w, h = png_size(png)
    assert w <= (fig.get_figwidth() + 0.15) * style.DPI          # saved at its size (plus the margin), not scaled
    raster(coba_like(), tmp_path / "r2.png", t_range_ms=(0.0, 500.0))
    assert "0-500 ms of a 1000 ms run" in caught[-1].axes[0].get_title(loc="left")


def test_traces_units_and_labels_off_the_trace(tmp_path, caught):
    from neurobox.viz.plots import traces
    traces(coba_like(), tmp_path / "t.png", max_traces=3, threshold=-50.0, reset=-60.0)
    fig = caught[-1]
    ax = fig.axes[0]
    assert ax.get_ylabel() == "V_m (mV)" and ax.get_xlabel() == "time (ms)"
    inside = [t.get_text() for t in ax.texts]
    assert not any("threshold" in t or "reset" in t for t in inside)          # not drawn over the traces
    side = all_text(fig)
    assert "threshold -50 mV" in side and "reset -60 mV" in side
    assert smallest_font(fig) >= 8


def test_weight_images_square_readable_tight(tmp_path, caught):
    from neurobox.viz.task_plots import weight_images
    rng = np.random.default_rng(1)
    labels = np.r_[np.arange(10).repeat(4), -1, -1]
    png = weight_images(rng.uniform(0, 1, (64, 42)), tmp_path / "w.png", labels=labels)
    fig = caught[-1]
    ax = fig.axes[0]
    im = ax.images[0]
    rows, cols = im.get_array().shape
    bbox = ax.get_window_extent()
    # square cells: the drawn image's pixels per cell agree in x and y (aspect equal)
    assert ax.get_aspect() == 1.0
    assert bbox.width / cols == pytest.approx(bbox.height / rows, rel=0.02)
    # tight: the image fills the figure's width, with no tile place left over beyond one row
    assert bbox.width == pytest.approx(fig.get_figwidth() * fig.dpi, rel=0.02)
    assert np.isnan(im.get_array()).mean() < 0.5
    class_labels = [t for t in ax.texts if t.get_text() in set("0123456789–")]
    assert len(class_labels) == 42 and min(t.get_fontsize() for t in class_labels) >= 8
    assert smallest_font(fig) >= 8
    assert "8x8" in all_text(fig)
    w, h = png_size(png)
    assert w <= (fig.get_figwidth() + 0.15) * style.DPI          # saved at its size (plus the margin), not scaled


def test_digits_test_raster(tmp_path, caught):
    from types import SimpleNamespace

    from neurobox.viz.task_plots import digits_test_raster
    rng = np.random.default_rng(2)
    t0, slot, n_img, n_exc = 176_000.0, 140.0, 30, 40
    onsets = t0 + slot * np.arange(n_img)
    inp_t = np.sort(np.concatenate([o + rng.uniform(0, 100, 200) for o in onsets]))
    exc_t = np.sort(np.concatenate([o + rng.uniform(0, 100, 10) for o in onsets]))
    res = Results(dt=0.5, seed=0, bio_ms=t0 + slot * n_img, traces={}, spikes={
        "input": SpikeTrains(inp_t, rng.integers(0, 64, inp_t.size), 64),
        "exc": SpikeTrains(exc_t, rng.integers(0, n_exc, exc_t.size), n_exc)})
    y = rng.integers(0, 10, n_img)
    pred = y.copy()
    pred[3] = (y[3] + 1) % 10
    ev = SimpleNamespace(test_results=res, test_start_ms=t0, neuron_labels=np.r_[np.arange(10).repeat(4)],
                         predictions=pred, y_test=y, test_accuracy=float(np.mean(pred == y)),
                         test_onsets_ms=onsets, test_onset_images=np.arange(n_img))
    digits_test_raster(ev, tmp_path / "d.png", present_ms=100.0, window_ms=3000.0)
    fig = caught[-1]
    ax_i, ax_e, ax_h = fig.axes[:3]
    assert ax_h.get_xlim()[0] == 0.0 and ax_h.get_xlim()[1] == pytest.approx(3000.0)
    assert "since the test began" in ax_h.get_xlabel() and "(ms)" in ax_h.get_xlabel()
    assert max(float(t) for t in ax_h.get_xticks() if t <= 3000) <= 3000       # not 176,000 ms
    assert "every 4th of 64" in all_text(fig)                                 # inputs subsampled, said
    assert "by assigned class" in ax_e.get_ylabel()
    assert [t.get_text() for t in ax_e.get_yticklabels()] == [str(c) for c in range(10)]
    marks = [t for t in ax_i.texts]
    shown = [t for t in marks if t.get_color() == style.MARK["stimulus"] and t.get_text().isdigit()]
    wrong = [t for t in marks if t.get_color() == style.MARK["wrong"]]
    assert len(shown) == 22 and len(wrong) == 1                               # 22 images start in 3 s
    assert wrong[0].get_text() == str(pred[3])
    assert "digit shown" in all_text(fig) and "answer" in all_text(fig)
    assert smallest_font(fig) >= 8


def test_reverberation_heat_map_log_scale(tmp_path, caught):
    from neurobox.viz.motif_plots import reverberation_figure
    ex = {"t_ms": np.array([10.0, 20.0]), "ids": np.array([0, 1]), "weight": 15.0, "delay": 2.0}
    pers = np.array([[0.0, 0.0, 5.0], [4.3, 12.0, 970.0], [40.0, 300.0, 990.0]])
    diagram = {"weights_pA": [6, 10, 20], "delays_ms": [1, 8, 32], "persistence_ms": pers,
               "persistent": pers > 960, "duration_ms": 1000.0}
    reverberation_figure(ex, ex, diagram, tmp_path / "rev.png")
    fig = caught[-1]
    heat = fig.axes[2].images[0]
    assert isinstance(heat.norm, LogNorm)
    assert heat.norm.vmin == pytest.approx(4.3) and heat.norm.vmax == pytest.approx(300.0)
    assert "log" in all_text(fig) and "(pA)" in fig.axes[2].get_ylabel() and "(ms)" in fig.axes[2].get_xlabel()
    assert smallest_font(fig) >= 8


def test_twin_latency_explains_losses(tmp_path, caught):
    from types import SimpleNamespace

    from neurobox.viz.twin_plots import latency
    result = SimpleNamespace(latency_ms=np.full(50, 1.0) + np.linspace(0, 0.5, 50), lost=7,
                             lost_by_cause={"rx_overflow": 5, "undelivered": 2, "dropped": 0})
    latency(result, tmp_path / "lat.png")
    text = all_text(caught[-1])
    assert "5 lost: the receiver's buffer was full" in text and "2 lost: receiver down" in text
    assert "dropped" not in text
    assert "(ms)" in caught[-1].axes[0].get_xlabel()


def test_gallery_titles_readable(tmp_path, caught):
    from neurobox.neurons.patterns import classify
    from neurobox.tasks.probe import gallery_cases, probe
    from neurobox.viz.neuron_plots import plot_gallery_family
    cases = gallery_cases()["lif"][:2]
    runs = []
    for c in cases:
        res = probe(c.model, current_pA=c.current_pA, duration_ms=c.duration_ms, onset_ms=c.onset_ms)
        runs.append((c, res, classify(res.spike_times_ms, c.onset_ms, c.duration_ms)))
    plot_gallery_family("lif", runs, tmp_path / "g.png", summary="x")
    fig = caught[-1]
    text = all_text(fig)
    assert "the paper" not in text and "expected tonic" in text and "source: NEST defaults" in text
    assert smallest_font(fig) >= 8
    assert all(ax.get_ylabel() in ("V (mV)", "") for ax in fig.axes)


def test_board_hello_has_role_colours():
    import neurobox as nb
    from neurobox.board.session import LiveBoard
    net = nb.Network(dt=0.1)
    net.population("exc", 4, "iaf_psc_alpha")
    net.population("inh", 2, "iaf_psc_alpha")
    hello = LiveBoard(net).hello()
    assert hello["colours"] == [style.BOARD_COLOURS["excitatory"], style.BOARD_COLOURS["inhibitory"]]
