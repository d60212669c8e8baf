"""`tfxp ui`: the runs UI on this machine."""
from __future__ import annotations

import argparse
import sys

from tfxp_cli.arguments import add_output_dir

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8080


def serve(args, ready=None) -> int:
    """Serves until interrupted; ``ready(url)`` is called once the port is bound (port 0: any free one)."""
    from werkzeug.serving import make_server

    from tfxp_ui.app import create_app
    from tfxp_ui.stores import RunSource
    source = RunSource(output_dir=args.output_dir, metadata=args.metadata or "")
    server = make_server(args.host, args.port, create_app(source), threaded=True)
    url = f"http://{args.host}:{server.server_port}/"
    print(f"tfxp ui: runs in {source.describe()} at {url} (read-only; Ctrl-C stops it)", file=sys.stderr, flush=True)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"note: bound to {args.host}: anyone who can reach this machine can read the runs", file=sys.stderr)
    if ready is not None:
        ready(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def add_ui_command(commands) -> None:
    p = commands.add_parser(
        "ui", help="browse runs, reports and comparisons in a local web page",
        description="A local, read-only web page over the runs recorded in ML Metadata: every dataset, its "
                    "runs over time (verdict, data version, key metrics, served version, trends), each run's "
                    "report and lineage, and two runs side by side. Nothing is fetched from the network.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  tfxp ui\n  tfxp ui --output-dir /tmp/out --port 0\n"
               "  tfxp ui --metadata mysql://tfxp@db.example/tfxp")
    add_output_dir(p, "the runs under DIR/<dataset>/ (as given to `tfxp run`)")
    p.add_argument("--metadata", default=None, metavar="URI",
                   help="one ML Metadata store instead (a SQLite file or mysql://user[:password]@host[:port]/database)")
    p.add_argument("--host", default=DEFAULT_HOST, help=f"address to bind (default: {DEFAULT_HOST}, this machine only)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT}; 0: any free port)")
    p.set_defaults(func=serve)
