"""Where our training images come from: registry packages, which files, what role, which licence.

Photos are content, paintings and artwork are style. Every file of the two evaluation sets
(`eval/sets/eval-dev/MANIFEST.md`, `eval/sets/eval-wide/MANIFEST.md`) and its source file is excluded here by name,
so the evaluations stay held out.

Why so many packages: a decoder only learns to reach the feature statistics of the styles it sees. With
three quarters of its styles from one game's story paintings it failed on sketches, line art, abstract and
monochrome art. So every style package is capped (`limit`) and no package may give more than 30% of the styles.
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
    bundles: tuple[str, ...] = field(default=())  # .rcc (Qt) or .pk3/.zip files to unpack first, into rcc/<stem>/
    limit: int = 0          # at most this many images (a fixed pseudo-random choice); 0 = all
    tile: bool = False      # small seamless textures are tiled up to the working size instead of dropped
    patches: int = 0        # cut each image into overlapping square patches of this side (native resolution)
    grey_ok: bool = False   # keep greyscale photos (old photos of people: faces matter more than colour)


# The eval-dev and eval-wide sources (eval/sets/*/MANIFEST.md): never train on them. Substrings of paths;
# the KPhotoAlbum demo keeps other photos of the eval-wide portraits' sitter, so every one of them is out.
EVAL_SOURCES = (
    # eval-dev
    "skimage/data/astronaut", "skimage/data/coffee", "skimage/data/rocket",
    "sklearn/datasets/images/china", "sample_data/grace_hopper",
    "images/story/swamp-02", "images/story/landscape-castle", "images/story/grim-altar",
    "wallpapers/Autumn/", "backgrounds/goldfish",
    # eval-wide
    "kphotoalbum/demo/jesper", "CategoryImages/People-Jesper", "kphotoalbum/demo/new_wave",
    "pixmaps/faces/cat.", "pixmaps/faces/tomatoes.", "cityCC0",
    "religion/daedalus_and_ikarus_pete_01", "mammals/dall_sheep_ram_ganson", "holiday/fireworks__ganson",
    "patterns/pattern-diamond-squares-4", "ViSP-images/Klimt/", "backgrounds/chinese_landscape",
    "gothic_block/blocks15_blue", "acc_dm5/rust.",
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
    # People: the KPhotoAlbum demo album (portraits, friends, places) and GNOME's avatar photos.
    Source("kphotoalbum", ("usr/share/kphotoalbum/demo/*.jpg", "usr/share/kphotoalbum/demo/CategoryImages/*.jpg"),
           "content", "GPL-2+"),
    Source("gnome-control-center-data", ("usr/share/pixmaps/faces/*.jpg", "usr/share/pixmaps/faces/*.png"),
           "content", "CC0-1.0 (avatar photos; see copyright)"),
    # ---- art (style) ----
    Source("wesnoth-1.16-data", (f"{WESNOTH}/story/*.jpg", f"{WESNOTH}/story/*.png", f"{WESNOTH}/maps/*.jpg",
                                 f"{WESNOTH}/maps/*.png", f"{WESNOTH}/portraits/*/*.webp", f"{WESNOTH}/portraits/*/*.png"),
           "style", "GPL-2+", exclude=("--overlay", "transparent", "titlescreen"), limit=380),
    *(Source(f"wesnoth-1.16-{c}", tuple(f"usr/share/games/wesnoth/1.16/data/campaigns/*/images/story/*.{e}"
                                        for e in ("jpg", "png", "webp")), "style", "GPL-2+")
      for c in ("trow", "sota", "httt", "low")),
    # Sky-culture illustrations: medieval manuscript paintings (Leiden Aratea, al-Sufi), engravings, ink drawings
    # of many cultures; and a few nebula pictures (light on black).
    Source("stellarium-data", ("usr/share/stellarium/skycultures/*/*.png", "usr/share/stellarium/skycultures/*/*.jpg",
                               "usr/share/stellarium/skycultures/*/*/*.png", "usr/share/stellarium/skycultures/*/*/*.jpg"),
           "style", "GPL-2+ (see copyright for per-culture art credits)", limit=380),
    Source("stellarium-data", ("usr/share/stellarium/nebulae/default/*.png",), "style", "GPL-2+ (see copyright)",
           limit=40),
    # Public-domain drawings rendered on paper: engravings, woodcuts, line art, patterns, clip art.
    Source("openclipart-svg", ("usr/share/openclipart/svg/**/*.svg",), "style",
           "Creative Commons Public Domain Dedication", limit=400),
    Source("flare-game", ("usr/share/games/flare/mods/*/images/portraits/*.png",
                          "usr/share/games/flare/mods/*/images/menus/backgrounds/*.png",
                          "usr/share/games/flare/mods/*/images/parallax/*.png",
                          "usr/share/games/flare/mods/*/images/books/*.png"), "style", "CC-BY-SA-3.0"),
    Source("openarena-081-textures", ("rcc/pak4-textures/textures/**/*.jpg", "rcc/pak4-textures/textures/**/*.tga",
                                      "rcc/pak4-textures/textures/**/*.png"),
           "style", "GPL-2+", bundles=("usr/share/games/openarena/baseoa/pak4-textures.pk3",), limit=180, tile=True),
    # 0 A.D.: painted loading-screen art and hand-painted terrain textures (inside the game's archive).
    Source("0ad-data", ("rcc/public/art/textures/ui/loading/**/*.dds",), "style", "CC-BY-SA-3.0 (art; see copyright)",
           bundles=("usr/share/games/0ad/mods/public/public.zip",), exclude=("gradient", "background-tile", "tips")),
    Source("0ad-data", ("rcc/public/art/textures/terrain/types/*.dds",), "style", "CC-BY-SA-3.0 (art; see copyright)",
           bundles=("usr/share/games/0ad/mods/public/public.zip",), limit=120, tile=True,
           exclude=("_spec", "_norm", "normal", "specular")),
    Source("krita-data", ("usr/share/krita/patterns/*.png", "usr/share/krita/patterns/*.jpg"), "style",
           "GPL-3+ (see copyright)", tile=True),
    Source("mypaint-data", ("usr/share/mypaint/backgrounds/*.png", "usr/share/mypaint/backgrounds/*.jpg"), "style",
           "GPL-2+ (see copyright)", tile=True),
    Source("kdegames-mahjongg-data-kf5", ("usr/share/kmahjongglib/backgrounds/*.svgz",), "style", "GPL-2+",
           exclude=("color_plain",)),
    Source("tuxpaint-data", ("usr/share/tuxpaint/starters/*.svg", "usr/share/tuxpaint/starters/*.png"), "style",
           "GPL-2+"),
    Source("gnome-backgrounds", ("usr/share/backgrounds/gnome/*.jpg", "usr/share/backgrounds/gnome/*.png",
                                 "usr/share/backgrounds/gnome/*.webp"), "style", "CC-BY-SA-3.0"),
    Source("ukui-wallpapers", ("usr/share/backgrounds/*.jpg", "usr/share/backgrounds/*.png"), "style", "CC-BY-SA-3.0"),
    # These wallpapers are photos (landscapes, flowers): content, not style.
    Source("plasma-workspace-wallpapers", ("usr/share/wallpapers/*/contents/images/*.jpg",
                                           "usr/share/wallpapers/*/contents/images/*.png"), "content", "GPL-2+"),
    Source("mate-backgrounds", ("usr/share/backgrounds/mate/abstract/*",), "style", "GPL-2+"),
    Source("lomiri-wallpapers-20.04", ("usr/share/backgrounds/Painting-Colors*",), "style", "CC-BY-SA (see copyright)"),
    Source("gcompris-qt-data", tuple(f"rcc/details/**/*{p}*_background.webp" for p in GCOMPRIS_PAINTINGS),
           "style", "GPL-3+ (see copyright)", bundles=(f"{GCOMPRIS_RCC}/details.rcc",)),
    Source("opencv-doc", ("usr/share/doc/opencv-doc/examples/data/starry_night.jpg",
                          "usr/share/doc/opencv-doc/examples/data/graf*.png"), "style", "Apache-2.0 / BSD (see copyright)"),
    # ---- more photos (content); appended so the sources above keep their build keys ----
    # Landscapes (morgueFile public-domain photos; a few CC-BY-SA, see the copyright file), at 1440x720.
    Source("endless-sky-high-dpi", ("usr/share/games/endless-sky/plugins/endless-sky-high-dpi/images/land/*.jpg",
                                    "usr/share/games/endless-sky/plugins/endless-sky-high-dpi/images/land/*.png"),
           "content", "public domain (morgueFile) / CC-BY-SA-3.0 / CC-BY-SA-4.0 per file (see copyright)"),
    # 1940s photos of people at work (Library of Congress, US Army, NASA): greyscale, kept for their faces.
    Source("endless-sky-data", tuple(f"usr/share/games/endless-sky/images/scene/{n}.jpg" for n in (
           "loc0", "loc1", "loc2", "loc3", "loc4", "loc5", "loc6", "loc7", "loc8", "loc9", "army0", "engine",
           "engine2", "lobby")), "content", "public domain (see copyright)", grey_ok=True),
    Source("scratch", tuple(f"usr/share/scratch/Media/Backgrounds/{d}/*.{e}" for d in ("Nature", "Outdoors", "Indoors",
                                                                                     "Sports") for e in ("jpg", "png")),
           "content", "CC-BY-SA-3.0",
           exclude=("woods-and-bench", "school2", "brick-wall1", "room1", "room2", "room3", "chalkboard",
                    "spotlight-stage", "party-room")),
    # Enlightenment's 4K photo backgrounds are plain JPEGs inside Edje (.edj) files.
    Source("enlightenment-data", tuple(f"rcc/{n}/*.png" for n in (
           "Bamboo", "Foggy-Trees", "God-Rays", "Green-Maple", "Lichen-Branches", "Mountain", "Peaks", "Red-Maple",
           "Sea-of-Lanterns", "Snow-Trees", "Spruce-Needles", "Sunset-Clouds", "White-Flower", "Yellow-Flower")),
           "content", "BSD-2-Clause",
           bundles=tuple(f"usr/share/enlightenment/data/backgrounds/{n}.edj" for n in (
               "Bamboo", "Foggy-Trees", "God-Rays", "Green-Maple", "Lichen-Branches", "Mountain", "Peaks",
               "Red-Maple", "Sea-of-Lanterns", "Snow-Trees", "Spruce-Needles", "Sunset-Clouds", "White-Flower",
               "Yellow-Flower"))),
    Source("lxqt-themes", tuple(f"usr/share/lxqt/wallpapers/{n}" for n in (
           "Butterfly-Kenneth-Wimer.jpg", "Valendas.png", "after-the-rain.jpg", "appleflower.png", "butterfly.png",
           "cloud.png", "drop.png", "flowers.png", "fog.jpg")), "content", "CC-BY-SA-3.0 (wallpapers/License)"),
    Source("gcompris-qt-data", tuple(f"rcc/{b}/**/*.webp" for b in ("louis-braille", "explore_world_music",
                                                                    "clickgame")),
           "content", "GPL-3+ (see copyright)",
           bundles=tuple(f"{GCOMPRIS_RCC}/{b}.rcc" for b in ("louis-braille", "explore_world_music", "clickgame"))),
    # The Solvay conference of 1927: 29 faces in one public-domain group photo, cut into overlapping patches.
    Source("visp-images-data", ("usr/share/visp-images-data/ViSP-images/Solvay/*2126x1463.png",), "content",
           "GPL-2 (ViSP image set, Inria; the 1927 photograph is public domain)", patches=384, grey_ok=True),
    Source("dde-account-faces", ("var/lib/AccountsService/icons/bigger/*.png",), "content", "GPL-3+"),
    Source("sddm-theme-maldives", ("usr/share/sddm/themes/maldives/background.jpg",), "content", "CC-BY-SA-3.0"),
)
