// neurobox board: draws a network as neuron boxes with an LED and a face each
// (or as LED grids for large networks), wires whose thickness is the weight,
// spikes as light pulses along the wires, a live raster and the selected
// neuron's membrane trace. Plain JS on canvas; fed by live.js (WebSocket) or
// replay.js (a recorded run).
//
// One clock for every animation: this.clock() (performance.now()), used when
// a frame arrives and when the page draws; every animation's level is
// clamped to [0, 1] over its lifetime (lifeLeft).
"use strict";

const PULSE_MS = 320;        // wall time a light pulse takes along a wire, ms
const FLASH_MS = 140;        // wall time of the white flash after a spike, ms
const TIRED_MS = 420;        // a box looks tired this long after it fired (wall ms)
const LEARN_MS = 450;        // and violet this long after a plastic input changed (wall ms)
const RIPPLE_MS = 500;       // the ring around a touched box
const GRID_EASE_MS = 150;    // a grid LED eases towards its new colour with this time constant (wall ms)
const RATE_TAU_MS = 400;     // biological time constant of each neuron's decaying rate, ms
const RATE_HALF_HZ = 20;     // the rate at which the steady glow is half way to white, Hz
const MAX_PULSES = 1500;     // light pulses in flight at most
const RASTER_MS = 2000;      // biological time shown by the raster, ms
const TRACE_MS = 1000;       // biological time shown by the membrane trace, ms
const RASTER_ROWS = 200;     // neurons shown in the raster at most
const MAX_CLICKS = 6;        // sound: clicks per frame at most
// the fallback when a hello has no colours (neurobox.viz.style.BOARD_COLOURS is the source)
const PALETTE = ["#f5b942", "#4fc3f7", "#ef6f6c", "#9ccc65", "#ba68c8", "#ffd54f", "#4db6ac", "#f06292"];
const WIRE_COLOURS = {exc: "255,176,70", inh: "100,160,255", gap: "120,230,150"};
const VIOLET = "rgb(170,0,255)";

// what is left of an animation that started at t0 and lasts `life` ms: 1 at its start, falling to 0 at its
// end, 0 outside (before its start as after its end): never above 1 whatever the clocks say
function lifeLeft(now, t0, life) {
  const u = (now - t0) / life;
  return u < 0 || u >= 1 ? 0 : 1 - u;
}

class NeuroBoard {
  // canvases: {board, raster, trace}; hello: the server's hello message (layout, weights...)
  constructor(canvases, hello) {
    this.cv = canvases;
    this.onTouch = null;         // (pop, id, down: true | false | null) => void, set by the driver
    this.onDraw = null;          // (pop, ids) => void: a pattern dragged across inputs
    this.onSelect = null;        // (pop, id) => void
    this.tool = null;            // {kind, onNode(pop, id), onWire(prePop, preId, postPop, postId)}: a fault tool
    this.clock = () => performance.now();
    this.stats = {frames: 0, spikes: {}, t: hello.t, rafFrames: 0, pokes: 0, maxFlash: 0, maxLevel: 0};
    this.audio = null;
    this.load(hello);
    const c = this.cv.board;
    c.addEventListener("pointerdown", (ev) => this._down(ev));
    c.addEventListener("pointermove", (ev) => this._move(ev));
    c.addEventListener("pointerup", (ev) => this._up(ev));
    c.addEventListener("pointercancel", (ev) => this._up(ev));
    new ResizeObserver(() => this.resize()).observe(c);
    this.resize();
    const loop = () => { this.stats.rafFrames++; this.draw(this.clock()); requestAnimationFrame(loop); };
    requestAnimationFrame(loop);
  }

  load(hello) {
    const L = hello.layout;
    this.hello = hello;
    this.layout = L;
    this.pops = L.populations;
    this.boxes = this.pops.length > 0 && this.pops[0].mode === "boxes";
    this.nx = Float32Array.from(L.nodes.x);
    this.ny = Float32Array.from(L.nodes.y);
    const n = this.nx.length;
    this.n = n;
    this.popOf = new Int32Array(n);
    this.pops.forEach((p, k) => { for (let i = 0; i < p.shown; i++) this.popOf[p.offset + i] = k; });
    this.led = new Uint8Array(3 * n);
    for (let i = 0; i < n; i++) { this.led[3 * i + 1] = this.pops[this.popOf[i]].source ? 24 : 255; }
    this.gridShown = Float32Array.from(this.led);   // the eased colours of grid LEDs
    this.flashAt = new Float64Array(n).fill(-1e9);
    this.learnAt = new Float64Array(n).fill(-1e9);
    this.rate = new Float32Array(n);     // Hz, decaying (biological time)
    this.mood = new Uint8Array(n).fill(99);   // "c"
    this.held = new Set();
    this.labels = null;
    this.pulses = [];
    this.ripples = [];
    this.selected = null;
    this.traceData = [];
    this.threshold = null;
    this.pops.forEach((p) => { this.stats.spikes[p.name] = this.stats.spikes[p.name] || 0; });
    const rows = Math.min(n, RASTER_ROWS);   // raster rows per population, in proportion to its size
    let row = 0;
    this.rasterRows = this.pops.map((p) => {
      const r = {first: row, count: n <= RASTER_ROWS ? p.shown : Math.max(1, Math.round(p.shown * rows / n))};
      row += r.count;
      return r;
    });
    this.rasterTotal = row;
    this._buildWires();
    this.wscale = null;
    this.setWeights(hello.weights);
    this._grids = this.pops.map((p) => p.mode === "grid" ? this._gridCanvas(p) : null);
    this._rasterClear();
    this._staticDirty = true;
  }

  _buildWires() {
    // wire geometry (world units): start a, control c, end b, per drawn synapse; bundles go block to block
    const L = this.layout;
    this.edges = L.edges.map((e) => {
      const m = e.a.length;
      const g = {e, m, ax: new Float32Array(m), ay: new Float32Array(m), cx: new Float32Array(m),
                 cy: new Float32Array(m), bx: new Float32Array(m), by: new Float32Array(m)};
      for (let j = 0; j < m; j++) {
        const a = e.a[j], b = e.b[j];
        const ax = this.nx[a], ay = this.ny[a], bx = this.nx[b], by = this.ny[b];
        const dx = bx - ax, dy = by - ay;
        g.ax[j] = ax; g.ay[j] = ay; g.bx[j] = bx; g.by[j] = by;
        g.cx[j] = (ax + bx) / 2 - dy * 0.18; g.cy[j] = (ay + by) / 2 + dx * 0.18;
      }
      if (e.mode === "bundle") g.bundle = this._bundle(this.pops[e.pre], this.pops[e.post]);
      return g;
    });
    this.outgoing = Array.from({length: this.n}, () => []);
    this.edges.forEach((g, k) => {
      if (g.e.mode !== "wires") return;
      for (let j = 0; j < g.m; j++) {
        this.outgoing[g.e.a[j]].push(k, j);
        if (g.e.kind === "gap") this.outgoing[g.e.b[j]].push(k, -1 - j);   // both ways
      }
    });
  }

  // a bundle from the side of block p that faces block q to q's facing side; onto itself: a loop over the block
  _bundle(p, q) {
    const pad = this.layout.box * 0.8;
    if (p === q) {
      const top = p.y - p.h / 2 - pad * 0.4;
      return {ax: p.x + p.w * 0.3, ay: top, cx: p.x, cy: top - Math.max(90, p.h * 0.45), bx: p.x - p.w * 0.3, by: top};
    }
    const right = q.x >= p.x ? 1 : -1;
    const ax = p.x + right * (p.w / 2 + pad), bx = q.x - right * (q.w / 2 + pad);
    const bend = right > 0 ? -50 : 70;   // forward bundles arch up, backward ones sag, so both show
    return {ax, ay: p.y, bx, by: q.y, cx: (ax + bx) / 2, cy: (p.y + q.y) / 2 + bend};
  }

  // weights: one array per edge (pA or nS); the first call fixes one scale per unit (the legend)
  setWeights(weights) {
    if (!weights) return;
    this.weights = weights;
    if (!this.wscale) {
      this.wscale = {};
      weights.forEach((w, k) => {
        const unit = this.layout.edges[k].unit || "pA";
        this.wscale[unit] = Math.max(this.wscale[unit] || 1e-9, ...w.map(Math.abs));
      });
    }
    this._staticDirty = true;
  }

  setLabels(pop, labels) {
    const k = this.pops.findIndex((p) => p.name === pop);
    this.labels = k >= 0 ? {k, values: labels} : null;
    this._staticDirty = true;
  }

  resize() {
    const dpr = window.devicePixelRatio || 1;
    for (const c of [this.cv.board, this.cv.raster, this.cv.trace]) {
      if (!c) continue;
      const r = c.getBoundingClientRect();
      c.width = Math.max(1, Math.round(r.width * dpr));
      c.height = Math.max(1, Math.round(r.height * dpr));
    }
    const c = this.cv.board, L = this.layout, margin = 1.08;
    this.scale = Math.min(c.width / (L.width * margin), c.height / (L.height * margin + 40 * dpr));
    this.ox = (c.width - L.width * this.scale) / 2;
    this.oy = (c.height - L.height * this.scale) / 2 + 20 * dpr;
    this.dpr = dpr;
    this._staticDirty = true;
    this._rasterClear();
  }

  // -- frames ----------------------------------------------------------------
  frame(f) {
    const now = this.clock();
    this.stats.frames++;
    if (f.weights) this.setWeights(f.weights);
    const hex = f.leds;
    for (let i = 0, m = Math.min(hex.length / 2, this.led.length); i < m; i++) {
      this.led[i] = parseInt(hex.substr(2 * i, 2), 16);
    }
    const span = Math.max(f.t - f.t0, 1e-6), decay = Math.exp(-span / RATE_TAU_MS);
    for (let i = 0; i < this.n; i++) this.rate[i] *= decay;
    const add = 1000 / RATE_TAU_MS;   // one spike adds 1/tau to a rate in Hz
    let clicks = 0;
    for (const s of f.spikes) {
      const p = this.pops[s.p];
      this.stats.spikes[p.name] += s.i.length;
      clicks += s.i.length;
      for (const id of s.i) {
        const node = p.offset + id;
        this.flashAt[node] = now;
        this.rate[node] += add;
        const out = this.outgoing[node];
        for (let k = 0; k < out.length; k += 2) this.pulses.push([out[k], out[k + 1], now]);
      }
      this.edges.forEach((g, k) => {    // bundles: a few pulses per frame, not one per spike
        if (g.bundle && g.e.pre === s.p) this.pulses.push([k, 0, now]);
      });
    }
    if (f.moods) {
      for (let i = 0, m = Math.min(f.moods.length, this.n); i < m; i++) {
        const c = f.moods.charCodeAt(i);
        this.mood[i] = c;
        if (c === 108) this.learnAt[i] = now;   // "l"
      }
    }
    if (this.pulses.length > MAX_PULSES) this.pulses.splice(0, this.pulses.length - MAX_PULSES);
    if (this.selected) {
      const key = this.selected.pop + "/" + this.selected.id;
      if (f.traces && f.traces[key]) for (const s of f.traces[key]) this.traceData.push(s);
      if (f.thresholds && f.thresholds[key] !== undefined) this.threshold = f.thresholds[key];
      const cut = f.t - TRACE_MS;
      while (this.traceData.length && this.traceData[0][0] < cut) this.traceData.shift();
    }
    if (this.audio && clicks) this._click(Math.min(clicks, MAX_CLICKS));
    this._raster(f);
    this.stats.t = f.t;
  }

  reset(t) {
    this.pulses = []; this.traceData = []; this.flashAt.fill(-1e9); this.learnAt.fill(-1e9); this.rate.fill(0);
    this.held.clear();
    this.stats.t = t || 0;
    this._rasterClear();
  }

  poked(pop, id) {
    const k = this.pops.findIndex((p) => p.name === pop);
    this.stats.pokes++;
    if (k >= 0 && id < this.pops[k].shown) this.ripples.push([this.pops[k].offset + id, this.clock()]);
  }

  select(pop, id) {
    const same = this.selected && pop !== null && this.selected.pop === pop && this.selected.id === id;
    this.selected = pop === null ? null : {pop, id};
    if (!same) { this.traceData = []; this.threshold = null; }
  }

  // -- levels of the animations (all in [0, 1]) --------------------------------
  flashLevel(i, now) { return lifeLeft(now, this.flashAt[i], FLASH_MS); }
  glow(i) { const r = this.rate[i]; return r > 0 ? r / (r + RATE_HALF_HZ) : 0; }
  // how far the LED of node i is driven towards white: the steady glow of its rate plus the flash of a spike
  whiteLevel(i, now) {
    const f = this.flashLevel(i, now), level = Math.min(1, 0.8 * this.glow(i) + 0.6 * f);
    if (f > this.stats.maxFlash) this.stats.maxFlash = f;
    if (level > this.stats.maxLevel) this.stats.maxLevel = level;
    return level;
  }

  // -- sound: a short click per spike (at most MAX_CLICKS a frame), off until enableSound(true) -------
  enableSound(on) {
    if (!on) { this.audio = null; return; }
    const ctx = new (window.AudioContext || window.webkitAudioContext)();
    const gain = ctx.createGain(); gain.gain.value = 0.15; gain.connect(ctx.destination);
    const noise = ctx.createBuffer(1, Math.round(ctx.sampleRate * 0.004), ctx.sampleRate);
    const d = noise.getChannelData(0);
    for (let i = 0; i < d.length; i++) d[i] = (Math.random() * 2 - 1) * (1 - i / d.length);
    this.audio = {ctx, gain, noise};
  }

  _click(count) {
    const {ctx, gain, noise} = this.audio;
    for (let k = 0; k < count; k++) {
      const src = ctx.createBufferSource();
      src.buffer = noise; src.connect(gain);
      src.start(ctx.currentTime + k * 0.033 / count);
    }
  }

  // -- input ------------------------------------------------------------------
  nodeAtScreen(px, py) {
    // the node under canvas pixel (px, py) (device pixels), or -1
    const wx = (px - this.ox) / this.scale, wy = (py - this.oy) / this.scale;
    const half = this.layout.box * 0.7;
    let best = -1, bestD = half * half;
    for (let i = 0; i < this.n; i++) {
      const dx = this.nx[i] - wx, dy = this.ny[i] - wy, d = dx * dx + dy * dy;
      if (d <= bestD) { best = i; bestD = d; }
    }
    return best;
  }

  // the drawn wire nearest canvas pixel (px, py), as {k: edge, j: synapse}, or null
  wireAtScreen(px, py) {
    const wx = (px - this.ox) / this.scale, wy = (py - this.oy) / this.scale;
    let best = null, bestD = (this.layout.box * 0.3) ** 2;
    this.edges.forEach((g, k) => {
      if (g.e.mode !== "wires") return;
      for (let j = 0; j < g.m; j++) {
        for (let s = 0; s <= 12; s++) {
          const u = s / 12, v = 1 - u;
          const x = v * v * g.ax[j] + 2 * v * u * g.cx[j] + u * u * g.bx[j];
          const y = v * v * g.ay[j] + 2 * v * u * g.cy[j] + u * u * g.by[j];
          const d = (x - wx) ** 2 + (y - wy) ** 2;
          if (d < bestD) { bestD = d; best = {k, j}; }
        }
      }
    });
    return best;
  }

  // the node (pop, id) of a layout node index
  where(node) { const p = this.pops[this.popOf[node]]; return {pop: p.name, id: node - p.offset, p}; }

  // the canvas position (device pixels) of the LED of neuron `id` of `pop`
  _ledXY(pop, id) {
    const k = this.pops.findIndex((p) => p.name === pop), node = this.pops[k].offset + id;
    const dy = this.boxes ? -0.2 * this.layout.box : 0;
    return [Math.round(this.ox + this.nx[node] * this.scale), Math.round(this.oy + (this.ny[node] + dy) * this.scale)];
  }

  // the RGB drawn at the LED of neuron `id` of `pop` (for tests)
  pixelOf(pop, id) {
    const [x, y] = this._ledXY(pop, id);
    return Array.from(this.cv.board.getContext("2d").getImageData(x, y, 1, 1).data.slice(0, 3));
  }

  // page coordinates (CSS pixels) of the centre of neuron `id` of `pop` (for tests and tours)
  nodeClientXY(pop, id) {
    const k = this.pops.findIndex((p) => p.name === pop);
    const node = this.pops[k].offset + id, r = this.cv.board.getBoundingClientRect();
    return {x: r.left + (this.ox + this.nx[node] * this.scale) / this.dpr,
            y: r.top + (this.oy + this.ny[node] * this.scale) / this.dpr};
  }

  _event(ev) {
    const r = this.cv.board.getBoundingClientRect();
    return [(ev.clientX - r.left) * this.dpr, (ev.clientY - r.top) * this.dpr];
  }

  _down(ev) {
    const [px, py] = this._event(ev);
    if (this.tool) {
      if (this.tool.kind === "cut" && this.tool.onWire) {
        const w = this.wireAtScreen(px, py);
        if (w) {
          const e = this.edges[w.k].e, a = this.where(e.a[w.j]), b = this.where(e.b[w.j]);
          this.tool.onWire(a.pop, a.id, b.pop, b.id);
        }
        return;
      }
      const node = this.nodeAtScreen(px, py);
      if (node >= 0) { const {pop, id} = this.where(node); this.tool.onNode(pop, id); }
      return;
    }
    const node = this.nodeAtScreen(px, py);
    if (node < 0) return;
    const {pop, id, p} = this.where(node);
    if (p.source) {   // a finger on an input: it fires, bursts while held; dragging draws across its neighbours
      ev.preventDefault();
      try { this.cv.board.setPointerCapture(ev.pointerId); } catch (err) { /* synthetic events */ }
      this._drag = {pop, k: this.popOf[node], last: node, ids: [id]};
      this.held.add(node);
      if (this.onTouch) this.onTouch(pop, id, true);
      return;
    }
    if (this.onSelect) this.onSelect(pop, id);
    if (!ev.shiftKey && this.onTouch) this.onTouch(pop, id, null);
  }

  _move(ev) {
    const d = this._drag;
    if (!d) return;
    const node = this.nodeAtScreen(...this._event(ev));
    if (node < 0 || node === d.last || this.popOf[node] !== d.k) return;
    const prev = this.where(d.last), next = this.where(node);
    this.held.delete(d.last);
    if (this.onTouch) { this.onTouch(prev.pop, prev.id, false); this.onTouch(next.pop, next.id, true); }
    this.held.add(node);
    d.last = node;
    if (!d.ids.includes(next.id)) d.ids.push(next.id);
  }

  _up() {
    const d = this._drag;
    if (!d) return;
    this._drag = null;
    const last = this.where(d.last);
    this.held.delete(d.last);
    if (this.onTouch) this.onTouch(last.pop, last.id, false);
    if (d.ids.length > 1 && this.onDraw) this.onDraw(d.pop, d.ids);
  }

  // -- drawing ----------------------------------------------------------------
  _world(ctx) { ctx.setTransform(this.scale, 0, 0, this.scale, this.ox, this.oy); }

  _drawStatic() {
    const c = this.cv.board;
    if (!this._static) this._static = document.createElement("canvas");
    const s = this._static;
    s.width = c.width; s.height = c.height;
    const ctx = s.getContext("2d");
    ctx.fillStyle = "#14161c"; ctx.fillRect(0, 0, s.width, s.height);
    this._world(ctx);
    const box = this.layout.box;
    const fontPx = 13 * this.dpr / this.scale;   // 13 CSS pixels whatever the zoom
    ctx.font = `${fontPx}px sans-serif`;
    ctx.textAlign = "center";
    const columns = this.pops.filter((p) => p.source).length;   // several input columns: names on two rows
    let k = 0;
    for (const p of this.pops) {   // population blocks and names
      ctx.fillStyle = "rgba(255,255,255,0.04)";
      ctx.strokeStyle = "rgba(255,255,255,0.10)";
      ctx.lineWidth = 1 / this.scale;
      if (p.shape === "ring") {
        ctx.beginPath(); ctx.arc(p.x, p.y, p.w / 2 - box / 2, 0, 2 * Math.PI); ctx.stroke();
      } else if (p.mode === "grid") {
        ctx.fillRect(p.x - p.w / 2 - 4, p.y - p.h / 2 - 4, p.w + 8, p.h + 8);
      }
      ctx.fillStyle = "#aab";
      const sample = p.stride > 1 ? `, every ${p.stride}th shown` : "";
      const row = p.source && columns > 1 ? k++ % 2 : 0;
      ctx.fillText(`${p.name} (${p.n}${sample})${p.source && columns === 1 ? " - touch me" : ""}`,
                   p.x, p.y + p.h / 2 + box * 0.75 + fontPx * (1 + 1.25 * row));
    }
    this.edges.forEach((g, k) => {   // wires: thickness and brightness from the current weights
      const e = g.e, col = WIRE_COLOURS[e.kind], w = this.weights[k] || [], sc = this.wscale[e.unit || "pA"] || 1;
      ctx.setLineDash(e.kind === "gap" ? [6, 5] : []);
      if (g.bundle) {
        const b = g.bundle, rel = Math.min(2, Math.abs(w[0] || 0) / sc);
        ctx.strokeStyle = `rgba(${col},${0.25 + 0.3 * rel / 2})`;
        ctx.lineWidth = 3 + 14 * rel / 2;
        ctx.beginPath(); ctx.moveTo(b.ax, b.ay); ctx.quadraticCurveTo(b.cx, b.cy, b.bx, b.by); ctx.stroke();
        const ang = Math.atan2(b.by - b.cy, b.bx - b.cx), hl = 14;   // an arrow head at its end
        ctx.fillStyle = ctx.strokeStyle;
        ctx.beginPath(); ctx.moveTo(b.bx, b.by);
        ctx.lineTo(b.bx - hl * Math.cos(ang - 0.45), b.by - hl * Math.sin(ang - 0.45));
        ctx.lineTo(b.bx - hl * Math.cos(ang + 0.45), b.by - hl * Math.sin(ang + 0.45)); ctx.fill();
        return;
      }
      for (let j = 0; j < g.m; j++) {
        const rel = Math.min(2, Math.abs(w[j] || 0) / sc);
        ctx.strokeStyle = `rgba(${col},${e.kind === "gap" ? 0.7 : 0.12 + 0.3 * rel})`;
        ctx.lineWidth = (0.5 + 2.5 * rel) * (box / 40);
        ctx.beginPath();
        if (e.a[j] === e.b[j]) {
          ctx.arc(g.ax[j] + box * 0.55, g.ay[j] - box * 0.55, box * 0.35, 0, 2 * Math.PI);
        } else {
          ctx.moveTo(g.ax[j], g.ay[j]); ctx.quadraticCurveTo(g.cx[j], g.cy[j], g.bx[j], g.by[j]);
        }
        ctx.stroke();
      }
    });
    ctx.setLineDash([]);
    for (let i = 0; i < this.n; i++) {   // the neuron boxes
      const p = this.pops[this.popOf[i]];
      if (p.mode !== "boxes") continue;
      const x = this.nx[i] - box / 2, y = this.ny[i] - box / 2;
      ctx.fillStyle = p.source ? "#3a3f4b" : "#e9e4d8";
      ctx.strokeStyle = "rgba(0,0,0,0.5)"; ctx.lineWidth = 1.5;
      ctx.beginPath(); ctx.roundRect(x, y, box, box, box * 0.18); ctx.fill(); ctx.stroke();
      ctx.fillStyle = "#111";
      ctx.beginPath(); ctx.arc(this.nx[i], this.ny[i] - box * 0.2, box * 0.2, 0, 2 * Math.PI); ctx.fill();
    }
    if (this.labels) {   // what each neuron has come to answer (a task's labels)
      const p = this.pops[this.labels.k];
      ctx.font = `bold ${box * 0.42}px sans-serif`; ctx.fillStyle = "#ffd54f"; ctx.textAlign = "left";
      this.labels.values.forEach((v, i) => {
        if (v >= 0 && i < p.shown) ctx.fillText(String(v), this.nx[p.offset + i] + box * 0.52, this.ny[p.offset + i] - box * 0.3);
      });
    }
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    this._legend(ctx);
    this._staticDirty = false;
  }

  // the scale of the wires: what a wire's thickness means
  _legend(ctx) {
    const dpr = this.dpr, x = 10 * dpr, y = 16 * dpr, box = this.layout.box;
    ctx.font = `${11 * dpr}px sans-serif`; ctx.textAlign = "left"; ctx.fillStyle = "#8890a0";
    let at = x;
    ctx.fillText("wire thickness = weight:", at, y); at += ctx.measureText("wire thickness = weight: ").width;
    for (const [unit, sc] of Object.entries(this.wscale || {})) {
      for (const rel of [0.5, 1, 2]) {
        ctx.strokeStyle = `rgba(${WIRE_COLOURS.exc},0.8)`;
        ctx.lineWidth = Math.max(1, (0.5 + 2.5 * rel) * (box / 40) * this.scale);
        ctx.beginPath(); ctx.moveTo(at, y - 4 * dpr); ctx.lineTo(at + 18 * dpr, y - 4 * dpr); ctx.stroke();
        at += 22 * dpr;
        const label = `${+(sc * rel).toPrecision(3)} ${unit}  `;
        ctx.fillText(label, at, y); at += ctx.measureText(label).width;
      }
    }
    ctx.fillStyle = `rgb(${WIRE_COLOURS.exc})`; ctx.fillText("excitatory", at, y); at += ctx.measureText("excitatory  ").width;
    ctx.fillStyle = `rgb(${WIRE_COLOURS.inh})`; ctx.fillText("inhibitory", at, y);
  }

  _gridCanvas(p) {
    const cols = Math.max(1, Math.ceil(Math.sqrt(p.shown))), rows = Math.ceil(p.shown / cols);
    const c = document.createElement("canvas");
    c.width = cols; c.height = rows;
    return {canvas: c, cols, rows, image: c.getContext("2d").createImageData(cols, rows)};
  }

  // a box's face for its mood: calm, tense near threshold, bright when it fires, tired after it, violet while
  // learning, crossed out while its unit is off
  _face(ctx, i, x, y, box, now) {
    const flash = this.flashLevel(i, now), m = this.mood[i];
    const mood = m === 120 ? "x" : flash > 0.25 ? "bright" : (now - this.learnAt[i] < LEARN_MS) ? "l"
      : (m === 114 || now - this.flashAt[i] < TIRED_MS) ? "r" : m === 116 ? "t" : "c";
    const ey = y + box * 0.1, ex = box * 0.14, my = y + box * 0.3, lw = box * 0.045;
    ctx.strokeStyle = ctx.fillStyle = "#2b2b33"; ctx.lineWidth = lw; ctx.lineCap = "round";
    const eye = (dx) => {
      const cx = x + dx;
      ctx.beginPath();
      if (mood === "bright") { ctx.arc(cx, ey, box * 0.065, 0, 2 * Math.PI); ctx.fill(); }
      else if (mood === "t") { ctx.arc(cx, ey, box * 0.035, 0, 2 * Math.PI); ctx.fill();
        ctx.beginPath(); ctx.moveTo(cx - box * 0.06, ey - box * 0.1 + (dx < 0 ? -box * 0.02 : box * 0.02));
        ctx.lineTo(cx + box * 0.06, ey - box * 0.1 + (dx < 0 ? box * 0.02 : -box * 0.02)); ctx.stroke(); }
      else if (mood === "r") { ctx.moveTo(cx - box * 0.06, ey + box * 0.01); ctx.lineTo(cx + box * 0.06, ey + box * 0.01); ctx.stroke(); }
      else if (mood === "l") { ctx.arc(cx, ey + box * 0.03, box * 0.055, Math.PI * 1.15, Math.PI * 1.85); ctx.stroke(); }
      else if (mood === "x") { const r = box * 0.05; ctx.moveTo(cx - r, ey - r); ctx.lineTo(cx + r, ey + r);
        ctx.moveTo(cx + r, ey - r); ctx.lineTo(cx - r, ey + r); ctx.stroke(); }
      else { ctx.arc(cx, ey, box * 0.045, 0, 2 * Math.PI); ctx.fill(); }
    };
    eye(-ex); eye(ex);
    ctx.beginPath();
    if (mood === "bright") { ctx.arc(x, my, box * 0.07, 0, 2 * Math.PI); ctx.fill(); }
    else if (mood === "t") { ctx.moveTo(x - box * 0.1, my); ctx.lineTo(x - box * 0.03, my - box * 0.03);
      ctx.lineTo(x + box * 0.03, my + box * 0.01); ctx.lineTo(x + box * 0.1, my - box * 0.02); ctx.stroke(); }
    else if (mood === "r" || mood === "x") { ctx.moveTo(x - box * 0.07, my); ctx.lineTo(x + box * 0.07, my); ctx.stroke(); }
    else { ctx.arc(x, my - box * 0.07, box * 0.1, Math.PI * 0.2, Math.PI * 0.8); ctx.stroke(); }
    if (mood === "l") {   // glowing violet while learning, as the physical LED
      ctx.strokeStyle = VIOLET; ctx.lineWidth = box * 0.08; ctx.globalAlpha = 0.8;
      ctx.beginPath(); ctx.roundRect(x - box * 0.56, y - box * 0.56, box * 1.12, box * 1.12, box * 0.22); ctx.stroke();
      ctx.globalAlpha = 1;
    }
    if (mood === "x") {
      ctx.fillStyle = "rgba(10,10,14,0.55)";
      ctx.beginPath(); ctx.roundRect(x - box / 2, y - box / 2, box, box, box * 0.18); ctx.fill();
    }
  }

  draw(now) {
    const c = this.cv.board, ctx = c.getContext("2d");
    if (this._staticDirty) this._drawStatic();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.drawImage(this._static, 0, 0);
    this._world(ctx);
    const box = this.layout.box;
    // LED grids of large populations: each LED towards white by its rate (a spike adds little), its colour
    // eased over GRID_EASE_MS so that thousands of membranes read as activity, not as static
    const ease = 1 - Math.exp(-Math.max(0, now - (this._lastDraw || now)) / GRID_EASE_MS);
    this._lastDraw = now;
    this.pops.forEach((p, k) => {
      const g = this._grids[k];
      if (!g) return;
      const d = g.image.data, shown = this.gridShown;
      for (let i = 0; i < p.shown; i++) {
        const node = p.offset + i, s = 3 * node;
        const w = Math.min(1, 0.8 * this.glow(node) + 0.25 * this.flashLevel(node, now));
        for (let ch = 0; ch < 3; ch++) {
          const target = this.led[s + ch] + (255 - this.led[s + ch]) * w;
          shown[s + ch] += (target - shown[s + ch]) * ease;
          d[4 * i + ch] = shown[s + ch];
        }
        d[4 * i + 3] = 255;
      }
      g.canvas.getContext("2d").putImageData(g.image, 0, 0);
      ctx.imageSmoothingEnabled = false;
      const pitch = p.w / g.cols;
      ctx.drawImage(g.canvas, p.x - p.w / 2, p.y - p.h / 2, g.cols * pitch, g.rows * pitch);
    });
    // light pulses along the wires
    let keep = 0;
    ctx.fillStyle = "rgba(255,250,220,0.95)";
    for (let q = 0; q < this.pulses.length; q++) {
      const pulse = this.pulses[q], left = lifeLeft(now, pulse[2], PULSE_MS);
      if (left <= 0 && now >= pulse[2]) continue;   // over
      this.pulses[keep++] = pulse;
      if (left <= 0) continue;                      // not started yet
      const u = 1 - left, g = this.edges[pulse[0]];
      let ax, ay, cx, cy, bx, by;
      if (g.bundle) {
        ({ax, ay, cx, cy, bx, by} = g.bundle);
      } else {
        const j = pulse[1] >= 0 ? pulse[1] : -1 - pulse[1], back = pulse[1] < 0;
        if (g.e.a[j] === g.e.b[j]) continue;
        ax = back ? g.bx[j] : g.ax[j]; ay = back ? g.by[j] : g.ay[j];
        bx = back ? g.ax[j] : g.bx[j]; by = back ? g.ay[j] : g.by[j];
        cx = g.cx[j]; cy = g.cy[j];
      }
      const v = 1 - u, x = v * v * ax + 2 * v * u * cx + u * u * bx, y = v * v * ay + 2 * v * u * cy + u * u * by;
      const r = box * (g.bundle ? 0.22 : 0.11);
      ctx.globalAlpha = 0.35; ctx.beginPath(); ctx.arc(x, y, r * 2.2, 0, 2 * Math.PI); ctx.fill();
      ctx.globalAlpha = 1; ctx.beginPath(); ctx.arc(x, y, r, 0, 2 * Math.PI); ctx.fill();
    }
    this.pulses.length = keep;
    // the boxes: LED with its glow, and the face
    for (let i = 0; i < this.n; i++) {
      const p = this.pops[this.popOf[i]];
      if (p.mode !== "boxes") continue;
      const s = 3 * i, x = this.nx[i], y = this.ny[i], ly = y - box * 0.2;
      const w = this.whiteLevel(i, now);
      const r = this.led[s] + (255 - this.led[s]) * w, gg = this.led[s + 1] + (255 - this.led[s + 1]) * w,
            b = this.led[s + 2] + (255 - this.led[s + 2]) * w;
      const dark = this.led[s] + this.led[s + 1] + this.led[s + 2] === 0 && w === 0;
      ctx.fillStyle = `rgb(${r | 0},${gg | 0},${b | 0})`;
      if (!dark) {
        ctx.globalAlpha = 0.2 + 0.45 * w;
        ctx.beginPath(); ctx.arc(x, ly, box * (0.3 + 0.35 * w), 0, 2 * Math.PI); ctx.fill();
        ctx.globalAlpha = 1;
      }
      ctx.beginPath(); ctx.arc(x, ly, box * 0.16, 0, 2 * Math.PI); ctx.fill();
      if (p.source) {
        if (this.held.has(i)) {
          ctx.strokeStyle = "#fff"; ctx.lineWidth = box * 0.06;
          ctx.beginPath(); ctx.roundRect(x - box * 0.55, y - box * 0.55, box * 1.1, box * 1.1, box * 0.2); ctx.stroke();
        }
      } else {
        this._face(ctx, i, x, y, box, now);
      }
    }
    // touch ripples and the selected neuron
    ctx.strokeStyle = "#fff";
    this.ripples = this.ripples.filter(([node, t0]) => {
      const left = lifeLeft(now, t0, RIPPLE_MS);
      if (left <= 0) return now < t0;
      ctx.globalAlpha = left; ctx.lineWidth = 3 / this.scale * this.dpr;
      ctx.beginPath(); ctx.arc(this.nx[node], this.ny[node], box * (1.5 - left), 0, 2 * Math.PI); ctx.stroke();
      return true;
    });
    ctx.globalAlpha = 1;
    if (this.selected) {
      const k = this.pops.findIndex((p) => p.name === this.selected.pop);
      if (k >= 0 && this.selected.id < this.pops[k].shown) {
        const node = this.pops[k].offset + this.selected.id;
        ctx.strokeStyle = "#ffd54f"; ctx.lineWidth = 2.5 / this.scale * this.dpr;
        ctx.strokeRect(this.nx[node] - box * 0.68, this.ny[node] - box * 0.68, box * 1.36, box * 1.36);
      }
    }
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    if (this.cv.raster) this._rasterBlit();
    if (this.cv.trace) this._trace();
  }

  // a population's colour: the one neurobox.viz.style gives its role (hello.colours), else the palette's
  popColour(k) {
    const c = this.hello && this.hello.colours;
    return (c && c[k]) || PALETTE[k % PALETTE.length];
  }

  // -- raster: a scrolling image, new spikes drawn as frames arrive -------------
  _rasterClear() {
    const r = this.cv.raster;
    if (!r) return;
    if (!this._rasterImg) this._rasterImg = document.createElement("canvas");
    this._rasterImg.width = r.width; this._rasterImg.height = r.height;
    this._rasterT = null;
  }

  _raster(f) {
    const img = this._rasterImg;
    if (!img) return;
    const ctx = img.getContext("2d"), W = img.width, H = img.height, pxPerMs = W / RASTER_MS;
    if (this._rasterT === null || f.t < this._rasterT) this._rasterT = f.t0;
    const shift = Math.round((f.t - this._rasterT) * pxPerMs);
    if (shift > 0) {
      ctx.globalCompositeOperation = "copy";
      ctx.drawImage(img, -shift, 0);
      ctx.globalCompositeOperation = "source-over";
      this._rasterT += shift / pxPerMs;
    }
    const rowH = H / Math.max(1, this.rasterTotal), dot = Math.max(1.5, Math.min(4, rowH));
    for (const s of f.spikes) {
      const rr = this.rasterRows[s.p];
      ctx.fillStyle = this.popColour(s.p);
      for (let k = 0; k < s.i.length; k++) {
        if (s.i[k] >= rr.count) continue;
        const x = W - (this._rasterT - s.t[k]) * pxPerMs, y = (rr.first + s.i[k] + 0.5) * rowH;
        ctx.fillRect(x - dot / 2, y - dot / 2, dot, dot);
      }
    }
  }

  _rasterBlit() {
    const r = this.cv.raster, ctx = r.getContext("2d");
    ctx.fillStyle = "#0e1014"; ctx.fillRect(0, 0, r.width, r.height);
    const rowH = r.height / Math.max(1, this.rasterTotal);
    this.rasterRows.forEach((rr, k) => {   // population bands
      if (k % 2) { ctx.fillStyle = "rgba(255,255,255,0.03)"; ctx.fillRect(0, rr.first * rowH, r.width, rr.count * rowH); }
    });
    if (this._rasterImg) ctx.drawImage(this._rasterImg, 0, 0);
    ctx.fillStyle = "#8890a0"; ctx.font = `${11 * this.dpr}px sans-serif`; ctx.textAlign = "left";
    this.pops.forEach((p, k) => {
      ctx.fillStyle = this.popColour(k);
      const rr = this.rasterRows[k], part = rr.count < p.n ? ` (${rr.count} of ${p.n})` : "";
      ctx.fillText(p.name + part, 4 * this.dpr, Math.min(r.height - 2, (rr.first + rr.count / 2) * rowH + 4 * this.dpr));
    });
    ctx.fillStyle = "#8890a0"; ctx.textAlign = "right";
    ctx.fillText(`last ${RASTER_MS / 1000} s`, r.width - 4 * this.dpr, r.height - 4 * this.dpr);
  }

  _trace() {
    const c = this.cv.trace, ctx = c.getContext("2d"), W = c.width, H = c.height;
    ctx.fillStyle = "#0e1014"; ctx.fillRect(0, 0, W, H);
    ctx.font = `${11 * this.dpr}px sans-serif`; ctx.fillStyle = "#8890a0"; ctx.textAlign = "left";
    if (!this.selected) {
      ctx.fillText("click a neuron to poke it and see its membrane (shift-click: just look)", 6 * this.dpr, 16 * this.dpr);
      return;
    }
    const k = this.pops.findIndex((p) => p.name === this.selected.pop);
    const vr = (this.hello.voltage_range || [])[k] || [-70, -55, -70];
    const th = this.threshold === null ? vr[1] : this.threshold;
    const lo = Math.min(vr[0], vr[2]) - 25, hi = Math.max(vr[1], th) + 10, t1 = this.stats.t, t0 = t1 - TRACE_MS;
    const X = (t) => (t - t0) / TRACE_MS * W, Y = (v) => H - (Math.min(hi, Math.max(lo, v)) - lo) / (hi - lo) * H;
    ctx.strokeStyle = "rgba(239,111,108,0.6)"; ctx.setLineDash([4, 4]);
    ctx.beginPath(); ctx.moveTo(0, Y(th)); ctx.lineTo(W, Y(th)); ctx.stroke(); ctx.setLineDash([]);
    ctx.strokeStyle = "#9ccc65"; ctx.lineWidth = 1.5 * this.dpr; ctx.beginPath();
    this.traceData.forEach(([t, v], i) => { if (i) ctx.lineTo(X(t), Y(v)); else ctx.moveTo(X(t), Y(v)); });
    ctx.stroke();
    const last = this.traceData[this.traceData.length - 1];
    const adaptive = Math.abs(th - vr[1]) > 0.05 ? ` = V_th ${vr[1]} + theta ${(th - vr[1]).toFixed(1)}` : "";
    ctx.fillText(`${this.selected.pop}[${this.selected.id}]  V_m ${last ? last[1].toFixed(1) : "?"} mV  ` +
                 `(threshold ${th.toFixed(1)} mV${adaptive})`, 6 * this.dpr, 14 * this.dpr);
  }
}

window.NeuroBoard = NeuroBoard;
window.lifeLeft = lifeLeft;
