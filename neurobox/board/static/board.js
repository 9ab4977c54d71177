// neurobox board: draws a network as neuron boxes with LEDs (or LED grids),
// wires whose thickness is the weight, spikes as light pulses along the
// wires, a live raster and the selected neuron's membrane trace.
// Plain JS on canvas; fed by live.js (WebSocket) or replay.js (embedded run).
"use strict";

const PULSE_MS = 320;        // wall time a light pulse takes along a wire, ms
const FLASH_MS = 180;        // wall time of the white flash after a spike, ms
const MAX_PULSES = 1500;     // light pulses in flight at most
const RASTER_MS = 2000;      // biological time shown by the raster, ms
const TRACE_MS = 1000;       // biological time shown by the membrane trace, ms
const RASTER_ROWS = 200;     // neurons shown in the raster at most (the first ones of each population)
const PALETTE = ["#f5b942", "#4fc3f7", "#ef6f6c", "#9ccc65", "#ba68c8", "#ffd54f", "#4db6ac", "#f06292"];
const WIRE_COLOURS = {exc: "255,176,70", inh: "100,160,255", gap: "120,230,150"};

class NeuroBoard {
  // canvases: {board, raster, trace}; hello: the server's hello message (layout, weights...)
  constructor(canvases, hello) {
    this.cv = canvases;
    this.onPoke = null;          // (pop, id) => void, set by the driver
    this.onSelect = null;        // (pop, id) => void
    this.stats = {frames: 0, spikes: {}, t: hello.t, rafFrames: 0, pokes: 0};
    this.load(hello);
    this.cv.board.addEventListener("pointerdown", (ev) => this._pointer(ev));
    new ResizeObserver(() => this.resize()).observe(this.cv.board);
    this.resize();
    const loop = (now) => { this.stats.rafFrames++; this.draw(now); requestAnimationFrame(loop); };
    requestAnimationFrame(loop);
  }

  load(hello) {
    const L = hello.layout;
    this.hello = hello;
    this.layout = L;
    this.pops = L.populations;
    this.nx = Float32Array.from(L.nodes.x);
    this.ny = Float32Array.from(L.nodes.y);
    const n = this.nx.length;
    this.n = n;
    this.popOf = new Int32Array(n);
    this.pops.forEach((p, k) => { for (let i = 0; i < p.shown; i++) this.popOf[p.offset + i] = k; });
    this.led = new Uint8Array(3 * n);
    for (let i = 0; i < n; i++) { this.led[3 * i + 1] = this.pops[this.popOf[i]].source ? 24 : 255; }
    this.flashAt = new Float64Array(n).fill(-1e9);
    this.pulses = [];
    this.ripples = [];
    this.selected = null;
    this.traceData = [];
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
    this.setWeights(hello.weights, true);
    this._grids = this.pops.map((p) => p.mode === "grid" ? this._gridCanvas(p) : null);
    this._rasterClear();
  }

  _buildWires() {
    // wire geometry (world units): start a, control c, end b, per drawn synapse
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
      if (e.mode === "bundle") {
        const p = this.pops[e.pre], q = this.pops[e.post];
        g.bundle = {ax: p.x, ay: p.y, bx: q.x, by: q.y};
        if (e.pre === e.post) { g.bundle = {ax: p.x + p.w / 2, ay: p.y - p.h / 4, bx: p.x + p.w / 2, by: p.y + p.h / 4}; }
      }
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

  // weights: one array per edge (pA or nS); the first call fixes each edge's scale
  setWeights(weights, first) {
    if (!weights) return;
    this.weights = weights;
    if (first || !this.wscale) {
      this.wscale = weights.map((w) => Math.max(1e-9, ...w.map(Math.abs)));
    }
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
    const c = this.cv.board, L = this.layout;
    this.scale = Math.min(c.width / L.width, c.height / L.height);
    this.ox = (c.width - L.width * this.scale) / 2;
    this.oy = (c.height - L.height * this.scale) / 2;
    this.dpr = dpr;
    this._staticDirty = true;
    this._rasterClear();
  }

  // -- frames ----------------------------------------------------------------
  frame(f, now) {
    now = now === undefined ? performance.now() : now;
    this.stats.frames++;
    if (f.weights) this.setWeights(f.weights, false);
    const hex = f.leds;
    for (let i = 0, m = Math.min(hex.length / 2, this.led.length); i < m; i++) {
      this.led[i] = parseInt(hex.substr(2 * i, 2), 16);
    }
    this._gridsDirty = true;
    for (const s of f.spikes) {
      const p = this.pops[s.p];
      this.stats.spikes[p.name] += s.i.length;
      for (const id of s.i) {
        const node = p.offset + id;
        this.flashAt[node] = now;
        const out = this.outgoing[node];
        for (let k = 0; k < out.length; k += 2) this.pulses.push([out[k], out[k + 1], now]);
      }
      this.edges.forEach((g, k) => {    // bundles: a few pulses per frame, not one per spike
        if (g.bundle && g.e.pre === s.p) this.pulses.push([k, 0, now]);
      });
    }
    if (this.pulses.length > MAX_PULSES) this.pulses.splice(0, this.pulses.length - MAX_PULSES);
    if (this.selected && f.traces) {
      const key = this.selected.pop + "/" + this.selected.id;
      if (f.traces[key]) for (const s of f.traces[key]) this.traceData.push(s);
      const cut = f.t - TRACE_MS;
      while (this.traceData.length && this.traceData[0][0] < cut) this.traceData.shift();
    }
    this._raster(f);
    this.stats.t = f.t;
  }

  reset(t) {
    this.pulses = []; this.traceData = []; this.flashAt.fill(-1e9);
    this.stats.t = t || 0;
    this._rasterClear();
  }

  poked(pop, id, now) {
    const k = this.pops.findIndex((p) => p.name === pop);
    this.stats.pokes++;
    if (k >= 0 && id < this.pops[k].shown) this.ripples.push([this.pops[k].offset + id, now || performance.now()]);
  }

  select(pop, id) {
    const same = this.selected && pop !== null && this.selected.pop === pop && this.selected.id === id;
    this.selected = pop === null ? null : {pop, id};
    if (!same) this.traceData = [];
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

  // the RGB drawn at the centre of neuron `id` of `pop` (for tests)
  pixelOf(pop, id) {
    const k = this.pops.findIndex((p) => p.name === pop), node = this.pops[k].offset + id;
    const x = Math.round(this.ox + this.nx[node] * this.scale), y = Math.round(this.oy + this.ny[node] * this.scale);
    return Array.from(this.cv.board.getContext("2d").getImageData(x, y, 1, 1).data.slice(0, 3));
  }

  // page coordinates (CSS pixels) of the centre of neuron `id` of `pop` (for tests and tours)
  nodeClientXY(pop, id) {
    const k = this.pops.findIndex((p) => p.name === pop);
    const node = this.pops[k].offset + id, r = this.cv.board.getBoundingClientRect();
    return {x: r.left + (this.ox + this.nx[node] * this.scale) / this.dpr,
            y: r.top + (this.oy + this.ny[node] * this.scale) / this.dpr};
  }

  _pointer(ev) {
    const r = this.cv.board.getBoundingClientRect();
    const node = this.nodeAtScreen((ev.clientX - r.left) * this.dpr, (ev.clientY - r.top) * this.dpr);
    if (node < 0) return;
    const p = this.pops[this.popOf[node]], id = node - p.offset;
    if (!p.source && this.onSelect) this.onSelect(p.name, id);
    if (!ev.shiftKey && this.onPoke) this.onPoke(p.name, id);
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
      ctx.fillText(`${p.name} (${p.n}${p.shown < p.n ? ", " + p.shown + " shown" : ""})`,
                   p.x, p.y - p.h / 2 - box * 0.55 - fontPx * 0.3);
    }
    this.edges.forEach((g, k) => {   // wires: thickness from the current weights
      const e = g.e, col = WIRE_COLOURS[e.kind], w = this.weights[k] || [], sc = this.wscale[k] || 1;
      ctx.strokeStyle = `rgba(${col},${e.kind === "gap" ? 0.7 : 0.32})`;
      ctx.setLineDash(e.kind === "gap" ? [6, 5] : []);
      if (g.bundle) {
        const b = g.bundle, width = 2 + 14 * Math.min(2, Math.abs(w[0] || 0) / sc);
        ctx.lineWidth = width;
        ctx.beginPath(); ctx.moveTo(b.ax, b.ay);
        ctx.quadraticCurveTo((b.ax + b.bx) / 2, (b.ay + b.by) / 2 - (e.pre === e.post ? 0 : 40), b.bx, b.by);
        ctx.stroke();
        return;
      }
      for (let j = 0; j < g.m; j++) {
        ctx.lineWidth = (0.6 + 4.4 * Math.min(2, Math.abs(w[j] || 0) / sc) / 2) * (box / 40);
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
      ctx.beginPath(); ctx.arc(this.nx[i], this.ny[i], box * 0.3, 0, 2 * Math.PI); ctx.fill();
    }
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    this._staticDirty = false;
  }

  _gridCanvas(p) {
    const cols = Math.max(1, Math.ceil(Math.sqrt(p.shown))), rows = Math.ceil(p.shown / cols);
    const c = document.createElement("canvas");
    c.width = cols; c.height = rows;
    return {canvas: c, cols, rows, image: c.getContext("2d").createImageData(cols, rows)};
  }

  draw(now) {
    const c = this.cv.board, ctx = c.getContext("2d");
    if (this._staticDirty) this._drawStatic();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.drawImage(this._static, 0, 0);
    this._world(ctx);
    const box = this.layout.box;
    // LED grids of large populations
    this.pops.forEach((p, k) => {
      const g = this._grids[k];
      if (!g) return;
      if (this._gridsDirty) {
        const d = g.image.data;
        for (let i = 0; i < p.shown; i++) {
          const s = 3 * (p.offset + i);
          d[4 * i] = this.led[s]; d[4 * i + 1] = this.led[s + 1]; d[4 * i + 2] = this.led[s + 2]; d[4 * i + 3] = 255;
        }
        g.canvas.getContext("2d").putImageData(g.image, 0, 0);
      }
      ctx.imageSmoothingEnabled = false;
      const pitch = p.w / g.cols;
      ctx.drawImage(g.canvas, p.x - p.w / 2, p.y - p.h / 2, g.cols * pitch, g.rows * pitch);
    });
    this._gridsDirty = false;
    // light pulses along the wires
    let keep = 0;
    ctx.fillStyle = "rgba(255,250,220,0.95)";
    for (let q = 0; q < this.pulses.length; q++) {
      const pulse = this.pulses[q], u = (now - pulse[2]) / PULSE_MS;
      if (u >= 1) continue;
      this.pulses[keep++] = pulse;
      if (u < 0) continue;
      const g = this.edges[pulse[0]];
      let ax, ay, cx, cy, bx, by;
      if (g.bundle) {
        const b = g.bundle;
        ax = b.ax; ay = b.ay; bx = b.bx; by = b.by; cx = (ax + bx) / 2; cy = (ay + by) / 2 - (g.e.pre === g.e.post ? 0 : 40);
      } else {
        const j = pulse[1] >= 0 ? pulse[1] : -1 - pulse[1], back = pulse[1] < 0;
        ax = back ? g.bx[j] : g.ax[j]; ay = back ? g.by[j] : g.ay[j];
        bx = back ? g.ax[j] : g.bx[j]; by = back ? g.ay[j] : g.by[j];
        cx = g.cx[j]; cy = g.cy[j];
        if (g.e.a[j] === g.e.b[j]) continue;
      }
      const v = 1 - u, x = v * v * ax + 2 * v * u * cx + u * u * bx, y = v * v * ay + 2 * v * u * cy + u * u * by;
      const r = box * (g.bundle ? 0.22 : 0.11);
      ctx.globalAlpha = 0.35; ctx.beginPath(); ctx.arc(x, y, r * 2.2, 0, 2 * Math.PI); ctx.fill();
      ctx.globalAlpha = 1; ctx.beginPath(); ctx.arc(x, y, r, 0, 2 * Math.PI); ctx.fill();
    }
    this.pulses.length = keep;
    // LEDs with their glow, and the white flash of a spike
    for (let i = 0; i < this.n; i++) {
      const p = this.pops[this.popOf[i]];
      if (p.mode !== "boxes") continue;
      const s = 3 * i, x = this.nx[i], y = this.ny[i];
      const flash = Math.max(0, 1 - (now - this.flashAt[i]) / FLASH_MS);
      const r = this.led[s] + (255 - this.led[s]) * flash, gg = this.led[s + 1] + (255 - this.led[s + 1]) * flash,
            b = this.led[s + 2] + (255 - this.led[s + 2]) * flash;
      const col = `rgb(${r | 0},${gg | 0},${b | 0})`;
      ctx.fillStyle = col;
      ctx.globalAlpha = 0.25 + 0.4 * flash;
      ctx.beginPath(); ctx.arc(x, y, box * (0.42 + 0.35 * flash), 0, 2 * Math.PI); ctx.fill();
      ctx.globalAlpha = 1;
      ctx.beginPath(); ctx.arc(x, y, box * 0.22, 0, 2 * Math.PI); ctx.fill();
    }
    // poke ripples and the selected neuron
    ctx.strokeStyle = "#fff";
    this.ripples = this.ripples.filter(([node, t0]) => {
      const u = (now - t0) / 500;
      if (u >= 1 || u < 0) return u < 0;
      ctx.globalAlpha = 1 - u; ctx.lineWidth = 3 / this.scale * this.dpr;
      ctx.beginPath(); ctx.arc(this.nx[node], this.ny[node], box * (0.5 + u), 0, 2 * Math.PI); ctx.stroke();
      return true;
    });
    ctx.globalAlpha = 1;
    if (this.selected) {
      const k = this.pops.findIndex((p) => p.name === this.selected.pop);
      if (k >= 0 && this.selected.id < this.pops[k].shown) {
        const node = this.pops[k].offset + this.selected.id;
        ctx.strokeStyle = "#ffd54f"; ctx.lineWidth = 2.5 / this.scale * this.dpr;
        ctx.strokeRect(this.nx[node] - box * 0.62, this.ny[node] - box * 0.62, box * 1.24, box * 1.24);
      }
    }
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    if (this.cv.raster) this._rasterBlit();
    if (this.cv.trace) this._trace();
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
      ctx.fillStyle = PALETTE[s.p % PALETTE.length];
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
      ctx.fillStyle = PALETTE[k % PALETTE.length];
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
    if (!this.selected) { ctx.fillText("click a neuron to poke it and see its membrane (shift-click: just look)", 6 * this.dpr, 16 * this.dpr); return; }
    const k = this.pops.findIndex((p) => p.name === this.selected.pop);
    const vr = (this.hello.voltage_range || [])[k] || [-70, -55, -70];
    const lo = Math.min(vr[0], vr[2]) - 25, hi = vr[1] + 10, t1 = this.stats.t, t0 = t1 - TRACE_MS;
    const X = (t) => (t - t0) / TRACE_MS * W, Y = (v) => H - (Math.min(hi, Math.max(lo, v)) - lo) / (hi - lo) * H;
    ctx.strokeStyle = "rgba(239,111,108,0.6)"; ctx.setLineDash([4, 4]);
    ctx.beginPath(); ctx.moveTo(0, Y(vr[1])); ctx.lineTo(W, Y(vr[1])); ctx.stroke(); ctx.setLineDash([]);
    ctx.strokeStyle = "#9ccc65"; ctx.lineWidth = 1.5 * this.dpr; ctx.beginPath();
    this.traceData.forEach(([t, v], i) => { if (i) ctx.lineTo(X(t), Y(v)); else ctx.moveTo(X(t), Y(v)); });
    ctx.stroke();
    const last = this.traceData[this.traceData.length - 1];
    ctx.fillText(`${this.selected.pop}[${this.selected.id}]  V_m ${last ? last[1].toFixed(1) : "?"} mV  (threshold ${vr[1]} mV)`,
                 6 * this.dpr, 14 * this.dpr);
  }
}

window.NeuroBoard = NeuroBoard;
