// neurobox board: the vehicle's arena (neurobox.board.vehicle), drawn from the task state each frame
// carries: the round wall, the obstacles, the light, the vehicle with its heading, light sensors and
// whiskers, its recent path. On the live board (onDrag set) the light and the obstacles follow a finger or
// the mouse; where one is let go, the server moves it (or refuses, and it springs back).
"use strict";

class ArenaView {
  constructor(canvas) {
    this.canvas = canvas;
    this.state = null;
    this.held = null;                    // what a finger drags: {what, index, x, y} (mm)
    this.onDrag = null;                  // (what, index, x_mm, y_mm) => void; null: nothing can be dragged
    this.stats = {draws: 0, sent: 0};
    this.lastSent = 0;
    canvas.addEventListener("pointerdown", (ev) => this._down(ev));
    canvas.addEventListener("pointermove", (ev) => this._move(ev));
    canvas.addEventListener("pointerup", (ev) => this._up(ev));
    canvas.addEventListener("pointercancel", (ev) => this._up(ev));
  }

  show(state) {
    this.state = state;
    this.draw();
  }

  // -- millimetres (y up) and the canvas's CSS pixels (y down) ---------------------------
  _k() { return (this.canvas.clientWidth - 2 * ArenaView.PAD) / (2 * this.state.arena.radius); }
  toPx(x, y) {
    const k = this._k(), r = this.state.arena.radius;
    return [ArenaView.PAD + x * k, ArenaView.PAD + (2 * r - y) * k];
  }
  toMm(px, py) {
    const k = this._k(), r = this.state.arena.radius;
    return [(px - ArenaView.PAD) / k, 2 * r - (py - ArenaView.PAD) / k];
  }
  // where a place of the arena (mm) is on the screen, for tests and tools
  clientXY(x, y) {
    const box = this.canvas.getBoundingClientRect(), [px, py] = this.toPx(x, y);
    return {x: box.left + px, y: box.top + py};
  }

  // -- dragging ----------------------------------------------------------------------------
  _at(ev) {
    const box = this.canvas.getBoundingClientRect();
    return this.toMm(ev.clientX - box.left, ev.clientY - box.top);
  }

  _pick(x, y) {
    const s = this.state, grip = Math.max(30, 14 / this._k());     // mm: at least 14 px around the light
    if (Math.hypot(x - s.light[0], y - s.light[1]) <= grip) return {what: "light", index: null};
    for (let i = s.obstacles.length - 1; i >= 0; i--) {
      const [ox, oy, r] = s.obstacles[i];
      if (Math.hypot(x - ox, y - oy) <= r + 10) return {what: "obstacle", index: i};
    }
    return null;
  }

  // the place (mm) nearest to (x, y) where the held thing lies inside the wall
  _inside(x, y) {
    const s = this.state, r = s.arena.radius, h = this.held;
    const room = r - (h.what === "obstacle" ? s.obstacles[h.index][2] : 0) - 1;
    const dx = x - r, dy = y - r, d = Math.hypot(dx, dy);
    return d <= room ? [x, y] : [r + dx * room / d, r + dy * room / d];
  }

  _send(force) {
    const now = performance.now(), h = this.held;
    if (!force && now - this.lastSent < ArenaView.SEND_MS) return;
    this.lastSent = now;
    this.stats.sent++;
    this.onDrag(h.what, h.index, Math.round(h.x * 10) / 10, Math.round(h.y * 10) / 10);
  }

  _down(ev) {
    if (!this.onDrag || !this.state) return;
    const [x, y] = this._at(ev), hit = this._pick(x, y);
    if (!hit) return;
    ev.preventDefault();
    this.canvas.setPointerCapture(ev.pointerId);
    this.held = {...hit, x, y};
    this.canvas.classList.add("dragging");
  }

  _move(ev) {
    if (!this.held) {
      if (this.onDrag && this.state) {
        const [x, y] = this._at(ev);
        this.canvas.style.cursor = this._pick(x, y) ? "grab" : "default";
      }
      return;
    }
    [this.held.x, this.held.y] = this._inside(...this._at(ev));
    this._send(false);
    this.draw();
  }

  _up(ev) {
    if (!this.held) return;
    [this.held.x, this.held.y] = this._inside(...this._at(ev));
    this._send(true);
    this.held = null;
    this.canvas.classList.remove("dragging");
    this.draw();
  }

  // -- drawing -----------------------------------------------------------------------------
  draw() {
    const s = this.state, c = this.canvas;
    if (!s) return;
    const dpr = window.devicePixelRatio || 1, w = c.clientWidth;
    if (c.width !== Math.round(w * dpr)) { c.width = Math.round(w * dpr); c.height = Math.round(w * dpr); }
    const ctx = c.getContext("2d"), k = this._k(), a = s.arena, r = a.radius;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = "#12141a"; ctx.fillRect(0, 0, w, w);
    const P = (x, y) => this.toPx(x, y);
    const disc = (x, y, rad) => { ctx.beginPath(); ctx.arc(...P(x, y), rad * k, 0, 2 * Math.PI); };
    let light = s.light, obstacles = s.obstacles;
    const h = this.held;
    if (h && h.what === "light") light = [h.x, h.y];
    if (h && h.what === "obstacle") obstacles = obstacles.map((o, i) => (i === h.index ? [h.x, h.y, o[2]] : o));
    // the floor, lit by the lamp in it, and the wall
    disc(r, r, r);
    ctx.fillStyle = "#171a22"; ctx.fill();
    ctx.save(); ctx.clip();
    const [lx, ly] = P(...light), glow = ctx.createRadialGradient(lx, ly, 0, lx, ly, 420 * k);
    glow.addColorStop(0, "rgba(255,213,79,0.45)"); glow.addColorStop(1, "rgba(255,213,79,0)");
    ctx.fillStyle = glow; ctx.fillRect(0, 0, w, w);
    ctx.restore();
    disc(r, r, r);
    ctx.strokeStyle = "#8890a0"; ctx.lineWidth = 3; ctx.stroke();
    obstacles.forEach(([x, y, rad], i) => {
      disc(x, y, rad);
      ctx.fillStyle = h && h.what === "obstacle" && h.index === i ? "#5d6678" : "#474d5c"; ctx.fill();
      ctx.strokeStyle = "#6b7386"; ctx.lineWidth = 1.5; ctx.stroke();
    });
    // the light: where the vehicle would reach it, and the lamp
    disc(light[0], light[1], a.reach_mm);
    ctx.setLineDash([4, 4]); ctx.strokeStyle = "rgba(255,213,79,0.5)"; ctx.lineWidth = 1; ctx.stroke(); ctx.setLineDash([]);
    ctx.beginPath(); ctx.arc(lx, ly, Math.max(6, 18 * k), 0, 2 * Math.PI);
    ctx.fillStyle = "#ffd54f"; ctx.fill(); ctx.strokeStyle = "#fff3c4"; ctx.lineWidth = 2; ctx.stroke();
    // the recent path, fading into the past
    const path = s.path || [];
    for (let i = 1; i < path.length; i++) {
      ctx.strokeStyle = `rgba(79,195,247,${(0.08 + 0.6 * i / path.length).toFixed(3)})`; ctx.lineWidth = 2;
      ctx.beginPath(); ctx.moveTo(...P(...path[i - 1])); ctx.lineTo(...P(...path[i])); ctx.stroke();
    }
    this._vehicle(ctx, s, P, k);
    this.stats.draws++;
  }

  _vehicle(ctx, s, P, k) {
    const a = s.arena, [x, y, th] = s.pose, b = a.body_radius, read = s.readings;
    const at = (angle, dist) => [x + dist * Math.cos(th + angle), y + dist * Math.sin(th + angle)];
    // whiskers: red where they touch something
    for (const [side, name] of [[1, "whisker_left"], [-1, "whisker_right"]]) {
      if (!s.sensors.includes(name)) continue;
      const v = read[name];
      ctx.strokeStyle = v > 0 ? `rgba(239,111,108,${0.5 + 0.5 * v})` : "rgba(200,205,215,0.35)";
      ctx.lineWidth = 1.5; ctx.beginPath();
      ctx.moveTo(...P(...at(side * a.whisker_angle, b))); ctx.lineTo(...P(...at(side * a.whisker_angle, b + a.whisker_mm)));
      ctx.stroke();
    }
    // the body, its wheels (brighter the faster) and the heading
    const speeds = s.speeds_mm_s, top = Math.max(1, ...speeds, 200);
    for (const [side, v] of [[1, speeds[0]], [-1, speeds[1]]]) {
      const [wx, wy] = P(...at(side * Math.PI / 2, b));
      ctx.save(); ctx.translate(wx, wy); ctx.rotate(-th);
      ctx.fillStyle = `rgb(${60 + 150 * v / top},${80 + 170 * v / top},${90 + 40 * v / top})`;
      ctx.fillRect(-14 * k, -5 * k, 28 * k, 10 * k);
      ctx.restore();
    }
    ctx.beginPath(); ctx.arc(...P(x, y), b * k, 0, 2 * Math.PI);
    ctx.fillStyle = "#2b6c8f"; ctx.fill(); ctx.strokeStyle = "#9fd8f5"; ctx.lineWidth = 2; ctx.stroke();
    ctx.beginPath(); ctx.moveTo(...P(x, y)); ctx.lineTo(...P(...at(0, b)));
    ctx.strokeStyle = "#e8f6ff"; ctx.lineWidth = 2.5; ctx.stroke();
    // the light sensors on the body's edge: as bright as their readings
    for (const [side, name] of [[1, "light_left"], [-1, "light_right"]]) {
      if (!s.sensors.includes(name)) continue;
      const v = Math.min(1, read[name] * 2);
      ctx.beginPath(); ctx.arc(...P(...at(side * a.sensor_angle, b)), Math.max(3, 8 * k), 0, 2 * Math.PI);
      ctx.fillStyle = `rgb(${90 + 165 * v},${90 + 123 * v},${60 + 19 * v})`; ctx.fill();
    }
  }
}

ArenaView.PAD = 6;        // CSS px around the wall
ArenaView.SEND_MS = 40;   // a dragged thing's place goes to the server at most this often, ms

window.ArenaView = ArenaView;
