"""The disease catalogue: stable codes, French and English names, immediately notifiable flag.

Loaded strictly from YAML (``ingest/data/diseases.yaml`` by default): unknown keys, duplicate codes
or keywords are errors at start-up.
"""
from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Iterable

import yaml
from pydantic import BaseModel, ConfigDict, Field

from ingest.errors import DomainError


class Disease(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,40}$")
    name_fr: str
    name_en: str
    immediate: bool = False
    nyss: int | None = Field(default=None, ge=1)
    keywords: tuple[str, ...] = ()

    def name(self, lang: str) -> str:
        return self.name_fr if lang == "fr" else self.name_en


def fold(text: str) -> str:
    """Upper-case, accents removed: the form SMS keywords are compared in."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().upper()


class DiseaseCatalogue:
    def __init__(self, diseases: Iterable[Disease]):
        self.by_code: dict[str, Disease] = {}
        self.by_keyword: dict[str, Disease] = {}
        self.by_nyss: dict[int, Disease] = {}
        for d in diseases:
            if d.code in self.by_code:
                raise DomainError("diseases.code.duplicate", f"duplicate disease code {d.code!r}")
            self.by_code[d.code] = d
            for kw in d.keywords:
                k = fold(kw)
                if k in self.by_keyword:
                    raise DomainError("diseases.keyword.duplicate", f"keyword {kw!r} used twice")
                self.by_keyword[k] = d
            if d.nyss is not None:
                if d.nyss in self.by_nyss:
                    raise DomainError("diseases.nyss.duplicate", f"nyss code {d.nyss} used twice")
                self.by_nyss[d.nyss] = d

    def __contains__(self, code: object) -> bool:
        return code in self.by_code

    def __iter__(self):
        return iter(self.by_code.values())

    def get(self, code: str) -> Disease:
        return self.by_code[code]

    def codes(self) -> list[str]:
        return list(self.by_code)


def load_diseases(path: str | Path | None = None) -> DiseaseCatalogue:
    path = Path(path) if path else Path(__file__).parent / "data" / "diseases.yaml"
    with open(path, encoding="utf-8") as fh:
        doc = yaml.safe_load(fh)
    if not isinstance(doc, dict) or set(doc) != {"diseases"}:
        raise DomainError("diseases.format.invalid", f"{path}: expected a single 'diseases' list")
    try:
        return DiseaseCatalogue(Disease.model_validate(d) for d in doc["diseases"])
    except DomainError:
        raise
    except Exception as exc:
        raise DomainError("diseases.format.invalid", f"{path}: {exc}") from exc
