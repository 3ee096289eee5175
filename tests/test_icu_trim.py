"""packaging/icu_trim.py: the Linux bundle's ICU data library without what Qt never reads.

Runs without building the bundle: the helper works on PySide6's own ``libicudata.so.NN`` from
the venv, and the trimmed library is tried by a Python that loads it instead of PySide6's
(``LD_LIBRARY_PATH`` wins over Qt's ``$ORIGIN`` run path), through the self-test's ICU check.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STORE_LANGUAGES = ("root", "en", "es", "pt", "fr", "de", "it", "nl")  # invoicedesk.spec's list


def _load():
    # By path: "packaging" is also the name of a PyPI package (pytest imports it).
    spec = importlib.util.spec_from_file_location("icu_trim", ROOT / "packaging" / "icu_trim.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["icu_trim"] = module
    spec.loader.exec_module(module)
    return module


icu_trim = _load()
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PySide6 ships ICU as ELF on Linux")


def _pyside_icu_data() -> Path:
    import PySide6

    found = sorted((Path(PySide6.__file__).parent / "Qt" / "lib").glob("libicudata.so.*"))
    if not found:
        pytest.skip("this PySide6 has no libicudata.so (a system Qt?)")
    return found[0]


def _tools() -> tuple[str, str]:
    icupkg, cc = icu_trim.find_tools()
    if icupkg is None or cc is None:
        pytest.skip("needs icupkg (icu-devtools) and gcc")
    return icupkg, cc


@pytest.fixture(scope="module")
def trimmed(tmp_path_factory: pytest.TempPathFactory):
    """The library as the spec trims it (module-wide: about half a second)."""
    icupkg, cc = _tools()
    work = tmp_path_factory.mktemp("icu")
    return icu_trim.trim_library(_pyside_icu_data(), work, STORE_LANGUAGES, icupkg=icupkg, cc=cc)


def _unicode_check_with(library_dir: Path) -> subprocess.CompletedProcess[str]:
    code = "from invoicedesk.ui.selftest import _check_unicode; _check_unicode(); print('unicode ok')"
    env = dict(os.environ, LD_LIBRARY_PATH=str(library_dir), QT_QPA_PLATFORM="offscreen",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)


# ------------------------------------------------------------------------------------------
# What goes


def test_removals_keep_root_english_and_the_stores_languages_where_qt_reads_them() -> None:
    items = [
        "root.res", "pool.res", "res_index.res", "en.res", "en_AU.res", "es_CL.res", "sv.res", "zh_Hant_TW.res",
        "supplementalData.res", "zoneinfo64.res", "metaZones.res", "plurals.res", "cnvalias.icu", "uts46.nrm",
        "unames.icu", "confusables.cfu", "rfc3491.spp", "ibm-5348_P100-1997.cnv", "gb18030.cnv",
        "coll/root.res", "coll/ucadata.icu", "coll/es.res", "coll/es_.res", "coll/es__TRADITIONAL.res",
        "coll/de__PHONEBOOK.res", "coll/zh.res", "coll/sv.res", "coll/pool.res",
        "zone/root.res", "zone/en_GB.res", "zone/es_419.res", "zone/ja.res", "zone/tzdbNames.res",
        "brkitr/root.res", "brkitr/word.brk", "brkitr/cjdict.dict", "brkitr/thaidict.dict", "brkitr/th.res",
        "curr/root.res", "curr/en.res", "curr/es.res", "curr/supplementalData.res",
        "lang/en.res", "lang/fr.res", "region/de.res", "unit/en_001.res", "unit/ru.res", "rbnf/it.res",
        "translit/root.res", "translit/en.res",
    ]
    removed = set(icu_trim.removals(items, STORE_LANGUAGES))
    assert removed == {
        "sv.res", "zh_Hant_TW.res", "unames.icu", "confusables.cfu", "rfc3491.spp", "ibm-5348_P100-1997.cnv",
        "gb18030.cnv", "coll/zh.res", "coll/sv.res", "zone/ja.res", "brkitr/cjdict.dict",
        "brkitr/thaidict.dict", "brkitr/th.res", "curr/es.res", "lang/fr.res", "region/de.res",
        "unit/ru.res", "rbnf/it.res", "translit/root.res", "translit/en.res",
    }


def test_no_icu_library_means_nothing_to_do() -> None:
    binaries = [("PySide6/Qt/lib/libQt6Core.so.6", "/x/libQt6Core.so.6", "BINARY")]
    assert icu_trim.trim_bundled(binaries, Path("/nonexistent"), STORE_LANGUAGES) == (binaries, None)


def test_a_host_without_icupkg_keeps_the_whole_library_and_says_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    library = tmp_path / "libicudata.so.73"
    library.write_bytes(b"\0" * 2_000_000)
    binaries = [("PySide6/Qt/lib/libicudata.so.73", str(library), "BINARY")]
    monkeypatch.setattr(icu_trim, "find_tools", lambda: (None, "/usr/bin/gcc"))
    kept, note = icu_trim.trim_bundled(binaries, tmp_path / "work", STORE_LANGUAGES)
    assert kept == binaries
    assert note == ("WARNING: ICU data not trimmed, icupkg (icu-devtools) missing on this host: "
                    "the bundle keeps the whole libicudata.so.73 (2 MB)")


# ------------------------------------------------------------------------------------------
# The ELF symbol and the package, round trip


@linux_only
def test_the_data_symbol_and_its_package_are_found_in_pysides_library() -> None:
    elf = _pyside_icu_data().read_bytes()
    symbol, offset, size = icu_trim.find_data_symbol(elf)
    assert symbol.startswith("icudt") and symbol.endswith("_dat")
    assert offset % 16 == 0 and size > 10_000_000
    items = icu_trim.package_items(elf[offset : offset + size])
    assert {"root.res", "coll/ucadata.icu", "cnvalias.icu", "zoneinfo64.res"} <= set(items)
    assert sum(items.values()) < size


@linux_only
def test_a_blob_round_trips_through_a_linked_library(tmp_path: Path) -> None:
    _icupkg, cc = _tools()
    blob = bytes(range(256)) * 37 + b"tail"  # not a multiple of 16
    dat = tmp_path / "icudt99l.dat"
    dat.write_bytes(blob)
    library = tmp_path / "libicudata.so.99"
    icu_trim.link_data_library(dat, library, soname="libicudata.so.99", symbol="icudt99_dat", cc=cc)
    elf = library.read_bytes()
    name, offset, size = icu_trim.find_data_symbol(elf)
    assert (name, size) == ("icudt99_dat", len(blob))
    assert offset % 16 == 0 and elf[offset : offset + size] == blob
    dynamic = subprocess.run(["readelf", "-d", str(library)], capture_output=True, text=True).stdout
    assert "Library soname: [libicudata.so.99]" in dynamic and "NEEDED" not in dynamic


def test_not_an_icu_library_is_refused(tmp_path: Path) -> None:
    with pytest.raises(icu_trim.IcuTrimError):
        icu_trim.find_data_symbol(b"MZ not an ELF file")
    with pytest.raises(icu_trim.IcuTrimError):
        icu_trim.package_items(b"\0" * 64)
    with pytest.raises(icu_trim.IcuTrimError):
        icu_trim.find_data_symbol(Path(sys.executable).resolve().read_bytes())


# ------------------------------------------------------------------------------------------
# The trimmed library, as the spec builds it, answers Qt


@linux_only
def test_the_trimmed_library_holds_what_qt_reads_and_is_a_seventh_of_the_size(trimmed) -> None:
    elf = trimmed.library.read_bytes()
    symbol, offset, size = icu_trim.find_data_symbol(elf)
    assert trimmed.library.name == _pyside_icu_data().name and symbol.startswith("icudt")
    items = set(icu_trim.package_items(elf[offset : offset + size]))
    assert {"root.res", "en.res", "es.res", "coll/root.res", "coll/ucadata.icu", "coll/es.res",
            "zone/en.res", "zone/es.res", "zoneinfo64.res", "metaZones.res", "cnvalias.icu",
            "nfkc.nrm", "uts46.nrm", "brkitr/word.brk", "plurals.res", "pool.res"} <= items
    assert not any(i.endswith((".cnv", ".dict")) or i.startswith("translit/") for i in items)
    assert "coll/zh.res" not in items and "zone/ja.res" not in items
    assert trimmed.trimmed_size < trimmed.original_size / 6
    assert trimmed.removed["converters"] > 4_000_000


@linux_only
def test_qt_passes_the_self_tests_unicode_check_on_the_trimmed_library(trimmed) -> None:
    run = _unicode_check_with(trimmed.library.parent)
    assert run.returncode == 0 and "unicode ok" in run.stdout, run.stdout + run.stderr


@linux_only
def test_a_trim_without_spanish_fails_the_self_tests_unicode_check(tmp_path: Path) -> None:
    icupkg, cc = _tools()
    result = icu_trim.trim_library(_pyside_icu_data(), tmp_path, ("en",), icupkg=icupkg, cc=cc)
    run = _unicode_check_with(result.library.parent)
    assert run.returncode != 0
    assert "sorting names (es_CL)" in run.stderr, run.stderr
