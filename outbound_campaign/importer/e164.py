"""One parse per phone number where that gives what Odoo's ``phone_parse`` gives.

``phone_validation.phone_parse`` parses a number, formats it internationally and parses that again,
so that Odoo's metadata patches (Brazil's ninth digit, Mexico's dropped "1") change the number. For a
number that is valid after one parse, the second parse only matters when the international format
of its country adds or drops digits: elsewhere one parse settles it, at half the cost. Everything
else (invalid numbers, those countries) is left to ``phone_parse``, for its result and its reason.

Imports nothing from Odoo: the import's worker processes load this file on their own.
"""

import functools
import re

import phonenumbers

_GROUP_REFERENCE = re.compile(r"\\(\d)")
_DIGIT = re.compile(r"\d")


def parse_once(number, region):
    """The E.164 form of ``number`` (national numbers read in ``region``, an ISO code or None) when
    one parse settles it, else None (then ask ``phone_parse``)."""
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None
    if not _international_format_keeps_digits(parsed.country_code) or not phonenumbers.is_valid_number(
        parsed
    ):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


@functools.cache
def _international_format_keeps_digits(country_code):
    """Whether every international format of the country shows each digit once, in order and adds
    none: then formatting and parsing again gives back the same number."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(
        country_code, phonenumbers.region_code_for_country_code(country_code)
    )
    if metadata is None:
        return False
    # As phonenumbers' own formatting: the international formats, or the national ones if none.
    for number_format in metadata.intl_number_format or metadata.number_format:
        references = [int(group) for group in _GROUP_REFERENCE.findall(number_format.format)]
        if references != list(range(1, re.compile(number_format.pattern).groups + 1)):
            return False
        if _DIGIT.search(_GROUP_REFERENCE.sub("", number_format.format)):
            return False
    return True
