// neurobox board: what a task is doing (the trial, the pattern, the answer, the
// reward, the running accuracy and its curve; the vehicle's arena, arena.js)
// and, on the twin, what the units lose. Fed with the frames by live.js and
// replay.js alike.
"use strict";

class TaskOverlay {
  // el: the overlay box; twinEl: the twin's counters; board: the NeuroBoard (for the neurons' labels)
  constructor(el, twinEl, board) {
    this.el = el;
    this.twinEl = twinEl;
    this.board = board;
    this.state = null;
    this.kind = null;
    this.arena = null;
    this.onDrag = null;      // the live page's: (what, index, x_mm, y_mm) => void (the vehicle's arena)
  }

  frame(f) {
    if (f.task) this.show(f.task);
    if (this.twinEl) this.twin(f.twin || null);
  }

  show(s) {
    this.state = s;
    if (!s) { this.el.hidden = true; this.kind = null; return; }
    this.el.hidden = false;
    const $ = (id) => this.el.querySelector("#" + id);
    if (this.kind !== s.task) {
      this.kind = s.task;
      this.el.innerHTML = {xor: TaskOverlay.XOR, digits: TaskOverlay.DIGITS, vehicle: TaskOverlay.VEHICLE}[s.task];
      this.el.classList.toggle("wide", s.task === "vehicle");
      this.arena = s.task === "vehicle" ? new ArenaView($("arena")) : null;
      if (this.arena && this.onDrag) this.arena.onDrag = (...args) => this.onDrag(...args);
    }
    if (s.task === "vehicle") { this._vehicle(s, $); return; }
    const pct = (a) => a === null || a === undefined ? "-" : `${Math.round(100 * a)} %`;
    $("task-accuracy").textContent = pct(s.accuracy);
    $("task-trials").textContent = s.trials;
    $("task-recent").innerHTML = [...(s.recent || "")].map((c) => `<i class="${c === "1" ? "ok" : "no"}"></i>`).join("");
    this._curve($("task-curve"), s.curve || [], s.task === "xor" ? 0.5 : 0.1);
    if (s.task === "xor") {
      const now = s.presenting, last = s.last;
      $("task-pattern").textContent = now ? `${now.pattern[0]} ${now.pattern[1]}` : "(rest)";
      $("task-target").textContent = now ? now.target : "-";
      $("task-answer").textContent = last ? (last.answer ? "fires (1)" : "silent (0)") : "-";
      $("task-verdict").textContent = last ? (last.correct ? "right" : "wrong") : "";
      $("task-verdict").className = last ? (last.correct ? "ok" : "no") : "";
      $("task-last").textContent = last ? `${last.pattern[0]} ${last.pattern[1]}` : "-";
      $("task-reward").textContent = !last ? "-" : last.reward > 0 ? "+1 (reward)" : last.reward < 0 ? "-1 (punishment)" : "none";
      $("task-hand").textContent = s.by_hand ? `, ${s.by_hand} by hand` : "";
    } else {
      const now = s.presenting, last = s.last;
      this._image($("task-image"), now ? now.image : null);
      $("task-label").textContent = now ? (now.kind === "drawn" ? "your drawing" : now.label) : "-";
      $("task-shown").textContent = s.shown;
      $("task-answer").textContent = last ? (last.answer === null ? "?" : last.answer) : "-";
      $("task-verdict").textContent = last ? (last.correct ? "right" : `wrong (it was ${last.label})`) : "";
      $("task-verdict").className = last ? (last.correct ? "ok" : "no") : "";
      const d = s.drawn;
      this._image($("drawn-image"), d ? d.image : null);
      $("drawn-answer").textContent = d ? (d.answer === null ? "? (no neuron knows yet)" : d.answer) : "-";
      if (s.fields) this._fields($("task-fields"), s.fields, s.neurons.labels);
      if (this.board && s.neurons) this.board.setLabels(s.neurons.pop, s.neurons.labels);
    }
  }

  _vehicle(s, $) {
    this.arena.show(s);
    const names = {fear: "2a, fear", explorer: "3b, explorer"};
    $("veh-name").textContent = names[s.vehicle] || s.vehicle;
    $("veh-speeds").textContent = s.speeds_mm_s.map((v) => v.toFixed(0)).join(", ");
    $("veh-light").textContent = s.light_mm.toFixed(0) + (s.reached ? " (reached)" : "");
    $("veh-bumps").textContent = s.bumps;
    $("veh-time").textContent = s.t_s.toFixed(1);
    $("veh-readings").innerHTML = s.sensors.map((n) => {
      const v = s.readings[n];
      return `<span>${n.replace("_", " ")}</span><i style="width:${(100 * v).toFixed(0)}%"></i><span>${v.toFixed(2)}</span>`;
    }).join("");
  }

  twin(c) {
    const el = this.twinEl;
    if (!c) { el.hidden = true; return; }
    el.hidden = false;
    const causes = Object.entries(c.lost_by_cause || {}).map(([k, v]) => `${k.replace("_", " ")} ${v}`).join(", ");
    const load = c.bus_load === null ? "no bus (wires)" : `${+(100 * c.bus_load).toPrecision(2)} %`;
    el.innerHTML = `units over the <b>${c.transport}</b> &middot; spikes lost <b id="twin-lost">${c.lost}</b>` +
      (causes ? ` <span class="dim">(${causes})</span>` : "") + ` of ${c.delivered + c.lost} &middot; bus load ` +
      `<b id="twin-bus">${load}</b> &middot; rewards lost ${c.broadcasts.lost} of ${c.broadcasts.sent}` +
      (c.faults ? ` &middot; faults ${c.faults}` : "");
  }

  _image(canvas, hex) {
    const ctx = canvas.getContext("2d"), n = 8, s = canvas.width / n;
    ctx.fillStyle = "#0e1014"; ctx.fillRect(0, 0, canvas.width, canvas.height);
    if (!hex) return;
    for (let k = 0; k < hex.length; k++) {
      const v = Math.round(parseInt(hex[k], 16) * 17);
      ctx.fillStyle = `rgb(${v},${v},${v})`;
      ctx.fillRect((k % n) * s, Math.floor(k / n) * s, s - 0.5, s - 0.5);
    }
  }

  // every learning neuron's input weights as an 8x8 tile, with the class it answers to
  _fields(canvas, hex, labels) {
    const n = labels.length, cols = Math.ceil(Math.sqrt(n * 2)), rows = Math.ceil(n / cols), tile = 8, gap = 2;
    canvas.width = cols * (tile + gap) * 3; canvas.height = rows * (tile + gap) * 3 + 2;
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#0e1014"; ctx.fillRect(0, 0, canvas.width, canvas.height);
    const img = ctx.createImageData(tile, tile);
    for (let k = 0; k < n; k++) {
      for (let p = 0; p < 64; p++) {
        const v = parseInt(hex[64 * k + p], 16) * 17;
        img.data[4 * p] = v; img.data[4 * p + 1] = v * 0.85; img.data[4 * p + 2] = v * 0.5; img.data[4 * p + 3] = 255;
      }
      const tmp = document.createElement("canvas"); tmp.width = tmp.height = tile;
      tmp.getContext("2d").putImageData(img, 0, 0);
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(tmp, (k % cols) * (tile + gap) * 3, Math.floor(k / cols) * (tile + gap) * 3, tile * 3, tile * 3);
      if (labels[k] >= 0) {
        ctx.fillStyle = "#ffd54f"; ctx.font = "10px sans-serif";
        ctx.fillText(String(labels[k]), (k % cols) * (tile + gap) * 3 + 1, Math.floor(k / cols) * (tile + gap) * 3 + 10);
      }
    }
  }

  _curve(canvas, curve, chance) {
    const ctx = canvas.getContext("2d"), W = canvas.width, H = canvas.height, pad = 4;
    ctx.fillStyle = "#0e1014"; ctx.fillRect(0, 0, W, H);
    const Y = (a) => H - pad - a * (H - 2 * pad);
    ctx.strokeStyle = "rgba(255,255,255,0.15)"; ctx.setLineDash([3, 3]);
    ctx.beginPath(); ctx.moveTo(0, Y(chance)); ctx.lineTo(W, Y(chance)); ctx.stroke();
    ctx.beginPath(); ctx.moveTo(0, Y(1)); ctx.lineTo(W, Y(1)); ctx.stroke(); ctx.setLineDash([]);
    ctx.fillStyle = "#8890a0"; ctx.font = "10px sans-serif";
    ctx.fillText("100 %", 2, Y(1) + 10); ctx.fillText("chance", 2, Y(chance) - 2);
    if (!curve.length) return;
    const X = (k) => curve.length === 1 ? W / 2 : pad + k * (W - 2 * pad) / (curve.length - 1);
    ctx.strokeStyle = "#9ccc65"; ctx.lineWidth = 2; ctx.beginPath();
    curve.forEach((a, k) => { if (k) ctx.lineTo(X(k), Y(a)); else ctx.moveTo(X(k), Y(a)); });
    ctx.stroke();
    ctx.fillStyle = "#9ccc65";
    curve.forEach((a, k) => { ctx.beginPath(); ctx.arc(X(k), Y(a), 2, 0, 2 * Math.PI); ctx.fill(); });
  }
}

TaskOverlay.XOR = `
  <div class="ov-title">XOR, learnt from rewards alone</div>
  <div>trial <b id="task-trials">0</b>: inputs <b id="task-pattern">-</b>, the right answer <b id="task-target">-</b></div>
  <div>last: inputs <span id="task-last">-</span>, output <b id="task-answer">-</b> <b id="task-verdict"></b>,
       reward <b id="task-reward">-</b><span id="task-hand"></span></div>
  <div>accuracy, last 20 trials: <b id="task-accuracy">-</b> <span id="task-recent" class="recent"></span></div>
  <canvas id="task-curve" width="260" height="64" title="accuracy per 20 trials"></canvas>`;

TaskOverlay.DIGITS = `
  <div class="ov-title">digits, learnt without labels (STDP)</div>
  <div class="ov-row"><canvas id="task-image" width="48" height="48"></canvas>
    <div>digit <b id="task-shown">0</b>: <b id="task-label">-</b><br>
         last answer <b id="task-answer">-</b> <b id="task-verdict"></b><br>
         accuracy, last 20: <b id="task-accuracy">-</b> (<span id="task-trials">0</span> scored)
         <span id="task-recent" class="recent"></span></div></div>
  <canvas id="task-curve" width="260" height="56" title="accuracy per 20 digits"></canvas>
  <div class="ov-row"><canvas id="drawn-image" width="48" height="48"></canvas>
    <div>draw a digit: drag across the pixels<br>its answer: <b id="drawn-answer">-</b></div></div>
  <div class="dim">what each neuron has learnt (its input weights; the digit it answers to):</div>
  <canvas id="task-fields" width="260" height="60"></canvas>`;

TaskOverlay.VEHICLE = `
  <div class="ov-title">Braitenberg's vehicle <span id="veh-name"></span></div>
  <canvas id="arena" width="400" height="400" title="drag the light or an obstacle"></canvas>
  <div>t <b id="veh-time">0</b> s &middot; wheels <b id="veh-speeds">-</b> mm/s (left, right)</div>
  <div>light <b id="veh-light">-</b> mm away &middot; bumps <b id="veh-bumps">0</b></div>
  <div id="veh-readings" class="readings" title="the sensors' readings, 0 to 1: they set the sensor neurons' rates"></div>
  <div class="dim">drag the light or a grey obstacle with a finger or the mouse</div>`;

window.TaskOverlay = TaskOverlay;
