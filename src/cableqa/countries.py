"""Country names for the two-letter geographic codes of cable TAGS lines (FIPS 10-4 style).

A paragraph rarely names its own country ("the GOS", "the Prime Minister");
its cable's TAGS do ("PGOV, PREL, LO" -> Slovakia).  The names join the
paragraph's context so that "Slovakia's security office" finds it.
"""

from __future__ import annotations

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


def names(tags) -> list[str]:
    """Country names of the geographic codes among ``tags``, in order, each once."""
    out = []
    for tag in tags:
        name = NAMES.get(tag.strip().upper()) if len(tag.strip()) == 2 else None
        if name and name not in out:
            out.append(name)
    return out
