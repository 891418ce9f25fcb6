"""PHP's header and cookie functions (HDR-*, COOKIE-*), on the Runtime's header queue
(http/headers.py); the head itself goes out in engine/runtime.py's _send_headers."""

from __future__ import annotations

import time
from typing import Any

from ..engine import constants as C
from ..engine.base import UNSET, RuntimeBase, caller_scope
from ..engine.callables import InvalidCallable, resolve_callable
from ..engine.errors import ArgumentCountError
from ..engine.functions import php_function
from ..engine.values import Ref, c_int, leading_int
from .cookies import cookie_line, parse_options
from .headers import HeaderError

__all__ = ["HeaderFunctions"]


class HeaderFunctions(RuntimeBase):
    """The response's headers and status as the script sets them."""

    @php_function
    def header(self, header: Any, replace: Any = True, response_code: Any = 0) -> None:
        """Queue a raw header line; ``HTTP/...``, Location, WWW-Authenticate and
        Content-Type have PHP's special meanings (HDR-HEADER-*)."""
        # A str, a bool and an int that fits a C int are taken as they are (PERF-START-3).
        line = header if header.__class__ is str else self._string_arg("header", 1, "header", header)
        if replace.__class__ is not bool:
            replace = self._bool_arg("header", 2, "replace", replace)
        if response_code.__class__ is int and -0x80000000 <= response_code <= 0x7FFFFFFF:
            code = response_code
        else:
            code = c_int(self._int_arg("header", 3, "response_code", response_code))
        self._add_header(line, replace, code)

    def _add_header(self, line: str, replace: bool, code: int = 0) -> bool:
        # sapi_header_op(ADD or REPLACE), for header() and for PHP's own headers:
        # False once the headers are gone; PHP's warning when refused.
        if self._headers.sent and self._headers_sent_warning():
            return False
        try:
            self._headers.header(line, replace, code)
        except HeaderError as refused:
            self._error(C.E_WARNING, str(refused))
        return True

    def _headers_sent_warning(self) -> bool:
        # sapi_header_op() once the headers are gone: PHP's warning, nothing changes (HDR-SENT-2).
        if not self._headers.sent:
            return False
        if self._trace is not None:
            self._trace.record("header", {"action": "refused: headers already sent"}, ["HDR-SENT-2"])
        message = "Cannot modify header information - headers already sent"
        if self._output_start is not None:
            message += " by (output started at {}:{})".format(*self._output_start)
        self._error(C.E_WARNING, message)
        return True

    def _redirect_code(self) -> int:
        # A Location answers 303 to an HTTP/1.1 non-GET request where the SAPI
        # reports the protocol, else 302 (HDR-LOCATION-1): the request as the SAPI
        # holds it, whatever the script did to $_SERVER.
        protocol = self._received.get("SERVER_PROTOCOL", "")
        if not protocol:  # none reported (the CLI): no more to look at
            return 302
        method = self._received.get("REQUEST_METHOD")
        newer = protocol[:5].upper() == "HTTP/" and protocol[5:] > "1.0"
        return 303 if self.sapi.reports_protocol and newer and method not in (None, "GET", "HEAD") else 302

    @php_function
    def header_remove(self, name: Any = None) -> None:
        """Remove the headers named ``name`` (case-insensitively), or all of them (HDR-REMOVE-*)."""
        if name is not None:
            name = self._string_arg("header_remove", 1, "name", name)
        if self._headers_sent_warning():
            return
        if name is None:
            if self._trace is not None:
                self._trace.record("header", {"action": "removed", "removed": list(self._headers.lines)}, ["HDR-REMOVE-1"])
            self._headers.lines.clear()
            return
        try:
            self._headers.delete(name)
        except HeaderError as refused:
            self._error(C.E_WARNING, str(refused))

    @php_function
    def headers_list(self) -> list[str]:
        """The queued header lines, in order; always [] under the CLI (HDR-LIST-1)."""
        return list(self._headers.lines)

    @php_function
    def headers_sent(self, file: Ref | None = None, line: Ref | None = None) -> bool:
        """Whether the headers have gone; ``file`` and ``line`` (``Ref``s, PHP's
        by-reference arguments) receive where output started, "" and 0 if no
        output sent them (HDR-SENT-3)."""
        sent = self._headers.sent
        where = self._output_start if sent and self._output_start else ("", 0)
        if file is not None:
            file.value = where[0]
        if line is not None:
            line.value = where[1]
        return sent

    @php_function
    def http_response_code(self, response_code: Any = 0) -> int | bool:
        """The response code, or False when none is set; with a code, set it and
        return the previous one, or True when there was none (HDR-CODE-*). From PHP 8.3,
        setting it once the headers are sent warns and returns False, the CLI too
        (VER-RESPONSE-CODE-1)."""
        code = c_int(self._int_arg("http_response_code", 1, "response_code", response_code))
        queue = self._headers
        if code and queue.sent and self.version.response_code_warns_after_headers:
            message = "http_response_code(): Cannot set response code - headers already sent"
            if self._output_start is not None:
                message += " (output started at {}:{})".format(*self._output_start)
            self._error(C.E_WARNING, message, docref=True)
            return False
        if code:
            old, queue.response_code = queue.response_code, code  # the status line stays (GH-18582)
            return old or True
        return queue.response_code or False

    @php_function
    def header_register_callback(self, callback: Any) -> bool:
        """Call ``callback`` just before the headers are sent; the last one
        registered wins, and none is kept once they have gone (HDR-CALLBACK-*)."""
        try:
            resolved = resolve_callable(callback, caller_scope())
        except InvalidCallable as invalid:
            raise TypeError(f"header_register_callback(): Argument #1 ($callback) must be a valid callback, {invalid}") from None
        self._header_callback = None if self._headers.sent else resolved
        return True

    # -- cookies -------------------------------------------------------------------------------

    @php_function
    def setcookie(self, name: Any, value: Any = UNSET, expires_or_options: Any = 0, path: Any = UNSET,
                  domain: Any = UNSET, secure: Any = False, httponly: Any = False) -> bool:
        """Queue a Set-Cookie header with the value URL-encoded (COOKIE-*)."""
        return self._cookie("setcookie", True, name, value, expires_or_options, path, domain, secure, httponly)

    @php_function
    def setrawcookie(self, name: Any, value: Any = UNSET, expires_or_options: Any = 0, path: Any = UNSET,
                     domain: Any = UNSET, secure: Any = False, httponly: Any = False) -> bool:
        """Queue a Set-Cookie header with the value as given (COOKIE-*)."""
        return self._cookie("setrawcookie", False, name, value, expires_or_options, path, domain, secure, httponly)

    def _cookie(self, function: str, url_encode: bool, name: Any, value: Any, expires_or_options: Any,
                path: Any, domain: Any, secure: Any, httponly: Any) -> bool:
        name = self._string_arg(function, 1, "name", name)
        value = None if value is UNSET else self._string_arg(function, 2, "value", value)
        if isinstance(expires_or_options, (dict, list)):
            if path is not UNSET or domain is not UNSET or secure is not False or httponly is not False:
                raise ArgumentCountError(
                    f"{function}(): Expects exactly 3 arguments when argument #3 ($expires_or_options) is an array")
            options = expires_or_options if isinstance(expires_or_options, dict) else dict(enumerate(expires_or_options))
            parsed = parse_options(function, options, self._expires_value, self._php_string,
                                   self.version.partitioned_cookies)
        else:
            parsed = {"expires": self._int_arg(function, 3, "expires_or_options", expires_or_options, "array|int")}
            if path is not UNSET:
                parsed["path"] = self._string_arg(function, 4, "path", path)
            if domain is not UNSET:
                parsed["domain"] = self._string_arg(function, 5, "domain", domain)
            parsed["secure"] = self._bool_arg(function, 6, "secure", secure)
            parsed["httponly"] = self._bool_arg(function, 7, "httponly", httponly)
        line = cookie_line(function, name, value, parsed, url_encode=url_encode, encoding=self.charset, now=int(time.time()),
                           version=self.version)
        return self._add_header(line, False)

    def _expires_value(self, value: Any) -> int:
        # zval_get_long(): no diagnostics, 0 for what is not a number
        if isinstance(value, str):
            return leading_int(value)
        return int(value) if isinstance(value, (int, float)) else int(bool(value))
