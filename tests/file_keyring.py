"""A keyring backend that keeps passwords in a JSON file, for tests that need the keyring in a
child process (this machine has no Secret Service). The child picks it with keyring's own
``PYTHON_KEYRING_BACKEND=tests.file_keyring.FileKeyring``; the file is named by
``INVOICEDESK_TEST_KEYRING``."""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

ENV = "INVOICEDESK_TEST_KEYRING"


class FileKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    @staticmethod
    def _path() -> Path:
        return Path(os.environ[ENV])

    def _load(self) -> dict[str, str]:
        try:
            return dict(json.loads(self._path().read_text(encoding="utf-8")))
        except FileNotFoundError:
            return {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        values = self._load()
        values[f"{service}/{username}"] = password
        self._path().write_text(json.dumps(values), encoding="utf-8")

    def delete_password(self, service: str, username: str) -> None:
        values = self._load()
        if values.pop(f"{service}/{username}", None) is None:
            raise PasswordDeleteError("not stored")
        self._path().write_text(json.dumps(values), encoding="utf-8")
