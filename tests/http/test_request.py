"""The request variables ($_GET, $_POST, $_COOKIE, $_FILES, $_REQUEST, php://input):
every request in spec/cases/request-vars.toml, replayed through
phprt.http.request.request_variables(), must give what php-cgi 8.2 gave
(spec/recorded/request-vars.json, written by tests/conformance/record_request.py)."""

from __future__ import annotations

import re
import shutil
from typing import Any

import pytest

from phprt.engine.constants import E_ALL, E_WARNING
from phprt.engine.ini import configure
from phprt.http import request as request_module
from phprt.http.request import RequestVariables, UploadedFile, parse_str, request_variables
from tests.conformance.record_request import RequestCase, load_recorded, load_request_cases, run_php
from tests.support import ROOT

CASES = load_request_cases()
RECORDING = load_recorded()
RECORDED: dict[str, Any] = dict(RECORDING.get("requests", {}))
#: The clauses of the "Request variables" section that the recorded cases check.
REQUEST_CLAUSES = {
    "REQ-VARS-1", "REQ-VARS-2", "REQ-VARS-3",
    "REQ-NAME-1", "REQ-NAME-2", "REQ-NAME-3", "REQ-NAME-4", "REQ-NAME-5", "REQ-NAME-6",
    "REQ-GET-1", "REQ-GET-2", "REQ-GET-3",
    "REQ-COOKIE-1", "REQ-COOKIE-2",
    "REQ-POST-1", "REQ-POST-2", "REQ-POST-3", "REQ-POST-4", "REQ-POST-5", "REQ-POST-6",
    "REQ-FILES-1", "REQ-FILES-2", "REQ-FILES-3", "REQ-FILES-4", "REQ-FILES-5",
    "REQ-REQUEST-1", "REQ-INPUT-1",
}


def _text(data: bytes) -> Any:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return {"bytes": data.hex()}


def encode(value: Any, uploads: dict[str, UploadedFile] | None = None) -> Any:
    """A phprt value as the recorder writes PHP's (tests/conformance/record_request.py)."""
    if isinstance(value, dict):
        return {"array": [[key if isinstance(key, int) else encode(key), encode(item, uploads)]
                          for key, item in value.items()]}
    if isinstance(value, str):
        if uploads is not None and value in uploads:
            return {"upload": _text(uploads[value].content)}
        return _text(value.encode("utf-8", "surrogateescape"))
    assert isinstance(value, int) and not isinstance(value, bool), value
    return value


def observe(case: RequestCase) -> dict[str, Any]:
    """What phprt makes of the case's request, in the recording's form."""
    result = request_variables(case.server(), case.body, case.ini_get)
    seen: dict[str, Any] = {
        "get": encode(result.get), "post": encode(result.post), "cookie": encode(result.cookie),
        "files": encode(result.files, result.uploads), "request": encode(result.request),
        "input": _text(result.input),
        # PHP logs (and the Runtime reports) only the levels error_reporting holds.
        "diagnostics": [list(d) for d in result.diagnostics if d[0] & int(case.ini.get("error_reporting", E_ALL))],
    }
    if case.query is not None:
        diagnostics: list[tuple[int, str]] = []
        parsed = parse_str(case.query, ini=case.ini_get, diagnostics=diagnostics)
        seen["parse_str"] = {"result": encode(parsed), "diagnostics": [list(d) for d in diagnostics]}
    return seen


def _compare(actual: dict[str, Any], expected: dict[str, Any], who: str) -> None:
    for key in ("get", "post", "cookie", "files", "request", "input", "diagnostics", "parse_str"):
        assert actual.get(key) == expected.get(key), f"{key} differs from {who}"


@pytest.mark.clause(
    "REQ-VARS-1", "REQ-VARS-2", "REQ-VARS-3",
    "REQ-NAME-1", "REQ-NAME-2", "REQ-NAME-3", "REQ-NAME-4", "REQ-NAME-5", "REQ-NAME-6",
    "REQ-GET-1", "REQ-GET-2", "REQ-GET-3", "REQ-COOKIE-1", "REQ-COOKIE-2",
    "REQ-POST-1", "REQ-POST-2", "REQ-POST-3", "REQ-POST-4", "REQ-POST-5", "REQ-POST-6",
    "REQ-FILES-1", "REQ-FILES-2", "REQ-FILES-3", "REQ-FILES-4", "REQ-FILES-5",
    "REQ-REQUEST-1", "REQ-INPUT-1",
)
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_phprt_does_what_php_did(case: RequestCase, request: pytest.FixtureRequest) -> None:
    expected = RECORDED.get(case.id)
    assert expected is not None, f"{case.id} is not recorded: run python -m tests.conformance.record_request {case.id}"
    assert expected["digest"] == case.digest(), f"{case.id} changed since it was recorded: record it again"
    if request.config.getoption("--php-live"):
        assert shutil.which("php-cgi"), "--php-live needs PHP 8.2's php-cgi on PATH"
        live = run_php(case)
        for key in ("get", "post", "cookie", "files", "request", "input", "diagnostics", "parse_str"):
            assert live.get(key) == expected.get(key), f"{key} differs from the recording (PHP today)"
    _compare(observe(case), expected, "PHP 8.2")


@pytest.mark.clause("PERF-START-5")
def test_the_short_ways_change_no_recorded_result(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every recorded request again with a name never taken as it is and the settings worked
    # out afresh: the general walk through each name gives PHP's results, as the short way does.
    monkeypatch.setattr(request_module, "_PLAIN_NAME", re.compile(rb"(?!)"))
    monkeypatch.setattr(request_module, "_settings", request_module._Settings)
    for case in CASES:
        _compare(observe(case), RECORDED[case.id], f"PHP 8.2 ({case.id})")


@pytest.mark.clause("PERF-START-5")
def test_the_settings_are_worked_out_once_per_set_of_values() -> None:
    table = configure("fpm").directive_values()
    settings = request_module._settings(table.get)
    assert request_module._settings(dict(table).get) is settings
    changed = {**table, "max_input_vars": "1"}
    assert request_module._settings(changed.get).max_input_vars == 1
    # a directive ini_get() does not know (False) has PHP's default, as an unset one does
    unknown = {**table, "arg_separator.input": False}
    assert request_module._settings(unknown.get).separators == b"&"
    assert request_variables({"REQUEST_METHOD": "GET", "QUERY_STRING": "a=1;b=2&c=3|d=4"}, b"",
                             {**table, "arg_separator.input": ";|"}.get).get == {"a": "1", "b": "2&c=3", "d": "4"}


def test_recordings_come_from_php_8_2() -> None:
    assert str(RECORDING.get("php", "")).startswith("8.2.")
    assert RECORDING.get("cases") == {}  # the conformance harness's part of every recorded file


def test_case_ids_are_unique_and_recorded() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))
    assert set(RECORDED) == set(ids), "a recording without a case, or a case without a recording"
    assert len(ids) >= 40


def test_every_request_clause_has_cases() -> None:
    spec = (ROOT / "spec" / "headers.md").read_text()
    section = spec[spec.index("## Request variables"):]
    defined = set(re.findall(r"^- \*\*(REQ-[A-Z0-9-]+)\*\*", section, re.MULTILINE)) - {"REQ-SERVER-1", "REQ-POST-7"}
    assert defined == REQUEST_CLAUSES
    named = {clause for case in CASES for clause in case.clauses}
    assert named <= REQUEST_CLAUSES, f"cases name unknown clauses: {sorted(named - REQUEST_CLAUSES)}"
    assert not REQUEST_CLAUSES - named, f"clauses without a recorded case: {sorted(REQUEST_CLAUSES - named)}"


# -- the API around the recorded behaviour ----------------------------------------------------


@pytest.mark.clause("REQ-VARS-1")
def test_strings_are_str_decoded_with_the_charset() -> None:
    server = {"QUERY_STRING": "a=%E9&%FF=x&b=caf%C3%A9", "REQUEST_METHOD": "GET"}
    result = request_variables(server, b"")
    assert result.get == {"a": "\udce9", "\udcff": "x", "b": "café"}
    assert str(result.get["a"]).encode("utf-8", "surrogateescape") == b"\xe9"
    latin = request_variables(server, b"", encoding="latin-1")
    assert latin.get == {"a": "é", "ÿ": "x", "b": "cafÃ©"}
    assert type(result.get) is dict and result.request == result.get and result.request is not result.get


@pytest.mark.clause("REQ-VARS-3")
def test_ini_falls_back_to_php_defaults() -> None:
    # A Runtime's ini_get returns False for a directive it does not know: PHP's default.
    query = "&".join(f"v{i}=1" for i in range(1001))
    result = request_variables({"QUERY_STRING": query, "REQUEST_METHOD": "GET"}, b"", lambda name: False)
    assert len(result.get) == 1000
    assert result.diagnostics == [(E_WARNING, "PHP Request Startup: Input variables exceeded 1000. "
                                              "To increase the limit change max_input_vars in php.ini.")]
    assert len(request_variables({"QUERY_STRING": query}, b"").get) == 1000


@pytest.mark.clause("REQ-VARS-2")
def test_no_request_method_means_no_post() -> None:
    result = request_variables({"CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": "3"}, b"a=1")
    assert result == RequestVariables({}, {}, {}, {}, {}, b"a=1", [], {})


@pytest.mark.clause("REQ-GET-3")
def test_parse_str() -> None:
    assert parse_str("a[]=1&a[]=2&b.c=%41+") == {"a": {0: "1", 1: "2"}, "b_c": "A "}
    assert parse_str(b"a=1\0&b=2") == {"a": "1"}  # PHP's C string ends at the NUL
    diagnostics: list[tuple[int, str]] = []
    assert parse_str("a=1&b=2", ini={"max_input_vars": "1"}.get, diagnostics=diagnostics) == {"a": "1"}
    assert diagnostics == [(E_WARNING, "parse_str(): Input variables exceeded 1. "
                                       "To increase the limit change max_input_vars in php.ini.")]


def _multipart(*parts: bytes) -> tuple[dict[str, str], bytes]:
    body = b"".join(b"--B\r\n" + part + b"\r\n" for part in parts) + b"--B--\r\n"
    server = {"REQUEST_METHOD": "POST", "CONTENT_TYPE": "multipart/form-data; boundary=B",
              "CONTENT_LENGTH": str(len(body))}
    return server, body


@pytest.mark.clause("REQ-FILES-5", "DEV-UPLOAD-1")
def test_uploads_stay_in_memory() -> None:
    server, body = _multipart(
        b'Content-Disposition: form-data; name="f[a]"; filename="dir/x.txt"\r\nContent-Type: text/plain\r\n\r\nX\r\nY',
        b'Content-Disposition: form-data; name="g"; filename="y.bin"\r\n\r\n',
        b'Content-Disposition: form-data; name="h"; filename=""\r\n\r\n',
    )
    result = request_variables(server, body)
    files: Any = result.files
    assert list(result.uploads) == ["phprt://upload/1", "phprt://upload/2"]
    first = result.uploads["phprt://upload/1"]
    assert first == UploadedFile(field="f[a]", name="x.txt", full_path="dir/x.txt", type="text/plain",
                                 tmp_name="phprt://upload/1", size=4, content=b"X\r\nY")
    assert files["f"]["tmp_name"] == {"a": "phprt://upload/1"}
    assert files["g"]["tmp_name"] == "phprt://upload/2" and result.uploads["phprt://upload/2"].content == b""
    assert files["h"]["tmp_name"] == "" and files["h"]["error"] == 4
    assert result.input == b""


@pytest.mark.clause("REQ-FILES-5")
def test_store_upload_names_the_files() -> None:
    server, body = _multipart(b'Content-Disposition: form-data; name="f"; filename="x.txt"\r\n\r\ndata')
    stored: list[bytes] = []

    def store(content: bytes) -> str:
        stored.append(content)
        return f"/tmp/php{len(stored):06d}"

    result = request_variables(server, body, store_upload=store)
    assert stored == [b"data"]
    files: Any = result.files
    assert files["f"]["tmp_name"] == "/tmp/php000001"
    assert list(result.uploads) == ["/tmp/php000001"]


@pytest.mark.clause("REQ-VARS-2", "REQ-POST-1")
def test_early_diagnostics_come_from_reading_the_body() -> None:
    server = {"REQUEST_METHOD": "POST", "CONTENT_TYPE": "application/x-www-form-urlencoded",
              "CONTENT_LENGTH": "7", "QUERY_STRING": "a=1&b=2"}
    result = request_variables(server, b"p=1&q=2", {"post_max_size": "5", "max_input_vars": "1"}.get)
    assert [message.split(":")[1].split(" of ")[0] for _, message in result.diagnostics] == \
        [" POST Content-Length", " Input variables exceeded 1. To increase the limit change max_input_vars in php.ini."]
    assert result.early_diagnostics == 1
    assert (result.post, result.input) == ({}, b"p=1&q=2")
