"""Sums of money in text: the currency names, ISO codes and symbols of CLDR (through Babel) and Unicode's currency
signs, gathered once on first use, next to an amount ("18,400 pula", "CHF 1,200", "₹2,000", "trillions of dollars")."""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|"
    r"eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|dozens?|hundreds?|thousands?|"
    r"millions?|billions?|trillions?|percent|half|third|quarter|decades?"
)
DIGITS = r"\d+(?:[.,'’\u00a0\u202f]\d+)*"  # 18,400 · 41'000 · 1.5 · 18 400 (with a no-break space)
SCALE = r"(?:k|m|bn|mn|mln|tn|lakhs?|crores?)"  # $3bn, £2m, ₹5 lakh
_WORD = rf"(?i:\b(?:{NUMBER_WORDS})\b)"
AMOUNT = rf"(?:{DIGITS}|{_WORD})(?:[\s-]*(?:{_WORD}|(?i:{SCALE}\b)))*"
NUMBER_CELL = re.compile(rf"[(−–-]?\s*{DIGITS}\s*(?i:{SCALE}\b)?\s*\)?")  # a table cell that is a number
_NOT_AFTER_LETTER = r"(?<![^\W\d_])"  # "pula" but not inside "ampula"; "R500" but not the R of "FOR500"
_NOT_BEFORE_LETTER = r"(?![^\W\d_])"


@dataclass(frozen=True)
class Currencies:
    """Every way CLDR's English locales write a currency in use today: names in lower case, singular and plural,
    whole and by their last word ("botswanan pula", "pula", "pulas"), ISO codes ("BWP") and symbols ("P", "US$",
    "₹"), with every currency sign of Unicode among the symbols."""

    names: frozenset[str]
    codes: frozenset[str]
    symbols: frozenset[str]


@functools.cache
def currencies() -> Currencies:
    """The currencies legal tender in some territory today (read from CLDR once per process, about 0.2 s)."""
    from babel import Locale
    from babel.localedata import locale_identifiers
    from babel.numbers import get_territory_currencies

    english = Locale("en")
    territories = [key for key in english.territories if isinstance(key, str) and key.isalpha()]  # not "001"
    codes = {code for territory in territories for code in get_territory_currencies(territory, tender=True)}
    plural = english._data["currency_names_plural"]  # CLDR's display names by plural category ("one", "other")
    names: set[str] = set()
    for code in codes:
        for name in (english.currencies.get(code, ""), *plural.get(code, {}).values()):
            words = re.sub(r"\s*\(.*?\)", "", name).strip().lower()  # "Zimbabwean Dollar (2009)"
            if words:
                names |= {words, words.split()[-1]}
    symbols = {
        symbol
        for identifier in locale_identifiers()
        if identifier == "en" or identifier.startswith("en_")
        for code, symbol in Locale.parse(identifier).currency_symbols.items()
        if code in codes
    }
    symbols |= {chr(point) for point in range(0x10000) if unicodedata.category(chr(point)) == "Sc"}
    return Currencies(frozenset(names), frozenset(codes), frozenset(symbols - codes))


def _alternatives(tokens: frozenset[str] | set[str]) -> str:
    """The tokens as one regex alternation, longest first (so "US dollars" is tried before "dollars")."""
    return "|".join(re.escape(token) for token in sorted(tokens, key=lambda token: (-len(token), token)))


@functools.cache
def currency() -> str:
    """A regex for a currency named by itself, as in a column header "Cost (BWP)": a name (any case), code or
    symbol."""
    found = currencies()
    names, marks = _alternatives(found.names), _alternatives(found.codes | found.symbols)
    return rf"{_NOT_AFTER_LETTER}(?:(?i:{names})|{marks}){_NOT_BEFORE_LETTER}"


@functools.cache
def money() -> re.Pattern[str]:
    """A sum of money: an amount, then a currency's name, code or sign ("18,400 pula", "trillions of dollars",
    "41,000 BWP", "500 €"); or a code or symbol, then an amount ("CHF 1,200", "R500", "₹2,000", "Rs. 500"). A name
    never comes first ("won 3 seats" is no sum), nor does a lettered symbol come last ("table 3 P")."""
    found = currencies()
    signs = {symbol for symbol in found.symbols if not any(character.isalpha() for character in symbol)}
    after = rf"(?:(?i:{_alternatives(found.names)})|{_alternatives(found.codes | signs)}){_NOT_BEFORE_LETTER}"
    before = rf"{_NOT_AFTER_LETTER}(?:{_alternatives(found.codes | found.symbols)})"
    return re.compile(rf"(?<![\w.,]){AMOUNT}\s*(?:of\s+)?{after}|{before}\.?\s*{DIGITS}")


def states_money(text: str) -> bool:
    """Whether the text states a sum of money in any currency."""
    return bool(money().search(text))
