"""The health pyramid: org units (national → region → district → health area → site) as a tree.

Levels are configuration, not code: a :class:`Pyramid` carries its ordered level names (Mali:
``national, region, district, health_area, site``) and every org unit points to its parent.
Loaded from YAML (nested or flat), CSV (flat) or a DHIS2 ``organisationUnits`` JSON export.
Loading checks the whole tree and fails loudly with a stable key: duplicate ids
(``pyramid.id.duplicate``), unknown parents (``pyramid.parent.unknown``), cycles
(``pyramid.cycle``), a level that does not sit directly below its parent's
(``pyramid.level.invalid``), more or less than one root (``pyramid.root.invalid``).
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ingest.errors import PyramidError

DEFAULT_LEVELS = ("national", "region", "district", "health_area", "site")


class OrgUnit(BaseModel):
    """One node of the pyramid. ``level`` is the level name; ``depth`` its index (0 = root)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1)
    level: str
    parent_id: str | None = None
    population: int | None = Field(default=None, ge=0)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    dhis2_uid: str | None = None
    code: str | None = Field(default=None, max_length=64, description="DHIS2 organisation unit code")

    @field_validator("id")
    @classmethod
    def _no_blank(cls, v: str) -> str:
        if v.strip() != v or not v:
            raise ValueError("org unit id must not have surrounding spaces")
        return v


@dataclass
class Pyramid:
    """A validated org-unit tree. Build with :meth:`from_units` or the ``load_*`` functions."""

    levels: tuple[str, ...]
    units: dict[str, OrgUnit]
    children: dict[str, list[str]] = field(default_factory=dict)
    by_dhis2_uid: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_units(cls, units: Iterable[OrgUnit], levels: Iterable[str] = DEFAULT_LEVELS) -> "Pyramid":
        levels = tuple(levels)
        if len(set(levels)) != len(levels) or not levels:
            raise PyramidError("pyramid.levels.invalid", f"levels must be distinct and non-empty: {levels}")
        by_id: dict[str, OrgUnit] = {}
        for u in units:
            if u.id in by_id:
                raise PyramidError("pyramid.id.duplicate", f"duplicate org unit id {u.id!r}", id=u.id)
            if u.level not in levels:
                raise PyramidError(
                    "pyramid.level.unknown", f"org unit {u.id!r} has unknown level {u.level!r}", id=u.id
                )
            by_id[u.id] = u
        roots = [u.id for u in by_id.values() if u.parent_id is None]
        for u in by_id.values():
            if u.parent_id is not None and u.parent_id not in by_id:
                raise PyramidError(
                    "pyramid.parent.unknown",
                    f"org unit {u.id!r} has unknown parent {u.parent_id!r}",
                    id=u.id,
                    parent=u.parent_id,
                )
        # cycle detection: walk up from every unit, remembering the units known to reach a root
        reaches_root: set[str] = set()
        for start in by_id:
            path: list[str] = []
            seen: set[str] = set()
            cur: str | None = start
            while cur is not None and cur not in reaches_root:
                if cur in seen:
                    cycle = path[path.index(cur):] + [cur]
                    raise PyramidError(
                        "pyramid.cycle", "cycle in org unit parents: " + " -> ".join(cycle), ids=cycle
                    )
                seen.add(cur)
                path.append(cur)
                cur = by_id[cur].parent_id
            reaches_root.update(path)
        if len(roots) != 1:
            raise PyramidError("pyramid.root.invalid", f"expected exactly one root, found {roots}", roots=roots)
        for u in by_id.values():
            want = 0 if u.parent_id is None else levels.index(by_id[u.parent_id].level) + 1
            if levels.index(u.level) != want:
                raise PyramidError(
                    "pyramid.level.invalid",
                    f"org unit {u.id!r} is at level {u.level!r} but its parent "
                    f"{u.parent_id!r} requires level {levels[want] if want < len(levels) else '(none)'!r}",
                    id=u.id,
                )
        children: dict[str, list[str]] = {uid: [] for uid in by_id}
        for u in by_id.values():
            if u.parent_id is not None:
                children[u.parent_id].append(u.id)
        uids = {u.dhis2_uid: u.id for u in by_id.values() if u.dhis2_uid}
        return cls(levels=levels, units=by_id, children=children, by_dhis2_uid=uids)

    # -- queries -------------------------------------------------------------------------------
    def __contains__(self, uid: object) -> bool:
        return uid in self.units

    def __len__(self) -> int:
        return len(self.units)

    def get(self, uid: str) -> OrgUnit:
        return self.units[uid]

    def depth(self, uid: str) -> int:
        return self.levels.index(self.units[uid].level)

    def ancestors(self, uid: str) -> list[OrgUnit]:
        """The unit itself first, then its parent, up to the root."""
        out = []
        cur: str | None = uid
        while cur is not None:
            u = self.units[cur]
            out.append(u)
            cur = u.parent_id
        return out

    def ancestor_at(self, uid: str, level: str) -> OrgUnit | None:
        """The ancestor (or the unit itself) at ``level``, None if the unit is above that level."""
        for u in self.ancestors(uid):
            if u.level == level:
                return u
        return None

    def is_within(self, uid: str, scope_id: str) -> bool:
        """True when ``uid`` is ``scope_id`` or one of its descendants."""
        return any(u.id == scope_id for u in self.ancestors(uid))

    def descendants(self, uid: str) -> Iterator[OrgUnit]:
        stack = [uid]
        while stack:
            cur = stack.pop()
            yield self.units[cur]
            stack.extend(reversed(self.children[cur]))

    def at_level(self, level: str) -> list[OrgUnit]:
        return [u for u in self.units.values() if u.level == level]

    def resolve(self, ref: str) -> OrgUnit | None:
        """Find an org unit by id or by DHIS2 UID."""
        if ref in self.units:
            return self.units[ref]
        uid = self.by_dhis2_uid.get(ref)
        return self.units[uid] if uid else None


# -- loaders -------------------------------------------------------------------------------------
def _unit(raw: Mapping[str, Any], where: str) -> OrgUnit:
    try:
        return OrgUnit.model_validate(dict(raw))
    except Exception as exc:  # pydantic.ValidationError -> stable key
        raise PyramidError("pyramid.unit.invalid", f"{where}: {exc}") from exc


def _flatten_nested(node: Mapping[str, Any], parent: str | None, out: list[dict[str, Any]]) -> None:
    node = dict(node)
    kids = node.pop("children", []) or []
    node.setdefault("parent_id", parent)
    out.append(node)
    for kid in kids:
        _flatten_nested(kid, node.get("id"), out)


def pyramid_from_mapping(doc: Mapping[str, Any]) -> Pyramid:
    """``{levels: [...], units: [flat units]}`` or ``{levels: [...], root: {nested, children: [...]}}``."""
    if not isinstance(doc, Mapping):
        raise PyramidError("pyramid.format.invalid", "pyramid document must be a mapping")
    unknown = set(doc) - {"levels", "units", "root"}
    if unknown:
        raise PyramidError("pyramid.format.invalid", f"unknown keys in pyramid document: {sorted(unknown)}")
    levels = tuple(doc.get("levels") or DEFAULT_LEVELS)
    raw: list[dict[str, Any]] = []
    if "root" in doc:
        _flatten_nested(doc["root"], None, raw)
    raw.extend(dict(u) for u in doc.get("units") or [])
    return Pyramid.from_units((_unit(r, f"unit #{i}") for i, r in enumerate(raw)), levels)


def load_pyramid_yaml(path: str | Path) -> Pyramid:
    with open(path, encoding="utf-8") as fh:
        return pyramid_from_mapping(yaml.safe_load(fh))


def load_pyramid_csv(path: str | Path, levels: Iterable[str] = DEFAULT_LEVELS) -> Pyramid:
    """Columns: id, name, level, parent_id, population, lat, lon, dhis2_uid (blank = absent)."""
    units = []
    with open(path, encoding="utf-8", newline="") as fh:
        for i, row in enumerate(csv.DictReader(fh), start=2):
            clean = {k.strip(): (v.strip() if isinstance(v, str) else v) for k, v in row.items() if k}
            clean = {k: v for k, v in clean.items() if v not in ("", None)}
            units.append(_unit(clean, f"{path}:{i}"))
    return Pyramid.from_units(units, levels)


def _dhis2_parent_and_level(ou: Mapping[str, Any]) -> tuple[str | None, int]:
    """Parent UID and 1-based level of a DHIS2 org unit: ``parent.id`` and ``level`` when given, else
    read from ``path`` (``/<root>/<…>/<own uid>``), which every export with ``fields=path`` carries."""
    parent = ou.get("parent")
    parent_id = parent.get("id") if isinstance(parent, Mapping) else parent
    path = [p for p in str(ou.get("path") or "").split("/") if p]
    if path and path[-1] != ou["id"]:
        raise ValueError(f"path {ou.get('path')!r} does not end with the unit's own id")
    if parent_id is None and len(path) > 1:
        parent_id = path[-2]
    level = ou.get("level")
    lvl = int(level) if level is not None else len(path)
    return parent_id, lvl


def pyramid_from_dhis2(doc: Mapping[str, Any], levels: Iterable[str] = DEFAULT_LEVELS) -> Pyramid:
    """A DHIS2 ``/api/organisationUnits?fields=id,code,name,level,path,parent[id]`` export.

    DHIS2 levels are 1-based (1 = national); ``parent`` is ``{"id": ...}``; a unit with a ``path`` but
    no ``parent`` (or no ``level``) takes them from the path. ``code`` is kept. Optional
    ``attributeValues``/``population`` are not standard: a ``population`` field is read if present,
    ``geometry`` of type Point gives coordinates. The DHIS2 UID is both id and ``dhis2_uid``.
    """
    levels = tuple(levels)
    items = doc.get("organisationUnits") if isinstance(doc, Mapping) else None
    if not isinstance(items, list):
        raise PyramidError("pyramid.format.invalid", "DHIS2 export must have an 'organisationUnits' list")
    units = []
    for i, ou in enumerate(items):
        try:
            parent_id, lvl = _dhis2_parent_and_level(ou)
            if not 1 <= lvl <= len(levels):
                raise PyramidError("pyramid.level.unknown", f"DHIS2 level {lvl} outside 1..{len(levels)}")
            raw: dict[str, Any] = {
                "id": ou["id"],
                "name": ou.get("name") or ou.get("displayName") or ou["id"],
                "level": levels[lvl - 1],
                "parent_id": parent_id,
                "dhis2_uid": ou["id"],
            }
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise PyramidError("pyramid.unit.invalid", f"organisationUnits[{i}]: missing or bad {exc}") from exc
        if ou.get("code"):
            raw["code"] = ou["code"]
        if ou.get("population") is not None:
            raw["population"] = ou["population"]
        geom = ou.get("geometry")
        if isinstance(geom, Mapping) and geom.get("type") == "Point":
            raw["lon"], raw["lat"] = geom["coordinates"][:2]
        units.append(_unit(raw, f"organisationUnits[{i}]"))
    return Pyramid.from_units(units, levels)


def load_pyramid(path: str | Path) -> Pyramid:
    """Load by file extension: ``.yaml``/``.yml``, ``.csv``, ``.json`` (DHIS2 export)."""
    p = Path(path)
    if not p.exists():
        raise PyramidError("pyramid.file.missing", f"pyramid file not found: {p}")
    suffix = p.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return load_pyramid_yaml(p)
    if suffix == ".csv":
        return load_pyramid_csv(p)
    if suffix == ".json":
        with open(p, encoding="utf-8") as fh:
            return pyramid_from_dhis2(json.load(fh))
    raise PyramidError("pyramid.format.invalid", f"unsupported pyramid file type {suffix!r}")


def demo_pyramid_path() -> Path:
    return Path(__file__).parent / "data" / "mali_pyramid.yaml"
