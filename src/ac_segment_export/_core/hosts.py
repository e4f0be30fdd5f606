"""Turning what a user pastes (a hostname or the API URL) into the account's API base URL."""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
import warnings

import attrs

from ac_segment_export._core.errors import AppHostWarning, ConfigurationError

__all__ = [
    "ApiEndpoint",
    "app_host_hint",
    "is_loopback",
    "parse_endpoint",
    "redact",
    "warn_if_app_host",
]

_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
_MAX_LABEL = 63
_MAX_HOST = 253
_LOOPBACK_V4 = ipaddress.IPv4Network("127.0.0.0/8")
_LOOPBACK_V6 = ipaddress.IPv6Address("::1")
_EXPECTED = (
    "Expected the REST endpoint hostname, like 'acme.api-us1.com', or the API URL from "
    "ActiveCampaign's Settings > Developer page, like 'https://acme.api-us1.com'."
)


_APP_DOMAIN = ".activehosted.com"


def app_host_hint(host: str) -> str | None:
    """What to say about *host* when it is ActiveCampaign's app address, else ``None``."""
    name = host.lower().removesuffix(".")
    if not name.endswith(_APP_DOMAIN) or name == _APP_DOMAIN[1:]:
        return None
    account = name.removesuffix(_APP_DOMAIN).rsplit(".", 1)[-1]
    return (
        f"{name} is the address of ActiveCampaign's web app, not of its API: the API's "
        "address is the URL shown in ActiveCampaign under Settings > Developer, like "
        f"https://{account}.api-us1.com (its region part, api-us1, varies by account)"
    )


def warn_if_app_host(endpoint: ApiEndpoint, *, stacklevel: int = 4) -> None:
    """Warn (:class:`AppHostWarning`) when *endpoint* is the app's address, not the API's."""
    hint = app_host_hint(endpoint.host)
    if hint is not None:
        warnings.warn(f"{hint}.", AppHostWarning, stacklevel=stacklevel)


def is_loopback(host: str) -> bool:
    """Tell whether *host* (a hostname or IP literal, without brackets) is this machine.

    Only ``localhost`` itself and literal loopback addresses (``127.0.0.0/8``, ``::1``)
    count. Subdomains such as ``emu.localhost`` do not: whether they resolve to this machine
    is up to the resolver, and ``evil.localhost`` must not open a plain-http path.
    """
    name = host.lower()
    name = name.removesuffix(".")
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv4Address):
        return address in _LOOPBACK_V4
    return address == _LOOPBACK_V6


@attrs.frozen
class ApiEndpoint:
    """Where an account's v3 API lives.

    Attributes:
        host: The lower-case ASCII hostname (IDNA-encoded) or IP literal.
        scheme: ``"https"``, or ``"http"`` for a loopback host (an emulator).
        port: An explicit port, or ``None`` for the scheme's default.
    """

    host: str
    scheme: str = "https"
    port: int | None = None

    @property
    def netloc(self) -> str:
        """The host and port as they appear in a URL."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port is None else f"{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The v3 API base URL, with a trailing slash: ``https://HOST/api/3/``."""
        return f"{self.scheme}://{self.netloc}/api/3/"

    def __str__(self) -> str:
        return self.netloc if self.scheme == "https" else f"{self.scheme}://{self.netloc}"


# Never echo back a secret pasted into the host field: the password of a ``user:password@``
# URL, or what looks like an API key (ActiveCampaign keys are long runs of hex digits).
_USERINFO = re.compile(r"(^|//|')[^/?#@\s']*@")
_KEY_LIKE = re.compile(r"[0-9a-fA-F]{16,}")


def _mask_key_like(match: re.Match[str]) -> str:
    run = match.group(0)
    if any(c.isdigit() for c in run) and any(c.isalpha() for c in run):
        return "<hidden: looks like an API key>"
    return run


def redact(text: str) -> str:
    """*text* with any ``user:password@`` part and anything that looks like a key masked."""
    return _KEY_LIKE.sub(_mask_key_like, _USERINFO.sub(r"\1***@", text))


def _fail(value: str, problem: str) -> ConfigurationError:
    return ConfigurationError(
        redact(f"Invalid ActiveCampaign host {value!r}: {problem}.") + f" {_EXPECTED}"
    )


def _encode_hostname(original: str, host: str) -> str:
    if host.endswith("."):
        host = host[:-1]
    if not host:
        raise _fail(original, "the hostname is empty")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return host
    labels = host.split(".")
    ascii_labels = []
    for label in labels:
        if not label:
            raise _fail(original, "it has an empty label (two dots in a row, or a leading dot)")
        if len(label) > _MAX_LABEL:  # before IDNA, whose own error would hide the reason
            raise _fail(original, f"the label {label[:20]!r}... is longer than 63 characters")
        try:
            encoded = label.lower() if label.isascii() else label.encode("idna").decode("ascii")
        except UnicodeError:
            raise _fail(original, f"the label {label!r} cannot be IDNA-encoded") from None
        if len(encoded) > _MAX_LABEL:
            raise _fail(original, f"the label {label[:20]!r}... is longer than 63 characters")
        if not _LABEL.match(encoded):
            raise _fail(original, f"the label {label!r} has characters a hostname cannot hold")
        ascii_labels.append(encoded)
    result = ".".join(ascii_labels)
    if len(result) > _MAX_HOST:
        raise _fail(original, "the hostname is longer than 253 characters")
    return result


def parse_endpoint(value: str) -> ApiEndpoint:
    """Normalise a hostname or API URL into an :class:`ApiEndpoint`.

    Accepted: ``acme.api-us1.com``, ``https://acme.api-us1.com``, ``https://acme.api-us1.com/``,
    ``https://acme.api-us1.com/api/3``, and ``http://127.0.0.1:8080`` (plain HTTP only for
    loopback hosts, which is how an emulator is reached).

    Raises:
        ConfigurationError: The value is not a usable host; the message says what is wrong.
    """
    raw: object = value
    if not isinstance(raw, str):  # callers without type checking
        msg = f"The ActiveCampaign host must be a string, not {type(raw).__name__}."
        raise ConfigurationError(msg)
    text = raw.strip()
    if not text:
        raise _fail(value, "it is empty")
    if any(ch.isspace() for ch in text):
        raise _fail(value, "it contains whitespace")
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urllib.parse.urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise _fail(value, f"it is not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"}:
        raise _fail(value, f"the scheme {parts.scheme!r} is not https")
    if parts.username is not None or parts.password is not None:
        raise _fail(value, "it contains a user name or password; the API key goes in api_key")
    if parts.query or text.endswith("?"):
        raise _fail(value, "it has a query string")
    if parts.fragment or text.endswith("#"):
        raise _fail(value, "it has a fragment")
    path = parts.path.rstrip("/")
    if path not in {"", "/api/3"}:
        raise _fail(value, f"the path {parts.path!r} is not the API root '/api/3'")
    hostname = parts.hostname
    if hostname is None:
        raise _fail(value, "it has no hostname")
    host = _encode_hostname(value, hostname)
    if "." not in host and ":" not in host and not is_loopback(host):
        raise _fail(
            value,
            "the hostname has no domain (an account's API host has several "
            "labels, like acme.api-us1.com)",
        )
    if scheme == "http" and not is_loopback(host):
        raise _fail(value, "plain http is only accepted for loopback hosts (an emulator)")
    return ApiEndpoint(host=host, scheme=scheme, port=port)
