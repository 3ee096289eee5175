"""Where InvoiceDesk keeps its files, and what went wrong with a folder or a disk.

A leaf module (of InvoiceDesk it imports only the app's name), so the configuration, the logs,
the cache and the command line all read their folders from here without importing each other:

- configuration: ``$INVOICEDESK_CONFIG``, else ``config.toml`` in the user config folder;
- data (the cache, the journal of actions): ``$INVOICEDESK_DATA_DIR``, else the user data folder;
- logs: ``logs/`` inside ``$INVOICEDESK_DATA_DIR`` when it is set, else the user log folder.

The cache, the command line and the window also turn ``OSError`` numbers into the same words
here, so a read-only folder is always "cannot write to <folder>" and never mistaken for a
damaged cache, and a full disk always names the folder whose disk is full.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import platformdirs

from invoicedesk import APP_NAME

#: errno values that mean "this folder cannot be written", whatever the file in it.
READ_ONLY_ERRNOS = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})
#: errno values that mean "no room": a full disk, a quota, a file size limit.
FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


# --------------------------------------------------------------------------------------------
# Folders


def default_config_path() -> Path:
    """The configuration file used when no ``--config`` is given (it may not exist)."""
    env = os.environ.get("INVOICEDESK_CONFIG")
    if env:
        return Path(env)
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "config.toml"


def data_dir() -> Path:
    """The data folder (created if missing)."""
    env = os.environ.get("INVOICEDESK_DATA_DIR")
    path = Path(env) if env else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def log_dir() -> Path:
    """The log folder (created if missing): beside the data when the data folder is chosen."""
    env = os.environ.get("INVOICEDESK_DATA_DIR")
    if env:
        path = Path(env) / "logs"
    else:
        path = Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


# --------------------------------------------------------------------------------------------
# What went wrong with a folder


def full_disk(folder: Path) -> str:
    return (
        f"The disk holding {folder} is full: what was finished is saved. "
        "Free some space on that disk, then run the command again."
    )


def cannot_write(folder: Path, why: str = "") -> str:
    reason = f" ({why})" if why else ""
    return (
        f"Cannot write to {folder}{reason}: make that folder writable, or set "
        "INVOICEDESK_DATA_DIR to a folder that is. Nothing was changed."
    )


def _first_file_above(path: Path) -> Path | None:
    """The nearest ancestor of ``path`` that exists and is not a folder (or ``None``)."""
    for parent in [path, *path.parents]:
        if parent.exists() or parent.is_symlink():
            return None if parent.is_dir() else parent
    return None


def describe_folder_error(exc: OSError, folder: Path) -> str:
    """One sentence for an ``OSError`` met while creating or writing into ``folder``."""
    code = exc.errno
    if isinstance(exc, FileExistsError) or (code == errno.EEXIST and not folder.is_dir()):
        return (
            f"The data folder {folder} is a file, not a folder: move that file away or set "
            "INVOICEDESK_DATA_DIR to another folder."
        )
    if isinstance(exc, NotADirectoryError) or code == errno.ENOTDIR:
        blocker = _first_file_above(folder)
        where = f" because {blocker} is a file" if blocker is not None else ""
        return (
            f"The data folder {folder} cannot be created{where}: move it away or set "
            "INVOICEDESK_DATA_DIR to another folder."
        )
    if code in FULL_ERRNOS:
        return full_disk(folder)
    if code in READ_ONLY_ERRNOS:
        what = os.strerror(code).lower() if code is not None else ""
        return cannot_write(folder, what)
    what = exc.strerror or type(exc).__name__
    return f"Cannot use the data folder {folder} ({what}): check the disk, then run the command again."


def describe_file_error(exc: OSError) -> str:
    """One sentence for a file staff named (an export's ``--output``) that cannot be written."""
    target = Path(str(exc.filename)) if exc.filename else None
    if target is None:
        return f"Cannot write the file ({exc.strerror or type(exc).__name__})."
    if exc.errno in FULL_ERRNOS:
        return full_disk(target.parent)
    blocker = _first_file_above(target.parent)
    if blocker is not None:
        return f"Cannot write {target}: {blocker} is a file, not a folder. Choose another place."
    what = exc.strerror or type(exc).__name__
    return f"Cannot write {target} ({what.lower()}): choose another place, or make that folder writable."


def ensure_writable_folder(folder: Path) -> None:
    """Create ``folder`` if needed and prove a file can be written in it.

    Raises ``OSError``; :func:`describe_folder_error` says what it means. A probe file is the
    only honest test: ``os.access`` says yes to root on a folder whose mode says no, and
    SQLite's own error for a read-only folder ("unable to open database file", "attempt to
    write a readonly database") reads like a damaged cache.
    """
    folder.mkdir(parents=True, exist_ok=True)
    if not folder.is_dir():
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(folder))
    probe = folder / f".write-probe-{os.getpid()}"
    fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, b"x")
    finally:
        os.close(fd)
        probe.unlink(missing_ok=True)


def fsync_folder(folder: Path) -> None:
    """Make a rename or a new file in ``folder`` survive a power cut (no-op where unsupported)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
