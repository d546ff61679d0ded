"""Where our training images come from: registry packages, which files, what role, which licence.

Photos are content, paintings and artwork are style. Every file of the development evaluation set
(`shared/eval-dev/MANIFEST.md`) and its source file is excluded here by name, so the evaluation stays
held out.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Source:
    """One group of files inside one package."""

    package: str            # Debian package name, or "pypi:NAME" for a wheel
    globs: tuple[str, ...]  # relative to the unpacked package root
    role: str               # "content" (photos) or "style" (art)
    licence: str
    exclude: tuple[str, ...] = field(default=())  # substrings of paths to leave out
    bundles: tuple[str, ...] = field(default=())  # Qt .rcc files to unpack first, into rcc/<stem>/ of the root


# The eval-dev sources (shared/eval-dev/MANIFEST.md): never train on them.
EVAL_SOURCES = (
    "skimage/data/astronaut", "skimage/data/coffee", "skimage/data/rocket",
    "sklearn/datasets/images/china", "sample_data/grace_hopper",
    "images/story/swamp-02", "images/story/landscape-castle", "images/story/grim-altar",
    "wallpapers/Autumn/", "backgrounds/goldfish",
)

WESNOTH = "usr/share/games/wesnoth/1.16/data/core/images"
# GCompris keeps its photos inside Qt resource bundles; these activities hold photos (animals, monuments,
# objects, landscapes). The "details" activity mixes monument photos with Van Gogh paintings (style).
GCOMPRIS_RCC = "usr/share/gcompris-qt/rcc"
GCOMPRIS_PHOTOS = ("categorization", "erase", "explore_monuments", "explore_world_animals", "explore_farm_animals")
GCOMPRIS_PAINTINGS = ("Gogh", "PortraitOfPereTanguy", "Eglise_dAuvers")
SOURCES: tuple[Source, ...] = (
    # ---- photos (content) ----
    Source("lomiri-wallpapers-16.04", ("usr/share/backgrounds/*.jpg",), "content", "CC-BY-SA / CC-BY / CC0 (see copyright)",
           exclude=("analogpattern",)),
    Source("lomiri-wallpapers-20.04", ("usr/share/backgrounds/*.jpg",), "content", "CC-BY-SA / CC-BY / CC0 (see copyright)",
           exclude=("Painting-Colors",)),
    Source("mate-backgrounds", ("usr/share/backgrounds/mate/nature/*",), "content", "GPL-2+"),
    Source("tuxpaint-data", ("usr/share/tuxpaint/templates/*.jpg",), "content", "GPL-2+"),
    Source("palapeli-data", ("usr/share/palapeli/collection/*.jpg",), "content", "GPL-2+"),
    Source("opencv-doc", ("usr/share/doc/opencv-doc/examples/data/*.jpg", "usr/share/doc/opencv-doc/examples/data/*.png"),
           "content", "Apache-2.0 / BSD (see copyright)",
           exclude=("lena", "left", "right", "text", "starry_night", "graf", "logo", "sudoku", "chessboard",
                    "board", "digits", "notes", "pic", "box", "templ", "tmpl", "mask", "gradient", "ml.png",
                    "cards", "imageText", "detect_blob", "ellipses", "WindowsLogo", "Blender", "licenseplate",
                    "pca_test", "blox", "ela_", "smarties", "stuff", "aero")),
    Source("pypi:scikit-image", ("skimage/data/*.png", "skimage/data/*.jpg"), "content",
           "CC0 / public domain (see skimage/data/README)",
           exclude=("astronaut", "coffee", "rocket", "camera", "text", "page", "horse", "checker", "moon", "coins",
                    "clock", "brick", "grass", "gravel", "logo", "microaneurysms", "cell", "lbp", "phantom",
                    "ihc", "hubble", "retina", "color", "chessboard", "binary", "eagle", "hedgehog", "rough-wall",
                    "motorcycle_disp", "motorcycle_left", "motorcycle_right", "bw_")),
    Source("gcompris-qt-data", tuple(f"rcc/{b}/**/*.webp" for b in GCOMPRIS_PHOTOS) + (
           "rcc/details/**/*_background.webp",), "content", "GPL-3+ (see copyright)", exclude=GCOMPRIS_PAINTINGS,
           bundles=tuple(f"{GCOMPRIS_RCC}/{b}.rcc" for b in (*GCOMPRIS_PHOTOS, "details"))),
    Source("pypi:scikit-learn", ("sklearn/datasets/images/*.jpg",), "content", "CC BY 2.0 (see the images README)",
           exclude=("china",)),
    # ---- art (style) ----
    Source("wesnoth-1.16-data", (f"{WESNOTH}/story/*.jpg", f"{WESNOTH}/story/*.png", f"{WESNOTH}/maps/*.jpg",
                                 f"{WESNOTH}/maps/*.png", f"{WESNOTH}/portraits/*/*.webp", f"{WESNOTH}/portraits/*/*.png"),
           "style", "GPL-2+", exclude=("--overlay", "transparent", "titlescreen")),
    Source("gnome-backgrounds", ("usr/share/backgrounds/gnome/*.jpg", "usr/share/backgrounds/gnome/*.png",
                                 "usr/share/backgrounds/gnome/*.webp"), "style", "CC-BY-SA-3.0"),
    Source("ukui-wallpapers", ("usr/share/backgrounds/*.jpg", "usr/share/backgrounds/*.png"), "style", "CC-BY-SA-3.0"),
    Source("plasma-workspace-wallpapers", ("usr/share/wallpapers/*/contents/images/*.jpg",
                                           "usr/share/wallpapers/*/contents/images/*.png"), "style", "GPL-2+"),
    Source("mate-backgrounds", ("usr/share/backgrounds/mate/abstract/*",), "style", "GPL-2+"),
    Source("lomiri-wallpapers-20.04", ("usr/share/backgrounds/Painting-Colors*",), "style", "CC-BY-SA (see copyright)"),
    Source("gcompris-qt-data", tuple(f"rcc/details/**/*{p}*_background.webp" for p in GCOMPRIS_PAINTINGS),
           "style", "GPL-3+ (see copyright)", bundles=(f"{GCOMPRIS_RCC}/details.rcc",)),
    Source("opencv-doc", ("usr/share/doc/opencv-doc/examples/data/starry_night.jpg",
                          "usr/share/doc/opencv-doc/examples/data/graf*.png"), "style", "Apache-2.0 / BSD (see copyright)"),
)
