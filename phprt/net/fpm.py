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
from typing import Any

__all__ = ["fpm_server_variables"]

_BASE64 = re.compile(rb"[^A-Za-z0-9+/]")


class _Environment:
    """main/fastcgi.c's request hash, FCGI_ROLE first, then the PARAMS: a name sent
    twice keeps its first place and its last value; a name deleted and set again
    goes last. PHP-FPM lists it into $_SERVER newest first (FCGI-SERVER-1)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.values: dict[str, str] = {"FCGI_ROLE": "RESPONDER"}
        self.values.update(pairs)  # a name sent again: its first place, its last value

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def put(self, name: str, value: str | None) -> str | None:
        if value is None:
            self.values.pop(name, None)
        else:
            self.values[name] = value
        return value


def _is_valid_path(path: str | None) -> bool:
    # fpm_main.c is_valid_path(): no ".." segment
    if path is None:
        return False
    if ".." not in path:  # no segment can be ".." (FCGI-PERF-1)
        return True
    return not any(segment == ".." for segment in re.split(r"[/\\]", path))


def _fix_pathinfo(env: _Environment) -> tuple[str | None, str | None]:
    """fpm_main.c init_request_info() with cgi.fix_pathinfo=1 (FCGI-PATHINFO-1): the
    script's path (None: "Primary script unknown") and the request URI PHP_SELF
    starts with, updating SCRIPT_FILENAME, SCRIPT_NAME, PATH_INFO and
    PATH_TRANSLATED (keeping changed values in ORIG_*) as PHP-FPM does."""
    script_filename = env.get("SCRIPT_FILENAME")
    orig_path_translated = env.get("PATH_TRANSLATED")
    translated = script_filename if script_filename is not None else orig_path_translated
    if translated is None:
        return None, None
    path_info = env.get("PATH_INFO")
    script_name = env.get("SCRIPT_NAME")
    document_root = env.get("DOCUMENT_ROOT")
    request_uri: str | None = None
    if translated and (translated.endswith("/") or not os.path.exists(translated)):
        # /docroot/info.py/test: walk back through the '/' to the script, the rest is PATH_INFO
        found = False
        trimmed = translated
        while (cut := max(trimmed.rfind("/"), trimmed.rfind("\\"))) >= 0:
            trimmed = trimmed[:cut]
            try:
                regular = stat.S_ISREG(os.stat(trimmed).st_mode)
            except (OSError, ValueError):
                regular = False
            if not regular:
                continue
            found = True
            stripped = len(translated) - len(trimmed)
            given = len(path_info) if path_info is not None else 0
            if path_info is not None and given > stripped:
                new_info = path_info[given - stripped:]
                env.put("ORIG_PATH_INFO", path_info)
                prefix = path_info[:given - stripped]
                if script_name is None or script_name != prefix:
                    if script_name is not None:
                        env.put("ORIG_SCRIPT_NAME", script_name)
                    request_uri = env.put("SCRIPT_NAME", prefix)
                else:
                    request_uri = script_name
                path_info = env.put("PATH_INFO", new_info)
            if script_filename is None or script_filename != trimmed:
                if script_filename is not None:
                    env.put("ORIG_SCRIPT_FILENAME", script_filename)
                translated = env.put("SCRIPT_FILENAME", trimmed)
            if document_root is not None:
                root = document_root.removesuffix("/")
                if orig_path_translated is not None:
                    env.put("ORIG_PATH_TRANSLATED", orig_path_translated)
                env.put("PATH_TRANSLATED", root + (path_info or ""))
            elif script_name is not None and script_name in trimmed:
                if orig_path_translated is not None:
                    env.put("ORIG_PATH_TRANSLATED", orig_path_translated)
                env.put("PATH_TRANSLATED", trimmed[:len(trimmed) - len(script_name)] + (path_info or ""))
            break
        if not found:
            if script_filename is not None:
                env.put("ORIG_SCRIPT_FILENAME", script_filename)
            translated = env.put("SCRIPT_FILENAME", None)
        if request_uri is None:
            request_uri = script_name
    else:
        if script_filename is None:  # PATH_TRANSLATED stood in for it
            env.put("SCRIPT_FILENAME", translated)
        request_uri = script_name
    return (translated if _is_valid_path(translated) else None), request_uri


def _auth(value: str | None) -> dict[str, str]:
    """php_handle_auth_data(): PHP_AUTH_USER and PHP_AUTH_PW from Basic, PHP_AUTH_DIGEST from Digest."""
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


def fpm_server_variables(params: list[tuple[str, str]], now: float | None = None) -> tuple[dict[str, Any], str | None]:
    """$_SERVER as PHP-FPM fills it from a request's PARAMS, and the path of the
    script to run (None when PHP-FPM would answer "Primary script unknown")
    (FCGI-SERVER-1, FCGI-PATHINFO-1): FCGI_ROLE and the PARAMS, newest first, as
    cgi.fix_pathinfo left them; PHP_SELF; PHP_AUTH_*; REQUEST_TIME_FLOAT and
    REQUEST_TIME; argv and argc from QUERY_STRING."""
    env = _Environment(params)
    script, request_uri = _fix_pathinfo(env)
    server: dict[str, Any] = dict(reversed(env.values.items()))
    server["PHP_SELF"] = (request_uri or "") + (env.get("PATH_INFO") or "")
    server.update(_auth(env.get("HTTP_AUTHORIZATION")))
    now = time.time() if now is None else now
    server["REQUEST_TIME_FLOAT"] = now
    server["REQUEST_TIME"] = int(now)
    query = env.get("QUERY_STRING")
    server["argv"] = query.split("+") if query else []  # php_build_argv()
    server["argc"] = len(server["argv"])
    return server, script
