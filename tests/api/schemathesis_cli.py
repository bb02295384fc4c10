"""Run the schemathesis CLI with ``ast.parse`` serialised across threads.

CPython 3.11 before 3.11.8 keeps the AST validator's recursion depth in interpreter-wide state, so two
threads parsing at once can raise ``SystemError: AST constructor recursion depth mismatch``
(CPython gh-106905). Hypothesis parses lambda sources to describe strategies, and schemathesis runs
``--workers 2`` as threads: one CI run on 3.11.7 lost its coverage phase to this. A lock around
``ast.parse`` removes the race without giving up the second worker.

Usage: ``python -m tests.api.schemathesis_cli run …`` (the same arguments as ``schemathesis``).
"""
from __future__ import annotations

import ast
import sys
import threading

_parse = ast.parse
_lock = threading.Lock()


def _serialised_parse(*args, **kwargs):  # type: ignore[no-untyped-def]
    with _lock:
        return _parse(*args, **kwargs)


def main() -> None:
    ast.parse = _serialised_parse  # type: ignore[assignment]
    from schemathesis.cli import schemathesis

    sys.argv[0] = "schemathesis"
    sys.exit(schemathesis())


if __name__ == "__main__":
    main()
