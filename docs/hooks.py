"""MkDocs hook: pages that say ``<!-- symdescent:commands -->`` get the reference generated from the Click commands."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen_reference import reference

MARKER = "<!-- symdescent:commands -->"


def on_page_markdown(markdown: str, **_: Any) -> str:
    if MARKER in markdown:
        return markdown.replace(MARKER, reference())
    return markdown
