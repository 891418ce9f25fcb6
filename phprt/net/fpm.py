"""$_SERVER as PHP-FPM fills it from a request's PARAMS (FCGI-SERVER-1, FCGI-PATHINFO-1).

Ports of fpm_main.c's init_request_info() with cgi.fix_pathinfo=1 and main's
php_handle_auth_data(), without sockets: phprt/fastcgi.py calls
``fpm_server_variables`` for each request.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import stat
import time
from typing import Any, Iterable, Mapping

__all__ = ["auth_variables", "fpm_request", "fpm_server_variables"]

_BASE64 = re.compile(rb"[^A-Za-z0-9+/]")


def _environment(pairs: Iterable[tuple[str, str]] | Mapping[str, str]) -> dict[str, str]:
    """main/fastcgi.c's request hash, FCGI_ROLE first, then the PARAMS: a name sent
    twice keeps its first place and its last value; a name deleted and set again
    goes last (``_put``). PHP-FPM lists it into $_SERVER newest first (FCGI-SERVER-1)."""
    values = {"FCGI_ROLE": "RESPONDER"}
    values.update(pairs)  # a name sent again: its first place, its last value
    return values


def _put(env: dict[str, str], name: str, value: str | None) -> str | None:
    # fcgi_putenv(): None deletes the name
    if value is None:
        env.pop(name, None)
    else:
        env[name] = value
    return value


def _is_valid_path(path: str | None) -> bool:
    # fpm_main.c is_valid_path(): no ".." segment
    if path is None:
        return False
    if ".." not in path:  # no segment can be ".." (FCGI-PERF-1)
        return True
    return not any(segment == ".." for segment in re.split(r"[/\\]", path))


def _stat(path: str) -> os.stat_result | None:
    # stat(), None where PHP-FPM's finds nothing
    try:
        return os.stat(path)
    except (OSError, ValueError):
        return None


def _fix_pathinfo(env: dict[str, str]) -> tuple[str | None, str | None, os.stat_result | None]:
    """fpm_main.c init_request_info() with cgi.fix_pathinfo=1 (FCGI-PATHINFO-1): the
    script's path (None: "Primary script unknown"), the request URI PHP_SELF
    starts with, and what ``stat()`` said of the script's path when it was looked
    at (None if it was not), updating SCRIPT_FILENAME, SCRIPT_NAME, PATH_INFO and
    PATH_TRANSLATED (keeping changed values in ORIG_*) as PHP-FPM does."""
    script_filename = env.get("SCRIPT_FILENAME")
    orig_path_translated = env.get("PATH_TRANSLATED")
    translated = script_filename if script_filename is not None else orig_path_translated
    if translated is None:
        return None, None, None
    path_info = env.get("PATH_INFO")
    script_name = env.get("SCRIPT_NAME")
    document_root = env.get("DOCUMENT_ROOT")
    request_uri: str | None = None
    status = _stat(translated) if translated and not translated.endswith("/") else None
    if translated and status is None:
        # /docroot/info.py/test: walk back through the '/' to the script, the rest is PATH_INFO
        found = False
        trimmed = translated
        while (cut := max(trimmed.rfind("/"), trimmed.rfind("\\"))) >= 0:
            trimmed = trimmed[:cut]
            status = _stat(trimmed)
            if status is None or not stat.S_ISREG(status.st_mode):
                continue
            found = True
            stripped = len(translated) - len(trimmed)
            given = len(path_info) if path_info is not None else 0
            if path_info is not None and given > stripped:
                new_info = path_info[given - stripped:]
                _put(env, "ORIG_PATH_INFO", path_info)
                prefix = path_info[:given - stripped]
                if script_name is None or script_name != prefix:
                    if script_name is not None:
                        _put(env, "ORIG_SCRIPT_NAME", script_name)
                    request_uri = _put(env, "SCRIPT_NAME", prefix)
                else:
                    request_uri = script_name
                path_info = _put(env, "PATH_INFO", new_info)
            if script_filename is None or script_filename != trimmed:
                if script_filename is not None:
                    _put(env, "ORIG_SCRIPT_FILENAME", script_filename)
                translated = _put(env, "SCRIPT_FILENAME", trimmed)
            if document_root is not None:
                root = document_root.removesuffix("/")
                if orig_path_translated is not None:
                    _put(env, "ORIG_PATH_TRANSLATED", orig_path_translated)
                _put(env, "PATH_TRANSLATED", root + (path_info or ""))
            elif script_name is not None and script_name in trimmed:
                if orig_path_translated is not None:
                    _put(env, "ORIG_PATH_TRANSLATED", orig_path_translated)
                _put(env, "PATH_TRANSLATED", trimmed[:len(trimmed) - len(script_name)] + (path_info or ""))
            break
        if not found:
            status = None
            if script_filename is not None:
                _put(env, "ORIG_SCRIPT_FILENAME", script_filename)
            translated = _put(env, "SCRIPT_FILENAME", None)
        if request_uri is None:
            request_uri = script_name
    else:
        if script_filename is None:  # PATH_TRANSLATED stood in for it
            _put(env, "SCRIPT_FILENAME", translated)
        request_uri = script_name
    if not _is_valid_path(translated):
        return None, request_uri, None
    return translated, request_uri, status


def auth_variables(value: str | None) -> dict[str, str]:
    """php_handle_auth_data() of an Authorization value: PHP_AUTH_USER and PHP_AUTH_PW from Basic,
    PHP_AUTH_DIGEST from Digest, as PHP-FPM and ``php -S`` register them (FCGI-SERVER-1, NET-SERVER-1)."""
    if not value:
        return {}
    if value[:6].lower() == "basic ":
        letters = _BASE64.sub(b"", value[6:].encode("utf-8", "surrogateescape"))
        letters = letters[: len(letters) - (len(letters) % 4 == 1)]
        try:
            decoded = base64.b64decode(letters + b"=" * (-len(letters) % 4))
        except binascii.Error:  # pragma: no cover - the letters are valid base64 by now
            decoded = b""
        text = decoded.split(b"\0", 1)[0]
        if b":" in text:
            user, _, password = text.partition(b":")
            found = {"PHP_AUTH_USER": user.decode("utf-8", "surrogateescape")}
            if password:
                found["PHP_AUTH_PW"] = password.decode("utf-8", "surrogateescape")
            return found
    if value[:7].lower() == "digest ":
        return {"PHP_AUTH_DIGEST": value[7:]}
    return {}


def fpm_server_variables(params: Iterable[tuple[str, str]] | Mapping[str, str],
                         now: float | None = None) -> tuple[dict[str, Any], str | None]:
    """$_SERVER as PHP-FPM fills it from a request's PARAMS, and the path of the
    script to run (None when PHP-FPM would answer "Primary script unknown")
    (FCGI-SERVER-1, FCGI-PATHINFO-1): FCGI_ROLE and the PARAMS, newest first, as
    cgi.fix_pathinfo left them; PHP_SELF; PHP_AUTH_*; REQUEST_TIME_FLOAT and
    REQUEST_TIME; argv and argc from QUERY_STRING."""
    server, script, _ = fpm_request(params, now)
    return server, script


def fpm_request(params: Iterable[tuple[str, str]] | Mapping[str, str],
                now: float | None = None) -> tuple[dict[str, Any], str | None, os.stat_result | None]:
    """``fpm_server_variables``, and what ``stat()`` said of the script's path when
    cgi.fix_pathinfo looked at it (None when it did not), so that the file is not
    asked again for the same request (FCGI-PERF-3). ``params`` may be the request
    hash (``Request.variables``) or the pairs in the order sent."""
    values = _environment(params)
    script, request_uri, status = _fix_pathinfo(values)
    server: dict[str, Any] = dict(reversed(values.items()))
    path_info = values.get("PATH_INFO")
    server["PHP_SELF"] = (request_uri or "") + (path_info or "")
    authorization = values.get("HTTP_AUTHORIZATION")
    if authorization:
        server.update(auth_variables(authorization))
    now = time.time() if now is None else now
    server["REQUEST_TIME_FLOAT"] = now
    server["REQUEST_TIME"] = int(now)
    query = values.get("QUERY_STRING")
    argv = server["argv"] = query.split("+") if query else []  # php_build_argv()
    server["argc"] = len(argv)
    return server, script, status
