"""Make docs/first-picture.jpg: content | style | the output of README's first command, unedited.

Run from the repository root: `python tools/readme_picture.py`. It runs exactly the command README.md shows
(default settings), so the picture shows what a new user gets.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
CONTENT = "core/adastyle/examples/content-grace_hopper.jpg"
STYLE = "core/adastyle/examples/style-castle.jpg"
OUT = ROOT / "docs" / "first-picture.jpg"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "out.png"
        subprocess.run([sys.executable, "-m", "adastyle.cli", "stylize", CONTENT, "--style", STYLE, "-o", str(result)],
                       cwd=ROOT, check=True)
        panels = [Image.open(ROOT / CONTENT).convert("RGB"), Image.open(ROOT / STYLE).convert("RGB"),
                  Image.open(result).convert("RGB")]
    side, gap, label_h = 512, 8, 28
    sheet = Image.new("RGB", (3 * side + 2 * gap, side + label_h), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (panel, label) in enumerate(zip(panels, ("content", "style", "adastyle stylize (defaults)"))):
        x = i * (side + gap)
        sheet.paste(panel.resize((side, round(panel.height * side / panel.width))), (x, label_h))
        draw.text((x + 4, 6), label, fill="black")
    sheet.save(OUT, quality=90)
    print(OUT)


if __name__ == "__main__":
    main()
