"""Ingest: every channel (HTTP, SMS gateways, DHIS2, CSV) lands in one validated Report contract."""
