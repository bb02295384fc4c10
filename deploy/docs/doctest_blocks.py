"""Griffe extension for the API reference: doctest examples in docstrings become ``pycon`` code blocks.

The docstrings of SEBAC show examples as doctests (``>>> call()`` and the printed result, up to the
next blank line). Read as Markdown they would be nested block quotes, and a result such as
``[0, 1, 2]`` a link reference; fenced, they render as the interactive session they are.
"""
from __future__ import annotations

from typing import Any

import griffe


def fence_doctests(text: str) -> str:
    out: list[str] = []
    lines = text.split("\n")
    i, fence = 0, False
    while i < len(lines):
        line = lines[i]
        stripped = line.lstrip()
        if stripped.startswith("```"):
            fence = not fence
        if not fence and stripped.startswith(">>>"):
            indent = line[: len(line) - len(stripped)]
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i].lstrip())
                i += 1
            out += [f"{indent}```pycon", *(indent + b for b in block), f"{indent}```"]
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


class DoctestBlocks(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring and ">>>" in obj.docstring.value:
            obj.docstring.value = fence_doctests(obj.docstring.value)
