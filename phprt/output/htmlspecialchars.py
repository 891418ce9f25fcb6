"""PHP's htmlspecialchars() as ext/standard/html.c makes it, with ENT_QUOTES and no double
encoding -- what the URL rewriter's hidden inputs (OUT-REWRITE-1, with ENT_SUBSTITUTE) and
``php -S``'s error pages (NET-ERROR-1) escape with -- or with ENT_COMPAT and double encoding,
main.c's escape_html() of a displayed diagnostic (DIAG-DISPLAY-2): the charsets PHP knows, their
characters read as get_next_char() reads them, and the entities an ``&`` may already start.
"""

from __future__ import annotations

__all__ = ["charset_kind", "htmlspecialchars"]

_ALPHA = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_DIGITS = frozenset(b"0123456789")

# html.c's charset_map (matched case-insensitively); the rest are single-byte.
_CHARSETS = {
    name.lower(): kind
    for kind, names in {
        "utf-8": ("utf-8",),
        "big5": ("BIG5", "950"),
        "gb2312": ("GB2312", "936"),
        "big5hkscs": ("Big5-HKSCS",),
        "sjis": ("Shift_JIS", "SJIS", "932", "SJIS-win", "CP932"),
        "eucjp": ("EUCJP", "EUC-JP", "eucJP-win"),
        "single": (
            "ISO-8859-1", "ISO8859-1", "ISO-8859-15", "ISO8859-15", "cp1252", "Windows-1252",
            "1252", "KOI8-R", "koi8-ru", "koi8r", "cp1251", "Windows-1251", "win-1251",
            "iso8859-5", "iso-8859-5", "cp866", "866", "ibm866", "MacRoman",
        ),
    }.items()
    for name in names
}

# The HTML 4.01 entity names that htmlspecialchars(double_encode: false) leaves alone.
_HTML401_ENTITIES = frozenset(
    (
        b"AElig Aacute Acirc Agrave Alpha Aring Atilde Auml Beta Ccedil Chi Dagger Delta ETH Eacute "
        b"Ecirc Egrave Epsilon Eta Euml Gamma Iacute Icirc Igrave Iota Iuml Kappa Lambda Mu Ntilde "
        b"Nu OElig Oacute Ocirc Ograve Omega Omicron Oslash Otilde Ouml Phi Pi Prime Psi Rho Scaron "
        b"Sigma THORN Tau Theta Uacute Ucirc Ugrave Upsilon Uuml Xi Yacute Yuml Zeta aacute acirc "
        b"acute aelig agrave alefsym alpha amp and ang aring asymp atilde auml bdquo beta brvbar "
        b"bull cap ccedil cedil cent chi circ clubs cong copy crarr cup curren dArr dagger darr deg "
        b"delta diams divide eacute ecirc egrave empty emsp ensp epsilon equiv eta eth euml euro "
        b"exist fnof forall frac12 frac14 frac34 frasl gamma ge gt hArr harr hearts hellip iacute "
        b"icirc iexcl igrave image infin int iota iquest isin iuml kappa lArr lambda lang laquo "
        b"larr lceil ldquo le lfloor lowast loz lrm lsaquo lsquo lt macr mdash micro middot minus "
        b"mu nabla nbsp ndash ne ni not notin nsub ntilde nu oacute ocirc oelig ograve oline omega "
        b"omicron oplus or ordf ordm oslash otilde otimes ouml para part permil perp phi pi piv "
        b"plusmn pound prime prod prop psi quot rArr radic rang raquo rarr rceil rdquo real reg "
        b"rfloor rho rlm rsaquo rsquo sbquo scaron sdot sect shy sigma sigmaf sim spades sub sube "
        b"sum sup sup1 sup2 sup3 supe szlig tau there4 theta thetasym thinsp thorn tilde times "
        b"trade uArr uacute uarr ucirc ugrave uml upsih upsilon uuml weierp xi yacute yen yuml "
        b"zeta zwj zwnj"
    ).split()
)
_BASIC_ENTITIES = {0x26: b"&amp;", 0x22: b"&quot;", 0x27: b"&#039;", 0x3C: b"&lt;", 0x3E: b"&gt;"}
_ENTITY_NAME = _ALPHA | _DIGITS
_HEX = frozenset(b"0123456789abcdefABCDEF")


def charset_kind(hint: bytes) -> str:
    """determine_charset(): the kind of the charset ``hint`` names, UTF-8 for an empty or unknown name."""
    return _CHARSETS.get(hint.decode("latin-1").lower(), "utf-8") if hint else "utf-8"


def _utf8_lead(c: int) -> bool:
    return c < 0x80 or 0xC2 <= c <= 0xF4


def _utf8_trail(c: int) -> bool:
    return 0x80 <= c <= 0xBF


def _next_char(kind: str, s: bytes, pos: int) -> tuple[int, bool]:
    """get_next_char: the position after the character at ``pos`` and whether it is valid."""
    n = len(s)
    c = s[pos]
    avail = n - pos
    if kind == "utf-8":
        if c < 0x80:
            return pos + 1, True
        if c < 0xC2:
            return pos + 1, False
        if c < 0xE0:
            if avail < 2:
                return pos + 1, False
            if not _utf8_trail(s[pos + 1]):
                return pos + (1 if _utf8_lead(s[pos + 1]) else 2), False
            return pos + 2, True  # C2..DF lead bytes never give a non-shortest form
        size = 3 if c < 0xF0 else 4 if c < 0xF5 else 0
        if not size:
            return pos + 1, False
        if avail < size or not all(_utf8_trail(s[pos + k]) for k in range(1, size)):
            # PHP's advance rule: stop before the first byte that could start a character.
            for k in range(1, size):
                if avail <= k or _utf8_lead(s[pos + k]):
                    return pos + k, False
            return pos + size, False
        if size == 3:
            cp = ((c & 0x0F) << 12) | ((s[pos + 1] & 0x3F) << 6) | (s[pos + 2] & 0x3F)
            ok = cp >= 0x800 and not 0xD800 <= cp <= 0xDFFF
        else:
            cp = ((c & 0x07) << 18) | ((s[pos + 1] & 0x3F) << 12) | ((s[pos + 2] & 0x3F) << 6) | (s[pos + 3] & 0x3F)
            ok = 0x10000 <= cp <= 0x10FFFF
        return pos + size, ok
    if kind in ("big5", "big5hkscs"):
        if not 0x81 <= c <= 0xFE:
            return pos + 1, True
        if avail < 2:
            return pos + 1, False
        nxt = s[pos + 1]
        if 0x40 <= nxt <= 0x7E or 0xA1 <= nxt <= 0xFE:
            return pos + 2, True
        return pos + (2 if kind == "big5hkscs" and nxt in (0x80, 0xFF) else 1), False
    if kind == "gb2312":
        if 0xA1 <= c <= 0xFE:
            if avail < 2:
                return pos + 1, False
            nxt = s[pos + 1]
            if 0xA1 <= nxt <= 0xFE:
                return pos + 2, True
            return pos + (1 if nxt not in (0x8E, 0x8F, 0xA0, 0xFF) else 2), False
        return pos + 1, c not in (0x8E, 0x8F, 0xA0, 0xFF)
    if kind == "sjis":
        if 0x81 <= c <= 0x9F or 0xE0 <= c <= 0xFC:
            if avail < 2:
                return pos + 1, False
            nxt = s[pos + 1]
            if nxt >= 0x40 and nxt != 0x7F and nxt < 0xFD:
                return pos + 2, True
            return pos + (1 if nxt not in (0x80, 0xA0) and nxt < 0xFD else 2), False
        return pos + 1, c < 0x80 or 0xA1 <= c <= 0xDF
    if kind == "eucjp":
        if 0xA1 <= c <= 0xFE or c == 0x8E:
            if avail < 2:
                return pos + 1, False
            nxt = s[pos + 1]
            if 0xA1 <= nxt <= (0xFE if c != 0x8E else 0xDF):
                return pos + 2, True
            return pos + (1 if nxt not in (0xA0, 0xFF) else 2), False
        if c == 0x8F:
            if avail >= 3 and 0xA1 <= s[pos + 1] <= 0xFE and 0xA1 <= s[pos + 2] <= 0xFE:
                return pos + 3, True
            if avail < 2 or s[pos + 1] not in (0xA0, 0xFF):
                return pos + 1, False
            if avail < 3 or s[pos + 2] not in (0xA0, 0xFF):
                return pos + 2, False
            return pos + 3, False
        return pos + 1, c not in (0xA0, 0xFF)
    return pos + 1, True


def _entity_length(s: bytes, pos: int) -> int:
    """The length of a valid entity body after the "&" at ``pos - 1`` (up to, not
    counting, the ";"), or 0 when the "&" must be escaped."""
    n = len(s)
    if pos < n and s[pos] == 0x23:  # process_numeric_entity
        q = pos + 1
        hexadecimal = q < n and s[q] in b"xX"
        if hexadecimal:
            q += 1
        digits = _HEX if hexadecimal else _DIGITS
        if hexadecimal and s[q : q + 2] in (b"0x", b"0X") and q + 2 < n and s[q + 2] in _HEX:
            q += 2  # strtol(..., 16) takes a "0x" prefix of its own
        r = q
        while r < n and s[r] in digits:
            r += 1
        if r == q or r >= n or s[r] != 0x3B or int(s[q:r], 16 if hexadecimal else 10) > 0x10FFFF:
            return 0
        return r - pos
    q = pos  # process_named_entity_html + resolve_named_entity_html
    while q < n and s[q] in _ENTITY_NAME:
        q += 1
    if q == pos or q >= n or s[q] != 0x3B or s[pos:q] not in _HTML401_ENTITIES:
        return 0
    return q - pos


def htmlspecialchars(s: bytes, kind: str = "utf-8", *, substitute: bool = True, quotes: bool = True,
                     double_encode: bool = False) -> bytes:
    """php_escape_html_entities_ex(s, all=0, ENT_QUOTES (| ENT_SUBSTITUTE), charset, double_encode=0):
    ``&`` (unless an entity follows), ``"``, ``'``, ``<`` and ``>`` as entities, in the charset of
    ``kind`` (``charset_kind()``); an invalid character U+FFFD with ``substitute``, else the
    whole result empty, as PHP returns it. ``quotes=False`` is ENT_COMPAT (``'`` stays as it
    is); ``double_encode=True`` makes every ``&`` ``&amp;``."""
    replacement = b"\xef\xbf\xbd" if kind == "utf-8" else b"&#xFFFD;"
    out: list[bytes] = []
    pos, n = 0, len(s)
    while pos < n:
        nxt, ok = _next_char(kind, s, pos)
        if not ok:
            if not substitute:
                return b""
            out.append(replacement)
        elif nxt - pos > 1:
            out.append(s[pos:nxt])
        elif s[pos] == 0x26 and not double_encode:
            length = _entity_length(s, nxt)
            if length:
                out.append(s[pos : nxt + length + 1])
                nxt += length + 1
            else:
                out.append(b"&amp;")
        elif s[pos] == 0x27 and not quotes:
            out.append(b"'")
        else:
            out.append(_BASIC_ENTITIES.get(s[pos], s[pos : pos + 1]))
        pos = nxt
    return b"".join(out)
