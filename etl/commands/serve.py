"""`emolake serve [--host] [--port]`: the Dash dashboards over the lake (read-only), 127.0.0.1:8050 by default."""

from __future__ import annotations

import ipaddress
import logging

from etl.commands._common import lake_dir
from etl.errors import EmolakeError


def register(subparsers) -> None:
    command = subparsers.add_parser("serve", help="the dashboards: token viewer, emotion map, quality, data, SQL")
    command.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
    command.add_argument("--port", type=int, default=8050)
    command.add_argument("--model", help="model whose probes are shown first (when the lake holds several)")
    command.add_argument("--source", default="reference", help="probe source shown first")
    command.add_argument(
        "--threads", type=int, help="torch CPU threads for live scoring (default: one per core; 1 on a busy machine)"
    )
    command.set_defaults(handler=handle)


def handle(args) -> None:
    from dashboards.app import create_app
    from etl.lake import Lake

    if not 0 < args.port < 65536:
        raise EmolakeError(f"--port {args.port}: use a port from 1 to 65535")
    check_host(args.host)
    if args.threads is not None:
        if args.threads < 1:
            raise EmolakeError(f"--threads {args.threads}: use 1 or more")
        from etl.model.load import set_threads

        set_threads(args.threads)
    app = create_app(Lake(lake_dir(args)), model=args.model, source=args.source)
    log = logging.getLogger("emolake")
    log.info("serving the lake at %s on http://%s:%d/ (Ctrl-C to stop)", lake_dir(args), args.host, args.port)
    if not is_loopback(args.host):
        log.warning("listening on %s: anyone who can reach this address can read the lake", args.host)
    app.run(host=args.host, port=args.port, debug=False, threaded=True)


def check_host(host: str) -> None:
    if host == "localhost":
        return
    try:
        ipaddress.ip_address(host)
    except ValueError as exc:
        raise EmolakeError(f"--host {host!r} is not an IP address: use 127.0.0.1 (default) or localhost") from exc


def is_loopback(host: str) -> bool:
    return host == "localhost" or ipaddress.ip_address(host).is_loopback
