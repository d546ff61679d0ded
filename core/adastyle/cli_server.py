"""CLI commands around the server: serve, stop, status, web, install-plugin, uninstall-plugin."""
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

    for done in install_plugin(args.host_app, args.dest, server_url=args.server_url):
        where = f" ({done.kind})" if done.kind else ""
        print(f"Installed the {done.app.upper() if done.app == 'gimp' else 'Krita'} plug-in{where} into {done.folder}:")
        for path in done.files:
            print(f"  {path}")
        for step in done.next_steps:
            print(f"Next: {step}.")
    return 0


def cmd_uninstall_plugin(args: argparse.Namespace) -> int:
    from adastyle.install import uninstall_plugin

    removed = uninstall_plugin(args.host_app, args.dest)
    if not removed:
        print(f"no AdaStyle {args.host_app} plug-in installed by `adastyle install-plugin` was found"
              + (f" in {args.dest}" if args.dest else ""))
        return 1
    for path in removed:
        print(f"removed {path}")
    return 0


INSTALL_HELP = """Copy the GIMP or Krita plug-in (with its standard-library client and a settings file naming the
server) into the application's user plug-in folder.

Without --dest: into every installation found (regular, Flatpak, Snap; an AppImage uses the regular
folders), else the regular folder; for Krita it is also enabled in that Krita's kritarc.
With --dest DIR: everything is written inside DIR and nowhere else. DIR is
  gimp:  GIMP's plug-ins folder, e.g. ~/.config/GIMP/3.0/plug-ins (the plug-in goes into DIR/adastyle/)
  krita: Krita's pykrita folder, e.g. ~/.local/share/krita/pykrita (then enable the plug-in in Krita's
         Python Plugin Manager yourself)
It prints the files written and what to do next. `adastyle doctor` shows which installations it finds."""


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

    sub.add_parser("stop", help="stop the background server",
                   description="Stop the server started with `adastyle serve --background` (its pidfile is in "
                               "the config folder).").set_defaults(func=cmd_stop)
    sub.add_parser("status", help="is the server running? (exit 1 if not)",
                   description="Print the running server's URL, pid, device and queue as JSON; exit 1 when no "
                               "server is running.").set_defaults(func=cmd_status)

    w = sub.add_parser("web", help="serve the web page on 127.0.0.1")
    w.add_argument("--port", type=int, default=7860)
    w.add_argument("--device", default="auto")
    w.set_defaults(func=cmd_web)

    i = sub.add_parser("install-plugin", help="install the GIMP or Krita plug-in", description=INSTALL_HELP)
    i.add_argument("host_app", choices=("gimp", "krita"), help="the application")
    i.add_argument("--dest", metavar="DIR",
                   help="GIMP's plug-ins folder or Krita's pykrita folder (default: every installation found)")
    i.add_argument("--server-url", default=None,
                   help="server URL written into the plug-in settings (default: http://127.0.0.1:8765)")
    i.set_defaults(func=cmd_install_plugin)

    u = sub.add_parser("uninstall-plugin", help="remove what install-plugin wrote",
                       description="Remove exactly the files install-plugin wrote (it keeps a list beside them) and, "
                                   "for Krita, the line enabling it in kritarc. Exit 1 when nothing was installed.")
    u.add_argument("host_app", choices=("gimp", "krita"), help="the application")
    u.add_argument("--dest", metavar="DIR", help="the folder given to install-plugin --dest "
                                                  "(default: every installation's folder)")
    u.set_defaults(func=cmd_uninstall_plugin)
