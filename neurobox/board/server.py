"""The board server: static page over HTTP and frames over a WebSocket, on one port.

`BoardServer` runs a `LiveBoard` in the event loop: FPS times a second it
advances the simulation by (speed x the wall time that passed), or by as
much as fits in the frame when the speed is "max", and broadcasts the
frame to every page watching. Pages send the messages of
`neurobox.board.protocol`; a bad one gets {"type": "error"} back and
the server goes on. Binds 127.0.0.1 unless told otherwise.
"""
from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from neurobox.errors import NeuroboxError
from neurobox.board.protocol import ProtocolError, parse
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
"""Wall time a frame may spend simulating at speed "max", s."""
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".png": "image/png", ".svg": "image/svg+xml"}


class BoardServer:
    """Serve `board` at http://host:port/ (port 0 picks a free port)."""

    def __init__(self, board: LiveBoard, host: str = "127.0.0.1", port: int = 0, fps: float = FPS):
        self.board = board
        self.host = host
        self.port = port
        self.fps = fps
        self.speed: float | str = 1.0
        self.paused = False
        self.clients: set[ServerConnection] = set()
        self._max_chunk_ms = 10.0
        self._server = None
        self._ticker: asyncio.Task | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped: asyncio.Event | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    # -- lifecycle ----------------------------------------------------------------
    async def start(self) -> None:
        """Bind and start serving and ticking (in the running event loop)."""
        self._server = await serve(self._session, self.host, self.port, process_request=self._http,
                                   max_size=MAX_WS_MESSAGE, compression=None)
        self.port = self._server.sockets[0].getsockname()[1]
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

    # -- HTTP ---------------------------------------------------------------------
    def _http(self, connection: ServerConnection, request: Request) -> Response | None:
        path = request.path.split("?", 1)[0]
        if path == "/ws":
            return None  # the WebSocket handshake goes on
        name = "index.html" if path in ("/", "/index.html") else path.removeprefix("/static/")
        files = {p.name: p for p in STATIC.iterdir() if p.is_file()}
        if name not in files:
            return connection.respond(404, f"not found: {path}\n")
        body = files[name].read_bytes()
        headers = Headers([("Content-Type", CONTENT_TYPES.get(files[name].suffix, "application/octet-stream")),
                           ("Content-Length", str(len(body))), ("Cache-Control", "no-store"),
                           ("Connection", "close")])
        return Response(200, "OK", headers, body)

    # -- pages ----------------------------------------------------------------------
    def state(self) -> dict:
        """The shared controls every page shows: speed, pause, learning, sliders."""
        return {"type": "state", "speed": self.speed, "paused": self.paused, "learning": self.board.learning,
                "controls": self.board.controls(), "t": round(self.board.time, 3)}

    def _send_all(self, message: dict) -> None:
        broadcast(self.clients, json.dumps(message))

    async def _session(self, ws: ServerConnection) -> None:
        viewer = f"viewer{id(ws)}"
        await ws.send(json.dumps(self.board.hello()))
        await ws.send(json.dumps(self.state()))
        self.clients.add(ws)
        try:
            async for raw in ws:
                try:
                    self._apply(parse(raw), viewer, ws)
                except (ProtocolError, NeuroboxError) as err:
                    await ws.send(json.dumps({"type": "error", "message": str(err)}))
        except ConnectionClosed:
            pass
        finally:
            self.clients.discard(ws)
            self.board.select(viewer, None)

    def _apply(self, msg: dict, viewer: str, ws: ServerConnection) -> None:
        kind = msg["type"]
        if kind == "poke":
            self.board.poke(msg["pop"], msg["id"])
            self._send_all({"type": "poked", "pop": msg["pop"], "id": msg["id"], "t": round(self.board.time, 3)})
            return
        if kind == "select":
            self.board.select(viewer, msg["pop"], msg["id"] or 0)
            broadcast([ws], json.dumps({"type": "selected", "pop": msg["pop"], "id": msg["id"] or 0}))
            return
        if kind == "rate":
            self.board.set_rate(msg["pop"], msg["value"])
        elif kind == "current":
            self.board.set_current(msg["pop"], msg["value"])
        elif kind == "speed":
            self.speed = msg["value"]
        elif kind == "pause":
            self.paused = msg["paused"]
        elif kind == "step":
            self.paused = True
            frame = self.board.advance(msg["ms"] if msg["ms"] is not None else self.board.sim.dt)
            if frame is not None:
                self._send_all(frame)
        elif kind == "reset":
            self.board.reset()
            self._send_all({"type": "reset", "t": round(self.board.time, 3)})
        elif kind == "learning":
            note = self.board.set_learning(msg["on"])
            self._send_all({"type": "notice", "message": note})
        self._send_all(self.state())

    # -- the clock ------------------------------------------------------------------
    async def _tick(self) -> None:
        period = 1.0 / self.fps
        last = time.perf_counter()
        while True:
            await asyncio.sleep(max(0.0, period - (time.perf_counter() - last)))
            now = time.perf_counter()
            wall, last = now - last, now
            if self.paused or not self.clients:
                continue
            if self.speed == "max":
                bio_ms = self._max_chunk_ms
            else:
                bio_ms = float(self.speed) * min(wall, MAX_CATCH_UP * period) * 1000.0
            started = time.perf_counter()
            try:
                frame = self.board.advance(bio_ms)
            except NeuroboxError as err:
                self.paused = True
                self._send_all({"type": "error", "message": f"simulation stopped: {err}"})
                self._send_all(self.state())
                continue
            took = max(time.perf_counter() - started, 1e-4)
            if self.speed == "max":
                factor = min(2.0, max(0.5, MAX_FRAME_WORK_S / took))
                self._max_chunk_ms = min(max(self._max_chunk_ms * factor, self.board.sim.dt), 10000.0)
            if frame is not None:
                frame["wall_ms"] = round(took * 1000.0, 2)
                self._send_all(frame)
