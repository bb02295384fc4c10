"""``/docs``: Swagger UI without inline script, so its page keeps a strict Content-Security-Policy.

FastAPI's own page starts Swagger UI with an inline ``<script>``, which a policy without
``'unsafe-inline'`` blocks. Here the start-up code is a same-origin file (``/docs/swagger-init.js``,
the same options as FastAPI's page) that reads the OpenAPI URL from the page, so the page's policy
(:data:`DOCS_POLICY`) differs from the strict HTML policy only by Swagger UI's inline styles and
``data:`` images (its icons). Its script and stylesheet are served by SEBAC itself (fetched at
install from ``console/assets.lock``), so ``/docs`` works without internet. ReDoc is not served (it needs inline
styles and workers from ``blob:``).
"""
from __future__ import annotations

import html
import json

from fastapi import APIRouter, Request
from fastapi.openapi.docs import swagger_ui_default_parameters
from fastapi.responses import HTMLResponse, Response

router = APIRouter(include_in_schema=False)

SWAGGER_JS = "/static/vendor/swagger-ui/swagger-ui-bundle.js"  # console/assets.lock: served by us, offline
SWAGGER_CSS = "/static/vendor/swagger-ui/swagger-ui.css"
DOCS_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
INIT_JS = """\
"use strict";
(function () {
  var root = document.getElementById("swagger-ui");
  var options = %s;
  options.url = root.dataset.openapiUrl;
  options.presets = [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset];
  window.ui = SwaggerUIBundle(options);
})();
""" % json.dumps(swagger_ui_default_parameters, sort_keys=True)


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "").rstrip("/")
    openapi_url = html.escape(root + (request.app.openapi_url or "/openapi.json"), quote=True)
    title = html.escape(f"{request.app.title} - Swagger UI")
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="{SWAGGER_CSS}">
<title>{title}</title>
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
<script src="{SWAGGER_JS}"></script>
<script src="{html.escape(root)}/docs/swagger-init.js"></script>
</body>
</html>
"""
    return HTMLResponse(page, headers={"Content-Security-Policy": DOCS_POLICY})


@router.get("/docs/swagger-init.js")
def swagger_init() -> Response:
    return Response(INIT_JS, media_type="text/javascript", headers={"Cache-Control": "no-cache"})
