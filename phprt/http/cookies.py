"""setcookie() and setrawcookie(): the Set-Cookie line PHP builds (COOKIE-*).

A port of ext/standard/head.c (``php_setcookie``, the options array parser). The
checks run in PHP's order and raise PHP's ValueError messages.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from ..engine.serialize import is_integer_key
from ..engine.values import PHP_BYTES
from ..engine.versions import VersionProfile
from .headers import http_date

__all__ = ["CookieOptions", "cookie_attributes", "cookie_line", "parse_options"]

_ILLEGAL = '",", ";", " ", "\\t", "\\r", "\\n", "\\013", or "\\014"'
_ILLEGAL_CHARS = frozenset(",; \t\r\n\013\014")
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")
_YEAR_10000 = 253402300800

CookieOptions = dict[str, Any]


def _contains(text: str, chars: frozenset[str]) -> bool:
    # strpbrk() on a C string: the text ends at its first NUL
    return not chars.isdisjoint(text.partition("\0")[0])


def raw_url_encode(value: str, encoding: str) -> str:
    """rawurlencode(): every byte but A-Z a-z 0-9 - _ . ~ as %XX."""
    return "".join(chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in value.encode(encoding, PHP_BYTES))


def parse_options(
    function: str, options: Mapping[Any, Any], to_int: Callable[[Any], int], to_str: Callable[[Any], str],
    partitioned: bool = False,
) -> CookieOptions:
    """php_head_parse_cookie_options_array(): keys compared case-insensitively (COOKIE-OPTIONS-1);
    "partitioned" is an option from PHP 8.5 (VER-PARTITIONED-1)."""
    flags = ("secure", "httponly", "partitioned") if partitioned else ("secure", "httponly")
    parsed: CookieOptions = {}
    for key, value in options.items():
        if not isinstance(key, str) or is_integer_key(key):
            raise ValueError(f"{function}(): option array cannot have numeric keys")
        lowered = key.lower()
        if lowered == "expires":
            parsed["expires"] = to_int(value)
        elif lowered in ("path", "domain", "samesite"):
            parsed[lowered] = to_str(value)
        elif lowered in flags:
            parsed[lowered] = bool(value) and value not in ("", "0") and value != []
        else:
            raise ValueError(f'{function}(): option "{key}" is invalid')
    return parsed


def cookie_line(
    function: str, name: str, value: str | None, options: CookieOptions, *, url_encode: bool, encoding: str, now: float,
    version: VersionProfile | None = None,
) -> str:
    """php_setcookie(): validate, then build ``Set-Cookie: ...`` (COOKIE-FORMAT-*); the
    messages and the Partitioned attribute of ``version`` (VER-EMPTY-NAME-1, VER-PARTITIONED-1)."""
    path, domain = options.get("path"), options.get("domain")
    expires = options.get("expires", 0)
    if not name:
        empty = "Argument #1 ($name) cannot be empty" if version is None else version.empty("Argument #1 ($name)")
        raise ValueError(f"{function}(): {empty}")
    if _contains(name, _ILLEGAL_CHARS | {"="}):
        raise ValueError(f'{function}(): Argument #1 ($name) cannot contain "=", {_ILLEGAL}')
    if not url_encode and value and _contains(value, _ILLEGAL_CHARS):
        raise ValueError(f"{function}(): Argument #2 ($value) cannot contain {_ILLEGAL}")
    if path and _contains(path, _ILLEGAL_CHARS):
        raise ValueError(f'{function}(): "path" option cannot contain {_ILLEGAL}')
    if domain and _contains(domain, _ILLEGAL_CHARS):
        raise ValueError(f'{function}(): "domain" option cannot contain {_ILLEGAL}')
    if expires >= _YEAR_10000:
        raise ValueError(f'{function}(): "expires" option cannot have a year greater than 9999')
    if options.get("partitioned") and not options.get("secure"):
        raise ValueError(f'{function}(): "partitioned" option cannot be used without "secure" option')
    if not value:
        line = f"Set-Cookie: {name}=deleted; expires={http_date(1)}; Max-Age=0"
    else:
        line = f"Set-Cookie: {name}={raw_url_encode(value, encoding) if url_encode else value}"
        if expires > 0:
            line += f"; expires={http_date(expires)}; Max-Age={max(0, int(expires - now))}"
    return line + cookie_attributes(path, domain, bool(options.get("secure")), bool(options.get("httponly")),
                                    options.get("samesite"), bool(options.get("partitioned")))


def cookie_attributes(path: str | None, domain: str | None, secure: bool, httponly: bool, samesite: str | None,
                      partitioned: bool = False) -> str:
    """The attributes after a cookie's expiry, in PHP's order, each only when given: what
    php_setcookie() and the session's cookie (php_session_send_cookie) both write
    (COOKIE-FORMAT-1, SESS-COOKIE-1)."""
    attributes = ""
    if path:
        attributes += f"; path={path}"
    if domain:
        attributes += f"; domain={domain}"
    if secure:
        attributes += "; secure"
    if httponly:
        attributes += "; HttpOnly"
    if samesite:
        attributes += f"; SameSite={samesite}"
    if partitioned:
        attributes += "; Partitioned"
    return attributes
