"""Bounded numeric parameters shared by the routers: no query or path number can overflow the database.

A number beyond 64 bits overflows SQLite (``OverflowError``) and one beyond 32 bits overflows a
PostgreSQL ``integer`` column (``sa.Integer``, the ids): either would be a 500. Every numeric query
or path parameter carries an upper bound (``le``), so such input is a 422 ``request.invalid``
before a query is built; ``tests/api/test_query_bounds.py`` checks every route of the app.
"""
from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

DB_INT_MAX = 2**31 - 1  # the largest PostgreSQL ``integer`` (ids); SQLite and PG ``OFFSET`` take more

Offset = Annotated[int, Query(ge=0, le=DB_INT_MAX, description="items to skip (pagination)")]
AlertId = Annotated[int, Path(ge=1, le=DB_INT_MAX)]
UserId = Annotated[int, Path(ge=1, le=DB_INT_MAX)]
