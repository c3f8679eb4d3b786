from outbound_campaign.importer import columns


def test_headers_matched_forgiving_case_accents_and_synonyms():
    assert columns.match_columns(
        ["Prénom", "NOM", "first name?", "Téléphone", "Entreprise", "Adresse postale", "E-mail"]
    ) == ["firstname", "lastname", None, "phone", "enterprise", "address", None]


def test_words_inside_longer_headers_and_numbered_headers():
    assert columns.match_field("Mobile phone (work)") == "phone"
    assert columns.match_field("phone1") == "phone"
    assert columns.match_field("Company of the contact") == "enterprise"
    assert columns.match_field("phone or company") is None


def test_a_field_goes_to_the_first_column_naming_it():
    assert columns.match_columns(["phone", "tel"]) == ["phone", None]


def test_every_synonym_names_an_importable_field():
    assert set(columns.FIELD_SYNONYMS) == set(columns.IMPORTABLE_FIELDS)
