// neurobox board, live: connects the page to the board server's WebSocket,
// feeds frames to the NeuroBoard and sends the user's pokes and controls.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const SPEEDS = [];                       // slider positions -> x real time; the last one is "max"
  for (let k = 0; k <= 20; k++) SPEEDS.push(+Math.pow(10, (k - 10) / 10).toPrecision(2));
  SPEEDS.push("max");
  let ws = null, board = null, state = null;

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

  function onMessage(ev) {
    let m;
    try { m = JSON.parse(ev.data); } catch (err) { notice("bad message from server", true); return; }
    if (m.type === "frame") {
      board && board.frame(m);
      $("clock").textContent = `t = ${(m.t / 1000).toFixed(2)} s`;
    } else if (m.type === "hello") {
      $("title").textContent = m.title || "";
      if (board) board.load(m); else {
        board = new NeuroBoard({board: $("board"), raster: $("raster"), trace: $("trace")}, m);
        board.onPoke = (pop, id) => send({type: "poke", pop, id});
        board.onSelect = (pop, id) => { board.select(pop, id); send({type: "select", pop, id}); };
        window.neuroboard = board;
      }
      buildSliders(m.controls);
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

  window.addEventListener("DOMContentLoaded", () => {
    $("pause").addEventListener("click", () => send({type: "pause", paused: !(state && state.paused)}));
    $("step").addEventListener("click", () => send({type: "step", ms: 1.0}));
    $("reset").addEventListener("click", () => send({type: "reset"}));
    $("learning").addEventListener("change", (ev) => send({type: "learning", on: ev.target.checked}));
    $("speed").addEventListener("input", (ev) => {
      const v = SPEEDS[+ev.target.value];
      $("speed-out").textContent = v === "max" ? "max" : `${v}x`;
      send({type: "speed", value: v});
    });
    connect();
  });
})();
