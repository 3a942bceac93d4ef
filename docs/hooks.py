"""MkDocs hook: the command reference and the table of statuses, generated from the program where a page asks."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen_reference import reference, statuses

#: Each marker a page may hold and what replaces it.
GENERATED = {"<!-- symdescent:commands -->": reference, "<!-- symdescent:statuses -->": statuses}


def on_page_markdown(markdown: str, **_: Any) -> str:
    for marker, generate in GENERATED.items():
        if marker in markdown:
            markdown = markdown.replace(marker, generate())
    return markdown
