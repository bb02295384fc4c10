"""``sebac rules``: check and list the case-definition rules and statistical detectors a deployment
would load (the same strict loaders as start-up), without starting anything."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def rules(
        rules_path: Optional[Path] = typer.Option(None, "--rules", help="rules YAML (default: SEBAC_RULES_PATH "
                                                  "or the IDSR catalogue)"),
        detectors_path: Optional[Path] = typer.Option(None, "--detectors", help="detectors YAML (default: "
                                                      "SEBAC_DETECTORS_PATH or detectors/data/detectors.yaml)"),
        lang: str = typer.Option("en", help="language of the rule names: en or fr"),
    ) -> None:
        """Validate the rule and detector files; print them as a table (exit 2 with the error key if invalid)."""
        from detectors.rules.catalogue import load_rules
        from detectors.statistical import load_detectors
        from ingest.diseases import load_diseases
        from ingest.errors import DomainError
        from ingest.pyramid import demo_pyramid_path, load_pyramid
        from sebac.settings import Settings

        settings = Settings()
        try:
            pyramid = load_pyramid(settings.pyramid_path or demo_pyramid_path())
            diseases = load_diseases(settings.diseases_path)
            catalogue = load_rules(rules_path or settings.rules_path, diseases, pyramid.levels)
            dets = load_detectors(detectors_path or settings.detectors_path, diseases, pyramid.levels)
        except DomainError as exc:
            typer.echo(f"error [{exc.key}]: {exc.message}", err=True)
            raise typer.Exit(2)
        typer.echo("| rule | kind | diseases | levels | name |\n|---|---|---|---|---|")
        for r in catalogue:
            typer.echo(f"| {r.id}{'' if r.enabled else ' (disabled)'} | {r.kind} | {', '.join(r.diseases)} | "
                       f"{', '.join(r.levels)} | {r.name(lang)} |")
        typer.echo("\n| detector | disease | level | algorithm | params |\n|---|---|---|---|---|")
        for c in dets:
            typer.echo(f"| {c.id}{'' if c.enabled else ' (disabled)'} | {c.disease} | {c.level} | {c.algorithm} | "
                       f"{c.params or ''} |")
        typer.echo(f"\n{len(catalogue)} rules, {len(dets)} detectors: OK")
