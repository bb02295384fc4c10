"""RapidPro / TextIt flow *results* → a report, through configurable result names. Pure; no I/O
except :func:`load_flow_fields`.

A flow that asks "Maladie ?", "Nombre de cas ?", "Sexe ?"... saves each answer as a result; the
default body of the flow editor's *Call webhook* action sends them as
``results: {key: {value, category}}`` with no message text. :class:`FlowFields` says which result
names hold which report field (shipped: ``ingest/data/rapidpro_fields.yaml``, French and English
names; setting ``SEBAC_SMS_RAPIDPRO_FIELDS_PATH``), and :func:`parse_flow_results` reads the values
the way the SMS grammar reads tokens, with the same error keys (``sms.disease.unknown``,
``sms.cases.invalid``, ``sms.date.out_of_window``...), so the reply and the rejected list are the same
as for a typed SMS.

Each value is read from ``value`` first, then ``category`` (a split by category gives
``{"value": "f", "category": "Femme"}``):

* disease: a catalogue keyword (``CHOL``), code (``cholera``) or name (``Choléra``, ``Cholera``);
* cases / deaths: a whole number (``3``; ``3.0`` from a numeric result);
* sex: the grammar's words (``F``, ``Femme``, ``Male``...) or ``Féminin`` / ``Masculin``;
* age group: the grammar's words (``5+``, ``<5``...), ``moins de 5 ans``, ``5 ans et plus``,
  ``under 5``, ``5 and over``, or an age in years (``3`` → under 5);
* onset: an ISO date (a date result: ``2026-11-05T00:00:00.000000+00:00``) or the grammar's
  ``DDMM`` / ``DD/MM[/YY]``, within the same window before the day the flow ran.

``cases`` 0 (and no deaths) is a zero report for that disease, as ``CHOL 0`` is.
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Iterable

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ingest.contracts import AgeGroup, Sex
from ingest.diseases import DiseaseCatalogue, fold
from ingest.errors import DomainError
from ingest.sms.characters import CharacterProblem, normalise_sms_text
from ingest.sms.grammar import (AGE_WORDS, MAX_TOKEN_INT, SEX_WORDS, ParsedReport, SmsParseError, ZeroReport,
                                onset_token, within_window)

DEFAULT_FIELDS_PATH = Path(__file__).resolve().parent.parent / "data" / "rapidpro_fields.yaml"
FlowResult = tuple[str, "str | None", "str | None"]  # (result key, value, category)

_NOT_KEY = re.compile(r"[^a-z0-9]+")
_ISO_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:$|[T ])")
_NUMBER = re.compile(r"^(\d{1,7})(?:[.,]0+)?$")
EXTRA_SEX = {"FEMININ": Sex.female, "MASCULIN": Sex.male}
_AGE_PHRASES = {"MOINSDE5": AgeGroup.under5, "UNDER5": AgeGroup.under5, "5ETPLUS": AgeGroup.five_plus,
                "5ANDOVER": AgeGroup.five_plus, "5ANDABOVE": AgeGroup.five_plus, "PLUSDE5": AgeGroup.five_plus,
                "OVER5": AgeGroup.five_plus, "5OUPLUS": AgeGroup.five_plus, "5ORMORE": AgeGroup.five_plus}
_AGE_UNITS = frozenset({"ANS", "AN", "YEARS", "YEAR", "YRS"})
_GLUED_UNIT = re.compile(r"^(\d+)(ANS|AN|YEARS|YEAR|YRS|Y|A)$")


def result_key(name: str) -> str:
    """A result name as RapidPro keys it, folded: ``"Date début"`` → ``"date_debut"``.

    >>> result_key("Date Début"), result_key("nb-cas")
    ('date_debut', 'nb_cas')
    """
    return _NOT_KEY.sub("_", fold(name).lower()).strip("_")


class FlowFields(BaseModel):
    """Result names per report field (each list: the first name present wins)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    disease: tuple[str, ...] = Field(min_length=1)
    cases: tuple[str, ...] = Field(min_length=1)
    deaths: tuple[str, ...] = ()
    sex: tuple[str, ...] = ()
    age_group: tuple[str, ...] = ()
    onset: tuple[str, ...] = ()

    @field_validator("*")
    @classmethod
    def _keys(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        keys = tuple(result_key(n) for n in names)
        if any(not k for k in keys):
            raise ValueError("a result name must hold a letter or a digit")
        return keys

    def names_of(self, field: str) -> tuple[str, ...]:
        return getattr(self, field)

    def check_unique(self) -> "FlowFields":
        seen: dict[str, str] = {}
        for field in type(self).model_fields:
            for key in self.names_of(field):
                if seen.setdefault(key, field) != field:
                    raise DomainError("sms.flow_fields.invalid", f"result name {key!r} is given for both "
                                      f"{seen[key]} and {field}", name=key)
        return self

    def names_a_report(self, keys: Iterable[str]) -> bool:
        """Do results with these keys carry a report (a disease result)?"""
        return any(result_key(k) in self.disease for k in keys)


def load_flow_fields(path: str | Path | None = None) -> FlowFields:
    path = Path(path) if path else DEFAULT_FIELDS_PATH
    try:
        with open(path, encoding="utf-8") as fh:
            doc = yaml.safe_load(fh)
        return FlowFields.model_validate(doc).check_unique()
    except DomainError:
        raise
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise DomainError("sms.flow_fields.invalid", f"{path}: {exc}", name=str(path)) from exc


def _values(results: Iterable[FlowResult], names: tuple[str, ...]) -> tuple[str, list[str]] | None:
    """(the result name found, its non-empty value then category) for the first name present."""
    by_key = {result_key(k): (v, c) for k, v, c in results}
    for name in names:
        if name in by_key:
            found = [s.strip() for s in by_key[name] if isinstance(s, str) and s.strip()]
            if found:
                return name, found
    return None


def _digits(text: str) -> str:
    try:
        return normalise_sms_text(text).strip()
    except CharacterProblem as exc:
        raise SmsParseError(exc.key, **exc.params) from None


def _disease(candidates: list[str], diseases: DiseaseCatalogue) -> str:
    for c in candidates:
        folded = fold(c).strip()
        d = diseases.by_keyword.get(folded)
        if d is None and c.strip().lower() in diseases:
            d = diseases.get(c.strip().lower())
        if d is None:
            d = next((x for x in diseases if folded in (fold(x.name_fr), fold(x.name_en))), None)
        if d is not None:
            return d.code
    raise SmsParseError("sms.disease.unknown", disease=candidates[0][:20])


def _count(candidates: list[str], key: str) -> int:
    m = _NUMBER.match(_digits(candidates[0]))
    if m is None or int(m[1]) > MAX_TOKEN_INT:
        raise SmsParseError(key, value=candidates[0][:20])
    return int(m[1])


def _sex(candidates: list[str], field: str) -> Sex:
    for c in candidates:
        word = fold(c).strip()
        if word in SEX_WORDS or word in EXTRA_SEX:
            return SEX_WORDS.get(word) or EXTRA_SEX[word]
    raise SmsParseError("sms.flow.value.invalid", field=field, value=candidates[0][:20])


def _age(candidates: list[str], field: str) -> AgeGroup:
    for c in candidates:
        words = [_GLUED_UNIT.sub(r"\1", w) for w in fold(_digits(c)).split()]
        word = "".join(w for w in words if w not in _AGE_UNITS)
        if word.isdigit() and len(word) <= 3:  # an age in years
            return AgeGroup.under5 if int(word) < 5 else AgeGroup.five_plus
        if word in AGE_WORDS or word in _AGE_PHRASES:
            return AGE_WORDS.get(word) or _AGE_PHRASES[word]
    raise SmsParseError("sms.flow.value.invalid", field=field, value=candidates[0][:20])


def _onset(candidates: list[str], today: dt.date, window_days: int | None) -> dt.date:
    text = _digits(candidates[0])
    if (m := _ISO_DAY.match(text)) is not None:
        try:
            day = dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            raise SmsParseError("sms.date.invalid", date=text[:10]) from None
        return within_window(day, today, window_days, day.strftime("%d/%m/%Y"))
    token = onset_token(fold(text).replace(" ", ""), today, window_days)
    if token is None:
        raise SmsParseError("sms.date.invalid", date=text[:20])
    return token


def parse_flow_results(results: Iterable[FlowResult], fields: FlowFields, diseases: DiseaseCatalogue,
                       today: dt.date, *, date_window_days: int | None = None) -> ParsedReport | ZeroReport:
    """The report the results hold, read on ``today``; :class:`SmsParseError` (``sms.*`` key) if not."""
    results = list(results)
    found = {f: _values(results, fields.names_of(f)) for f in type(fields).model_fields}
    if found["disease"] is None:
        raise SmsParseError("sms.flow.field.missing", field="disease", names=", ".join(fields.disease))
    if found["cases"] is None:
        raise SmsParseError("sms.cases.missing")
    disease = _disease(found["disease"][1], diseases)
    cases = _count(found["cases"][1], "sms.cases.invalid")
    deaths = _count(found["deaths"][1], "sms.deaths.invalid") if found["deaths"] else 0
    if cases == 0 and deaths == 0:
        return ZeroReport(today, disease)
    sex = _sex(found["sex"][1], found["sex"][0]) if found["sex"] else Sex.unknown
    age = _age(found["age_group"][1], found["age_group"][0]) if found["age_group"] else AgeGroup.unknown
    onset = _onset(found["onset"][1], today, date_window_days) if found["onset"] else today
    return ParsedReport(disease, cases, onset, sex, age, deaths, format="flow")


def results_text(results: Iterable[FlowResult], limit: int = 2000) -> str:
    """The results as one line (``maladie=Choléra; nb_cas=3``), kept as the report's text."""
    return "; ".join(f"{k}={v if v not in (None, '') else c or ''}" for k, v, c in results)[:limit]
