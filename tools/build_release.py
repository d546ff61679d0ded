"""Build the release files into dist/: the wheel and the sdist (weights, examples, plug-ins and the web page
inside), the Krita plug-in zip and the GIMP plug-in zip.

    python tools/build_release.py            # all four
    python tools/build_release.py --plugins  # only the two plug-in zips (no `build` package needed)

Prints each file with its size. Needs `pip install build` for the wheel and sdist (part of the test extra).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def build_packages(dist: Path) -> list[Path]:
    """`python -m build` (wheel and sdist) into `dist`; the files it made."""
    before = set(dist.glob("*")) if dist.is_dir() else set()
    subprocess.run([sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT)], check=True)
    return sorted(set(dist.glob("*")) - before) or sorted(dist.glob("adastyle-*"))


def build_plugins(dist: Path) -> list[Path]:
    from adastyle import __version__
    from adastyle.install import write_plugin_archive

    return [write_plugin_archive(app, dist / f"adastyle-{app}-plugin-{__version__}.zip") for app in ("krita", "gimp")]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dist", default=str(ROOT / "dist"), help="output folder")
    p.add_argument("--plugins", action="store_true", help="only the plug-in zips")
    args = p.parse_args(argv)
    dist = Path(args.dist)
    made = ([] if args.plugins else build_packages(dist)) + build_plugins(dist)
    for path in made:
        print(f"{path}  ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
