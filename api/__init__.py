"""HTTP API (FastAPI): CHW submissions, gateways, DHIS2 import, alert inboxes and actions."""
