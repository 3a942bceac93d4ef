"""Draw the pictures the README and the docs show, with the program itself: ``python docs/make_pictures.py``.

Each picture is one command, run in-process as a user would type it, from docs/examples/; they are written
to docs/images/. Run it again after a change to the pictures' code.
"""

from __future__ import annotations

import os
import shlex
import shutil
import tempfile
from pathlib import Path

from click.testing import CliRunner

from symdescent.cli import main

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "docs" / "images"

#: (file, command): every kind of picture once.
PICTURES = [
    ("seed.png", 'run "x**2+y**2" --start 1,2 --lr 0.1 -q --plot seed.png'),
    ("seed.gif", 'run "x**2+y**2" --start 1,2 --lr 0.1 -q --plot seed.gif'),
    ("race.gif", 'compare "(1-x)**2+100*(y-x**2)**2" --start -1.2,1 --methods gd,momentum,adam,newton --format csv '
     "--plot race.gif"),
    ("fit.gif", 'run "mean((a*t + b - T)^2)" --data temps.csv --start a=0,b=0 --lr 0.05 -q '
     "--plot fit.gif"),
    ("sweep.png", 'sweep "x**2+y**2" --start 1,2 --lr 0.01..10 --points 60 --format csv --plot sweep.png'),
]  # fmt: skip


def main_() -> None:
    IMAGES.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        for name in os.listdir(ROOT / "docs" / "examples"):
            shutil.copy(ROOT / "docs" / "examples" / name, folder)
        here = os.getcwd()
        os.chdir(folder)
        try:
            for file, command in PICTURES:
                result = CliRunner().invoke(main, shlex.split(command), catch_exceptions=False)
                if not os.path.exists(file):
                    raise SystemExit(f"{command}: no picture (exit {result.exit_code}): {result.stderr}")
                shutil.copy(file, IMAGES / file)
                print(f"docs/images/{file}: {os.path.getsize(file) / 1024:.0f} KiB  ← symdescent {command}")
        finally:
            os.chdir(here)


if __name__ == "__main__":
    main_()
