"""Dependency aliases (Dispatch/Polar style): the pipeline is put on ``app.state`` by composition."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request


def get_pipeline(request: Request) -> Any:
    return request.app.state.pipeline


PipelineDep = Annotated[Any, Depends(get_pipeline)]
