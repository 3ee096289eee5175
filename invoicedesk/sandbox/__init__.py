"""A real HTTP sandbox playing Jumpseller, Marketplacer and the invoicing endpoint (no Qt)."""

from .accounts import SellerAccount, StoreAccount
from .server import Sandbox

__all__ = ["Sandbox", "SellerAccount", "StoreAccount"]
