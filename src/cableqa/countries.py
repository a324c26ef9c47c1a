"""Countries a question names, as the two-letter geographic codes of cable TAGS (FIPS 10-4 style).

A paragraph rarely names its own country ("the GOS", "the Prime Minister"),
and a cable's origin names a city ("Embassy Bratislava"), so "Slovakia's
security office" shares no word with the paragraph that answers it.  The
cable's TAGS do name the country ("PGOV, PREL, LO"), so a question that names
a country (or its people: "Slovak", "Swedish") can favour the cables tagged
with it (:mod:`cableqa.retrieval`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

NAMES = {
    "AF": "Afghanistan", "AG": "Algeria", "AJ": "Azerbaijan", "AL": "Albania", "AM": "Armenia", "AN": "Andorra",
    "AO": "Angola", "AR": "Argentina", "AS": "Australia", "AU": "Austria", "AE": "United Arab Emirates",
    "BA": "Bahrain", "BB": "Barbados", "BC": "Botswana", "BD": "Bermuda", "BE": "Belgium", "BF": "Bahamas",
    "BG": "Bangladesh", "BH": "Belize", "BK": "Bosnia and Herzegovina", "BL": "Bolivia", "BM": "Burma",
    "BN": "Benin", "BO": "Belarus", "BR": "Brazil", "BT": "Bhutan", "BU": "Bulgaria", "BX": "Brunei",
    "BY": "Burundi", "CA": "Canada", "CB": "Cambodia", "CD": "Chad", "CE": "Sri Lanka",
    "CF": "Republic of the Congo", "CG": "Democratic Republic of the Congo", "CH": "China", "CI": "Chile",
    "CM": "Cameroon", "CN": "Comoros", "CO": "Colombia", "CS": "Costa Rica", "CT": "Central African Republic",
    "CU": "Cuba", "CV": "Cape Verde", "CY": "Cyprus", "DA": "Denmark", "DJ": "Djibouti", "DO": "Dominica",
    "DR": "Dominican Republic", "EC": "Ecuador", "EG": "Egypt", "EI": "Ireland", "EK": "Equatorial Guinea",
    "EN": "Estonia", "ER": "Eritrea", "ES": "El Salvador", "ET": "Ethiopia", "EZ": "Czech Republic", "FI": "Finland",
    "FJ": "Fiji", "FR": "France", "GA": "Gambia", "GB": "Gabon", "GG": "Georgia", "GH": "Ghana", "GJ": "Grenada",
    "GM": "Germany", "GR": "Greece", "GT": "Guatemala", "GV": "Guinea", "GY": "Guyana", "HA": "Haiti",
    "HK": "Hong Kong", "HO": "Honduras", "HR": "Croatia", "HU": "Hungary", "IC": "Iceland", "ID": "Indonesia",
    "IN": "India", "IR": "Iran", "IS": "Israel", "IT": "Italy", "IV": "Cote d'Ivoire", "IZ": "Iraq", "JA": "Japan",
    "JM": "Jamaica", "JO": "Jordan", "KE": "Kenya", "KG": "Kyrgyzstan", "KN": "North Korea", "KS": "South Korea",
    "KU": "Kuwait", "KV": "Kosovo", "KZ": "Kazakhstan", "LA": "Laos", "LE": "Lebanon", "LG": "Latvia",
    "LH": "Lithuania", "LI": "Liberia", "LO": "Slovakia", "LS": "Liechtenstein", "LT": "Lesotho",
    "LU": "Luxembourg", "LY": "Libya", "MA": "Madagascar", "MC": "Macau", "MD": "Moldova", "MG": "Mongolia",
    "MI": "Malawi", "MJ": "Montenegro", "MK": "Macedonia", "ML": "Mali", "MN": "Monaco", "MO": "Morocco",
    "MP": "Mauritius", "MR": "Mauritania", "MT": "Malta", "MU": "Oman", "MV": "Maldives", "MX": "Mexico",
    "MY": "Malaysia", "MZ": "Mozambique", "NG": "Niger", "NH": "Vanuatu", "NI": "Nigeria", "NL": "Netherlands",
    "NO": "Norway", "NP": "Nepal", "NS": "Suriname", "NU": "Nicaragua", "NZ": "New Zealand", "PA": "Paraguay",
    "PE": "Peru", "PK": "Pakistan", "PL": "Poland", "PM": "Panama", "PO": "Portugal", "PP": "Papua New Guinea",
    "PU": "Guinea-Bissau", "QA": "Qatar", "RI": "Serbia", "RO": "Romania", "RP": "Philippines", "RS": "Russia",
    "RW": "Rwanda", "SA": "Saudi Arabia", "SC": "Saint Kitts and Nevis", "SE": "Seychelles", "SF": "South Africa",
    "SG": "Senegal", "SI": "Slovenia", "SL": "Sierra Leone", "SM": "San Marino", "SN": "Singapore", "SO": "Somalia",
    "SP": "Spain", "SR": "Serbia", "ST": "Saint Lucia", "SU": "Sudan", "SW": "Sweden", "SY": "Syria",
    "SZ": "Switzerland", "TD": "Trinidad and Tobago", "TH": "Thailand", "TI": "Tajikistan", "TN": "Tonga",
    "TO": "Togo", "TP": "Sao Tome and Principe", "TS": "Tunisia", "TT": "East Timor", "TU": "Turkey",
    "TW": "Taiwan", "TX": "Turkmenistan", "TZ": "Tanzania", "UG": "Uganda", "UK": "United Kingdom",
    "UP": "Ukraine", "US": "United States", "UV": "Burkina Faso", "UY": "Uruguay", "UZ": "Uzbekistan",
    "VC": "Saint Vincent and the Grenadines", "VE": "Venezuela", "VM": "Vietnam", "VT": "Vatican",
    "WA": "Namibia", "WE": "West Bank", "WI": "Western Sahara", "WZ": "Swaziland", "YI": "Yugoslavia",
    "YM": "Yemen", "ZA": "Zambia", "ZI": "Zimbabwe", "GZ": "Gaza", "SK": "Sikkim",
}

# adjectives and peoples that do not start with their country's name: "CODE word word; ..."
_PEOPLES = """
CH chinese prc; SW swedish swede swedes; GR greek greeks; NL dutch; SZ swiss; TU turkish turk turks;
SP spanish spaniard spaniards; PL polish pole poles; DA danish dane danes; FI finnish finn finns; FR french;
UK british briton britons britain; RP filipino filipinos; TH thai thais; EI irish; LE lebanese; PO portuguese;
BM burmese myanmar; LA lao laotian; SR serb serbs; HR croat croats; EZ czech czechs; SA saudi saudis;
AE emirati emiratis uae; AJ azeri azeris; ES salvadoran salvadorans; IT italian italians; MA malagasy;
IC icelandic; NZ kiwi; MO moroccan moroccans; NO norwegian norwegians; BE belgian belgians;
IV ivorian ivoirian; ZI zimbabwean; MY malaysian malaysians; BK bosnian bosnians herzegovina;
KV kosovar kosovars; MJ montenegrin; MK macedonian macedonians; KU kuwaiti kuwaitis; BA bahraini bahrainis;
QA qatari qataris; MU omani omanis; YM yemeni yemenis; IZ iraqi iraqis; IS israeli israelis;
PK pakistani pakistanis; AF afghan afghans; UZ uzbek uzbeks; TI tajik tajiks; KG kyrgyz; KZ kazakh kazakhs;
TX turkmen; WE palestinian palestinians; KN dprk; KS rok; DR dominican dominicans
"""
DEMONYMS = {word: code for code, *words in (group.split() for group in _PEOPLES.split(";")) for word in words}
NOT_COUNTRIES = {"bolivarian", "indiana"}  # words that begin like a country and are not about it
SHORT_ENDINGS = ("", "s", "n", "an", "ian", "vian", "i", "ese", "lese")  # Cuba-n, Iraq-i, Peru-vian, Togo-lese
SKIP = {"US"}  # nearly every cable is about US policy: the tag says nothing

_WORD = re.compile(r"[a-z]+")
_SINGLE = {name.lower(): code for code, name in NAMES.items() if " " not in name and code not in SKIP}
_PHRASES = {name.lower(): code for code, name in NAMES.items() if " " in name and code not in SKIP}
# every rule below needs the word's first three letters to be the name's: look only at those names
_BY_START: dict[str, list[tuple[str, str]]] = {}
for _name, _code in _SINGLE.items():
    _BY_START.setdefault(_name[:3], []).append((_name, _code))


@lru_cache(maxsize=100_000)
def _country_of(word: str) -> str | None:
    """The code of the country ``word`` names: the longest name it begins with whole
    ("nigerien" -> Niger, "nigerian" -> Nigeria), else the name it shares the longest
    beginning with, 5 letters at least ("slovak" -> Slovakia); a name of 4 letters or fewer
    only whole or with an ending ("iraqi"); None when no name fits."""
    if word in DEMONYMS:
        return DEMONYMS[word]
    if word in NOT_COUNTRIES:
        return None
    best, best_key = None, (False, 0)
    for name, code in _BY_START.get(word[:3], ()):
        if len(name) <= 4:
            key = (True, len(name)) if word in {name + e for e in SHORT_ENDINGS} else (False, 0)
        elif word.startswith(name):
            key = (True, len(name))
        else:
            common = next((i for i, (a, b) in enumerate(zip(word, name)) if a != b), min(len(word), len(name)))
            key = (False, common if common >= 5 else 0)
        if key[1] and key > best_key:
            best, best_key = code, key
    return best


def geographic(tags: Iterable[str]) -> list[str]:
    """The country codes among a cable's TAGS ("PGOV", "PREL", "LO" -> ["LO"])."""
    return [t for t in tags if t in NAMES]


def named_in(text: str) -> set[str]:
    """The codes of the countries ``text`` names: "Slovakia's" and "Slovak" -> {"LO"}."""
    lower = text.lower()
    codes = {code for name, code in _PHRASES.items() if name in lower}
    for word in set(_WORD.findall(lower)):
        code = _country_of(word)
        if code:
            codes.add(code)
    return codes
