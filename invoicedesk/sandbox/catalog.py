"""Word lists the generators draw from: products, people, places, carriers.

Plain tuples so generation stays cheap (100,000 orders in a few seconds).
"""

from __future__ import annotations

import zlib
from decimal import Decimal
from typing import NamedTuple


def stable_seed(*parts: object) -> int:
    """A seed from mixed parts that is the same in every process (``hash()`` of str is not)."""
    return zlib.crc32("|".join(str(p) for p in parts).encode())


class Product(NamedTuple):
    name: str
    sku: str
    price: Decimal  # store currency, before tax
    weight: float
    kind: str  # "physical" | "digital" | "gift_card"
    option: tuple[str, tuple[str, ...]] | None  # (option name, values)


_SIZES = ("S", "M", "L", "XL")
_COLOR_EN = ("Color", ("Black", "Navy", "Red"))
_COLOR_ES = ("Color", ("Negro", "Azul", "Rojo"))
_BOTTLE_EN = ("Steel", "Sage", "Coral")
_BOTTLE_ES = ("Acero", "Verde", "Coral")
_SHOE_EN = ("40", "41", "42", "43", "44")
_SHOE_ES = ("38", "39", "40", "41", "42")

PRODUCTS_EN: tuple[Product, ...] = (
    Product("Premium T-Shirt", "TSHIRT-01", Decimal("19.99"), 0.2, "physical", ("Size", _SIZES)),
    Product("Hooded Sweatshirt", "HOODIE-02", Decimal("44.50"), 0.6, "physical", ("Size", _SIZES)),
    Product("Ceramic Mug", "MUG-11", Decimal("12.00"), 0.4, "physical", None),
    Product("Baseball Cap", "CAP-03", Decimal("17.95"), 0.15, "physical", _COLOR_EN),
    Product("Canvas Tote Bag", "TOTE-04", Decimal("15.49"), 0.25, "physical", None),
    Product("Art Print A3", "PRINT-A3", Decimal("24.00"), 0.3, "physical", None),
    Product("Sticker Pack", "STK-10", Decimal("4.99"), 0.05, "physical", None),
    Product("Dot Grid Notebook", "NB-05", Decimal("9.75"), 0.3, "physical", None),
    Product("Insulated Bottle", "BTL-07", Decimal("27.90"), 0.5, "physical", ("Color", _BOTTLE_EN)),
    Product("Running Sneakers", "SNK-42", Decimal("89.00"), 1.1, "physical", ("Size", _SHOE_EN)),
    Product("Daypack 20L", "BAG-20", Decimal("64.95"), 0.9, "physical", None),
    Product("Wool Socks (3 pairs)", "SOCK-3P", Decimal("14.25"), 0.2, "physical", ("Size", ("S", "M", "L"))),
    Product("E-book: Home Brewing Guide", "EBOOK-BREW", Decimal("9.99"), 0.0, "digital", None),
    Product("Wallpaper Pack", "DIGI-WALL", Decimal("2.99"), 0.0, "digital", None),
    Product("Gift Card $25", "GIFT-25", Decimal("25.00"), 0.0, "gift_card", None),
    Product("Gift Card $50", "GIFT-50", Decimal("50.00"), 0.0, "gift_card", None),
)

PRODUCTS_ES: tuple[Product, ...] = (
    Product("Polera Premium", "POLERA-01", Decimal("14990"), 0.2, "physical", ("Talla", _SIZES)),
    Product("Polerón con Capucha", "POLERON-02", Decimal("29990"), 0.6, "physical", ("Talla", _SIZES)),
    Product("Taza de Cerámica", "TAZA-11", Decimal("7990"), 0.4, "physical", None),
    Product("Jockey Bordado", "JOCKEY-03", Decimal("9990"), 0.15, "physical", _COLOR_ES),
    Product("Bolso de Tela", "BOLSO-04", Decimal("5990"), 0.25, "physical", None),
    Product("Lámina A3", "LAMINA-A3", Decimal("12990"), 0.3, "physical", None),
    Product("Set de Stickers", "STK-10", Decimal("2990"), 0.05, "physical", None),
    Product("Cuaderno Punteado", "CUAD-05", Decimal("4590"), 0.3, "physical", None),
    Product("Botella Térmica", "BOT-07", Decimal("15990"), 0.5, "physical", ("Color", _BOTTLE_ES)),
    Product("Zapatillas Running", "ZAP-42", Decimal("54990"), 1.1, "physical", ("Talla", _SHOE_ES)),
    Product("Mochila 20L", "MOCH-20", Decimal("34990"), 0.9, "physical", None),
    Product("Calcetines de Lana x3", "CALC-3P", Decimal("8990"), 0.2, "physical", ("Talla", ("S", "M", "L"))),
    Product("E-book: Guía de Café", "EBOOK-CAFE", Decimal("4990"), 0.0, "digital", None),
    Product("Fondos de Pantalla", "DIGI-FONDOS", Decimal("1990"), 0.0, "digital", None),
    Product("Tarjeta de Regalo $10.000", "GIFT-10000", Decimal("10000"), 0.0, "gift_card", None),
    Product("Tarjeta de Regalo $25.000", "GIFT-25000", Decimal("25000"), 0.0, "gift_card", None),
)

FIRST_EN = ("John", "Emily", "Michael", "Sarah", "David", "Jessica", "Daniel", "Ashley", "James",
            "Olivia", "Robert", "Sophia", "William", "Emma", "Joseph", "Mia", "Thomas", "Ava",
            "Charles", "Grace", "Ryan", "Chloe", "Kevin", "Nora", "Brian", "Lily")
LAST_EN = ("Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
           "Wilson", "Anderson", "Taylor", "Thomas", "Moore", "Martin", "Jackson", "Thompson",
           "White", "Harris", "Clark", "Lewis", "Walker", "Young", "Allen", "King")
FIRST_ES = ("Camila", "Matías", "Valentina", "Benjamín", "Sofía", "Vicente", "Isidora",
            "Agustín", "Florencia", "Tomás", "Antonia", "Joaquín", "Martina", "Cristóbal",
            "Catalina", "Sebastián", "Javiera", "Ignacio", "Fernanda", "José", "María José",
            "Nicolás", "Constanza", "Diego")
LAST_ES = ("González", "Muñoz", "Rojas", "Díaz", "Pérez", "Soto", "Contreras", "Silva",
           "Martínez", "Sepúlveda", "Morales", "Rodríguez", "López", "Fuentes", "Hernández",
           "Torres", "Araya", "Flores", "Espinoza", "Valenzuela", "Castillo", "Tapia")

# (city, region, region_code, postal prefix, country, country_code, municipality)
PLACES_EN = (
    ("New York", "New York", "NY", "100", "United States", "US", None),
    ("Brooklyn", "New York", "NY", "112", "United States", "US", None),
    ("Austin", "Texas", "TX", "787", "United States", "US", None),
    ("Portland", "Oregon", "OR", "972", "United States", "US", None),
    ("Chicago", "Illinois", "IL", "606", "United States", "US", None),
    ("Denver", "Colorado", "CO", "802", "United States", "US", None),
    ("Seattle", "Washington", "WA", "981", "United States", "US", None),
    ("Toronto", "Ontario", "ON", "M5V", "Canada", "CA", None),
    ("London", "England", "ENG", "EC1", "United Kingdom", "GB", None),
)
PLACES_ES = (
    ("Santiago", "Región Metropolitana", "RM", "83", "Chile", "CL", "Providencia"),
    ("Santiago", "Región Metropolitana", "RM", "75", "Chile", "CL", "Las Condes"),
    ("Santiago", "Región Metropolitana", "RM", "77", "Chile", "CL", "Ñuñoa"),
    ("Valparaíso", "Valparaíso", "VS", "23", "Chile", "CL", "Valparaíso"),
    ("Viña del Mar", "Valparaíso", "VS", "25", "Chile", "CL", "Viña del Mar"),
    ("Concepción", "Biobío", "BI", "40", "Chile", "CL", "Concepción"),
    ("Temuco", "Araucanía", "AR", "47", "Chile", "CL", "Temuco"),
    ("La Serena", "Coquimbo", "CO", "17", "Chile", "CL", "La Serena"),
)
STREETS_EN = ("Main St", "Oak Avenue", "Maple Drive", "Elm Street", "Park Lane", "2nd Avenue",
              "Cedar Road", "Lake Shore Blvd")
STREETS_ES = ("Av. Providencia", "Los Leones", "Av. Apoquindo", "Irarrázaval", "Av. Libertad",
              "Calle Prat", "O'Higgins", "Av. Alemania")

COMPANIES_EN = ("Acme Supplies LLC", "Bright Studio Inc.", "Northwind Traders", "Blue Fern Co.",
                "Summit Outfitters LLC", "Pine & Co.")
COMPANIES_ES = ("Comercial Los Andes SpA", "Inversiones Austral Ltda.", "Café del Puerto SpA",
                "Distribuidora Pacífico Ltda.", "Estudio Gráfico Norte EIRL")
ACTIVITIES_EN = ("Retail", "Design services", "Wholesale", "Consulting")
ACTIVITIES_ES = ("Venta al por menor", "Servicios de diseño", "Comercio al por mayor",
                 "Cafetería y restaurante")

PAYMENT_EN = (("Stripe", "stripe"), ("PayPal", "paypal"), ("Wire Transfer", "manual"),
              ("Cash Collection", "manual"))
PAYMENT_ES = (("Webpay Plus", "webpay"), ("Mercado Pago", "mercadopago"),
              ("Transferencia Bancaria", "manual"))
SHIPPING_EN = (("Flat Rate", 317048), ("Express Shipping", 317049))
SHIPPING_ES = (("Chilexpress", 402110), ("Starken", 402111), ("Blue Express", 402112))
PICKUP_EN = "Store Pickup"
PICKUP_ES = "Retiro en tienda"
CARRIERS_EN = (("UPS", "https://www.ups.com/track?tracknum="),
               ("USPS", "https://tools.usps.com/go/TrackConfirmAction?tLabels="),
               ("FedEx", "https://www.fedex.com/fedextrack/?trknbr="))
CARRIERS_ES = (("Chilexpress", "https://www.chilexpress.cl/seguimiento?n="),
               ("Starken", "https://www.starken.cl/seguimiento?codigo="),
               ("Blue Express", "https://www.blue.cl/seguimiento?n="))

STATUS_TEXT = {
    "en": {"paid": "Paid", "pending_payment": "Pending Payment", "canceled": "Canceled",
           "abandoned": "Abandoned"},
    "es": {"paid": "Pagado", "pending_payment": "Pago Pendiente", "canceled": "Cancelado",
           "abandoned": "Abandonado"},
}
SHIPMENT_TEXT = {
    "en": {"unfulfilled": "Unfulfilled", "requested": "Requested", "in_transit": "In Transit",
           "delivered": "Delivered", "failed": "Failed", "pickup_available": "Pickup Available"},
    "es": {"unfulfilled": "No Despachado", "requested": "Solicitado", "in_transit": "En Tránsito",
           "delivered": "Entregado", "failed": "Fallido", "pickup_available": "Disponible para Retiro"},
}
FULFILLMENT_TEXT = {
    "en": {"unfulfilled": "Unfulfilled", "fulfilled": "Fulfilled"},
    "es": {"unfulfilled": "Pendiente", "fulfilled": "Completado"},
}
TAX_NAME = {"en": "Sales Tax", "es": "IVA"}
TAX_RATE = {"USD": Decimal("0.0725"), "CLP": Decimal("0.19"), "EUR": Decimal("0.21")}
MINOR = {"USD": Decimal("0.01"), "EUR": Decimal("0.01"), "CLP": Decimal("1")}

# ---- Marketplacer (an Australian bike marketplace) ------------------------------------------------

# (taxon, brand, advert name, variants, price AUD)
BIKE_ADVERTS: tuple[tuple[str, str, str, tuple[str, ...], Decimal], ...] = (
    ("Hybrid Bikes", "Giant", "Giant Cypress DX", ("Navy Blue / Medium", "Black / Large"), Decimal("849.00")),
    ("Road Bikes", "Trek", "Trek Domane AL 2", ("Red / 54cm", "Black / 56cm"), Decimal("1299.99")),
    ("Mountain Bikes", "Specialized", "Specialized Rockhopper", ("Green / M", "Grey / L"),
     Decimal("1100.00")),
    ("Helmets", "Bell", "Bell Formula MIPS", ("Matte Black / M", "White / L"), Decimal("149.95")),
    ("Lights", "Knog", "Knog Blinder Road 600", ("Black",), Decimal("99.95")),
    ("Locks", "Abus", "Abus Granit X-Plus 540", ("230mm",), Decimal("189.00")),
    ("Tyres", "Continental", "Continental GP5000 700x25", ("Black",), Decimal("89.95")),
    ("Apparel", "Rapha", "Rapha Core Jersey", ("Navy / S", "Navy / M", "Black / L"), Decimal("120.00")),
    ("Tools", "Park Tool", "Park Tool IB-3 Multi-Tool", ("Standard",), Decimal("49.95")),
    ("Pumps", "Lezyne", "Lezyne Sport Floor Drive", ("Black",), Decimal("79.00")),
    ("Kids Bikes", "Avanti", "Avanti Black Thunder 16", ("Black",), Decimal("299.00")),
    ("Bottles", "Camelbak", "Camelbak Podium 620ml", ("Clear",), Decimal("15.00")),
)
AU_FIRST = ("Jack", "Charlotte", "Oliver", "Amelia", "William", "Isla", "Noah", "Mia", "Lucas",
            "Harper", "Henry", "Zoe", "Leo", "Matilda", "Thomas", "Ruby")
AU_LAST = ("Smith", "Nguyen", "Jones", "Williams", "Brown", "Wilson", "Taylor", "Martin",
           "Anderson", "Thompson", "White", "Kelly", "Ryan", "Walsh")
AU_PLACES = (("Melbourne", "Victoria", "3000"), ("Fitzroy", "Victoria", "3065"),
             ("Sydney", "New South Wales", "2000"), ("Newtown", "New South Wales", "2042"),
             ("Brisbane", "Queensland", "4000"), ("Hobart", "Tasmania", "7000"),
             ("Perth", "Western Australia", "6000"), ("Adelaide", "South Australia", "5000"))
AU_STREETS = ("Example Road", "Smith Street", "Brunswick St", "King Street", "Collins St",
              "George St", "Beach Road")
AU_COMPANIES = ("Acme Pty Ltd", "Southern Cycles Pty Ltd", "Harbour Couriers Pty Ltd")
AU_CARRIERS = (("Australia Post", "https://auspost.com.au/mypost/track/#/details/"),
               ("StarTrack", "https://startrack.com.au/track/details/"),
               ("Sendle", "https://track.sendle.com/tracking?ref="),
               ("CouriersPlease", "https://www.couriersplease.com.au/tools-track/no/"))
SELLER_MESSAGES = ("", "", "", "Please call before delivery", "Gift - please don't include invoice",
                   "Can I pick up after 5pm?", "Leave at the side gate")
