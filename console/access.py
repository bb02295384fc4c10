"""Who may open which console page: a table, not ifs.

The alert pages follow :mod:`alerts.permissions`; the data pages below are for the people who fix and
report data: the district team and above (a CSCom nurse sees the quality of its own health area).
Within a page every row is still filtered by jurisdiction (the user's org unit and below).
"""
from __future__ import annotations

from alerts.users import User
from ingest.errors import DomainError

PAGE_ROLES: dict[str, frozenset[str]] = {
    "rejected": frozenset({"admin", "national", "region", "district"}),
    "reprocess": frozenset({"admin", "national", "region", "district"}),
    "quality": frozenset({"admin", "national", "region", "district", "cscom"}),
    "duplicates": frozenset({"admin", "national", "region", "district", "cscom"}),
    "sitrep": frozenset({"admin", "national", "region", "district"}),
}


def may(user: User, page: str) -> bool:
    return user.active and user.role in PAGE_ROLES[page]


def require(user: User, page: str) -> None:
    if not may(user, page):
        raise DomainError("console.page.forbidden", f"a {user.role} user may not open {page}", status=403)


def menu(user: User) -> list[str]:
    """The data pages shown in the user's menu."""
    return [p for p in ("rejected", "quality", "sitrep") if may(user, p)]
