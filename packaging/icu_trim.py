"""A smaller ICU data library for the Linux bundle (``invoicedesk.spec`` imports this file).

PySide6 ships ICU's whole data set in ``libicudata.so.NN`` (32 MB for ICU 73), the biggest file
of the bundle. Qt reaches ICU through four doors only (the ICU functions ``libQt6Core`` imports):
collation (``QCollator``, the file dialog's sorting), locale case mapping (``QLocale::toUpper``),
time-zone names (``QTimeZone::displayName``) and legacy text codecs by name (``QStringDecoder``).
So the bundle gets a library holding the same data minus what none of those read:

* charset converter tables (``*.cnv``): Qt converts UTF-8/16/32 and Latin-1 itself, ICU's
  US-ASCII/UTF-* converters are code; only the alias table (``cnvalias.icu``) stays;
* break-iterator dictionaries (Chinese/Japanese, Thai, Lao, Burmese, Khmer), transliterators,
  StringPrep profiles, the spoof checker's confusables and Unicode character names;
* locale data of other languages: in the trees Qt reads (locale root data, collation,
  time-zone names, break rules) only ``root``, English and the stores' languages stay; in
  the trees only other ICU services read (currency, language, region and unit names,
  spelled-out numbers) only ``root`` and English.

Every tree keeps ``root``, ``pool`` and ``res_index``, so a lookup for a removed locale falls
back to root data (e.g. Swedish file names sort in root order) instead of failing.

The data blob is the exported symbol ``icudtNN_dat``; it is cut out of the library, trimmed
with ICU's own ``icupkg -r`` (which also checks that every kept item's dependencies stay) and
linked back into a data-only shared object with the same SONAME and symbol. It needs ``icupkg``
(Debian: ``icu-devtools``) and a C compiler with GNU ``as`` (``gcc``); without them the caller
keeps the original library. Only 64-bit little-endian ELF (Linux x86-64, aarch64) is handled;
Windows and macOS bundles keep PySide6's ICU untouched.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

# Locale trees Qt reads through collation, case mapping and time-zone names ("" is the
# top-level locale data: calendars, numbering systems). They keep the kept languages.
QT_TREES = ("", "coll", "zone", "brkitr")
# Trees only other ICU services read (display names, currencies, units, spelled-out numbers).
ENGLISH_ONLY_TREES = ("curr", "lang", "region", "unit", "rbnf")
# Items no Qt path reads, by pattern (matched against "tree/name" or "name").
DROP_PATTERNS = (
    r".*\.cnv",  # converter tables (Shift-JIS, GB18030, EBCDIC, windows-125x ...)
    r".*\.spp",  # StringPrep profiles (IDNA2003, LDAP, XMPP)
    r"confusables\.cfu",  # spoof checker
    r"unames\.icu",  # Unicode character names (u_charName)
    r"brkitr/.*\.dict",  # word-break dictionaries: CJK, Thai, Lao, Burmese, Khmer
    r"translit/.*",  # transliterators
)
# Every tree's fallback and index; "res_index" would otherwise read as a locale ("res").
TREE_ITEMS = {"root.res", "pool.res", "res_index.res"}
DATA_LIBRARY = re.compile(r"libicudata\.so\.\d+")
LOCALE_ITEM = re.compile(r"(?P<lang>[a-z]{2,3})(?:_\w*)?\.res")  # de, en_AU, de__PHONEBOOK, es_
SYMBOL = re.compile(rb"icudt\d+_dat")


class IcuTrimError(Exception):
    """Trimming was attempted and went wrong (not: a tool is missing)."""


@dataclass
class TrimResult:
    library: Path  # the trimmed library, to bundle under the original's name
    original_size: int
    trimmed_size: int
    removed: dict[str, int] = field(default_factory=dict)  # group -> bytes removed
    removed_items: list[str] = field(default_factory=list)

    def summary(self, name: str) -> str:
        biggest = sorted(self.removed.items(), key=lambda kv: -kv[1])
        groups = ", ".join(f"{g} {n / 1e6:.1f}" for g, n in biggest)
        return (
            f"ICU data trimmed: {name} {self.original_size / 1e6:.1f} -> {self.trimmed_size / 1e6:.1f} MB "
            f"({len(self.removed_items)} items removed, MB: {groups})"
        )


# ------------------------------------------------------------------------------------------
# ELF: where the data symbol lives


def find_data_symbol(elf: bytes) -> tuple[str, int, int]:
    """(symbol name, file offset, size) of the exported ``icudtNN_dat`` in a 64-bit LE ELF."""
    if elf[:4] != b"\x7fELF" or elf[4] != 2 or elf[5] != 1:
        raise IcuTrimError("not a 64-bit little-endian ELF file")
    shoff, = struct.unpack_from("<Q", elf, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", elf, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", elf, shoff + i * shentsize) for i in range(shnum)]
    for _name, kind, _flags, _addr, offset, size, link, _info, _align, entsize in sections:
        if kind not in (2, 11):  # SHT_SYMTAB, SHT_DYNSYM
            continue
        strtab = sections[link]
        for pos in range(offset, offset + size, entsize or 24):
            st_name, _st_info, _other, shndx, value, length = struct.unpack_from("<IBBHQQ", elf, pos)
            start = strtab[4] + st_name
            name = elf[start : elf.index(b"\0", start)]
            if not SYMBOL.fullmatch(name) or shndx == 0 or shndx >= len(sections):
                continue
            home = sections[shndx]
            if home[1] == 8:  # SHT_NOBITS: no bytes in the file
                raise IcuTrimError(f"{name.decode()} has no data in the file")
            return name.decode(), home[4] + (value - home[3]), length
    raise IcuTrimError("no icudtNN_dat symbol: not an ICU data library")


# ------------------------------------------------------------------------------------------
# The common data package (.dat): its table of contents


def package_items(dat: bytes) -> dict[str, int]:
    """Item name (without the ``icudtNNl/`` prefix) -> size in bytes, from the package's ToC."""
    header_size, magic1, magic2 = struct.unpack_from("<HBB", dat, 0)
    if (magic1, magic2) != (0xDA, 0x27) or dat[12:16] != b"CmnD":
        raise IcuTrimError("not an ICU common data package")
    count, = struct.unpack_from("<I", dat, header_size)
    entries = [struct.unpack_from("<II", dat, header_size + 4 + 8 * i) for i in range(count)]
    items = {}
    for i, (name_at, data_at) in enumerate(entries):
        start = header_size + name_at
        name = dat[start : dat.index(b"\0", start)].decode("ascii")
        end = entries[i + 1][1] if i + 1 < count else len(dat) - header_size
        items[name.split("/", 1)[1]] = end - data_at
    return items


def group_of(item: str) -> str:
    """A readable group for the size report."""
    tree, _, name = item.rpartition("/")
    if name.endswith(".cnv"):
        return "converters"
    if name.endswith(".dict"):
        return "dictionaries"
    if tree == "translit":
        return "transliterators"
    locale = name not in TREE_ITEMS and LOCALE_ITEM.fullmatch(name)
    if tree:
        return f"{tree} locales" if locale else tree
    return "locales" if locale else "other"


def removals(items: Iterable[str], languages: Iterable[str]) -> list[str]:
    """The items to remove, keeping ``root``, English and ``languages`` where Qt reads them."""
    keep_qt = {"en", *languages} - {"root"}
    keep_english = {"en"}
    drop = re.compile("|".join(f"(?:{p})" for p in DROP_PATTERNS))
    out = []
    for item in items:
        tree, _, name = item.rpartition("/")
        if drop.fullmatch(item):
            out.append(item)
            continue
        locale = None if name in TREE_ITEMS else LOCALE_ITEM.fullmatch(name)
        if locale is None:
            continue  # root, pool, res_index, ucadata, rules, supplemental data ...
        if tree in QT_TREES and locale["lang"] not in keep_qt:
            out.append(item)
        elif tree in ENGLISH_ONLY_TREES and locale["lang"] not in keep_english:
            out.append(item)
    return out


# ------------------------------------------------------------------------------------------
# The tools


def find_tools() -> tuple[str | None, str | None]:
    """(icupkg, C compiler), or None for each that is missing. Debian puts icupkg in /usr/sbin."""
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])
    icupkg = shutil.which("icupkg", path=path)
    cc = shutil.which(os.environ.get("CC", "gcc")) or shutil.which("cc")
    return icupkg, cc


def link_data_library(dat: Path, output: Path, *, soname: str, symbol: str, cc: str) -> None:
    """A data-only shared object exporting ``symbol`` (16-byte aligned) = the bytes of ``dat``."""
    source = dat.with_suffix(".S")
    quoted = str(dat.resolve()).replace("\\", "\\\\").replace('"', '\\"')
    source.write_text(
        "\t.section .rodata\n"
        f"\t.globl {symbol}\n"
        f"\t.type {symbol}, %object\n"
        "\t.balign 16\n"
        f"{symbol}:\n"
        f'\t.incbin "{quoted}"\n'
        f"\t.size {symbol}, . - {symbol}\n"
        '\t.section .note.GNU-stack,"",%progbits\n',
        encoding="ascii",
    )
    _run([cc, "-shared", "-nostdlib", "-fPIC", f"-Wl,-soname,{soname}", "-Wl,-z,noexecstack",
          "-o", str(output), str(source)])


def _remove(icupkg: str, remove_list: Path, package: Path, output: Path) -> None:
    """``icupkg -r``, whose dependency check stays on except for the break dictionaries.

    ``brkitr/root.res`` names the dictionaries; without one ICU breaks Thai, Lao, Burmese,
    Khmer and CJK runs by its rules alone (no dictionary engine), which Qt never asks for.
    Any other missing dependency fails the build.
    """
    argv = [icupkg, "-r", str(remove_list), str(package), str(output)]
    proc = subprocess.run(argv, capture_output=True, text=True)  # noqa: S603 (our tool, our files)
    if proc.returncode == 0:
        return
    missing = re.findall(r"^Item (\S+) depends on missing item (\S+)$", proc.stderr + proc.stdout, re.M)
    tolerated = [m for m in missing if m[1].startswith("brkitr/") and m[1].endswith(".dict")]
    if not missing or len(tolerated) != len(missing):
        others = sorted({f"{a} needs {b}" for a, b in missing} - {f"{a} needs {b}" for a, b in tolerated})
        detail = "; ".join(others) if others else (proc.stderr or proc.stdout).strip()[-800:]
        raise IcuTrimError(f"icupkg -r failed ({proc.returncode}): {detail}")
    _run([icupkg, "--ignore-deps", *argv[1:]])


def _run(argv: list[str]) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True)  # noqa: S603 (our tool, our files)
    if proc.returncode != 0:
        said = (proc.stderr or proc.stdout).strip()[-800:]
        raise IcuTrimError(f"{Path(argv[0]).name} failed ({proc.returncode}): {said}")
    return proc.stdout


# ------------------------------------------------------------------------------------------
# All together


def trim_library(
    library: Path, workdir: Path, languages: Iterable[str], *, icupkg: str, cc: str
) -> TrimResult:
    """Write a trimmed copy of ``library`` (an ICU ``libicudata.so.NN``) into ``workdir``."""
    elf = library.read_bytes()
    symbol, offset, size = find_data_symbol(elf)
    dat_name = symbol.removesuffix("_dat") + "l.dat"  # icudt73l.dat: icupkg names items after it
    workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        full = Path(tmp) / "full" / dat_name
        full.parent.mkdir()
        full.write_bytes(elf[offset : offset + size])
        listed = _run([icupkg, "-l", str(full)]).split()
        sizes = package_items(full.read_bytes())
        if sorted(listed) != sorted(sizes):
            raise IcuTrimError(f"icupkg -l and the package's table of contents disagree on {full}")
        remove = removals(listed, languages)
        trimmed = Path(tmp) / dat_name
        remove_list = Path(tmp) / "remove.txt"
        remove_list.write_text("".join(f"{item}\n" for item in remove), encoding="ascii")
        _remove(icupkg, remove_list, full, trimmed)
        kept = package_items(trimmed.read_bytes())
        if set(kept) != set(listed) - set(remove):
            raise IcuTrimError("the trimmed package does not hold exactly the kept items")
        soname = library.name
        output = workdir / soname
        link_data_library(trimmed, output, soname=soname, symbol=symbol, cc=cc)
        # The new library must give back exactly the bytes icupkg wrote, under the same symbol.
        linked = output.read_bytes()
        check_symbol, check_offset, check_size = find_data_symbol(linked)
        blob = linked[check_offset : check_offset + check_size]
        if (check_symbol, check_offset % 16) != (symbol, 0) or blob != trimmed.read_bytes():
            raise IcuTrimError(f"{output} does not export the trimmed data as {symbol}")
    removed: dict[str, int] = {}
    for item in remove:
        removed[group_of(item)] = removed.get(group_of(item), 0) + sizes[item]
    return TrimResult(output, len(elf), output.stat().st_size, removed, remove)


def trim_bundled(
    binaries: list[tuple[str, str, str]], workdir: Path, languages: Iterable[str]
) -> tuple[list[tuple[str, str, str]], str | None]:
    """PyInstaller's binaries with ``libicudata.so.NN`` swapped for a trimmed copy, and one line
    for the build log (None when the bundle holds no such library: Windows, macOS).

    A missing ``icupkg`` or compiler keeps the original library with a warning; a trim that
    goes wrong raises :class:`IcuTrimError` (``INVOICEDESK_NO_TRIM=1`` builds without it).
    """
    found = [i for i, (dest, _src, _kind) in enumerate(binaries) if DATA_LIBRARY.fullmatch(Path(dest).name)]
    if not found:
        return binaries, None
    dest, src, _kind = binaries[found[0]]
    name = Path(dest).name
    icupkg, cc = find_tools()
    missing = [tool for tool, path in (("icupkg (icu-devtools)", icupkg), ("gcc", cc)) if path is None]
    if icupkg is None or cc is None:
        return binaries, (
            f"WARNING: ICU data not trimmed, {' and '.join(missing)} missing on this host: "
            f"the bundle keeps the whole {name} ({Path(src).stat().st_size / 1e6:.0f} MB)"
        )
    result = trim_library(Path(src), workdir, languages, icupkg=icupkg, cc=cc)
    out = list(binaries)
    for i in found:
        out[i] = (binaries[i][0], str(result.library), binaries[i][2])
    return out, result.summary(name)
