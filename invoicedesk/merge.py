"""Merging an action's answer into what is cached, field by field.

Marketplacer documents that ``PUT .../sent|ready|collected`` "returns the updated invoice", but
an answer may be thinner than the full invoice (no ``included`` customer, no line items, only
a few attributes). The answer must never erase what the cache knows: a field absent from the
answer keeps its cached value. Both sides are JSON:API documents
(``{"data": resource, "included": [...]}``), as the cache keeps them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _resource(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    data = doc.get("data")
    return data if isinstance(data, Mapping) else {}


def _section(resource: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = resource.get(key)
    return dict(value) if isinstance(value, Mapping) else {}


def _included(doc: Mapping[str, Any]) -> list[Any]:
    value = doc.get("included")
    return list(value) if isinstance(value, list) else []


def _key(item: Any) -> tuple[str, str] | None:
    if isinstance(item, Mapping) and "type" in item and "id" in item:
        return str(item["type"]), str(item["id"])
    return None


def merge_jsonapi(cached: Mapping[str, Any], answer: Mapping[str, Any]) -> dict[str, Any]:
    """``answer`` laid over ``cached``: attributes and relationships key by key, included
    resources by (type, id); anything the answer does not carry stays as cached."""
    old, new = _resource(cached), _resource(answer)
    if not old:
        return dict(answer)
    if not new:
        return dict(cached)
    data: dict[str, Any] = {**old}
    data.update({k: v for k, v in new.items() if k not in ("attributes", "relationships")})
    attributes = _section(old, "attributes")
    attributes.update(_section(new, "attributes"))
    data["attributes"] = attributes
    relationships = _section(old, "relationships")
    relationships.update(_section(new, "relationships"))
    if relationships:
        data["relationships"] = relationships
    merged: dict[str, Any] = {**cached, "data": data}
    included: dict[tuple[str, str] | int, Any] = {}
    for i, item in enumerate([*_included(cached), *_included(answer)]):
        included[_key(item) or i] = item
    if included:
        merged["included"] = list(included.values())
    return merged


def is_partial(cached: Mapping[str, Any], answer: Mapping[str, Any]) -> bool:
    """The answer lacks something the cache knows: an attribute, a relationship or an
    included resource. Then the full record is worth re-reading from the service."""
    old, new = _resource(cached), _resource(answer)
    if not old:
        return False
    if set(_section(old, "attributes")) - set(_section(new, "attributes")):
        return True
    if set(_section(old, "relationships")) - set(_section(new, "relationships")):
        return True
    old_keys = {_key(i) for i in _included(cached)} - {None}
    new_keys = {_key(i) for i in _included(answer)} - {None}
    return bool(old_keys - new_keys)
