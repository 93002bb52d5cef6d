"""`emolake serve [--host] [--port] [--api-only]`: the Dash dashboards and the JSON API (docs/api.md) over the lake
(read-only), 127.0.0.1:8050 by default; `--api-only` serves the API alone, without importing Dash. The servers are
`etl.service.app.create_app` and `dashboards.app.create_server`."""

from __future__ import annotations

from etl.commands._common import lake_dir
from etl.errors import EmolakeError

MAX_BATCH = 64
"""etl.service.requests.MAX_TEXTS (a unit test keeps them equal), not imported: every command's start would pay."""


def register(subparsers) -> None:
    command = subparsers.add_parser("serve", help="the dashboards and the JSON API: token viewer, map, SQL, /api/v1/")
    command.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
    command.add_argument("--port", type=int, default=8050)
    command.add_argument("--model", help="model whose probes are shown first and that the API uses by default")
    command.add_argument("--source", default="reference", help="probe source shown first and used by the API")
    command.add_argument(
        "--threads", type=int, help="torch CPU threads for live scoring (default: one per core; 1 on a busy machine)"
    )
    command.add_argument("--api-only", action="store_true", help="serve only the JSON API under /api/v1/ (no Dash)")
    command.add_argument(
        "--batch-window-ms",
        type=float,
        default=5.0,
        help="how long the API waits to gather concurrent `nearest` requests into one batch (default 5; 0: none)",
    )
    command.add_argument(
        "--max-batch",
        type=int,
        default=MAX_BATCH,
        help=f"most texts one batch of gathered `nearest` requests holds (default {MAX_BATCH}; 1: never merged)",
    )
    command.set_defaults(handler=handle)


def handle(args) -> None:
    from etl.lake import Lake
    from etl.service.app import create_app, listen

    check_options(args)
    if args.threads is not None:
        from etl.model.load import set_threads

        set_threads(args.threads)
    lake = Lake(lake_dir(args))
    if not lake.root.is_dir():
        raise EmolakeError(f"no lake at {lake.root}: run `make all`, or pass --lake DIRECTORY")
    window_s = args.batch_window_ms / 1000
    if args.api_only:
        server = create_app(lake, args.model, args.source, window_s, args.max_batch)
    else:
        from dashboards.app import create_server

        server = create_server(lake, args.model, args.source, window_s, args.max_batch)
    what = "the API" if args.api_only else "the dashboards and the API"
    listen(server, args.host, args.port, what, lake)


def check_options(args) -> None:
    from etl.service.app import check_host

    if not 0 < args.port < 65536:
        raise EmolakeError(f"--port {args.port}: use a port from 1 to 65535")
    check_host(args.host)
    if args.threads is not None and args.threads < 1:
        raise EmolakeError(f"--threads {args.threads}: use 1 or more")
    if not 0 <= args.batch_window_ms <= 1000:
        raise EmolakeError(f"--batch-window-ms {args.batch_window_ms}: use 0 to 1000 (milliseconds)")
    if not 1 <= args.max_batch <= MAX_BATCH:
        raise EmolakeError(f"--max-batch {args.max_batch}: use 1 to {MAX_BATCH} (texts)")
