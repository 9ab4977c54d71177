// neurobox board, replay: plays the run embedded in this page (no server)
// through the same NeuroBoard drawing code and task overlay as the live board.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const data = JSON.parse($("run-data").textContent);
  let speed = 1, playing = true, i = 0, clock = 0, last = null, board = null, overlay = null;

  function restart() {
    i = 0; clock = data.frames.length ? data.frames[0].t0 : 0; board.reset(clock);
    overlay.show(data.hello.task_state);
  }

  function tick(now) {
    if (last !== null && playing) clock += (now - last) * speed;
    last = now;
    const frames = data.frames;
    while (i < frames.length && frames[i].t <= clock) { board.frame(frames[i]); overlay.frame(frames[i++]); }
    $("clock").textContent = `t = ${(Math.min(clock, data.t_end) / 1000).toFixed(2)} s of ${(data.t_end / 1000).toFixed(2)} s`;
    if (i >= frames.length && clock > data.t_end + 500 && $("loop").checked) restart();
    requestAnimationFrame(tick);
  }

  window.addEventListener("DOMContentLoaded", () => {
    $("title").textContent = data.hello.title || "";
    board = new NeuroBoard({board: $("board"), raster: $("raster"), trace: $("trace")}, data.hello);
    overlay = new TaskOverlay($("overlay"), $("twin-panel"), board);
    window.neuroboard = board;
    window.neurooverlay = overlay;
    if (data.selected) board.select(data.selected.pop, data.selected.id);
    board.onSelect = null; board.onTouch = null; board.onDraw = null;   // a replay cannot be touched
    $("pause").addEventListener("click", () => { playing = !playing; $("pause").textContent = playing ? "pause" : "play"; });
    $("restart").addEventListener("click", restart);
    $("speed").addEventListener("input", (ev) => {
      speed = +Math.pow(10, (ev.target.value - 10) / 10).toPrecision(2);
      $("speed-out").textContent = `${speed}x`;
    });
    restart();
    requestAnimationFrame(tick);
  });
})();
