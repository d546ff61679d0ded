"""CLI commands around the server: serve, stop, status, web, install-plugin."""
from __future__ import annotations

import argparse
import json

from adastyle.server import budget as limits

# The memory budget's flags: (flag, ServerSettings field, type, default, help).
BUDGET_FLAGS = (
    ("--max-styles-per-request", "max_styles_per_request", int, limits.MAX_STYLES_PER_REQUEST,
     "style images one request may use"),
    ("--queue-pixels", "queue_pixels", int, limits.QUEUE_PIXELS,
     "decoded pixels all queued and running jobs may hold (more: 503)"),
    ("--style-keep-side", "style_keep_side", int, limits.STYLE_KEEP_SIDE,
     "short side uploaded and native-size styles are reduced to"),
    ("--style-store-bytes", "style_store_bytes", int, limits.STYLE_STORE_BYTES,
     "bytes uploaded styles may hold (least recently used go)"),
    ("--result-ttl", "result_ttl", float, limits.RESULT_TTL, "seconds a finished result is kept"),
    ("--result-bytes", "result_bytes", int, limits.RESULT_BYTES,
     "bytes finished results may hold (then the oldest go early)"),
)


def cmd_serve(args: argparse.Namespace) -> int:
    from adastyle.errors import UserError
    from adastyle.server import run

    try:
        if args.background:
            if run.port_in_use(args.host, args.port):
                raise run.ServeError(f"port {args.port} on {args.host} is already in use "
                                     "(is AdaStyle already running? try `adastyle status`)")
            passthrough = ["--host", args.host, "--port", str(args.port), "--device", args.device,
                           "--max-queue", str(args.max_queue), "--max-pixels", str(args.max_pixels),
                           "--header-timeout", str(args.header_timeout), "--body-timeout", str(args.body_timeout),
                           "--max-connections", str(args.max_connections)]
            for flag, name, *_ in BUDGET_FLAGS:
                passthrough += [flag, str(getattr(args, name))]
            info = run.start_background(passthrough)
            print(f"AdaStyle server running at {info['url']} (pid {info['pid']}, device {info['device']})")
            return 0
        run.serve(args.host, args.port, args.device, args.max_queue, args.max_pixels,
                  header_timeout=args.header_timeout, body_timeout=args.body_timeout,
                  max_connections=args.max_connections,
                  **{name: getattr(args, name) for _, name, *_ in BUDGET_FLAGS})
    except run.ServeError as exc:
        raise UserError(str(exc)) from None
    return 0


def cmd_stop(args: argparse.Namespace) -> int:
    from adastyle.server import run

    print("stopped" if run.stop() else "no AdaStyle server is running")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from adastyle.server import run

    info = run.status()
    if info is None:
        print("no AdaStyle server is running")
        return 1
    print(json.dumps(info, indent=1))
    return 0


def cmd_web(args: argparse.Namespace) -> int:
    from adastyle.web.page import launch

    launch(port=args.port, device=args.device, share_queue=False)
    return 0


def cmd_install_plugin(args: argparse.Namespace) -> int:
    from adastyle.install import install_plugin

    for path in install_plugin(args.host_app, args.dest, server_url=args.server_url):
        print(path)
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("serve", help="run the local server (the plug-ins and the page talk to it)")
    s.add_argument("--host", default="127.0.0.1", help="bind address (non-local needs the token; warns)")
    s.add_argument("--port", type=int, default=8765)
    s.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    s.add_argument("--background", action="store_true", help="detach; pidfile and log in the config folder")
    s.add_argument("--max-queue", type=int, default=8)
    s.add_argument("--max-pixels", type=int, default=64_000_000)
    s.add_argument("--header-timeout", type=float, default=10.0,
                   help="seconds a connection may take to send its request headers (then it is closed)")
    s.add_argument("--body-timeout", type=float, default=30.0, help="seconds a request body may stall (408)")
    s.add_argument("--max-connections", type=int, default=64, help="open connections at most")
    for flag, name, kind, default, text in BUDGET_FLAGS:
        s.add_argument(flag, dest=name, type=kind, default=default, help=f"{text} (default: %(default)s)")
    s.set_defaults(func=cmd_serve)

    sub.add_parser("stop", help="stop the background server").set_defaults(func=cmd_stop)
    sub.add_parser("status", help="is the server running? (exit 1 if not)").set_defaults(func=cmd_status)

    w = sub.add_parser("web", help="serve the web page on 127.0.0.1")
    w.add_argument("--port", type=int, default=7860)
    w.add_argument("--device", default="auto")
    w.set_defaults(func=cmd_web)

    i = sub.add_parser("install-plugin", help="install the GIMP or Krita plug-in")
    i.add_argument("host_app", choices=("gimp", "krita"))
    i.add_argument("--dest", help="plug-in folder (default: the application's user folder)")
    i.add_argument("--server-url", default=None, help="server URL written into the plug-in settings")
    i.set_defaults(func=cmd_install_plugin)
