"""Dependency aliases (Dispatch/Polar style) over what composition put on ``app.state``.

* :data:`ServicesDep` — the composed engine (:class:`api.services.Services`): database, reference
  data, clocks, repositories, stages and the ingest entry points.
* :data:`SettingsDep` — the settings the API reads (:class:`api.services.ApiSettings`).
"""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.services import ApiSettings, Services


def get_services(request: Request) -> Services:
    services: Services = request.app.state.pipeline
    return services


def get_settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


ServicesDep = Annotated[Services, Depends(get_services)]
SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
