"""The detail pane's words, Qt-free: escaping, links, dates, small HTML pieces and table rows.

Everything the pane shows is worked out as plain data (HTML strings for labels, :class:`Row`\\ s
of :class:`Cell`\\ s for tables, :class:`Notice`\\ s for coloured boxes) by pure functions here and
in ``order``, ``invoice`` and ``history``; ``pane`` only puts that data into widgets and colours
it from the palette. So what staff read can be tested without a window, and no colour is chosen
before the palette is known: a row or a box says what it *means* (:class:`Tone`, :class:`Mark`).

This module imports no Qt (a test holds it to that).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from urllib.parse import urlsplit

from invoicedesk.domain import Address, Customer
from invoicedesk.money import format_money
from invoicedesk.rules import InvoicePreview
from invoicedesk.textsafe import DISPLAY_LIMIT, breakable, capped

PLACEHOLDER = "Select an order or invoice"


class Tone(StrEnum):
    """What a box or the status chip means; the pane turns it into the palette's colours."""

    SUCCESS = "success"
    WARNING = "warning"
    ERROR = "error"
    INFO = "info"
    NEUTRAL = "neutral"


class Mark(StrEnum):
    """Why a table cell stands out; the pane colours marked cells from the palette."""

    GIFT_CARD = "gift_card"  # a gift-card line: tinted row
    UNKNOWN = "unknown"  # an action whose outcome is unknown: warning colours, bold
    FAILED = "failed"  # a failed action's outcome: error-coloured text


@dataclass(frozen=True, slots=True)
class Cell:
    """One table cell: text already capped and breakable, right-aligned when ``money``."""

    text: str
    money: bool = False
    tip: str = ""
    mark: Mark | None = None


Row = tuple[Cell, ...]


@dataclass(frozen=True, slots=True)
class Notice:
    """A label's rich text, shown as a coloured box (``tone``) or as plain text (``tone`` None).

    ``strong`` adds a bar on the left: the box staff must act on (a business without a tax id,
    an action whose outcome is unknown).
    """

    html: str
    accessible: str
    tone: Tone | None = None
    strong: bool = False


def cell(text: str, *, money: bool = False, tip: str = "", mark: Mark | None = None) -> Cell:
    """A table cell for payload text: capped and breakable like every label (see :func:`esc`)."""
    return Cell(breakable(capped(text)), money=money, tip=capped(tip) if tip else "", mark=mark)


def marked(row: Iterable[Cell], mark: Mark) -> Row:
    """``row`` with every cell marked ``mark``."""
    return tuple(Cell(c.text, money=c.money, tip=c.tip, mark=mark) for c in row)


# ----------------------------------------------------------------------------- text


def esc(text: object) -> str:
    """Payload text as rich text: capped (a 10 MB name froze the window for 23 s), breakable
    (one unbroken run must not widen the pane), escaped."""
    return html.escape(breakable(capped(str(text))), quote=True)


def _bad_url_char(ch: str) -> bool:
    return ch.isspace() or ord(ch) < 32 or ord(ch) == 127 or ch in '<>"\\^`{|}'


def is_web_url(url: str) -> bool:
    """Only http(s) with a host is ever offered as a link: a payload could carry ``file:`` or
    ``javascript:``, or an address no browser would open (spaces or quotes in it)."""
    url = url.strip()
    if not url or any(_bad_url_char(ch) for ch in url):
        return False
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(host)


def link(url: str, text: str) -> str:
    """A link with the address exactly as sent (never capped or broken up: it must still open);
    an address too long to be a real one is shown as text only."""
    url = url.strip()
    if len(url) > DISPLAY_LIMIT or not is_web_url(url):
        return esc(text)
    return f'<a href="{html.escape(url, quote=True)}">{esc(text)}</a>'


def when(moment: datetime | None) -> str:
    """A date as staff read it, in this computer's time zone: "10 Feb 2023, 13:56"."""
    if moment is None:
        return "—"
    local = moment.astimezone()
    return f"{local.day} {local:%b %Y, %H:%M}"


def when_html(moment: datetime | None) -> str:
    """:func:`when` for rich text, kept on one line."""
    return esc(when(moment)).replace(" ", "&nbsp;")


class Money:
    """Formats amounts in one locale: ``money(amount, currency)``."""

    def __init__(self, locale: str = "en_US") -> None:
        self.locale = locale

    def __call__(self, amount: Decimal | None, currency: str) -> str:
        return format_money(amount, currency, self.locale)


# ----------------------------------------------------------------------------- pieces


def address_lines(addr: Address, *, with_name: bool = True) -> list[str]:
    """An address as the lines of an envelope, empty parts left out."""
    street = " ".join(p for p in (addr.address, addr.street_number) if p)
    town = " ".join(p for p in (addr.postal, addr.city) if p)
    lines = [
        addr.fullname if with_name else "",
        addr.company,
        street,
        town,
        addr.municipality if addr.municipality and addr.municipality != addr.city else "",
        addr.region,
        addr.country or addr.country_code,
    ]
    return [line for line in lines if line]


def amounts_html(rows: Sequence[tuple[str, str, bool]]) -> str:
    """Label/amount rows (``strong`` ones bold) as a small table, amounts aligned on the right."""
    cells = []
    for label, value, strong in rows:
        if strong:
            label, value = f"<b>{esc(label)}</b>", f"<b>{esc(value)}</b>"
        else:
            label, value = esc(label), esc(value)
        cells.append(f'<tr><td style="padding-right:18px">{label}</td><td align="right">{value}</td></tr>')
    return f'<table cellspacing="0" cellpadding="1">{"".join(cells)}</table>'


def bullets(items: Iterable[str]) -> str:
    """Each item on its own line behind a bullet."""
    return "".join(f"<div>•&nbsp;{esc(item)}</div>" for item in items)


def customer_html(c: Customer, name: str) -> str:
    """Who the customer is and how to reach them."""
    parts = [f"<b>{esc(name or 'Unnamed customer')}</b>"]
    if c.company_name and c.company_name != name:
        parts.append(f"Company: {esc(c.company_name)}")
    if c.email:
        parts.append(esc(c.email))
    if c.phone:
        parts.append(esc(c.phone))
    return "<br>".join(parts)


_SHIPPING_OPTIONS = {
    "delivery": "Delivery",
    "store_pickup": "Store pickup",
    "no_shipping": "No shipping needed",
    "buy_online": "Buy Online (delivered)",
    "click_and_collect": "Click and Collect",
}


def shipping_html(addr: Address, option: str, method: str) -> str:
    """How the goods travel, then where to."""
    how = _SHIPPING_OPTIONS.get(option, option)
    head = " · ".join(esc(x) for x in (how, method) if x)
    lines = address_lines(addr)
    body = "<br>".join(esc(x) for x in lines) if lines else "No shipping address given."
    return (f"<b>{head}</b><br>" if head else "") + body


def data_notes_html(problems: Sequence[str]) -> str:
    """The values a service sent that the parser did not expect, kept as sent."""
    return "Some values the service sent were unexpected; they are kept as sent:" + bullets(problems)


# ----------------------------------------------------------------------------- a whole record


@dataclass(frozen=True, slots=True)
class PreviewView:
    """The invoice preview section; ``preview`` None when it could not be worked out."""

    preview: InvoicePreview | None
    intro: str
    rows: tuple[Row, ...] = ()
    totals: str = ""
    notes: str = ""


@dataclass(frozen=True, slots=True)
class RecordView:
    """Everything the pane shows about one order or invoice, section by section.

    A section given as ``None`` is hidden (an invoice has no tax-id box, no preview and no
    documents).
    """

    icon: str  # the source's icon name
    icon_tip: str
    title: str
    status: str
    status_tone: Tone
    meta: str
    totals: str
    customer: str
    tax_flag: Notice | None
    billing: str | None
    shipping: str
    items_title: str
    items: tuple[Row, ...]
    preview: PreviewView | None
    shipments_title: str
    shipments: str
    documents: str | None
