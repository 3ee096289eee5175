"""Demo credentials for the sandbox's stores and sellers.

They are derived from fixed strings (not from the seed, not random) so the demo accounts stay
the same across runs and machines: the app's ``--demo`` mode and the docs can rely on them.
Secrets are kept out of ``repr`` so a logged account never leaks a token.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

DEFAULT_STORES: tuple[tuple[str, str, str], ...] = (
    ("demo-store", "USD", "en"),
    ("tienda-demo", "CLP", "es"),
)
"""(login, currency, language) of the first stores; more get generated names."""

_EXTRA_STORE_CURRENCIES: tuple[tuple[str, str], ...] = (("EUR", "en"), ("USD", "es"), ("CLP", "es"))


@dataclass(frozen=True)
class StoreAccount:
    """A Jumpseller store: Basic-auth ``login:token``, and the hooks token that signs requests."""

    login: str
    token: str = field(repr=False)
    hooks_token: str | None = field(repr=False)
    currency: str
    language: str


@dataclass(frozen=True)
class SellerAccount:
    """A Marketplacer seller: Bearer ``api_key``, or Basic user/password plus the key header."""

    name: str
    api_key: str = field(repr=False)
    basic_user: str
    basic_password: str = field(repr=False)
    currency: str


def _secret(label: str, length: int) -> str:
    """A stable hex string standing in for a credential (not secret: this is a demo)."""
    return hashlib.sha256(f"invoicedesk-sandbox:{label}".encode()).hexdigest()[:length]


def make_stores(count: int) -> list[StoreAccount]:
    """The first ``count`` store accounts; the fifth and every third after it has no hooks token."""
    stores: list[StoreAccount] = []
    for i in range(count):
        if i < len(DEFAULT_STORES):
            login, currency, language = DEFAULT_STORES[i]
        else:
            currency, language = _EXTRA_STORE_CURRENCIES[(i - len(DEFAULT_STORES)) % 3]
            login = f"store-{i + 1}"
        hooks: str | None = _secret(f"{login}:hooks", 32)
        if i >= 4 and (i - 4) % 3 == 0:
            hooks = None
        stores.append(
            StoreAccount(
                login=login,
                token=_secret(f"{login}:token", 32),
                hooks_token=hooks,
                currency=currency,
                language=language,
            )
        )
    return stores


def make_sellers(count: int) -> list[SellerAccount]:
    """The first ``count`` Marketplacer sellers: ``bikeshop`` first, then ``seller-2``..."""
    sellers: list[SellerAccount] = []
    for i in range(count):
        name = "bikeshop" if i == 0 else f"seller-{i + 1}"
        sellers.append(
            SellerAccount(
                name=name,
                api_key=_secret(f"{name}:api-key", 40),
                basic_user=name,
                basic_password=_secret(f"{name}:basic", 16),
                currency="AUD",
            )
        )
    return sellers
