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
    ("ROUGEOLE 4 2209", "measles", 4, U, UA, dt.date(2026, 9, 22), 0),  # 59 days before: inside the window
    ("CHOL ٣ F 5+ ٠٥١١", "cholera", 3, F, P5, dt.date(2026, 11, 5), 0),  # Arabic-Indic digits
    ("PALU ۱۲ ۰۵/۱۱", "malaria", 12, U, UA, dt.date(2026, 11, 5), 0),   # extended Arabic-Indic digits
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


@pytest.mark.parametrize("text", ["RAS", "ras", "Néant", "ZERO", "0", "alerte RAS", "٠"])
def test_zero_reports(text):
    assert parse_sms(text, DISEASES, TODAY) == ZeroReport(TODAY)


@pytest.mark.parametrize("text", ["CHOL 0", "chol 0 cas", "RAPPORT Choléra 0", "CHOL ٠", "CHOL 0 F 5+ 1811"])
def test_disease_with_no_case_is_a_zero_report(text):
    assert parse_sms(text, DISEASES, TODAY) == ZeroReport(TODAY, "cholera")


def test_no_case_but_deaths_is_not_a_zero_report():
    r = parse_sms("CHOL 0 D1", DISEASES, TODAY)
    assert isinstance(r, ParsedReport) and (r.cases, r.deaths) == (0, 1)


@pytest.mark.parametrize("text, today, window, key, params", [
    # the CHW typed 25/12 on 6 December: 25 Dec 2025 is a year old, 25 Dec 2026 has not come yet
    ("CHOL 3 F 5+ 2512", dt.date(2026, 12, 6), 60, "sms.date.out_of_window", {"date": "25/12", "days": 60}),
    ("ROUGEOLE 4 2511", TODAY, 60, "sms.date.out_of_window", {"date": "25/11", "days": 60}),
    ("CHOL 3 20/09", TODAY, 60, "sms.date.out_of_window", {"date": "20/09", "days": 60}),      # 61 days
    ("CHOL 3 25/11/2026", TODAY, 60, "sms.date.out_of_window", {"date": "25/11/2026", "days": 60}),  # future
    ("CHOL 3 01.01.26", TODAY, 60, "sms.date.out_of_window", {"date": "01/01/26", "days": 60}),
    ("CHOL 3 0511", TODAY, 10, "sms.date.out_of_window", {"date": "05/11", "days": 10}),
])
def test_dates_outside_the_window_are_refused(text, today, window, key, params):
    with pytest.raises(SmsParseError) as exc:
        parse_sms(text, DISEASES, today, date_window_days=window)
    assert (exc.value.key, exc.value.params) == (key, params)


@pytest.mark.parametrize("text, today, window, onset", [
    ("CHOL 3 21/09", TODAY, 60, dt.date(2026, 9, 21)),        # exactly 60 days before
    ("CHOL 3 2011", TODAY, 60, TODAY),
    ("CHOL 3 2512", dt.date(2027, 1, 10), 60, dt.date(2026, 12, 25)),  # across the new year
    ("CHOL 3 2511", TODAY, None, dt.date(2025, 11, 25)),     # no window: the most recent such date
])
def test_dates_inside_the_window_are_read(text, today, window, onset):
    assert parse_sms(text, DISEASES, today, date_window_days=window).onset_date == onset


def test_out_of_window_reply_asks_to_resend_the_date_in_both_languages():
    from ingest.messages import translate
    params = {"date": "25/12", "days": 60}
    assert translate("sms.date.out_of_window", "fr", **params) == (
        "La date 25/12 n'est pas dans les 60 derniers jours. Renvoyez le rapport avec la date de début en JJMM, "
        "par ex. 0511.")
    assert "resend" in translate("sms.date.out_of_window", "en", **params)


@pytest.mark.parametrize("text, char", [
    ("CHOL ³", "³"),                  # superscript: NFKD would fold it to 3 silently
    ("CHOL 3 F 5+ ０５１１", "０"),     # fullwidth
    ("CHOL ①", "①"),                  # circled
    ("CHOL ₂", "₂"),                  # subscript
    ("CHOL 𝟑", "𝟑"),                  # mathematical bold
    ("CHOL ३", "३"),                  # Devanagari: a digit, but not one a Malian keyboard sends
    ("CHOL ½", "½"),
])
def test_lookalike_digits_are_refused_naming_the_character(text, char):
    with pytest.raises(SmsParseError) as exc:
        parse_sms(text, DISEASES, TODAY)
    assert exc.value.key == "sms.digit.lookalike" and exc.value.params["char"] == char
    assert exc.value.params["name"].startswith(f"U+{ord(char):04X} ")


@pytest.mark.parametrize("text, key", [
    ("كوليرا ٣", "sms.format.unknown"),   # Arabic script
    ("Холера 3", "sms.format.unknown"),    # Cyrillic
    ("ߞߏߟߋߙߊ", "sms.format.unknown"),     # N'Ko
    ("СНОL 3", "sms.format.unknown"),      # Cyrillic look-alikes of CHOL
    ("👍", "sms.format.unknown"),
    ("\u200b \ufeff", "sms.empty"),        # invisible only
    ("\t\n", "sms.empty"),
])
def test_other_scripts_are_an_unknown_format_not_an_empty_message(text, key):
    with pytest.raises(SmsParseError) as exc:
        parse_sms(text, DISEASES, TODAY)
    assert exc.value.key == key


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
    onset = draw(st.one_of(st.none(), st.dates(min_value=TODAY - dt.timedelta(days=60), max_value=TODAY)))
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
    if cases == 0 and deaths == 0:
        return text, ZeroReport(TODAY, disease.code)
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


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=dt.date(2001, 3, 1), max_value=dt.date(2090, 12, 31)), st.integers(0, 400),
       st.integers(1, 120), st.sampled_from(["%d%m", "%d/%m", "%d-%m/%Y"]))
def test_an_onset_is_read_only_inside_the_window(today, days_before, window, fmt):
    onset = today - dt.timedelta(days=days_before)
    text = f"CHOL 2 {onset.strftime(fmt)}"
    # without a year, DD/MM is the most recent such day (0103 a year ago is today's 0103)
    meant = onset if "%Y" in fmt else infer_date(onset.day, onset.month, None, today)
    try:
        got = parse_sms(text, DISEASES, today, date_window_days=window).onset_date
    except SmsParseError as exc:
        assert exc.key == "sms.date.out_of_window" and (today - meant).days > window, text
    else:
        assert got == meant and 0 <= (today - got).days <= window, text


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(categories=["Nd", "No", "Nl"]), min_size=1, max_size=4))
def test_digits_are_ascii_or_arabic_indic_or_refused(digits):
    import unicodedata
    try:
        r = parse_sms(f"CHOL {digits}", DISEASES, TODAY)
    except SmsParseError as exc:
        readable = all(c.isascii() or 0x660 <= ord(c) <= 0x669 or 0x6F0 <= ord(c) <= 0x6F9 for c in digits)
        assert exc.key in (("sms.cases.invalid",) if readable else ("sms.digit.lookalike",)), digits
    else:
        value = int("".join(str(unicodedata.decimal(c)) for c in digits))
        assert (r.cases if isinstance(r, ParsedReport) else 0) == value
