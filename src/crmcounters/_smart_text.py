"""The default text of a smart activity, "Contact the client", in several languages (S2)."""

from __future__ import annotations

from types import MappingProxyType

from ._errors import ValidationError

__all__ = ["SMART_ACTIVITY_TEXTS", "smart_activity_text"]

#: "Contact the client" by lower-case language tag; a region tag wins over its language.
SMART_ACTIVITY_TEXTS = MappingProxyType(
    {
        "en": "Contact the client",
        "pl": "Skontaktuj się z klientem",
        "fr": "Contacter le client",
        "vi": "Liên hệ với khách hàng",
        "de": "Kunden kontaktieren",
        "es": "Contactar con el cliente",
        "it": "Contattare il cliente",
        "pt": "Contactar o cliente",
        "pt-br": "Entrar em contato com o cliente",
        "ru": "Связаться с клиентом",  # noqa: RUF001 - Cyrillic on purpose
        "uk": "Зв'язатися з клієнтом",
    }
)


def smart_activity_text(locale: str = "en") -> str:
    """ "Contact the client" for a locale such as "pl", "pl-PL" or "pt_BR".

    The full tag is tried first, then its language; a language without a
    translation gets English, as a CRM interface would show it.
    """
    if not isinstance(locale, str) or not locale.strip():
        raise ValidationError(
            "locale", f"expected a language tag such as 'en' or 'pl-PL', got {locale!r}"
        )
    tag = locale.strip().replace("_", "-").lower()
    text = SMART_ACTIVITY_TEXTS.get(tag)
    if text is None:
        text = SMART_ACTIVITY_TEXTS.get(tag.split("-", 1)[0], SMART_ACTIVITY_TEXTS["en"])
    return text
