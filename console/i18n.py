"""Console translations: Babel catalogues (``console/locale/<lang>/LC_MESSAGES/messages.po``).

Template strings are gettext message ids in English (``{{ _("Inbox") }}``); French (``fr``, the
default for Mali) and English ship; Bambara (``bm``) is added by dropping a ``bm`` catalogue next to
them. Catalogues are read from the ``.po`` sources at start-up (compiled in memory by Babel), so no
generated ``.mo`` file is kept in the repository. The page language is the user's profile language,
else the browser's ``Accept-Language``, else French (:func:`page_lang`).

Dates and durations are formatted by Babel's CLDR data in the page language (:func:`when`,
:func:`ago`).
"""
from __future__ import annotations

import datetime as dt
import functools
import io
from pathlib import Path

from babel import dates as babel_dates
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from api.lang import accepted

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT_LANG = "fr"


def languages() -> tuple[str, ...]:
    """Languages with a catalogue, plus English (the message ids)."""
    found = {p.parent.parent.name for p in LOCALE_DIR.glob("*/LC_MESSAGES/messages.po")}
    return tuple(sorted(found | {"en"}))


@functools.cache
def catalogue(lang: str) -> Translations:
    path = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return Translations()  # English: the message ids themselves
    with path.open("rb") as f:
        cat = read_po(f, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, cat)
    buf.seek(0)
    return Translations(buf)


def page_lang(user_lang: str | None, accept_language: str | None) -> str:
    known = languages()
    if user_lang in known:
        return user_lang
    browser = accepted(accept_language)
    return browser if browser in known else DEFAULT_LANG


def _locale(lang: str) -> str:
    return lang if lang in ("fr", "en") else DEFAULT_LANG  # CLDR has no 'bm' date formats in every Babel


def N_(text: str) -> str:
    """Marks a message id for extraction (``pybabel extract -k N_``); translated where it is shown."""
    return text


def when(value: dt.datetime | dt.date | None, lang: str, fmt: str = "medium") -> str:
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        return babel_dates.format_datetime(value, format=fmt, tzinfo=dt.UTC, locale=_locale(lang))
    return babel_dates.format_date(value, format=fmt, locale=_locale(lang))


def ago(value: dt.datetime | None, now: dt.datetime, lang: str) -> str:
    """'il y a 3 heures' / '3 hours ago'; 'dans 5 minutes' for a time ahead."""
    if value is None:
        return "—"
    return babel_dates.format_timedelta(value - now, add_direction=True, threshold=1.5, locale=_locale(lang))
