// neurobox board, live: connects the page to the board server's WebSocket,
// feeds frames to the NeuroBoard and the task overlay, and sends the user's
// touches, drawings, drags (the vehicle's arena) and controls. Keys: space pause/play, S step, W reward,
// L learning, T twin, M sound, + and - speed, Esc drops a fault tool, ? guide.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const SPEEDS = [];                       // slider positions -> x real time; the last one is "max"
  for (let k = 0; k <= 20; k++) SPEEDS.push(+Math.pow(10, (k - 10) / 10).toPrecision(2));
  SPEEDS.push("max");
  let ws = null, board = null, overlay = null, state = null, hello = null;

  function send(msg) { if (ws && ws.readyState === 1) ws.send(JSON.stringify(msg)); }
  function notice(text, error) {
    const el = $("notice");
    el.textContent = text; el.className = error ? "error" : "";
    clearTimeout(notice.timer); notice.timer = setTimeout(() => { el.textContent = ""; }, 6000);
  }

  function buildSliders(controls) {
    const box = $("sliders");
    box.innerHTML = "";
    for (const c of controls) {
      const label = document.createElement("label");
      const input = document.createElement("input");
      const out = document.createElement("output");
      input.type = "range"; input.min = c.min; input.max = c.max;
      input.step = (c.max - c.min) / 200; input.value = c.value;
      input.id = `slider-${c.kind}-${c.pop}`; input.dataset.pop = c.pop; input.dataset.kind = c.kind;
      out.textContent = `${(+c.value).toFixed(0)} ${c.unit}`;
      input.addEventListener("input", () => {
        out.textContent = `${(+input.value).toFixed(0)} ${c.unit}`;
        send({type: c.kind, pop: c.pop, value: +input.value});
      });
      label.append(`${c.pop} ${c.kind === "rate" ? "rate" : "current"} `, input, out);
      box.append(label);
    }
  }

  // what the network offers: learning only when something is plastic, reward only with reward-modulated
  // synapses, the twin only when the units can run it (each disabled with a tooltip that says why)
  function showHello(m) {
    hello = m;
    $("title").textContent = m.title || "";
    const plastic = m.plastic.length > 0;
    $("learning").disabled = !plastic;
    $("learning-label").title = plastic ? `switch learning of ${m.plastic.join(", ")} (L)`
      : "nothing in this network is plastic: there is nothing to learn";
    $("reward").disabled = !m.rewardable.length;
    $("reward").title = m.rewardable.length
      ? "reward (W): press it when the network did the right thing; every reward-modulated synapse hears it"
      : "no synapse of this network learns from rewards (reward-modulated STDP)";
    $("twin").disabled = !m.twin.ok;
    $("transport").disabled = !m.twin.ok;
    $("twin-label").title = m.twin.ok ? "run on the units of the twin (T): fixed point, every unit on its own clock"
      : `the units cannot run this network: ${m.twin.why}`;
    $("twin").checked = m.target === "twin";
    $("transport").value = m.transport;
    $("faults").hidden = m.target !== "twin";
    $("where").textContent = m.target === "twin" ? `units over the ${m.transport}` : "engine";
    $("where").className = m.target;
    setTool(null);
    buildSliders(m.controls);
  }

  function showState(s) {
    state = s;
    $("pause").textContent = s.paused ? "play" : "pause";
    $("learning").checked = s.learning;
    const k = SPEEDS.indexOf(s.speed);
    const pos = k >= 0 ? k : SPEEDS.reduce((b, v, i) => (v !== "max" && Math.abs(v - s.speed) < Math.abs(SPEEDS[b] - s.speed) ? i : b), 10);
    $("speed").value = pos;
    $("speed-out").textContent = s.speed === "max" ? "max" : `${s.speed}x`;
    for (const c of s.controls) {
      const input = $(`slider-${c.kind}-${c.pop}`);
      if (input && document.activeElement !== input) {
        input.value = c.value;
        input.nextSibling.textContent = `${(+c.value).toFixed(0)} ${c.unit}`;
      }
    }
  }

  // -- fault tools: pick one, then click a unit (or a wire) ---------------------------
  function setTool(kind) {
    document.querySelectorAll("#faults [data-tool]").forEach((b) => b.classList.toggle("on", b.dataset.tool === kind));
    if (!board) return;
    if (kind === "cut" && hello && hello.transport === "bus") {
      send({type: "fault", kind: "cut"});
      kind = null;
      document.querySelectorAll("#faults [data-tool]").forEach((b) => b.classList.remove("on"));
    }
    board.tool = !kind ? null : {
      kind,
      onNode: (pop, id) => { send({type: "fault", kind, pop, id}); setTool(null); },
      onWire: kind === "cut" ? (pop, id, toPop, toId) => {
        send({type: "fault", kind: "cut", pop, id, to_pop: toPop, to_id: toId}); setTool(null);
      } : null,
    };
    $("tool-hint").textContent = !kind ? "" : kind === "cut" ? "click a wire to cut it (Esc: cancel)"
      : `click a unit to ${kind} it (Esc: cancel)`;
    $("board").classList.toggle("tool", !!kind);
  }

  // -- the first-run guide: three steps, dismissed for good --------------------------
  const guide = {
    step: 0,
    show(force) {
      if (!force && localStorage.getItem("neurobox-guide") === "done") return;
      this.step = 0; this.render(); $("guide").hidden = false;
    },
    render() {
      document.querySelectorAll(".guide-step").forEach((el, k) => { el.hidden = k !== this.step; });
      $("guide-next").hidden = this.step >= 2;
    },
    advance(from) {
      if ($("guide").hidden || this.step !== from) return;
      if (this.step >= 2) { this.close(); return; }
      this.step++; this.render();
    },
    close() { $("guide").hidden = true; localStorage.setItem("neurobox-guide", "done"); },
  };

  function onMessage(ev) {
    let m;
    try { m = JSON.parse(ev.data); } catch (err) { notice("bad message from server", true); return; }
    if (m.type === "frame") {
      if (!board) return;
      board.frame(m);
      overlay.frame(m);
      $("clock").textContent = `t = ${(m.t / 1000).toFixed(2)} s`;
    } else if (m.type === "hello") {
      if (board) board.load(m); else {
        board = new NeuroBoard({board: $("board"), raster: $("raster"), trace: $("trace")}, m);
        board.onTouch = (pop, id, down) => {
          send(down === null ? {type: "touch", pop, id} : {type: "touch", pop, id, down});
          if (down !== false) guide.advance(0);
        };
        board.onDraw = (pop, ids) => send({type: "draw", pop, ids});
        board.onSelect = (pop, id) => { board.select(pop, id); send({type: "select", pop, id}); };
        overlay = new TaskOverlay($("overlay"), $("twin-panel"), board);
        overlay.onDrag = (what, index, x_mm, y_mm) =>
          send(index === null ? {type: "drag", what, x_mm, y_mm} : {type: "drag", what, index, x_mm, y_mm});
        window.neuroboard = board;
        window.neurooverlay = overlay;
        setTimeout(() => guide.advance(1), 8000);
      }
      overlay.show(m.task_state);
      showHello(m);
    } else if (m.type === "task") {
      overlay && overlay.show(m.task);
    } else if (m.type === "state") {
      showState(m);
    } else if (m.type === "poked") {
      board && board.poked(m.pop, m.id);
    } else if (m.type === "reset") {
      board && board.reset(m.t);
    } else if (m.type === "selected") {
      board && board.select(m.pop, m.id);
    } else if (m.type === "error") {
      notice(m.message, true);
    } else if (m.type === "notice") {
      notice(m.message, false);
    }
  }

  function connect() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    ws = new WebSocket(`${proto}//${location.host}/ws`);
    ws.addEventListener("message", onMessage);
    ws.addEventListener("open", () => { $("status").textContent = "live"; $("status").className = "live"; });
    ws.addEventListener("close", () => {
      $("status").textContent = "disconnected"; $("status").className = "";
      setTimeout(connect, 2000);
    });
  }

  function setSpeed(pos) {
    pos = Math.max(0, Math.min(SPEEDS.length - 1, pos));
    $("speed").value = pos;
    const v = SPEEDS[pos];
    $("speed-out").textContent = v === "max" ? "max" : `${v}x`;
    send({type: "speed", value: v});
  }

  function toggleSound() {
    const on = !board.audio;
    board.enableSound(on);
    $("sound").textContent = on ? "sound on" : "sound off";
    $("sound").setAttribute("aria-pressed", String(on));
  }

  const twinTarget = () => send({type: "target", name: $("twin").checked ? "twin" : "engine", transport: $("transport").value});

  window.addEventListener("DOMContentLoaded", () => {
    $("pause").addEventListener("click", () => send({type: "pause", paused: !(state && state.paused)}));
    $("step").addEventListener("click", () => send({type: "step", ms: 1.0}));
    $("reset").addEventListener("click", () => send({type: "reset"}));
    $("learning").addEventListener("change", (ev) => send({type: "learning", on: ev.target.checked}));
    $("reward").addEventListener("click", () => { send({type: "reward", value: 1}); guide.advance(2); });
    $("twin").addEventListener("change", twinTarget);
    $("transport").addEventListener("change", () => { if ($("twin").checked) twinTarget(); });
    $("drop").addEventListener("change", (ev) => send({type: "fault", kind: "drop", value: +ev.target.value}));
    document.querySelectorAll("#faults [data-tool]").forEach((b) => b.addEventListener("click", () => {
      setTool(board && board.tool && board.tool.kind === b.dataset.tool ? null : b.dataset.tool);
    }));
    $("sound").addEventListener("click", toggleSound);
    $("help").addEventListener("click", () => guide.show(true));
    $("guide-next").addEventListener("click", () => guide.advance(guide.step));
    $("guide-close").addEventListener("click", () => guide.close());
    $("speed").addEventListener("input", (ev) => setSpeed(+ev.target.value));
    document.addEventListener("keydown", (ev) => {
      if (ev.target.tagName === "INPUT" || ev.target.tagName === "SELECT" || ev.ctrlKey || ev.metaKey || ev.altKey) return;
      const key = ev.key.toLowerCase();
      if (key === " ") { ev.preventDefault(); $("pause").click(); }
      else if (key === "s") $("step").click();
      else if (key === "w" && !$("reward").disabled) $("reward").click();
      else if (key === "l" && !$("learning").disabled) { $("learning").checked = !$("learning").checked; send({type: "learning", on: $("learning").checked}); }
      else if (key === "t" && !$("twin").disabled) { $("twin").checked = !$("twin").checked; twinTarget(); }
      else if (key === "m" && board) toggleSound();
      else if (key === "+" || key === "=") setSpeed(+$("speed").value + 1);
      else if (key === "-") setSpeed(+$("speed").value - 1);
      else if (key === "escape") setTool(null);
      else if (key === "?") guide.show(true);
    });
    guide.show(false);
    connect();
  });
})();
