"""SEBAC composition: settings, database, embedded pipeline, CLI and demo."""

__version__ = "0.1.0"
