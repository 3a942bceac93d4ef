"""Renderers: they format steps and results, and never compute anything.

Each renderer has ``step(step)``, called as each printed step is computed,
and ``finish(result)``, called once at the end. Streaming formats (CSV, TSV,
JSON lines) write in ``step``; the others collect and write in ``finish``.
"""

from __future__ import annotations

from typing import Protocol

from symdescent.result import Result, Step


class Renderer(Protocol):
    def step(self, step: Step) -> None: ...

    def finish(self, result: Result) -> None: ...
