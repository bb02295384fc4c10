"""The CHW SMS grammar: table-driven examples and hypothesis properties (round trip, never crash)."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings, strategies as st

from ingest.contracts import AgeGroup, Sex
from ingest.diseases import load_diseases
from ingest.sms.grammar import ParsedReport, SmsParseError, ZeroReport, infer_date, parse_sms

DISEASES = load_diseases()
TODAY = dt.date(2026, 11, 20)
F, M, U = Sex.female, Sex.male, Sex.unknown
U5, P5, UA = AgeGroup.under5, AgeGroup.five_plus, AgeGroup.unknown


@pytest.mark.parametrize("text, disease, cases, sex, age, onset, deaths", [
    ("CHOL 3 F 5+ 0511", "cholera", 3, F, P5, dt.date(2026, 11, 5), 0),
    ("chol 3 f 5+ 0511", "cholera", 3, F, P5, dt.date(2026, 11, 5), 0),
    ("ALERTE Choléra 2 cas H -5 05/11 DC1", "cholera", 2, M, U5, dt.date(2026, 11, 5), 1),
    ("alert cholera 2, m, <5, 5.11.2026, deces 1", "cholera", 2, M, U5, dt.date(2026, 11, 5), 1),
    ("ROUGEOLE 4 2511", "measles", 4, U, UA, dt.date(2025, 11, 25), 0),  # 25 Nov 2026 is in the future
    ("PALU 12", "malaria", 12, U, UA, TODAY, 0),
    ("  palu   12   u5  ", "malaria", 12, U, U5, TODAY, 0),
    ("méningite 1 femme p5 18-11 d 1", "meningitis", 1, F, P5, dt.date(2026, 11, 18), 1),
    ("RAPPORT measles 3 0111 M", "measles", 3, M, UA, dt.date(2026, 11, 1), 0),
    ("1#2#2", "cholera", 1, F, P5, TODAY, 0),
    ("17 # 1 # 1", "malaria", 1, M, U5, TODAY, 0),
    ("17#0#3#0#0", "malaria", 3, M, P5, TODAY, 0),
    ("17#1#3#2#0", "malaria", 6, U, UA, TODAY, 0),
])
def test_examples(text, disease, cases, sex, age, onset, deaths):
    r = parse_sms(text, DISEASES, TODAY)
    assert (r.disease, r.cases, r.sex, r.age_group, r.onset_date, r.deaths) == (disease, cases, sex, age, onset, deaths)


@pytest.mark.parametrize("text", ["RAS", "ras", "Néant", "ZERO", "0", "alerte RAS"])
def test_zero_reports(text):
    assert parse_sms(text, DISEASES, TODAY) == ZeroReport(TODAY)


@pytest.mark.parametrize("text, key", [
    ("", "sms.empty"),
    ("   ", "sms.empty"),
    ("ALERTE", "sms.empty"),
    ("ZOMBIE 3", "sms.disease.unknown"),
    ("CHOL", "sms.cases.missing"),
    ("CHOL trois", "sms.cases.invalid"),
    ("CHOL -3", "sms.cases.invalid"),
    ("CHOL 3 F F", "sms.token.repeated"),
    ("CHOL 3 X", "sms.token.unknown"),
    ("CHOL 3 3211", "sms.date.invalid"),
    ("CHOL 3 31/02/2026", "sms.date.invalid"),
    ("CHOL 3 DC", "sms.deaths.invalid"),
    ("CHOL 3 DECES beaucoup", "sms.deaths.invalid"),
    ("1#3#1", "sms.nyss.invalid"),
    ("1#2", "sms.nyss.invalid"),
    ("99#1#1", "sms.disease.unknown"),
    ("17#0#0#0#0", "sms.cases.missing"),
    ("x" * 500, "sms.too_long"),
])
def test_errors_have_stable_keys(text, key):
    with pytest.raises(SmsParseError) as exc:
        parse_sms(text, DISEASES, TODAY)
    assert exc.value.key == key and exc.value.detail.key == key


@pytest.mark.parametrize("day, month, today, want", [
    (5, 11, dt.date(2026, 11, 20), dt.date(2026, 11, 5)),
    (20, 11, dt.date(2026, 11, 20), dt.date(2026, 11, 20)),
    (21, 11, dt.date(2026, 11, 20), dt.date(2025, 11, 21)),
    (31, 12, dt.date(2027, 1, 2), dt.date(2026, 12, 31)),
    (29, 2, dt.date(2026, 11, 20), dt.date(2024, 2, 29)),
])
def test_year_inference(day, month, today, want):
    assert infer_date(day, month, None, today) == want


# -- properties ------------------------------------------------------------------------------------
KEYWORDED = [d for d in DISEASES if d.keywords]
SEX_SPELLINGS = {F: ["F", "f", "femme", "FEMALE"], M: ["M", "H", "homme", "Male"], U: [""]}
AGE_SPELLINGS = {U5: ["<5", "-5", "u5", "M5", "5-"], P5: ["5+", "+5", "p5", "PLUS5"], UA: [""]}
ACCENTED = {"E": "É", "e": "é", "A": "À", "I": "Ï", "O": "Ô"}


def _jumble_case(text: str, flips: list[bool]) -> str:
    return "".join(c.swapcase() if f else c for c, f in zip(text, flips + [False] * len(text)))


@st.composite
def sms_reports(draw):
    disease = draw(st.sampled_from(KEYWORDED))
    keyword = draw(st.sampled_from(disease.keywords))
    keyword = "".join(ACCENTED.get(c, c) if draw(st.booleans()) else c for c in keyword)
    cases = draw(st.integers(0, 999))
    sex = draw(st.sampled_from([F, M, U]))
    age = draw(st.sampled_from([U5, P5, UA]))
    deaths = draw(st.integers(0, 20))
    onset = draw(st.one_of(st.none(), st.dates(min_value=TODAY - dt.timedelta(days=360), max_value=TODAY)))
    optional = [draw(st.sampled_from(SEX_SPELLINGS[sex])), draw(st.sampled_from(AGE_SPELLINGS[age]))]
    if onset is not None:
        fmt = draw(st.sampled_from(["%d%m", "%d/%m", "%d-%m", "%d.%m", "%d/%m/%Y", "%d/%m/%y"]))
        optional.append(onset.strftime(fmt))
    if deaths:
        optional.append(draw(st.sampled_from([f"D{deaths}", f"DC{deaths}", f"deces {deaths}", f"DEATHS {deaths}"])))
    optional = draw(st.permutations([t for t in optional if t]))
    prefix = draw(st.sampled_from(["", "ALERTE ", "alert ", "Rapport "]))
    sep = draw(st.sampled_from([" ", "  ", ", ", ";", " * "]))
    words = [keyword, str(cases)] + (["cas"] if draw(st.booleans()) else []) + list(optional)
    text = prefix + sep.join(words)
    text = _jumble_case(text, draw(st.lists(st.booleans(), max_size=len(text))))
    return text, ParsedReport(disease.code, cases, onset or TODAY, sex, age, deaths)


@settings(max_examples=150, deadline=None)
@given(sms_reports())
def test_any_spelling_of_a_report_parses_to_it(case):
    text, want = case
    got = parse_sms(text, DISEASES, TODAY)
    assert got == want, text


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=120))
def test_garbage_never_crashes(text):
    try:
        r = parse_sms(text, DISEASES, TODAY)
    except SmsParseError as exc:
        assert exc.key.startswith("sms.")
    else:
        assert isinstance(r, (ParsedReport, ZeroReport))
        if isinstance(r, ParsedReport):
            assert r.cases >= 0 and r.onset_date <= TODAY + dt.timedelta(days=366 * 80)


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=dt.date(2001, 1, 1), max_value=dt.date(2090, 12, 31)),
       st.integers(1, 12), st.integers(1, 31))
def test_inferred_date_is_the_most_recent_not_in_the_future(today, month, day):
    try:
        d = infer_date(day, month, None, today)
    except SmsParseError:
        return  # day 31 in a 30-day month, etc.
    assert (d.day, d.month) == (day, month) and d <= today
    # no later year would also do: the next occurrence is after today
    for y in range(d.year + 1, today.year + 1):
        try:
            assert dt.date(y, month, day) > today
        except ValueError:
            pass


@settings(max_examples=100, deadline=None)
@given(st.sampled_from([d for d in DISEASES if d.nyss]), st.sampled_from(["1", "2"]), st.sampled_from(["1", "2"]))
def test_nyss_single_case(disease, sex, age):
    r = parse_sms(f"{disease.nyss}#{sex}#{age}", DISEASES, TODAY)
    assert (r.disease, r.cases, r.sex, r.age_group) == (disease.code, 1, {"1": M, "2": F}[sex],
                                                         {"1": U5, "2": P5}[age])
