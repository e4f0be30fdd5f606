"""Host normalisation: what a user pastes becomes ``https://HOST/api/3/`` or a clear error."""

from __future__ import annotations

import pytest

import ac_segment_export as acx
from ac_segment_export._core.hosts import is_loopback, parse_endpoint

GOOD = [
    ("acme.api-us1.com", "https://acme.api-us1.com/api/3/"),
    ("ACME.Api-US1.com", "https://acme.api-us1.com/api/3/"),
    ("  acme.api-us1.com  ", "https://acme.api-us1.com/api/3/"),
    ("acme.api-us1.com.", "https://acme.api-us1.com/api/3/"),
    ("https://acme.api-us1.com", "https://acme.api-us1.com/api/3/"),
    ("https://acme.api-us1.com/", "https://acme.api-us1.com/api/3/"),
    ("https://acme.api-us1.com/api/3", "https://acme.api-us1.com/api/3/"),
    ("https://acme.api-us1.com/api/3/", "https://acme.api-us1.com/api/3/"),
    ("HTTPS://acme.api-us1.com", "https://acme.api-us1.com/api/3/"),
    ("https://acme.api-us1.com:8443", "https://acme.api-us1.com:8443/api/3/"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080/api/3/"),
    ("http://127.5.6.7:8080/api/3", "http://127.5.6.7:8080/api/3/"),
    ("http://localhost:9000/", "http://localhost:9000/api/3/"),
    ("http://[::1]:9000", "http://[::1]:9000/api/3/"),
    ("bücher.example", "https://xn--bcher-kva.example/api/3/"),
]


@pytest.mark.parametrize(("given", "base_url"), GOOD)
def test_good_hosts_normalise(given: str, base_url: str) -> None:
    """Accepted inputs all become the canonical v3 base URL."""
    assert parse_endpoint(given).base_url == base_url


BAD = [
    ("", "it is empty"),
    ("   ", "it is empty"),
    ("acme api-us1.com", "it contains whitespace"),
    ("ftp://acme.api-us1.com", "the scheme 'ftp' is not https"),
    ("http://acme.api-us1.com", "plain http is only accepted for loopback hosts"),
    ("http://10.0.0.5:8080", "plain http is only accepted for loopback hosts"),
    ("https://user:pw@acme.api-us1.com", "it contains a user name or password"),
    ("https://acme.api-us1.com/?x=1", "it has a query string"),
    ("https://acme.api-us1.com/#top", "it has a fragment"),
    ("https://acme.api-us1.com/admin", "the path '/admin' is not the API root '/api/3'"),
    ("https://acme.api-us1.com/api/1", "is not the API root"),
    ("acme..api-us1.com", "empty label"),
    (".acme.com", "empty label"),
    ("acme_x.api-us1.com", "has characters a hostname cannot hold"),
    ("-acme.api-us1.com", "has characters a hostname cannot hold"),
    ("a" * 64 + ".com", "longer than 63 characters"),
    (".".join(["a" * 60] * 5), "longer than 253 characters"),
    ("https://acme.api-us1.com:99999", "it is not a valid URL"),
    ("https://", "it has no hostname"),
]


@pytest.mark.parametrize(("given", "problem"), BAD)
def test_bad_hosts_are_refused_with_a_reason(given: str, problem: str) -> None:
    """Each unusable host raises ConfigurationError naming the input and the problem."""
    with pytest.raises(acx.ConfigurationError) as caught:
        parse_endpoint(given)
    message = str(caught.value)
    assert problem in message
    assert repr(given) in message or "***@" in message
    assert "Settings > Developer" in message


@pytest.mark.parametrize(
    "given",
    [
        "https://user:s3cretpw@acme.api-us1.com",
        "https://0123456789abcdef0123456789abcdef@acme.api-us1.com/x",
        "0123456789abcdef0123456789abcdef01234567",  # a key pasted into the host field
    ],
)
def test_host_errors_never_echo_a_secret(given: str) -> None:
    """A password or key typed into the host field is masked in the error message."""
    with pytest.raises(acx.ConfigurationError) as caught:
        parse_endpoint(given)
    message = str(caught.value)
    assert "s3cretpw" not in message
    assert "0123456789abcdef0123" not in message


def test_non_string_host_is_refused() -> None:
    """A host that is not a string is a configuration error, not a TypeError."""
    with pytest.raises(acx.ConfigurationError, match="must be a string, not int"):
        parse_endpoint(123)  # type: ignore[arg-type]


def test_configuration_error_is_a_value_error() -> None:
    """ConfigurationError also derives from ValueError and from the library's root."""
    with pytest.raises(ValueError, match="it is empty") as caught:
        parse_endpoint("")
    assert isinstance(caught.value, acx.ACSegmentExportError)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("LocalHost", True),
        ("localhost.", True),
        ("emu.localhost", False),
        ("evil.localhost", False),
        ("::ffff:127.0.0.1", False),
        ("::2", False),
        ("127.0.0.1", True),
        ("127.255.0.9", True),
        ("::1", True),
        ("128.0.0.1", False),
        ("example.com", False),
        ("localhost.example.com", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    """Only this machine's addresses count as loopback."""
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    "host", ["http://evil.localhost", "http://evil.localhost:8080/api/3", "http://a.b.localhost"]
)
def test_plain_http_is_refused_for_localhost_subdomains(host: str) -> None:
    """Defect 10: only ``localhost`` itself and loopback literals may use plain http."""
    with pytest.raises(acx.ConfigurationError, match="plain http"):
        parse_endpoint(host)
    assert parse_endpoint(host.replace("http://", "https://")).scheme == "https"


def test_endpoint_str_and_netloc() -> None:
    """The endpoint prints as the bare host for https and with the scheme for http."""
    assert str(parse_endpoint("https://acme.api-us1.com/api/3")) == "acme.api-us1.com"
    assert str(parse_endpoint("http://127.0.0.1:81")) == "http://127.0.0.1:81"
    assert parse_endpoint("http://[::1]:81").netloc == "[::1]:81"
