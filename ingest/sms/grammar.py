"""The CHW SMS grammar: a forgiving, documented parser from one SMS text to a report.

Case- and accent-insensitive (``Choléra`` = ``CHOLERA`` = ``chol``); separators are spaces, commas,
semicolons or ``*``. Two formats:

**Keyword format** (French keywords; English accepted)::

    [ALERTE|ALERT|RAPPORT|REPORT|SIGNAL] <DISEASE> <CASES> [CAS] [<SEX>] [<AGE>] [<ONSET>] [<DEATHS>]

* ``<DISEASE>``: a keyword of the catalogue (``CHOL``, ``PALU``, ``ROUG``...) or a disease code.
* ``<CASES>``: an integer (suspected cases), optionally followed by ``CAS``/``CASES``.
* ``<SEX>``: ``F``/``FEMME``/``FEMALE`` · ``M``/``H``/``HOMME``/``MALE``.
* ``<AGE>``: ``5+``/``+5``/``P5``/``PLUS5`` (5 years and over) · ``<5``/``-5``/``5-``/``M5``/``U5``
  (under 5).
* ``<ONSET>``: ``DDMM`` (``0511``), ``DD/MM``, ``DD-MM``, ``DD.MM``, optionally with ``/YY`` or
  ``/YYYY``. Without a year, the year is inferred: the most recent such date that is not after
  today (``0511`` sent on 20 Nov 2026 is 5 Nov 2026; sent on 2 Jan 2027 it is 5 Nov 2026 too).
  A date more than ``date_window_days`` (default 60, setting ``SEBAC_SMS_DATE_WINDOW_DAYS``)
  before the day the SMS was sent, or after it, is refused (``sms.date.out_of_window``, the reply
  asks to resend the date): ``2512`` sent on 6 Dec 2026 would be 25 Dec 2025, almost surely a
  typo, and never silently a year-old onset. Omitted, the onset is the day the SMS was sent.
* ``<DEATHS>``: ``D2``, ``DC2``, ``DCD2``, ``DECES 2``, ``DEATHS 2``, ``MORTS 2``.

The optional parts may come in any order. Example: ``CHOL 3 F 5+ 0511`` = 3 suspected cholera
cases, female, 5 years and over, onset 5 November.

**Numeric (Nyss) format**, ``#``-separated::

    <risk>#<sex>#<age>             one case;  sex 1 = male, 2 = female; age 1 = under 5, 2 = 5+
    <risk>#<m<5>#<m5+>#<f<5>#<f5+>  aggregated counts by sex and age group

``<risk>`` is the ``nyss`` code of the disease catalogue (1 = cholera ...).

**Zero report**: ``RAS`` ("rien à signaler"), ``ZERO``, ``NEANT``, ``NIL``, ``0`` (nothing to report
this week), or ``<DISEASE> 0`` (``CHOL 0``: no case of that disease). It counts for completeness,
never as a report with cases.

**Characters** (:mod:`ingest.sms.characters`): digits are ASCII or Arabic-Indic (``CHOL ٣`` =
``CHOL 3``); superscript and other look-alike digits are refused (``sms.digit.lookalike``); a text
in another script is ``sms.format.unknown``, not ``sms.empty``.

Every failure raises :class:`SmsParseError` with a stable key (``sms.*``), translated into the
reporter's language by :mod:`ingest.messages`. Reference: Nyss (Red Cross) report formats,
``ReportMessageService`` / ``NyssReportParser``.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from ingest.contracts import AgeGroup, Sex
from ingest.diseases import DiseaseCatalogue, fold
from ingest.errors import DomainError, ErrorDetail
from ingest.sms.characters import CharacterProblem, is_blank, normalise_sms_text

MAX_SMS_CHARS = 480  # three concatenated SMS; longer texts are not CHW reports
PREFIXES = frozenset({"ALERTE", "ALERT", "RAPPORT", "REPORT", "SIGNAL", "SIG"})
ZERO_WORDS = frozenset({"RAS", "ZERO", "NEANT", "NIL", "0"})
CASE_WORDS = frozenset({"CAS", "CASES", "CASE"})
SEX_WORDS = {"F": Sex.female, "FEMME": Sex.female, "FEMALE": Sex.female, "FEM": Sex.female,
             "M": Sex.male, "H": Sex.male, "HOMME": Sex.male, "MALE": Sex.male, "MASC": Sex.male}
AGE_WORDS = {"5+": AgeGroup.five_plus, "+5": AgeGroup.five_plus, "P5": AgeGroup.five_plus,
             "PLUS5": AgeGroup.five_plus, ">5": AgeGroup.five_plus, ">=5": AgeGroup.five_plus,
             "<5": AgeGroup.under5, "-5": AgeGroup.under5, "5-": AgeGroup.under5, "M5": AgeGroup.under5,
             "U5": AgeGroup.under5, "MOINS5": AgeGroup.under5}
DEATH_WORDS = frozenset({"D", "DC", "DCD", "DECES", "DECE", "DEATHS", "DEATH", "MORTS", "MORT"})
_SPLIT = re.compile(r"[\s,;*]+")
_DATE = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})(?:[/.\-](\d{2}|\d{4}))?$")
_DDMM = re.compile(r"^(\d{2})(\d{2})$")
_DEATH_GLUED = re.compile(r"^(DCD|DC|D)(\d+)$")
_INT = re.compile(r"^\d+$")
MAX_TOKEN_INT = 10**6
DEFAULT_DATE_WINDOW_DAYS = 60


class SmsParseError(DomainError):
    status = 422

    def __init__(self, key: str, **params):
        super().__init__(key, key, **params)
        self.detail = ErrorDetail(key, "text", params)


@dataclass(frozen=True)
class ParsedReport:
    disease: str
    cases: int
    onset_date: dt.date
    sex: Sex = Sex.unknown
    age_group: AgeGroup = AgeGroup.unknown
    deaths: int = 0
    format: str = "keyword"  # keyword | nyss | flow (RapidPro flow results)


@dataclass(frozen=True)
class ZeroReport:
    """Nothing to report for the week of ``report_date`` (of ``disease`` when one was named)."""

    report_date: dt.date
    disease: str | None = None


def infer_date(day: int, month: int, year: int | None, today: dt.date) -> dt.date:
    """The date ``day/month[/year]``; without a year, the most recent one not after ``today``.

    >>> import datetime as dt
    >>> infer_date(5, 11, None, dt.date(2026, 11, 20)), infer_date(25, 12, None, dt.date(2026, 11, 20))
    (datetime.date(2026, 11, 5), datetime.date(2025, 12, 25))
    >>> infer_date(29, 2, None, dt.date(2026, 11, 20))
    datetime.date(2024, 2, 29)
    """
    if year is not None:
        if year < 100:
            year += 2000
        try:
            return dt.date(year, month, day)
        except ValueError:
            raise SmsParseError("sms.date.invalid", date=f"{day:02d}/{month:02d}/{year}") from None
    if not (1 <= month <= 12 and 1 <= day <= 31):
        raise SmsParseError("sms.date.invalid", date=f"{day:02d}/{month:02d}")
    for y in range(today.year, today.year - 8, -1):  # 29 Feb needs up to 8 years back (2100 is not leap)
        try:
            d = dt.date(y, month, day)
        except ValueError:
            continue
        if d <= today:
            return d
    raise SmsParseError("sms.date.invalid", date=f"{day:02d}/{month:02d}")


def within_window(d: dt.date, today: dt.date, window_days: int | None, typed: str) -> dt.date:
    """``d`` when it is at most ``window_days`` before ``today`` and not after it (no limit: None).

    >>> import datetime as dt
    >>> within_window(dt.date(2026, 11, 5), dt.date(2026, 12, 6), 60, "0511")
    datetime.date(2026, 11, 5)
    """
    if window_days is not None and (d > today or (today - d).days > window_days):
        raise SmsParseError("sms.date.out_of_window", date=typed, days=window_days)
    return d


def _date_token(tok: str, today: dt.date, window_days: int | None) -> dt.date | None:
    m = _DATE.match(tok)
    if m:
        d = infer_date(int(m[1]), int(m[2]), int(m[3]) if m[3] else None, today)
    elif (m := _DDMM.match(tok)) is not None:
        d = infer_date(int(m[1]), int(m[2]), None, today)
    else:
        return None
    year = m[3] if m.re.groups == 3 else None
    typed = f"{int(m[1]):02d}/{int(m[2]):02d}" + (f"/{year}" if year else "")
    return within_window(d, today, window_days, typed)


def onset_token(tok: str, today: dt.date, window_days: int | None) -> dt.date | None:
    """The onset date a folded token names (``0511``, ``05/11/26``), None when it is not a date;
    :class:`SmsParseError` when it is one that cannot be (``sms.date.invalid``) or is out of the window."""
    return _date_token(tok, today, window_days)


def _int(tok: str, key: str) -> int:
    if not _INT.match(tok) or len(tok) > 7:
        raise SmsParseError(key, value=tok)
    return int(tok)


def _parse_nyss(text: str, diseases: DiseaseCatalogue, today: dt.date) -> ParsedReport:
    parts = [p.strip() for p in text.split("#")]
    if len(parts) not in (3, 5) or not all(_INT.match(p) and len(p) <= 6 for p in parts):
        raise SmsParseError("sms.nyss.invalid", text=text)
    risk = int(parts[0])
    disease = diseases.by_nyss.get(risk)
    if disease is None:
        raise SmsParseError("sms.disease.unknown", disease=parts[0])
    if len(parts) == 3:
        sex = {"1": Sex.male, "2": Sex.female}.get(parts[1])
        age = {"1": AgeGroup.under5, "2": AgeGroup.five_plus}.get(parts[2])
        if sex is None or age is None:
            raise SmsParseError("sms.nyss.invalid", text=text)
        return ParsedReport(disease.code, 1, today, sex, age, format="nyss")
    m_u5, m_5p, f_u5, f_5p = (int(p) for p in parts[1:])
    groups = {(Sex.male, AgeGroup.under5): m_u5, (Sex.male, AgeGroup.five_plus): m_5p,
              (Sex.female, AgeGroup.under5): f_u5, (Sex.female, AgeGroup.five_plus): f_5p}
    total = sum(groups.values())
    if total == 0:
        raise SmsParseError("sms.cases.missing")
    sexes = {s for (s, _), n in groups.items() if n}
    ages = {a for (_, a), n in groups.items() if n}
    return ParsedReport(disease.code, total, today, sexes.pop() if len(sexes) == 1 else Sex.unknown,
                        ages.pop() if len(ages) == 1 else AgeGroup.unknown, format="nyss")


def _disease(tok: str, diseases: DiseaseCatalogue):
    d = diseases.by_keyword.get(tok)
    if d is None and tok.lower() in diseases:
        d = diseases.get(tok.lower())
    return d


def parse_sms(text: str, diseases: DiseaseCatalogue, today: dt.date, *,
              date_window_days: int | None = DEFAULT_DATE_WINDOW_DAYS) -> ParsedReport | ZeroReport:
    """Parse one CHW SMS sent on ``today``; raise :class:`SmsParseError` with an ``sms.*`` key.

    ``date_window_days``: how far before ``today`` an onset date may be (None: no limit).
    """
    if len(text) > MAX_SMS_CHARS:
        raise SmsParseError("sms.too_long", max=MAX_SMS_CHARS)
    if is_blank(text):
        raise SmsParseError("sms.empty")
    try:
        text = normalise_sms_text(text)
    except CharacterProblem as exc:
        raise SmsParseError(exc.key, **exc.params) from None
    folded = fold(text).strip()
    if not folded:  # only symbols (emoji...): something was sent, in no format we know
        raise SmsParseError("sms.format.unknown", char=text.strip()[:1], name="")
    if "#" in folded:
        return _parse_nyss(folded, diseases, today)
    tokens = [t for t in _SPLIT.split(folded) if t]
    if tokens and tokens[0] in PREFIXES:
        tokens = tokens[1:]
    if len(tokens) == 1 and tokens[0] in ZERO_WORDS:
        return ZeroReport(today)
    if not tokens:
        raise SmsParseError("sms.empty")
    disease = _disease(tokens[0], diseases)
    if disease is None:
        raise SmsParseError("sms.disease.unknown", disease=tokens[0][:20])
    if len(tokens) < 2:
        raise SmsParseError("sms.cases.missing")
    cases = _int(tokens[1], "sms.cases.invalid")
    if cases > MAX_TOKEN_INT:
        raise SmsParseError("sms.cases.invalid", value=tokens[1])
    sex, age, onset, deaths = Sex.unknown, AgeGroup.unknown, None, 0
    rest = tokens[2:]
    i = 0
    seen: set[str] = set()

    def once(kind: str, tok: str) -> None:
        if kind in seen:
            raise SmsParseError("sms.token.repeated", token=tok[:20])
        seen.add(kind)

    while i < len(rest):
        tok = rest[i]
        i += 1
        if tok in CASE_WORDS and i == 1:
            continue
        if tok in SEX_WORDS:
            once("sex", tok)
            sex = SEX_WORDS[tok]
        elif tok in AGE_WORDS:
            once("age", tok)
            age = AGE_WORDS[tok]
        elif (m := _DEATH_GLUED.match(tok)) is not None:
            once("deaths", tok)
            deaths = _int(m[2], "sms.deaths.invalid")
        elif tok in DEATH_WORDS:
            once("deaths", tok)
            if i >= len(rest):
                raise SmsParseError("sms.deaths.invalid", value="")
            deaths = _int(rest[i], "sms.deaths.invalid")
            i += 1
        elif (d := _date_token(tok, today, date_window_days)) is not None:
            once("onset", tok)
            onset = d
        else:
            raise SmsParseError("sms.token.unknown", token=tok[:20])
    if cases == 0 and deaths == 0:  # CHOL 0: checked to the end, so CHOL 0 XYZ is still an error
        return ZeroReport(today, disease.code)
    return ParsedReport(disease.code, cases, onset or today, sex, age, deaths)


COMMAND_WORDS = frozenset({"OK", "VRAI", "FAUX", "ACK", "TRUE", "FALSE", "ESC"})


def first_word(text: str) -> str:
    """The folded first word of a text (used to route alert commands away from CHW reports)."""
    tokens = [t for t in _SPLIT.split(fold(text).strip()) if t]
    return tokens[0] if tokens else ""
