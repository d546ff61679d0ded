"""CLI commands around the server: serve, stop, status, open, web, install-plugin, uninstall-plugin."""
from __future__ import annotations

import argparse
import json
import logging
from typing import Any, get_type_hints

from adastyle import cli_args
from adastyle.errors import UserError
from adastyle.settings import SERVE, WEB, Settings, default_for, flag_fields
from adastyle_plugin.config import DEFAULT_URL


def setting_type(name: str, kind: type, minimum: float | None, maximum: float | None):
    """The argparse type of a setting: its Python type, checked against its range (one-line errors)."""
    if name == "device":
        return cli_args.device
    if minimum is None:
        return kind
    base = {(int, 1): cli_args.positive_int, (int, 0): cli_args.non_negative_int,
            (float, 0): cli_args.non_negative_float}.get((kind, minimum), cli_args.positive_float)

    def parse(text: str) -> Any:
        value = base(text)
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"expected at most {maximum:g}, got {text!r}")
        return value

    parse.__name__ = base.__name__
    return parse


def add_settings_flags(p: argparse.ArgumentParser, command: str) -> None:
    """One flag per field of Settings that `command` has (--max-queue for max_queue), with its type, default
    and help: a field added to Settings is a flag here without more code."""
    hints = get_type_hints(Settings)
    for f in flag_fields(command):
        meta = f.metadata
        p.add_argument("--" + f.name.replace("_", "-"), dest=f.name, default=default_for(f, command),
                       type=setting_type(f.name, hints[f.name], meta["minimum"], meta["maximum"]), help=meta["help"])


def settings_from(args: argparse.Namespace, command: str) -> Settings:
    """The Settings a command line asks for (fields without a flag of `command` keep their defaults)."""
    return Settings(**{f.name: getattr(args, f.name) for f in flag_fields(command)})


def settings_argv(settings: Settings, command: str) -> list[str]:
    """The flags that give `settings` again (a server started in the background gets what was asked)."""
    argv: list[str] = []
    for f in flag_fields(command):
        argv += ["--" + f.name.replace("_", "-"), str(getattr(settings, f.name))]
    return argv


def mount_web_page(app: Any, queue: Any, settings: Settings) -> Any:
    """The server's front-end hook for the web page at /ui (imported when the app is built, after the port is
    bound); without gradio (a plug-in-only install) the server runs without it."""
    try:
        from adastyle.web.page import mount_page
    except ImportError as exc:
        logging.getLogger(__name__).info("web page not mounted (%s)", exc)
        return None
    return mount_page(app, queue, settings)


def cmd_serve(args: argparse.Namespace) -> int:
    from adastyle.server import run

    settings = settings_from(args, SERVE)
    try:
        if args.background:
            run.check_not_running()
            run.check_port_free(settings.host, settings.port)
            info = run.start_background(settings_argv(settings, SERVE))
            print(f"AdaStyle server running at {info['url']} (pid {info['pid']}, device {info['device']})")
            print(f"Web page: {run.page_link(info['url'], run.read_token())}  (or: adastyle open)")
            return 0
        run.serve(settings, front_ends=(mount_web_page,))
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


def cmd_open(args: argparse.Namespace) -> int:
    from adastyle.server import run

    info = run.status()
    if info is None:
        raise UserError("no AdaStyle server is running: start it with `adastyle serve --background`")
    link = run.page_link(info["url"], run.read_token())
    print(link)
    if not args.print_only:
        import webbrowser

        if not webbrowser.open(link):
            print("(no browser found here: open the address above in one)")
    return 0


def cmd_web(args: argparse.Namespace) -> int:
    from adastyle.web.page import launch

    launch(settings_from(args, WEB))
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


SERVE_HELP = """Run the local server: the JSON API under /v1 for the GIMP and Krita plug-ins, the API page at
/docs and the web page at /ui, sharing one model and one job queue. It listens on 127.0.0.1 (and [::1])
unless --host says otherwise; the token requests carry is in the config folder."""

WEB_HELP = """Serve the web page alone on 127.0.0.1 (no token, no API), with its own model and queue; uploads
are checked as on the server (images only, each within --page-max-upload)."""

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
    s = sub.add_parser("serve", help="run the local server (the plug-ins and the page talk to it)",
                       description=SERVE_HELP)
    s.add_argument("--background", action="store_true", help="detach; pidfile and log in the config folder")
    add_settings_flags(s, SERVE)
    s.set_defaults(func=cmd_serve)

    sub.add_parser("stop", help="stop the background server",
                   description="Stop the server started with `adastyle serve --background` (its pidfile is in "
                               "the config folder).").set_defaults(func=cmd_stop)
    sub.add_parser("status", help="is the server running? (exit 1 if not)",
                   description="Print the running server's URL, pid, device and queue as JSON; exit 1 when no "
                               "server is running.").set_defaults(func=cmd_status)

    o = sub.add_parser("open", help="open the running server's web page in the browser",
                       description="Print the running server's web page address with its token (/ui/?token=...; "
                                   "the page swaps the token for a cookie at once) and open it in the browser. "
                                   "Exit 2 when no server is running.")
    o.add_argument("--print", dest="print_only", action="store_true", help="only print the address")
    o.set_defaults(func=cmd_open)

    w = sub.add_parser("web", help="serve the web page on 127.0.0.1", description=WEB_HELP)
    add_settings_flags(w, WEB)
    w.set_defaults(func=cmd_web)

    i = sub.add_parser("install-plugin", help="install the GIMP or Krita plug-in", description=INSTALL_HELP)
    i.add_argument("host_app", choices=("gimp", "krita"), help="the application")
    i.add_argument("--dest", metavar="DIR",
                   help="GIMP's plug-ins folder or Krita's pykrita folder (default: every installation found)")
    i.add_argument("--server-url", default=None,
                   help=f"server URL written into the plug-in settings (default: {DEFAULT_URL})")
    i.set_defaults(func=cmd_install_plugin)

    u = sub.add_parser("uninstall-plugin", help="remove what install-plugin wrote",
                       description="Remove exactly the files install-plugin wrote (it keeps a list beside them) and, "
                                   "for Krita, the line enabling it in kritarc. Exit 1 when nothing was installed.")
    u.add_argument("host_app", choices=("gimp", "krita"), help="the application")
    u.add_argument("--dest", metavar="DIR", help="the folder given to install-plugin --dest "
                                                  "(default: every installation's folder)")
    u.set_defaults(func=cmd_uninstall_plugin)
