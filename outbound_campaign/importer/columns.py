"""Pre-mapping of file columns to contact fields, forgiving of case, accents, spaces and synonyms."""

import re
import unicodedata

# The contact fields a file column can fill, in the order the import writes them; phone is the
# only one required. EXTRA: the column is kept as extra data, shown to the agent.
IMPORTABLE_FIELDS = ("firstname", "lastname", "enterprise", "phone", "address")
EXTRA = "extra"

# The contact fields a column can fill, with the names people give such columns (English, French).
FIELD_SYNONYMS = {
    "firstname": ("firstname", "first name", "given name", "forename", "prenom", "prénom"),
    "lastname": ("lastname", "last name", "surname", "family name", "nom", "nom de famille"),
    "enterprise": (
        "enterprise",
        "company",
        "company name",
        "organisation",
        "organization",
        "business",
        "employer",
        "societe",
        "société",
        "entreprise",
        "raison sociale",
        "organisme",
    ),
    "phone": (
        "phone",
        "phone number",
        "telephone",
        "telephone number",
        "tel",
        "mobile",
        "mobile phone",
        "mobile number",
        "cell",
        "cell phone",
        "cellphone",
        "gsm",
        "msisdn",
        "number",
        "téléphone",
        "numéro",
        "numéro de téléphone",
        "portable",
    ),
    "address": ("address", "postal address", "street", "adresse", "adresse postale", "rue"),
}

_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


def fold(name):
    """``"  Numéro de Téléphone "`` -> ``"numero de telephone"``: no accents, case, punctuation."""
    decomposed = unicodedata.normalize("NFKD", name or "")
    ascii_name = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _NOT_ALNUM.sub(" ", ascii_name.casefold()).strip()


def _key(name):
    return fold(name).replace(" ", "")


_EXACT = {_key(synonym): field for field, synonyms in FIELD_SYNONYMS.items() for synonym in synonyms}
# Words that name a field even inside a longer header ("Mobile phone (work)", "Company of the contact").
_WORDS = {
    word: field
    for field, words in {
        "firstname": ("firstname", "prenom", "forename"),
        "lastname": ("lastname", "surname"),
        "enterprise": ("company", "enterprise", "entreprise", "societe", "organisation", "organization"),
        "phone": ("phone", "telephone", "tel", "mobile", "gsm", "portable", "cellphone", "msisdn"),
        "address": ("address", "adresse"),
    }.items()
    for word in words
}


def match_field(header):
    """The contact field a column named ``header`` most likely fills, or None."""
    key = _key(header)
    if not key:
        return None
    if key in _EXACT:
        return _EXACT[key]
    stripped = key.rstrip("0123456789")  # "phone1", "tel 2"
    if stripped in _EXACT:
        return _EXACT[stripped]
    candidates = {_WORDS[word] for word in fold(header).split() if word in _WORDS}
    return candidates.pop() if len(candidates) == 1 else None


def match_columns(headers):
    """One field name (or None) per header; a field is given to the first column naming it only."""
    taken = set()
    result = []
    for header in headers:
        field = match_field(header)
        if field in taken:
            field = None
        if field:
            taken.add(field)
        result.append(field)
    return result
