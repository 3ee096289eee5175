"""Accounts configuration: valid files load; a bad one gets one sentence naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from invoicedesk.config import (
    Config,
    JumpsellerAccount,
    MarketplacerAccount,
    StaticSecrets,
    dump_config,
    load_config,
    parse_config,
    resolve_secret,
    save_config,
)
from invoicedesk.errors import ConfigError

GOOD = """
[[jumpseller]]
name = "mystore"
login = "mystore"
invoicing_url = "https://billing.example.com/invoices"
token_env = "MYSTORE_TOKEN"
hooks_token_env = "MYSTORE_HOOKS_TOKEN"

[[marketplacer]]
name = "bikeexchange"
api_url = "https://www.bikeexchange.com.au"
api_key_env = "BIKEEX_KEY"
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "config.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_documented_example_loads(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, GOOD))
    js = cfg.jumpseller[0]
    assert js.api_url == "https://api.jumpseller.com/v1"
    assert js.invoicing_url == "https://billing.example.com/invoices"
    assert cfg.marketplacer[0].currency == "AUD"
    assert cfg.account("bikeexchange").source == "marketplacer"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('[[jumpseller]]\nname = "a"\n', "'login' is required"),
        ('[[jumpseller]]\nname = "a"\nlogin = "a"\napi_url = "http://api.example.com"\n', "plain http"),
        ('[[jumpseller]]\nname = "a"\nlogin = "a"\ntoken = "s3cret"\n', "must not be in the configuration"),
        ('[[jumpseller]]\nname = "a"\nlogin = 5\n', "'login' must be a string"),
        ('[[marketplacer]]\nname = "m"\napi_url = "https://x.example"\ncurrency = "dollars"\n', "ISO 4217"),
        (
            '[[jumpseller]]\nname = "a"\nlogin = "a"\n[[marketplacer]]\nname = "a"\napi_url = "https://x.example"\n',
            "used more than once",
        ),
        ("jumpseller = 3\n", "list of tables"),
        ("colour = 'red'\n", "unknown key 'colour'"),
        ("[[jumpseller]\n", "not valid TOML"),
    ],
)
def test_bad_config_names_file_and_key(tmp_path: Path, text: str, fragment: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert fragment in str(err.value)
    assert str(path) in str(err.value)
    assert "s3cret" not in str(err.value)


def test_loopback_http_allowed_for_the_sandbox() -> None:
    cfg = parse_config({"jumpseller": [{"name": "a", "login": "a", "api_url": "http://127.0.0.1:9/v1"}]})
    assert cfg.jumpseller[0].api_url == "http://127.0.0.1:9/v1"


def test_missing_default_file_is_empty_but_missing_explicit_file_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("INVOICEDESK_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert load_config().accounts == ()
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_config(tmp_path / "nope.toml")


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    cfg = Config(
        jumpseller=(
            JumpsellerAccount(
                "s", "s", "https://api.jumpseller.com/v1", "https://b.example/i", "T", "H", "https://b.example/c"
            ),
        ),
        marketplacer=(MarketplacerAccount("m", "https://m.example", "K", "NZD", "user", "PW"),),
        auto_sync_minutes=15,
    )
    path = tmp_path / "out" / "config.toml"
    save_config(cfg, path)
    again = load_config(path)
    assert again.jumpseller == cfg.jumpseller
    assert again.marketplacer == cfg.marketplacer
    assert again.auto_sync_minutes == 15
    assert "token" not in dump_config(cfg).replace("token_env", "")


def test_env_var_wins_over_keyring_and_missing_secret_says_how_to_fix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secrets = StaticSecrets({"k": "from-keyring"})
    monkeypatch.setenv("MY_TOKEN", "from-env")
    assert resolve_secret("MY_TOKEN", "k", secrets, what="API token", account="a") == "from-env"
    monkeypatch.delenv("MY_TOKEN")
    assert resolve_secret("MY_TOKEN", "k", secrets, what="API token", account="a") == "from-keyring"
    with pytest.raises(ConfigError, match=r"No API token for account 'a': set \$MY_TOKEN"):
        resolve_secret("MY_TOKEN", "missing", secrets, what="API token", account="a")


# --------------------------------------------------------------------------- hostile files

_JS = '[[jumpseller]]\nname = "a"\nlogin = "a"\n'


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (_JS + 'api_url = "https://[zz/v1"\n', "'api_url' is not a valid URL"),
        (_JS + 'api_url = "https://api.example.com:99999/v1"\n', "'api_url' is not a valid URL"),
        (_JS + 'api_url = "https://api.example.com:abc/v1"\n', "'api_url' is not a valid URL"),
        (_JS + 'api_url = "https://api.example.com:0/v1"\n', "port 0"),
        (_JS + 'invoicing_url = "https://bill ing.example.com/x"\n', "must not contain spaces"),
        ('[[jumpseller]]\nname = "a\\u0000b"\nlogin = "a"\n', "'name' must not contain control characters"),
        ('[[jumpseller]]\nname = "a\\nb"\nlogin = "a"\n', "'name' must not contain control characters"),
        ('[[jumpseller]]\nname = "a\\u202eb"\nlogin = "a"\n', "'name' must not contain control characters"),
        ('[[jumpseller]]\nname = "a"\nlogin = "a\\u001b[31m"\n', "'login' must not contain control characters"),
        (f'[[jumpseller]]\nname = "{"n" * 101}"\nlogin = "a"\n', "at most 100 characters"),
        (_JS + 'token_env = "1TOKEN"\n', "must name an environment variable"),
        (_JS + 'token_env = "TÖKEN"\n', "must name an environment variable"),
        ('[[marketplacer]]\nname = "m"\napi_url = "https://x.example"\ncurrency = "ÄÖÜ"\n', "ISO 4217"),
        ("auto_sync_minutes = 1000000000000000000000\n", "'auto_sync_minutes' must be a whole number"),
        ("auto_sync_minutes = -1\n", "'auto_sync_minutes' must be a whole number"),
        ("x = " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
        ("x = " + "{a = " * 5000 + "1" + "}" * 5000 + "\n", "nested too deeply"),
    ],
)
def test_hostile_config_is_one_config_error(tmp_path: Path, text: str, fragment: str) -> None:
    """Each of these raised ValueError or RecursionError, or was accepted, before."""
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert fragment in str(err.value)
    assert str(path) in str(err.value)


def test_config_bytes_that_are_not_a_config_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b"\xff\xfe[[jumpseller]]")
    with pytest.raises(ConfigError, match="cannot be read"):
        load_config(path)
    path.write_bytes(b"# padding\n" * 110_000)  # 1.1 MB of comments
    with pytest.raises(ConfigError, match="too large"):
        load_config(path)
    with pytest.raises(ConfigError, match="cannot be read"):
        load_config(tmp_path)  # a folder
    with pytest.raises(ConfigError, match="cannot be read"):
        load_config(tmp_path / ("n" * 5000))  # a name too long for the file system


def test_good_urls_with_ports_and_ipv6_still_load() -> None:
    cfg = parse_config(
        {
            "jumpseller": [{"name": "a", "login": "a", "api_url": "https://api.example.com:8443/v1"}],
            "marketplacer": [{"name": "m", "api_url": "http://[::1]:8080"}],
            "auto_sync_minutes": 7 * 24 * 60,
        }
    )
    assert cfg.jumpseller[0].api_url == "https://api.example.com:8443/v1"
    assert cfg.marketplacer[0].api_url == "http://[::1]:8080"
    assert cfg.auto_sync_minutes == 10080
