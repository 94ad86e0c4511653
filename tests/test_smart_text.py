"""The text of a smart activity, "Contact the client", by locale (S2)."""

from __future__ import annotations

import pytest

from crmcounters import SMART_ACTIVITY_TEXTS, smart_activity_text


def test_s2_required_languages_are_translated() -> None:
    """At least English, Polish, French, Vietnamese, German and Spanish."""
    assert {"en", "pl", "fr", "vi", "de", "es"} <= set(SMART_ACTIVITY_TEXTS)
    assert len(set(SMART_ACTIVITY_TEXTS.values())) == len(SMART_ACTIVITY_TEXTS)


def test_s2_vietnamese_text_matches_the_seed_article() -> None:
    """Seed 003 quotes the pre-filled text as "Liên hệ với khách hàng"."""
    assert smart_activity_text("vi") == "Liên hệ với khách hàng"


@pytest.mark.parametrize(
    ("locale", "text"),
    [
        ("EN-us", "Contact the client"),
        ("de_AT", "Kunden kontaktieren"),
        ("pt", "Contactar o cliente"),
        ("pt-BR", "Entrar em contato com o cliente"),
        ("pt_br", "Entrar em contato com o cliente"),
    ],
)
def test_s2_region_tags_and_case_are_understood(locale: str, text: str) -> None:
    """A region tag wins when translated, else its language; case and _ or - do not matter."""
    assert smart_activity_text(locale) == text


def test_s2_untranslated_language_falls_back_to_english() -> None:
    """As a CRM interface would show it."""
    assert smart_activity_text("ja-JP") == "Contact the client"
    assert smart_activity_text() == "Contact the client"
