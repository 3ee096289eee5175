"""Answer shapes: the other documented ways the real services answer, switchable per test.

The default sandbox answers in the one convenient shape. Each name below turns on one of the
other shapes that the services' documentation says the real services use (or may
use); the ``real-world`` profile turns them on together. Switch them with
``Sandbox(shapes={...})``, ``Sandbox(profile="real-world")``, ``sb.set_shapes(...)`` or
``POST /_control/shapes`` (``{"shapes": [...]}`` or ``{"profile": "real-world"}``).
"""

from __future__ import annotations

from collections.abc import Iterable

SHAPES: dict[str, str] = {
    # Jumpseller documents
    "doc_type_strings": "documents say document_type as the spec's strings "
                        "'1 - invoice' / '0 - credit note'",
    "other_app_documents": "some orders carry a document made by another app "
                           "(app_code 'other-billing')",
    "documents_unsorted": "GET /documents.json lists in a stable but unsorted order",
    "documents_listing_refused": "GET /documents.json answers 403",
    # Jumpseller orders
    "paging_ignored": "/orders/status/{s}.json and /orders/after/{id}.json ignore page",
    "statuses_pt_fr": "order status written in Portuguese or French, without status_enum",
    # Jumpseller rate limits
    "ban_reset_iso": "Jumpseller-BannedByRateLimit-Reset is an ISO time, not unix seconds",
    "rate_limit_403": "rate-limit refusals are 403 without Retry-After",
    # Marketplacer
    "next_always": "links.next on every list page, the last one too",
    "thin_transitions": "PUT sent/ready/collected answer only id, type, status, updated_at",
    "no_updated_at": "invoices carry no updated_at",
    "included_ids_reused": "list pages include every customer under the ids 'customer' "
                           "and 'billing_customer'",
    # Invoicing endpoint
    "invoicing_refuses_2xx": "refusals are 200 {'message'} with no public_id or url",
    "invoicing_ignores_status": "the endpoint invoices whatever the status (a canceled order "
                                "gets a second invoice)",
}

# Everything at once, except the refused listing: the real-world stories read the listing.
PROFILES: dict[str, frozenset[str]] = {
    "default": frozenset(),
    "real-world": frozenset(SHAPES) - {"documents_listing_refused"},
}

OTHER_APP_CODE = "other-billing"


def resolve(shapes: Iterable[str] | None = None, profile: str | None = None) -> frozenset[str]:
    """The shapes of a profile plus ``shapes``; raises ValueError naming what is unknown."""
    if profile is not None and profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; known: {', '.join(sorted(PROFILES))}")
    chosen = set(PROFILES[profile or "default"])
    if shapes is not None:
        if isinstance(shapes, str):
            raise TypeError("shapes must be a collection of names, not one string")
        wanted = set(shapes)
        unknown = sorted(wanted - set(SHAPES))
        if unknown:
            raise ValueError(f"unknown shape(s) {', '.join(unknown)}; known: "
                             f"{', '.join(sorted(SHAPES))}")
        chosen |= wanted
    return frozenset(chosen)
