"""MkDocs hook: the command reference, the table of statuses and the API, generated from the program where asked."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen_reference import api, reference, statuses

#: Each marker a page may hold and what replaces it.
GENERATED = {
    "<!-- symdescent:commands -->": reference,
    "<!-- symdescent:statuses -->": statuses,
    "<!-- symdescent:api -->": api,
}


def on_page_markdown(markdown: str, **_: Any) -> str:
    for marker, generate in GENERATED.items():
        if marker in markdown:
            markdown = markdown.replace(marker, generate())
    return markdown
