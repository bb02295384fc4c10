"""Griffe extension for the API reference: docstrings written for Sphinx read well as Markdown.

* Doctest examples (``>>> call()`` and the printed result, up to the next blank line) become
  ``pycon`` code blocks. Read as Markdown they would be nested block quotes, and a result such as
  ``[0, 1, 2]`` a link reference; fenced, they render as the interactive session they are.
* Sphinx cross-reference roles (``:mod:`sebac.commands```, ``:func:`~ingest.validation.validate```)
  become code spans with the name the role would show.
"""
from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:mod|func|class|meth|attr|data|exc|obj|const):`~?([^`]+)`")


def plain_roles(text: str) -> str:
    def name(m: re.Match) -> str:
        target = m.group(1)
        shown = target.rsplit(".", 1)[-1] if m.group(0).split("`")[1].startswith("~") else target
        return f"`{shown}`"

    return ROLE.sub(name, text)


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
        if obj.docstring:
            obj.docstring.value = plain_roles(fence_doctests(obj.docstring.value))
