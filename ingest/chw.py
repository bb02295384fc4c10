"""The CHW registry: which phone number belongs to which community health worker, site and language.

An SMS is attributed to the site of the CHW registered with the sender's phone; an unknown phone
is not an error of the CHW's making, so its message is kept as an *unregistered signal* (listed,
re-processable once the number is registered) rather than dropped.

Loaded from YAML (``chws: [{id, phone, site_id, name, lang}]``) or CSV (same columns), checked at
start-up: every site exists in the pyramid at a reporting level, phones and ids are unique. Phones
are compared in a normalised E.164-like form (:func:`normalise_phone`). The Mali demo pyramid
gets one demo CHW per site (:func:`demo_chws`), phones ``+223 70 00 xx xx``.
"""
from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Iterable

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ingest.errors import DomainError
from ingest.pyramid import Pyramid

_NON_DIGITS = re.compile(r"[^\d+]")


def normalise_phone(raw: str, default_country_code: str = "223") -> str:
    """``+223 70 00 00 01``, ``0022370000001``, ``tel:+22370000001`` → ``+22370000001``.

    A national number (8 digits in Mali, no prefix) gets ``default_country_code``.

    >>> normalise_phone("tel:+223 70-00-00-01"), normalise_phone("0022370000001"), normalise_phone("70000001")
    ('+22370000001', '+22370000001', '+22370000001')
    """
    s = raw.strip()
    if s.lower().startswith("tel:"):
        s = s[4:]
    s = _NON_DIGITS.sub("", s)
    if s.startswith("+"):
        return "+" + s[1:].replace("+", "")
    s = s.replace("+", "")
    if s.startswith("00"):
        return "+" + s[2:]
    if s.startswith("0") and len(s) > 1:  # trunk prefix of a national number
        s = s[1:]
    if s.startswith(default_country_code) and len(s) > len(default_country_code) + 6:
        return "+" + s
    return "+" + default_country_code + s if s else ""


class CHW(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    id: str = Field(min_length=1, max_length=64)
    phone: str = Field(min_length=4, max_length=32)
    site_id: str = Field(min_length=1, max_length=64)
    name: str | None = None
    lang: str = Field(default="fr", pattern=r"^[a-z]{2,3}$")

    @field_validator("phone")
    @classmethod
    def _normalise(cls, v: str) -> str:
        return normalise_phone(v)


class CHWRegistry:
    def __init__(self, chws: Iterable[CHW], pyramid: Pyramid,
                 reporting_levels: tuple[str, ...] = ("site", "health_area")):
        self.by_phone: dict[str, CHW] = {}
        self.by_id: dict[str, CHW] = {}
        for c in chws:
            unit = pyramid.resolve(c.site_id)
            if unit is None:
                raise DomainError("chw.site.unknown", f"CHW {c.id!r}: unknown site {c.site_id!r}")
            if unit.level not in reporting_levels:
                raise DomainError("chw.site.level", f"CHW {c.id!r}: {c.site_id!r} is a {unit.level}")
            if c.phone in self.by_phone:
                raise DomainError("chw.phone.duplicate", f"phone {c.phone} registered twice")
            if c.id in self.by_id:
                raise DomainError("chw.id.duplicate", f"CHW id {c.id!r} registered twice")
            c = c.model_copy(update={"site_id": unit.id})
            self.by_phone[c.phone] = c
            self.by_id[c.id] = c

    def __len__(self) -> int:
        return len(self.by_id)

    def by_number(self, phone: str) -> CHW | None:
        return self.by_phone.get(normalise_phone(phone)) if phone else None


def _rows_from_file(path: Path) -> list[dict]:
    if path.suffix.lower() in (".yaml", ".yml"):
        with open(path, encoding="utf-8") as fh:
            doc = yaml.safe_load(fh)
        if not isinstance(doc, dict) or set(doc) != {"chws"} or not isinstance(doc["chws"], list):
            raise DomainError("chw.format.invalid", f"{path}: expected a single 'chws' list")
        return doc["chws"]
    if path.suffix.lower() == ".csv":
        with open(path, encoding="utf-8", newline="") as fh:
            return [{k.strip(): v.strip() for k, v in row.items() if k and v not in (None, "")}
                    for row in csv.DictReader(fh)]
    raise DomainError("chw.format.invalid", f"{path}: unsupported file type (use .yaml or .csv)")


def load_chw_registry(path: str | Path, pyramid: Pyramid) -> CHWRegistry:
    path = Path(path)
    if not path.exists():
        raise DomainError("chw.file.missing", f"CHW registry not found: {path}")
    chws = []
    for i, row in enumerate(_rows_from_file(path)):
        try:
            chws.append(CHW.model_validate(row))
        except Exception as exc:
            raise DomainError("chw.format.invalid", f"{path}: CHW #{i + 1}: {exc}") from exc
    return CHWRegistry(chws, pyramid)


def demo_chws(pyramid: Pyramid) -> list[CHW]:
    """One CHW per site of the demo pyramid: ``ASC-0001`` at ``+22370000001``, French speaking.

    Every fifth CHW reads Bambara (``bm``), which falls back to French until translations are
    supplied, so the demo shows the language routing.
    """
    sites = sorted(u.id for u in pyramid.at_level("site"))
    return [CHW(id=f"ASC-{i:04d}", phone=f"+2237000{i:04d}", site_id=site, name=f"ASC {pyramid.get(site).name}",
                lang="bm" if i % 5 == 0 else "fr")
            for i, site in enumerate(sites, start=1)]
