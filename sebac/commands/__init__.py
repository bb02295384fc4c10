"""Sub-commands of ``sebac``: each module defines ``register(app: typer.Typer)``."""
