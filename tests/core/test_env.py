"""Typed environment helpers: bad values stop start-up with the variable's name."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from deploychecks.env import (
    database_from_url,
    envbool,
    envfloat,
    envint,
    envlist,
    envsecret,
    redis_url,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("true", True),
        (" Yes ", True),
        ("ON", True),
        ("0", False),
        ("false", False),
        ("no", False),
        ("off", False),
        ("", False),
    ],
)
def test_envbool_reads_the_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("DC_FLAG", raw)

    assert envbool("DC_FLAG", not expected) is expected


def test_envbool_uses_the_default_when_unset(monkeypatch):
    monkeypatch.delenv("DC_FLAG", raising=False)

    assert envbool("DC_FLAG", True) is True


def test_envbool_rejects_anything_else_naming_the_variable(monkeypatch):
    monkeypatch.setenv("DC_FLAG", "maybe")

    with pytest.raises(ImproperlyConfigured, match=r"DC_FLAG must be a boolean .*'maybe'"):
        envbool("DC_FLAG", False)


def test_envint_reads_an_integer_or_the_default(monkeypatch):
    monkeypatch.setenv("DC_PORT", "2525")
    monkeypatch.setenv("DC_EMPTY", "")

    assert envint("DC_PORT", 25) == 2525
    assert envint("DC_EMPTY", 25) == 25
    assert envint("DC_UNSET_INT", 25) == 25


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("twenty", r"DC_PORT must be an integer, got 'twenty'"),
        ("2.5", r"DC_PORT must be an integer, got '2.5'"),
        ("0", r"DC_PORT must be at least 1, got 0"),
    ],
)
def test_envint_rejects_bad_values_naming_the_variable(monkeypatch, raw, message):
    monkeypatch.setenv("DC_PORT", raw)

    with pytest.raises(ImproperlyConfigured, match=message):
        envint("DC_PORT", 25, minimum=1)


def test_envfloat_reads_a_number(monkeypatch):
    monkeypatch.setenv("DC_INTERVAL", "0.5")

    assert envfloat("DC_INTERVAL", 60.0) == 0.5


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("soon", r"DC_INTERVAL must be a number, got 'soon'"),
        ("0.01", r"DC_INTERVAL must be at least 0.1, got 0.01"),
    ],
)
def test_envfloat_rejects_bad_values_naming_the_variable(monkeypatch, raw, message):
    monkeypatch.setenv("DC_INTERVAL", raw)

    with pytest.raises(ImproperlyConfigured, match=message):
        envfloat("DC_INTERVAL", 60.0, minimum=0.1)


def test_envlist_splits_on_commas(monkeypatch):
    monkeypatch.setenv("DC_HOSTS", " a.example, b.example ,,")

    assert envlist("DC_HOSTS", []) == ["a.example", "b.example"]


def test_envsecret_reads_the_file_named_by_name_file(monkeypatch, tmp_path):
    secret = tmp_path / "secret_key"
    secret.write_text("from-a-file-0123456789-0123456789\n")
    monkeypatch.setenv("DC_SECRET", "from-the-environment")
    monkeypatch.setenv("DC_SECRET_FILE", str(secret))

    assert envsecret("DC_SECRET") == "from-a-file-0123456789-0123456789"


def test_envsecret_falls_back_to_the_variable(monkeypatch):
    monkeypatch.delenv("DC_SECRET_FILE", raising=False)
    monkeypatch.setenv("DC_SECRET", "plain")

    assert envsecret("DC_SECRET") == "plain"


def test_envsecret_names_an_unreadable_file(monkeypatch, tmp_path):
    monkeypatch.setenv("DC_SECRET_FILE", str(tmp_path / "missing"))

    with pytest.raises(ImproperlyConfigured, match="DC_SECRET_FILE: cannot read"):
        envsecret("DC_SECRET")


def test_secret_key_file_feeds_the_settings(monkeypatch, tmp_path):
    """SECRET_KEY_FILE is what settings.py reads through envsecret."""
    key = "k" * 40
    (tmp_path / "key").write_text(key + "\n")
    monkeypatch.setenv("SECRET_KEY_FILE", str(tmp_path / "key"))

    assert envsecret("SECRET_KEY") == key


def test_database_from_url_parses_a_postgres_url():
    config = database_from_url(
        "DATABASE_URL", "postgres://app:p%40ss@db.internal:6543/deploy%2Dchecks"
    )

    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["NAME"], config["USER"], config["PASSWORD"]) == ("deploy-checks", "app", "p@ss")
    assert (config["HOST"], config["PORT"]) == ("db.internal", "6543")


def test_database_from_url_accepts_postgresql_without_credentials():
    config = database_from_url("DATABASE_URL", "postgresql://localhost/deploychecks")

    assert (config["NAME"], config["USER"], config["PASSWORD"], config["PORT"]) == (
        "deploychecks",
        "",
        "",
        "",
    )


def test_database_from_url_reads_sqlite_paths():
    config = database_from_url("DATABASE_URL", "sqlite:////var/lib/dc/db.sqlite3")

    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["NAME"] == "/var/lib/dc/db.sqlite3"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://root@localhost/dc", "DATABASE_URL must start with postgres://"),
        ("localhost:5432/dc", "DATABASE_URL must start with postgres://"),
        ("postgres://localhost", "DATABASE_URL must name a database"),
        ("postgres://localhost/", "DATABASE_URL must name a database"),
        ("sqlite://", "DATABASE_URL must look like sqlite:///"),
    ],
)
def test_database_from_url_rejects_bad_urls_naming_the_variable(url, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        database_from_url("DATABASE_URL", url)


def test_redis_url_accepts_redis_schemes_and_rejects_others():
    assert redis_url("REDIS_URL", "redis://127.0.0.1:6379/1") == "redis://127.0.0.1:6379/1"
    assert redis_url("REDIS_URL", "rediss://cache.internal:6380/0").startswith("rediss://")
    assert redis_url("REDIS_URL", "") is None

    with pytest.raises(ImproperlyConfigured, match="REDIS_URL must start with redis://"):
        redis_url("REDIS_URL", "http://127.0.0.1:6379")


def test_database_from_url_passes_query_parameters_to_the_driver():
    config = database_from_url(
        "DATABASE_URL", "postgres://app@db.internal/dc?sslmode=require&connect_timeout=5"
    )

    assert config["OPTIONS"] == {"sslmode": "require", "connect_timeout": "5"}


def test_database_from_url_names_the_variable_for_a_bad_port():
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL has a bad port number"):
        database_from_url("DATABASE_URL", "postgres://app@db.internal:fivefour/dc")
