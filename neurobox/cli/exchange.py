"""`neurobox export MODEL --to FORMAT OUT` and `neurobox import FILE --out MODEL.toml`: networks to and from
the formats of the field (neurobox.io)."""
from __future__ import annotations

from neurobox.cli import add_force
from neurobox.io import NETWORK_FORMATS

MAX_IMPORT_BYTES = 1 << 30
"""The largest file `neurobox import` reads, bytes (a NIR graph of a trained network holds its weights)."""


def register(sub) -> None:
    p = sub.add_parser("export", help="write a model in another tool's format (NIR, NeuroML 2)",
                       description="Write a model file (or a built-in model) as a NIR graph or a NeuroML 2 "
                                   "document, for snnTorch, Norse, Lava, Rockpool, Sinabs (NIR) or NEURON, "
                                   "NetPyNE, jNeuroML (NeuroML).")
    p.add_argument("model", help="model file, or the name of a built-in model")
    p.add_argument("--to", required=True, choices=sorted(NETWORK_FORMATS), help="the format to write")
    p.add_argument("out", help="the file to write")
    add_force(p)
    p.set_defaults(func=export)

    p = sub.add_parser("import", help="read a NIR graph or a NeuroML 2 document into a model file",
                       description="Read a network another tool wrote (a NIR graph, a NeuroML 2 document) and "
                                   "write it as a neurobox model file.")
    p.add_argument("file", help="the file to read (.nir, .nml)")
    p.add_argument("--from", dest="source_format", choices=sorted(NETWORK_FORMATS),
                   help="its format (default: from the file's suffix)")
    p.add_argument("--out", required=True, help="the model file (.toml) to write")
    p.add_argument("--dt", type=float, metavar="MS",
                   help="NIR only: the time step the graph was trained with, ms (a NIR graph holds none; default: "
                        "its metadata's dt, else 1 ms; snnTorch's exports assume 0.1 ms)")
    add_force(p)
    p.set_defaults(func=import_)


def export(args) -> int:
    from neurobox.examples import resolve
    from neurobox.io import network_format
    from neurobox.network.modelfile import load
    from neurobox.paths import output_file

    fmt = network_format(args.to)
    output_file(args.out, "out", force=args.force)
    net = load(resolve(args.model))
    notes = fmt.write(net, args.out)
    for note in notes:
        print(f"note: {note}")
    print(f"wrote {args.out} ({args.to})")
    return 0


def import_(args) -> int:
    from neurobox.errors import ConfigError
    from neurobox.io import format_of, network_format
    from neurobox.network.modelfile import save
    from neurobox.network.network import DT_RANGE
    from neurobox.paths import check_input_file, output_file

    try:
        check_input_file(args.file, "file to import", limit=MAX_IMPORT_BYTES)
    except FileNotFoundError:
        raise ConfigError("file", f"{args.file} does not exist") from None
    name = args.source_format or format_of(args.file, "file")
    fmt = network_format(name, "--from")
    output_file(args.out, "--out", force=args.force)
    if args.dt is not None and name != "nir":
        raise ConfigError("--dt", f"applies to NIR graphs only; a {name} file says its own time step")
    if args.dt is not None and not DT_RANGE[0] <= args.dt <= DT_RANGE[1]:
        raise ConfigError("--dt", f"must be in [{DT_RANGE[0]:g}, {DT_RANGE[1]:g}] ms, got {args.dt:g}")
    net = fmt.read(args.file) if args.dt is None else fmt.read(args.file, dt=args.dt)
    save(net, args.out)
    print(f"wrote {args.out} ({len(net.populations)} populations, {len(net.projections)} projections, "
          f"from {name})")
    return 0
