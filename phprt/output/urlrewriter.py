"""PHP 8.2's URL rewriter (ext/standard/url_scanner_ex.re): the first
output_add_rewrite_var() of a request starts the internal "URL-Rewriter" output
handler, and every variable, raw-URL-encoded, is appended to the query of the
relative or http(s) URLs in the attributes that url_rewriter.tags names (absolute
ones only for a host in session.trans_sid_hosts) and, HTML-escaped, added as a
hidden input right after each <form ...> tag whose action passes the
url_rewriter.hosts check (OUT-REWRITE-1); output_reset_rewrite_vars() forgets the
variables, after which the handler, still on the stack, passes output through
together with whatever it was holding back (OUT-REWRITE-2). The scanner keeps
its state across handler calls and holds back the bytes after the last complete
token until more output comes or a flush or the final call lets them out as they
are, so a tag split across calls is not rewritten.
"""

from __future__ import annotations

from collections.abc import Callable

from ..engine.values import PHP_BYTES
from .htmlspecialchars import charset_kind, htmlspecialchars

__all__ = ["UrlRewriter"]

_FLUSH = 0x04
_FINAL = 0x08

# Scanner states (url_scanner_ex.re's STATE_*).
_PLAIN, _TAG, _NEXT_ARG, _ARG, _BEFORE_VAL, _VAL = range(6)
_TAG_NORMAL, _TAG_FORM = 0, 1
_ATTR_NORMAL, _ATTR_ACTION = 0, 1

_ALPHA = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_TAG_NAME = _ALPHA | {0x3A}  # alphanamespace = [a-zA-Z:]
_ARG_NAME = _ALPHA | {0x2D}  # alphadash = [a-zA-Z-]
_SPACE = frozenset(b" \t\n\v\r")
_UNQUOTED_END = frozenset(b" \t\n\r>'\"")
_C_SPACE = frozenset(b" \t\n\v\f\r")
_DIGITS = frozenset(b"0123456789")
_SCHEME = _ALPHA | _DIGITS | frozenset(b"+.-")

class UrlRewriter:
    """PHP's URL rewriter: output_add_rewrite_var()'s variables and the "URL-Rewriter" output handler."""

    def __init__(
        self,
        ini: Callable[[str], str],
        *,
        http_host: Callable[[], str | bytes | None] | None = None,
        encoding: str = "utf-8",
    ) -> None:
        """``ini(name)`` gives a directive's current value; ``http_host()``, if given,
        gives $_SERVER['HTTP_HOST'] (or None) for the form check; ``encoding``
        turns str arguments into PHP's bytes."""
        self._ini = ini
        self._http_host = http_host
        self._encoding = encoding
        self._url_app = b""
        self._form_app = b""
        # url_adapt_state_ex_t: the scanner's state, kept across handler calls.
        self._state = _PLAIN
        self._buf = b""
        self._tag = b""
        self._arg = b""
        self._attr_val = b""
        self._lookup: bytes | None = None
        self._tag_type = _TAG_NORMAL
        self._attr_type = _ATTR_NORMAL

    # -- the PHP functions ------------------------------------------------------------

    def add(self, name: str | bytes, value: str | bytes) -> None:
        """output_add_rewrite_var(): append ``name=value`` (raw-URL-encoded) to the URL
        query and a hidden input (HTML-escaped) to the form fields (OUT-REWRITE-1)."""
        bname, bvalue = self._bytes(name), self._bytes(value)
        charset = charset_kind(self._setting("internal_encoding") or self._setting("default_charset"))
        if self._url_app:
            self._url_app += self._separator()
        self._url_app += _rawurlencode(bname) + b"=" + _rawurlencode(bvalue)
        self._form_app += (
            b'<input type="hidden" name="' + htmlspecialchars(bname, charset)
            + b'" value="' + htmlspecialchars(bvalue, charset) + b'" />'
        )

    def reset(self) -> None:
        """output_reset_rewrite_vars(): forget every variable (OUT-REWRITE-2)."""
        self._url_app = b""
        self._form_app = b""

    def handle(self, data: bytes, op: int) -> bytes | None:
        """The handler: rewrite ``data`` and return what is ready; what follows the last
        complete token waits for the next call unless ``op`` flushes or ends."""
        if self._url_app:
            out = self._scan(data)
            if op & (_FLUSH | _FINAL):
                out += self._buf
                self._buf = self._attr_val = b""
            return out
        if self._buf:
            out, self._buf = self._buf + data, b""
            return out
        return data

    # -- settings ---------------------------------------------------------------------

    def _setting(self, name: str) -> bytes:
        value = self._ini(name)
        return self._bytes(value) if isinstance(value, (str, bytes)) else b""

    def _separator(self) -> bytes:
        value = self._ini("arg_separator.output")
        return self._bytes(value) if isinstance(value, (str, bytes)) else b"&"

    def _bytes(self, text: str | bytes) -> bytes:
        return text if isinstance(text, bytes) else text.encode(self._encoding, PHP_BYTES)

    def _tags(self) -> dict[bytes, bytes]:
        # OnUpdateTags: "tag=attr" items split on commas; tag lowercased, first one wins.
        tags: dict[bytes, bytes] = {}
        for item in self._setting("url_rewriter.tags").split(b","):
            key, eq, attr = item.partition(b"=")
            if eq:
                tags.setdefault(_lower(key), attr.split(b"\0", 1)[0])
        return tags

    def _hosts(self, name: str) -> set[bytes]:
        return {_lower(host) for host in self._setting(name).split(b",") if host}

    # -- the scanner (xx_mainloop) ----------------------------------------------------

    def _scan(self, data: bytes) -> bytes:
        """A line-by-line port of xx_mainloop() (ext/standard/url_scanner_ex.re): the
        states of the re2c scanner over the HTML, adding the variables to each URL."""
        buf = self._buf + data
        end = len(buf)
        out: list[bytes] = []
        p = 0
        state = self._state
        tags: dict[bytes, bytes] | None = None
        while True:
            start = p
            if state == _PLAIN:
                if p >= end:
                    break
                if buf[p] != 0x3C:
                    p = buf.find(b"<", p)
                    if p < 0:  # the text may go on in the next call
                        p = start
                        break
                    out.append(buf[start:p])
                    continue
                p += 1
                out.append(b"<")
                state = _TAG
            elif state == _TAG:
                if p >= end:
                    break
                if buf[p] not in _TAG_NAME:
                    p += 1
                    out.append(buf[start:p])
                    state = _PLAIN
                    continue
                p += 1
                while p < end and buf[p] in _TAG_NAME:
                    p += 1
                if p >= end:
                    p = start
                    break
                if tags is None:
                    tags = self._tags()
                self._tag = _lower(buf[start:p])
                self._lookup = tags.get(self._tag)
                if self._lookup is not None:
                    self._tag_type = _TAG_FORM if self._tag == b"form" else _TAG_NORMAL
                    state = _NEXT_ARG
                else:
                    state = _PLAIN
                out.append(buf[start:p])
            elif state == _NEXT_ARG:
                if end - p < 2:
                    break
                c = buf[p]
                if c in _SPACE:
                    p += 1
                    while p < end and buf[p] in _SPACE:
                        p += 1
                    if p >= end:
                        p = start
                        break
                    out.append(buf[start:p])
                elif c == 0x3E or (c == 0x2F and buf[p + 1] == 0x3E):  # [/]? ">"
                    p += 1 if c == 0x3E else 2
                    out.append(buf[start:p])
                    self._handle_form(out)
                    state = _PLAIN
                elif c in _ALPHA:
                    state = _ARG
                else:
                    p += 1
                    out.append(buf[start:p])
                    state = _PLAIN
            elif state == _ARG:
                if p >= end:
                    break
                if buf[p] not in _ALPHA:
                    p += 1
                    out.append(buf[start:p])
                    state = _NEXT_ARG
                    continue
                p += 1
                while p < end and buf[p] in _ARG_NAME:
                    p += 1
                if p >= end:
                    p = start
                    break
                out.append(buf[start:p])
                self._arg = buf[start:p]
                arg = _lower(self._arg)
                self._attr_type = (
                    _ATTR_ACTION if self._tag_type == _TAG_FORM and b"action".startswith(arg) else _ATTR_NORMAL
                )
                state = _BEFORE_VAL
            elif state == _BEFORE_VAL:
                if end - p < 2:
                    break
                q = p
                while q < end and buf[q] == 0x20:
                    q += 1
                if q < end and buf[q] == 0x3D:  # [ ]* "=" [ ]*
                    q += 1
                    while q < end and buf[q] == 0x20:
                        q += 1
                    if q >= end:
                        break
                    p = q
                    out.append(buf[start:p])
                    state = _VAL
                elif q >= end and q - p >= 2:
                    # Only spaces to the end: re2c waits for what follows them.
                    break
                else:
                    state = _NEXT_ARG
            else:  # _VAL
                if end - p < 2:
                    break
                c = buf[p]
                if c not in _UNQUOTED_END:
                    p += 1
                    while p < end and buf[p] not in _UNQUOTED_END:
                        p += 1
                    if p >= end:
                        p = start
                        break
                    self._handle_val(out, buf[start:p], b"")
                elif c == 0x22 or c == 0x27:
                    close = buf.find(bytes((c,)), p + 1)
                    gt = buf.find(b">", p + 1, end if close < 0 else close)
                    if close < 0 and gt < 0:  # the value may go on in the next call
                        break
                    if gt >= 0:
                        # A ">" before the closing quote: only the quote passes.
                        p += 1
                        out.append(buf[start:p])
                    else:
                        p = close + 1
                        self._handle_val(out, buf[start + 1 : close], bytes((c,)))
                else:
                    p += 1
                    out.append(buf[start:p])
                state = _NEXT_ARG
        self._state = state
        self._buf = buf[start:]
        return b"".join(out)

    def _handle_val(self, out: list[bytes], val: bytes, quote: bytes) -> None:
        # handle_val + tag_arg: rewrite the value when its attribute is the tag's one.
        if self._tag_type == _TAG_FORM and self._attr_type == _ATTR_ACTION:
            self._attr_val = val
        lookup = self._lookup or b""
        out.append(quote)
        out.append(self._modified_url(val) if _lower(self._arg) == _lower(lookup) else val)
        out.append(quote)

    def _handle_form(self, out: list[bytes]) -> None:
        # handle_form: the hidden inputs go after "<form ...>" if its action may get them.
        if self._form_app and self._tag == b"form" and self._form_action_allowed():
            out.append(self._form_app)

    def _form_action_allowed(self) -> bool:
        # check_host_whitelist with url_rewriter.hosts, or $_SERVER['HTTP_HOST'] when empty.
        if not self._attr_val:
            return True
        parts = _parse_url(self._attr_val)
        if parts is None:
            return False
        if parts.scheme is not None and _lower(parts.scheme) not in (b"http", b"https"):
            return False
        if parts.host is None:
            return True
        hosts = self._hosts("url_rewriter.hosts")
        if not hosts and self._http_host is not None:
            server_host = self._http_host()
            if server_host is not None:
                host = self._bytes(server_host).split(b":", 1)[0].split(b"\0", 1)[0]
                if _lower(host) == _lower(parts.host.split(b"\0", 1)[0]):
                    return True
        return parts.host in hosts

    def _modified_url(self, url: bytes) -> bytes:
        # append_modified_url; PHP checks absolute URLs against session.trans_sid_hosts here.
        parts = _parse_url(url)
        if parts is None:
            return url
        if parts.fragment is not None and url[:1] == b"#":
            return url
        if parts.scheme is not None and _lower(parts.scheme) not in (b"http", b"https"):
            return url
        if parts.host is not None and _lower(parts.host) not in self._hosts("session.trans_sid_hosts"):
            return url
        if parts.path is None and parts.query is None and parts.fragment is None:
            return url + b"/?" + self._url_app
        res: list[bytes] = []
        if parts.scheme is not None:
            res += (parts.scheme, b"://")
        elif url[:2] == b"//":
            res.append(b"//")
        if parts.user is not None:
            res.append(parts.user)
            if parts.password is not None:
                res += (parts.password, b":")  # sic: PHP writes "user" "pass" ":"
            res.append(b"@")
        if parts.host is not None:
            res.append(parts.host)
        if parts.port:
            res.append(b":%d" % parts.port)
        if parts.path is not None:
            res.append(parts.path)
        res.append(b"?")
        if parts.query is not None:
            res += (parts.query, self._separator())
        res.append(self._url_app)
        if parts.fragment is not None:
            res += (b"#", parts.fragment)
        return b"".join(res)


# -- helpers --------------------------------------------------------------------------


def _lower(data: bytes) -> bytes:
    """tolower() byte by byte in the C locale."""
    return data.lower()  # bytes.lower() touches ASCII letters only


def _rawurlencode(data: bytes) -> bytes:
    """rawurlencode(): everything but [A-Za-z0-9_.~-] as %XX."""
    from urllib.parse import quote_from_bytes  # here: most requests rewrite no URL, and a CLI start skips its import

    return quote_from_bytes(data, safe="").encode("ascii")


class _Url:
    """php_url: the parts of a URL, None where absent."""

    __slots__ = ("scheme", "user", "password", "host", "port", "path", "query", "fragment")

    def __init__(self) -> None:
        self.scheme: bytes | None = None
        self.user: bytes | None = None
        self.password: bytes | None = None
        self.host: bytes | None = None
        self.port = 0
        self.path: bytes | None = None
        self.query: bytes | None = None
        self.fragment: bytes | None = None


def _cntrl(data: bytes) -> bytes:
    # php_replace_controlchars: iscntrl() bytes become "_".
    return bytes(0x5F if c < 0x20 or c == 0x7F else c for c in data)


def _strcspn(data: bytes, s: int, e: int, chars: bytes) -> int:
    for ch in chars:
        i = data.find(bytes((ch,)), s, e)
        if i >= 0:
            e = i
    return e


def _strtol(text: bytes) -> int | None:
    """strtol(text, &end, 10); None when no digits were read."""
    i = 0
    while i < len(text) and text[i] in _C_SPACE:
        i += 1
    sign = 1
    if i < len(text) and text[i] in b"+-":
        sign = -1 if text[i] == 0x2D else 1
        i += 1
    j = i
    while j < len(text) and text[j] in _DIGITS:
        j += 1
    return sign * int(text[i:j]) if j > i else None


def _parse_url(url: bytes) -> _Url | None:
    """php_url_parse_ex (parse_url()), or None for a malformed URL."""
    ret = _Url()
    s, ue = 0, len(url)
    e = url.find(b":")
    parse_port = False
    if e > 0:
        if any(c not in _SCHEME for c in url[:e]):
            if e + 1 < ue and e < _strcspn(url, s, ue, b"?#"):
                parse_port = True
            elif s + 1 < ue and url[s : s + 2] == b"//":
                s += 2
            else:
                return _just_path(ret, url, s)
        elif e + 1 == ue:  # only a scheme
            ret.scheme = _cntrl(url[:e])
            return ret
        elif url[e + 1] != 0x2F:
            # "a.com:80" is a host and a port; "mailto:x" a scheme and a path.
            p = e + 1
            while p < ue and url[p] in _DIGITS:
                p += 1
            if (p == ue or url[p] == 0x2F) and p - e < 7:
                parse_port = True
            else:
                ret.scheme = _cntrl(url[:e])
                return _just_path(ret, url, e + 1)
        else:
            ret.scheme = _cntrl(url[:e])
            if e + 2 < ue and url[e + 2] == 0x2F:
                s = e + 3
                if _lower(ret.scheme) == b"file" and e + 3 < ue and url[e + 3] == 0x2F:
                    if e + 5 < ue and url[e + 5] == 0x3A:  # file:///c:/...
                        s = e + 4
                    return _just_path(ret, url, s)
            else:
                return _just_path(ret, url, e + 1)
    elif e == 0:
        parse_port = True
    elif s + 1 < ue and url[s : s + 2] == b"//":
        s += 2
    else:
        return _just_path(ret, url, s)

    if parse_port:
        p = e + 1
        pp = p
        while pp < ue and pp - p < 6 and url[pp] in _DIGITS:
            pp += 1
        if 0 < pp - p < 6 and (pp == ue or url[pp] == 0x2F):
            port = _strtol(url[p:pp])
            if port is None or not 0 <= port <= 65535:
                return None
            ret.port = port
            if s + 1 < ue and url[s : s + 2] == b"//":
                s += 2
        elif p == pp and pp == ue:
            return None
        elif s + 1 < ue and url[s : s + 2] == b"//":
            s += 2
        else:
            return _just_path(ret, url, s)

    # parse_host
    e = _strcspn(url, s, ue, b"/?#")
    at = url.rfind(b"@", s, e)
    if at >= 0:
        colon = url.find(b":", s, at)
        if colon >= 0:
            ret.user = _cntrl(url[s:colon])
            ret.password = _cntrl(url[colon + 1 : at])
        else:
            ret.user = _cntrl(url[s:at])
        s = at + 1
    if s < ue and url[s] == 0x5B and url[e - 1] == 0x5D:  # [IPv6]
        p = -1
    else:
        p = url.rfind(b":", s, e)
    if p >= 0:
        if not ret.port:
            p += 1
            if e - p > 5:
                return None
            if e - p > 0:
                port = _strtol(url[p:e])
                if port is None or not 0 <= port <= 65535:
                    return None
                ret.port = port
            p -= 1
    else:
        p = e
    if p - s < 1:
        return None
    ret.host = _cntrl(url[s:p])
    if e == ue:
        return ret
    return _just_path(ret, url, e)


def _just_path(ret: _Url, url: bytes, s: int) -> _Url:
    e = ue = len(url)
    p = url.find(b"#", s, e)
    if p >= 0:
        ret.fragment = _cntrl(url[p + 1 : e])
        e = p
    p = url.find(b"?", s, e)
    if p >= 0:
        ret.query = _cntrl(url[p + 1 : e])
        e = p
    if s < e or s == ue:
        ret.path = _cntrl(url[s:e])
    return ret
