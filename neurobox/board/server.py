"""The board server: static page over HTTP and frames over a WebSocket, on one port.

`BoardServer` serves a `LiveBoard`. The event loop only talks: it checks
requests, parses messages and sends frames; everything that touches the
simulation runs in one worker thread of its own. FPS times a second the
loop hands the worker the commands that came in (at most
COMMANDS_PER_TICK per page, taken in turn, each page's waiting commands
bounded by QUEUE_SIZE: what comes beyond is refused with an error), and
the worker applies them and advances the simulation by (speed x the wall
time that passed), or by as much as fits in MAX_FRAME_WORK_S at speed
"max" (a `step` drains the same way), and the frame goes to every page
watching. So a page that floods the server delays only itself.

Safety: binds 127.0.0.1 unless told otherwise. Every request must name
the board by a loopback name, the bound address or an allowed origin's
host in its Host header (DNS rebinding), and a WebSocket handshake from a
browser must come from the board's own page or an `allow_origins` origin
(cross-site WebSocket hijacking). Every message is checked
(neurobox.board.protocol); a bad one gets {"type": "error"} back and the
session goes on. Only the files of the static folder are served.
"""
from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from neurobox.errors import NeuroboxError
from neurobox.board.protocol import MAX_STEP_MS, ProtocolError, parse
from neurobox.board.session import LiveBoard

STATIC = Path(__file__).parent / "static"
"""The page's files, shipped in the package."""
FPS = 30.0
"""Frames sent per second."""
MAX_WS_MESSAGE = 1 << 20
"""Messages above this many bytes close the connection (code 1009); smaller
oversized ones are answered with an error by the protocol check."""
MAX_CATCH_UP = 4
"""After a stall, advance at most this many frame periods at once."""
MAX_FRAME_WORK_S = 0.025
"""Wall time a frame may spend simulating at speed "max" (and on a step), s."""
QUEUE_SIZE = 32
"""Commands of one page waiting for the worker at most; more are refused."""
COMMANDS_PER_TICK = 4
"""Commands of one page applied per frame at most."""
SLOW_CLIENT_BYTES = 4 << 20
"""A page whose connection holds more unsent bytes than this misses frames until it catches up."""
LOOPBACK = ("127.0.0.1", "localhost", "::1")
WILDCARDS = ("0.0.0.0", "::", "")
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".png": "image/png", ".svg": "image/svg+xml"}


def _origin(text: str) -> str:
    """scheme://host[:port], lower case, no path: the form a browser's Origin header has."""
    parts = urlsplit(text.strip().rstrip("/").lower())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an origin: {text!r} (write it as http://host:port)")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


class BoardServer:
    """Serve `board` at http://host:port/ (port 0 picks a free port).

    allow_origins: more origins (http://host:port) whose pages may use the board's WebSocket.
    """

    def __init__(self, board: LiveBoard, host: str = "127.0.0.1", port: int = 0, fps: float = FPS,
                 allow_origins: tuple[str, ...] | list[str] = ()):
        self.board = board
        self.host = host
        self.port = port
        self.fps = fps
        self.allow_origins = tuple(_origin(o) for o in allow_origins)
        self.speed: float | str = 1.0
        self.paused = False
        self.clients: set[ServerConnection] = set()
        self.queues: dict[ServerConnection, deque] = {}
        self._held: dict[str, set[tuple[str, int]]] = {}
        self._gone: list[str] = []
        self._busy_noticed: dict[ServerConnection, float] = {}
        self._step_ms = 0.0
        self._cost_per_ms = 0.0            # wall s per biological ms (running mean)
        self._pool: ThreadPoolExecutor | None = None
        self._server = None
        self._ticker: asyncio.Task | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped: asyncio.Event | None = None
        self._hosts: set[str] = set()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    # -- lifecycle ----------------------------------------------------------------
    async def start(self) -> None:
        """Bind and start serving and ticking (in the running event loop)."""
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="neurobox-board-sim")
        self._server = await serve(self._session, self.host, self.port, process_request=self._http,
                                   max_size=MAX_WS_MESSAGE, compression=None)
        self.port = self._server.sockets[0].getsockname()[1]
        self._hosts = self._host_names()
        self._ticker = asyncio.create_task(self._tick())

    async def close(self) -> None:
        """Stop ticking, close every page's connection and the listening socket."""
        if self._ticker is not None:
            self._ticker.cancel()
            try:
                await self._ticker
            except asyncio.CancelledError:
                pass
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    async def serve_forever(self) -> None:
        """Start, and serve until cancelled."""
        await self.start()
        try:
            await asyncio.Future()
        finally:
            await self.close()

    def start_background(self) -> str:
        """Serve from a thread of its own; returns the URL once bound. Stop with `stop()`."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def main() -> None:
            async def body() -> None:
                self._loop = asyncio.get_running_loop()
                self._stopped = asyncio.Event()
                try:
                    await self.start()
                except BaseException as err:  # reported to the caller below
                    failure.append(err)
                    ready.set()
                    return
                ready.set()
                try:
                    await self._stopped.wait()
                finally:
                    await self.close()
            asyncio.run(body())

        self._thread = threading.Thread(target=main, name="neurobox-board", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self.url

    def stop(self) -> None:
        """Stop a server started with `start_background` and wait for its thread."""
        if self._thread is None:
            return
        if self._loop is not None and self._stopped is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)
        self._thread.join(timeout=10)
        self._thread = None

    # -- who may ask ----------------------------------------------------------------
    def _host_names(self) -> set[str]:
        """The host names a request may give: loopback, the bound address, the allowed origins' hosts
        (and, bound to every interface, this machine's name and addresses)."""
        names = set(LOOPBACK) | {urlsplit(o).hostname for o in self.allow_origins}
        if self.host in WILDCARDS:
            names.add(socket.gethostname().lower())
            try:
                names |= {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None)}
            except OSError:
                pass
        else:
            names.add(self.host.lower())
        return names

    def host_allowed(self, header: str | None) -> bool:
        """Whether a Host header names this board (a loopback name or an allowed host, and its port)."""
        if not header:
            return False
        try:
            parts = urlsplit("//" + header.strip().lower())
            port = parts.port
        except ValueError:
            return False
        return parts.hostname in self._hosts and (port or 80) == self.port

    def origin_allowed(self, header: str | None) -> bool:
        """Whether a WebSocket handshake's Origin may use the board: none (not a browser), the board's own
        page (any host name it may be reached by, on its port), or an allowed origin."""
        if header is None:
            return True
        try:
            origin = _origin(header)
        except ValueError:
            return False
        if origin in self.allow_origins:
            return True
        parts = urlsplit(origin)
        return parts.scheme == "http" and parts.hostname in self._hosts and parts.port == self.port

    # -- HTTP ---------------------------------------------------------------------
    def _http(self, connection: ServerConnection, request: Request) -> Response | None:
        if not self.host_allowed(request.headers.get("Host")):
            return connection.respond(403, "forbidden: this board answers to its own host name only "
                                           "(start it with --host or --allow-origin to be reached as another)\n")
        path = request.path.split("?", 1)[0]
        if path == "/ws":
            if not self.origin_allowed(request.headers.get("Origin")):
                return connection.respond(403, "forbidden: a page from another site may not use this board "
                                               "(start it with --allow-origin ORIGIN to allow one)\n")
            return None  # the WebSocket handshake goes on
        name = "index.html" if path in ("/", "/index.html") else path.removeprefix("/static/")
        files = {p.name: p for p in STATIC.iterdir() if p.is_file()}   # a name, never a path
        if name not in files:
            return connection.respond(404, f"not found: {path}\n")
        body = files[name].read_bytes()
        headers = Headers([("Content-Type", CONTENT_TYPES.get(files[name].suffix, "application/octet-stream")),
                           ("Content-Length", str(len(body))), ("Cache-Control", "no-store"),
                           ("X-Content-Type-Options", "nosniff"), ("Connection", "close")])
        return Response(200, "OK", headers, body)

    # -- pages ----------------------------------------------------------------------
    def state(self) -> dict:
        """The shared controls every page shows: speed, pause, learning, sliders, target."""
        return {"type": "state", "speed": self.speed, "paused": self.paused, "learning": self.board.learning,
                "controls": self.board.controls(), "t": round(self.board.time, 3), "target": self.board.target,
                "transport": self.board.transport}

    @staticmethod
    def _send(targets, text: str, frame: bool = False) -> None:
        """Send without waiting (websockets' broadcast); a page too slow to take its frames misses some."""
        if frame:
            targets = [ws for ws in targets
                       if ws.transport is None or ws.transport.get_write_buffer_size() <= SLOW_CLIENT_BYTES]
        broadcast(targets, text)

    async def _in_worker(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    async def _session(self, ws: ServerConnection) -> None:
        viewer = f"viewer{id(ws)}"
        hello, state = await self._in_worker(lambda: (self.board.hello(), self.state()))
        await ws.send(json.dumps(hello))
        await ws.send(json.dumps(state))
        queue: deque = deque()
        self.queues[ws] = queue
        self.clients.add(ws)
        try:
            async for raw in ws:
                try:
                    msg = parse(raw)
                except ProtocolError as err:
                    await ws.send(json.dumps({"type": "error", "message": str(err)}))
                    continue
                if len(queue) >= QUEUE_SIZE:
                    now = time.monotonic()
                    if now - self._busy_noticed.get(ws, 0.0) > 1.0:   # one refusal a second is enough
                        self._busy_noticed[ws] = now
                        await ws.send(json.dumps({"type": "error", "message": f"too many commands waiting "
                                                  f"({QUEUE_SIZE}): {msg['type']} refused; slow down"}))
                    continue
                queue.append((msg, viewer, ws))
        except ConnectionClosed:
            pass
        finally:
            self.clients.discard(ws)
            self.queues.pop(ws, None)
            self._busy_noticed.pop(ws, None)
            self._gone.append(viewer)

    # -- the clock ------------------------------------------------------------------
    def _take_commands(self) -> list:
        """Up to COMMANDS_PER_TICK waiting commands of each page, in turn."""
        out = []
        for _ in range(COMMANDS_PER_TICK):
            for queue in list(self.queues.values()):
                if queue:
                    out.append(queue.popleft())
        return out

    async def _tick(self) -> None:
        period = 1.0 / self.fps
        last = time.perf_counter()
        while True:
            await asyncio.sleep(max(0.0, period - (time.perf_counter() - last)))
            now = time.perf_counter()
            wall, last = now - last, now
            commands, gone = self._take_commands(), self._gone
            self._gone = []
            watched = bool(self.clients)
            if not (commands or gone or self._step_ms > 0 or (watched and not self.paused)):
                continue
            try:
                out = await self._in_worker(self._work, commands, gone, min(wall, MAX_CATCH_UP * period), watched)
            except Exception as err:  # noqa: BLE001  an unexpected failure must not stop the board for everyone
                self.paused = True
                out = [(None, {"type": "error", "message": f"simulation stopped: {type(err).__name__}: {err}"}),
                       (None, self.state())]
            for target, message in out:
                frame = message.get("type") == "frame"
                self._send(self.clients if target is None else [target], json.dumps(message), frame)

    def _work(self, commands: list, gone: list[str], wall: float, watched: bool) -> list[tuple]:
        """In the worker thread: apply the commands, advance, and say what to send to whom (None: every page)."""
        out: list[tuple] = []
        for viewer in gone:
            self.board.select(viewer, None)
            for pop, i in self._held.pop(viewer, ()):
                self.board.touch(pop, i, False)
        changed = False
        for msg, viewer, ws in commands:
            try:
                changed |= self._apply(msg, viewer, ws, out)
            except NeuroboxError as err:
                out.append((ws, {"type": "error", "message": str(err)}))
        if changed:
            out.append((None, self.state()))
        try:
            frame = self._advance(wall, watched)
        except NeuroboxError as err:
            self.paused = True
            self._step_ms = 0.0
            out += [(None, {"type": "error", "message": f"simulation stopped: {err}"}), (None, self.state())]
            return out
        if frame is not None:
            out.append((None, frame))
        return out

    def _advance(self, wall: float, watched: bool) -> dict | None:
        budget = MAX_FRAME_WORK_S / self._cost_per_ms if self._cost_per_ms > 0 else 10.0
        budget = min(max(budget, self.board.dt), 10000.0)
        if self._step_ms > 0:
            bio_ms = min(self._step_ms, budget)
            self._step_ms -= bio_ms
        elif self.paused or not watched:
            return None
        elif self.speed == "max":
            bio_ms = budget
        else:
            bio_ms = float(self.speed) * wall * 1000.0
        started = time.perf_counter()
        frame = self.board.advance(bio_ms)
        took = max(time.perf_counter() - started, 1e-5)
        if frame is not None:
            span = max(frame["t"] - frame["t0"], self.board.dt)
            cost = took / span
            self._cost_per_ms = cost if self._cost_per_ms == 0 else 0.7 * self._cost_per_ms + 0.3 * cost
            frame["wall_ms"] = round(took * 1000.0, 2)
        return frame

    def _apply(self, msg: dict, viewer: str, ws: ServerConnection, out: list) -> bool:
        """Apply one command; True when the shared state changed (every page gets the new state)."""
        board, kind = self.board, msg["type"]
        if kind in ("poke", "touch"):
            down = msg.get("down")
            what = board.touch(msg["pop"], msg["id"], down)
            held = self._held.setdefault(viewer, set())
            (held.add if down else held.discard)((msg["pop"], msg["id"]))
            if what != "released":
                out.append((None, {"type": "poked", "pop": msg["pop"], "id": msg["id"], "kind": what,
                                   "t": round(board.time, 3)}))
            return False
        if kind == "select":
            board.select(viewer, msg["pop"], msg["id"] or 0)
            out.append((ws, {"type": "selected", "pop": msg["pop"], "id": msg["id"] or 0}))
            return False
        if kind == "draw":
            out.append((None, {"type": "notice", "message": board.draw(msg["pop"], msg["ids"])}))
            return False
        if kind == "rate":
            board.set_rate(msg["pop"], msg["value"])
        elif kind == "current":
            board.set_current(msg["pop"], msg["value"])
        elif kind == "speed":
            self.speed = msg["value"]
        elif kind == "pause":
            self.paused = msg["paused"]
            if not self.paused:
                self._step_ms = 0.0
        elif kind == "step":
            self.paused = True
            self._step_ms = min(self._step_ms + (msg["ms"] if msg["ms"] is not None else board.dt), MAX_STEP_MS)
        elif kind == "reset":
            board.reset()
            self._step_ms = 0.0
            out.append((None, {"type": "reset", "t": round(board.time, 3)}))
        elif kind == "learning":
            out.append((None, {"type": "notice", "message": board.set_learning(msg["on"])}))
        elif kind == "reward":
            out.append((None, {"type": "notice", "message": board.reward(msg["value"] or 1)}))
            return False
        elif kind == "target":
            note = board.set_target(msg["name"], msg["transport"])
            self._step_ms = 0.0
            self._held.clear()
            out += [(None, board.hello()), (None, {"type": "notice", "message": note})]
        elif kind == "drag":
            board.drag(msg["what"], msg["index"], msg["x_mm"], msg["y_mm"])
            out.append((None, {"type": "task", "task": board.task.state()}))   # shown at once, also paused
            return False
        elif kind == "fault":
            note = board.fault(msg["kind"], msg["pop"], msg["id"], msg["to_pop"], msg["to_id"], msg["value"])
            out.append((None, {"type": "notice", "message": note}))
            return False
        return True
