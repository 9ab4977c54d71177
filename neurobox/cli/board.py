"""`neurobox board` (the live board in a browser) and `neurobox render` (a replay page without a server)."""
from __future__ import annotations

import sys

from neurobox.cli import add_force, add_quiet


def register(sub) -> None:
    p = sub.add_parser("board", help="watch and poke a network live in the browser",
                       description="Run a model file, a built-in model or a demo in a local server and show it "
                                   "as neuron boxes with LEDs in the browser.")
    p.add_argument("model", nargs="?", help="model file, or the name of a built-in model (coba, cuba...); with "
                                            "--demo vehicle: which vehicle (fear, explorer or a vehicle model file)")
    p.add_argument("--demo", help="a demo network instead of a model: recurrent, gap, digits, xor, vehicle")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1: this machine only; another opens it with a warning)")
    p.add_argument("--port", type=int, default=8765, help="port to bind (default 8765; 0 picks a free one)")
    p.add_argument("--allow-origin", action="append", default=[], metavar="ORIGIN",
                   help="also let pages from ORIGIN (http://host:port) use the board (repeatable)")
    p.add_argument("--twin", choices=("bus", "wire"),
                   help="start on the twin's units over this transport (the page's switch does the same)")
    p.add_argument("--no-browser", action="store_true", help="print the URL but do not open a browser")
    p.set_defaults(func=board)

    r = sub.add_parser("render", help="write a self-contained HTML replay of a run",
                       description="Simulate a model file and write one HTML file that replays the run on the "
                                   "board, with no server.")
    r.add_argument("model", nargs="?", help="model file, or the name of a built-in model; with --demo vehicle: "
                                            "which vehicle (fear, explorer or a vehicle model file)")
    r.add_argument("--demo", help="a demo instead of a model (its task's overlay is replayed too): "
                                  "recurrent, gap, digits, xor, vehicle")
    r.add_argument("--out", required=True, help="the .html file to write")
    r.add_argument("--duration", type=float, help="biological time to simulate, ms (default: the file's)")
    add_quiet(r)
    add_force(r)
    r.set_defaults(func=render)


def _network(model: str | None, demo: str | None):
    from neurobox.board.demos import CHOOSING, Demo, build_demo
    from neurobox.errors import ConfigError
    if model is None and demo is None:
        raise ConfigError("board", "give either a model file or --demo NAME "
                                   "(demos: recurrent, gap, digits, xor, vehicle)")
    if demo is not None:                        # with --demo vehicle, the model argument picks the vehicle
        built = build_demo(demo, model)
        return built, f"demo: {demo} ({built.task.vehicle})" if demo in CHOOSING else f"demo: {demo}"
    from neurobox.examples import resolve
    from neurobox.network.modelfile import load
    path = resolve(model)
    return Demo(load(path)), str(model)


def board(args) -> int:
    import asyncio
    import webbrowser

    from neurobox.errors import ConfigError
    from neurobox.board.server import BoardServer
    from neurobox.board.session import LiveBoard

    if not 0 <= args.port <= 65535:
        raise ConfigError("--port", f"must be in [0, 65535], got {args.port}")
    demo, title = _network(args.model, args.demo)
    print("compiling the network...", file=sys.stderr, flush=True)
    board_ = LiveBoard(demo.net, title=title, task=demo.task, target="twin" if args.twin else "engine",
                       transport=args.twin or "bus")
    try:
        server = BoardServer(board_, host=args.host, port=args.port, allow_origins=args.allow_origin)
    except ValueError as err:
        raise ConfigError("--allow-origin", str(err)) from None

    async def main() -> None:
        try:
            await server.start()
        except OSError as err:
            raise ConfigError("--port", f"cannot listen on {args.host}:{args.port}: {err.strerror}") from None
        print(f"neurobox board: {server.url}  (Ctrl-C stops)", flush=True)
        if args.host not in ("127.0.0.1", "localhost", "::1"):
            print(f"warning: listening on {args.host}: anyone who can reach it can watch and control the board",
                  file=sys.stderr)
        if not args.no_browser:
            webbrowser.open(server.url)
        try:
            await asyncio.Future()
        finally:
            await server.close()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    return 0


def render(args) -> int:
    from neurobox.board.replay import render as write_replay
    from neurobox.limits import check_duration
    from neurobox.paths import output_file

    check_duration(args.duration)
    output_file(args.out, "--out", force=args.force, kind="html")
    demo, title = _network(args.model, args.demo)
    if args.duration is None and demo.task is None:
        check_duration(demo.net.duration, "network.duration", dt=demo.net.dt)
    elif args.duration is not None:
        check_duration(args.duration, "--duration", dt=demo.net.dt)
    from neurobox.engine.progress import for_cli

    with for_cli(args) as bar:
        bar.phase("record", "the run and its replay page")
        out = write_replay(demo.net, args.out, args.duration, title=title, task=demo.task)
    print(f"wrote replay to {out}")
    return 0
