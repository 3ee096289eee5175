"""PySide6's per-import source scan, made cheap.

Once imported, PySide6 replaces ``__import__`` and, after every module imported from then on,
asks whether that module "uses PySide" (``shibokensupport/feature.py``, ``_mod_uses_pyside``,
for its opt-in ``from __feature__ import snake_case``): it reads the module's whole source file
through ``inspect.getsource`` and looks for the word "PySide6". For the window that is a few
hundred files read at start-up, and every line of them kept in ``linecache`` (about 4 MiB after
the first paint, 7 MiB before it). The same question is answered here from what the module
holds once imported: a module that imports anything from PySide6 refers to it.

InvoiceDesk never opts into those features, so the answer only tells PySide6 which modules
to follow; the default behaviour of every Qt call is the same either way. Where PySide6 is
built without this hook (or a later version renames it), nothing is changed.
"""

from __future__ import annotations

import sys
from types import ModuleType

_QT_PACKAGES = ("PySide6", "shiboken6", "__feature__")


def uses_pyside(module: ModuleType) -> bool:
    """Whether ``module`` refers to anything of PySide6 (a module, class or function)."""
    for value in list(vars(module).values()):
        name = value.__name__ if isinstance(value, ModuleType) else getattr(value, "__module__", None)
        if isinstance(name, str) and name.startswith(_QT_PACKAGES):
            return True
    return False


def lighten_import_hook() -> bool:
    """Import PySide6 and answer its per-import question without reading source; ``True`` if done."""
    import PySide6  # noqa: F401  (installs the import hook and its support modules)

    feature = sys.modules.get("shibokensupport.feature")
    if feature is None or not callable(getattr(feature, "_mod_uses_pyside", None)):
        return False
    feature._mod_uses_pyside = uses_pyside  # type: ignore[attr-defined]
    return True
