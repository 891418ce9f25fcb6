"""php.ini files as PHP 8.2 finds and reads them, the presets, and php-cgi's and PHP-FPM's
per-request configuration (spec/configuration.md).

Every expected value was printed by PHP 8.2.36 here: ``php -c``/``php --ini`` with the same
files (PHPRC, PHP_INI_SCAN_DIR, a search directory with php-cli.ini and php.ini, a missing
``-c`` file), ``php -c /usr/lib/php/8.2/php.ini-production`` (and -development) reading the
directives back, ``php-cgi -n`` run as a web server's CGI program (SCRIPT_FILENAME,
DOCUMENT_ROOT) in the same directory tree of ``.user.ini`` files, and ``php-fpm8.2 -n`` with
one worker given two requests (the cache of ``.user.ini``).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from phprt import CgiTransport, MemoryTransport, Runtime
from phprt.engine import ini_files
from phprt.engine.ini import configure
from phprt.engine.ini_files import PRESETS, find_ini, ini_report, request_ini


def _cli_ini(tmp_path: Path) -> Path:
    (tmp_path / "php.ini").write_text("precision=3\n")
    (tmp_path / "php-cli.ini").write_text("precision=4\n")
    (tmp_path / "php-cgi-fcgi.ini").write_text("precision=5\n")
    return tmp_path


@pytest.mark.clause("CONF-LOAD-1")
def test_c_finds_a_file_or_php_sapi_ini_then_php_ini_in_a_directory(tmp_path: Path) -> None:
    root = _cli_ini(tmp_path)
    empty: dict[str, str] = {}
    assert find_ini("cli", str(root), env=empty).path == str(root / "php-cli.ini")  # type: ignore[union-attr]
    assert find_ini("cgi", str(root), env=empty).path == str(root / "php-cgi-fcgi.ini")  # type: ignore[union-attr]
    assert find_ini("fpm", str(root), env=empty).path == str(root / "php.ini")  # type: ignore[union-attr]
    assert find_ini("cli", str(root / "php.ini"), env=empty).path == str(root / "php.ini")  # type: ignore[union-attr]
    relative = find_ini("cli", "php.ini", env=empty, cwd=str(root))
    assert relative is not None and relative.path == str(root / "php.ini") and relative.values == {"precision": "3"}
    # a -c that names nothing: nothing loaded, silently, and no other place searched
    missing = find_ini("cli", str(root / "nonexist.ini"), env={"PHPRC": str(root)})
    assert missing is not None and missing.path is None and missing.values == {} and missing.errors == ()
    assert find_ini("cli", str(root), no_ini=True, env={"PHP_INI_SCAN_DIR": str(root)}) is None  # -n


@pytest.mark.clause("CONF-LOAD-1")
def test_phprc_then_for_php_cgi_the_current_directory(tmp_path: Path) -> None:
    root = _cli_ini(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    (other / "a.ini").write_text("precision=6\n")
    assert find_ini("cli", env={"PHPRC": str(other / "a.ini")}).path == str(other / "a.ini")  # type: ignore[union-attr]
    assert find_ini("cli", env={"PHPRC": str(root)}).path == str(root / "php-cli.ini")  # type: ignore[union-attr]
    # php does not search the current directory; php-cgi does
    assert find_ini("cli", env={}, cwd=str(root)).path is None  # type: ignore[union-attr]
    assert find_ini("cgi", env={}, cwd=str(root)).path == str(root / "php-cgi-fcgi.ini")  # type: ignore[union-attr]
    assert find_ini("fpm", env={}, cwd=str(root)).path is None  # php-fpm8.2 -i: not the current directory
    assert find_ini("fpm", env={"PHPRC": str(root)}).path == str(root / "php.ini")  # type: ignore[union-attr]
    assert find_ini("cli", env={"PHPRC": str(tmp_path / "nonexist.ini")}).path is None  # type: ignore[union-attr]


@pytest.mark.clause("CONF-SCAN-1")
@pytest.mark.clause("CONF-REPORT-1")
@pytest.mark.clause("DEV-CONF-PATH-1")
def test_scan_directories_and_the_ini_report(tmp_path: Path) -> None:
    scan = tmp_path / "sd"
    scan.mkdir()
    (scan / "b.ini").write_text("x=1\n")
    (scan / "a.ini").write_text("y=${x}2\n")
    (scan / "c.conf").write_text("z=1\n")
    source = find_ini("cli", env={"PHP_INI_SCAN_DIR": ":sd:/nonexist"}, cwd=str(tmp_path))
    assert source is not None and source.scanned == ("sd/a.ini", "sd/b.ini") and source.values == {"y": "2", "x": "1"}
    assert ini_report(source) == (  # php --ini, byte for byte but for the first line (DEV-CONF-PATH-1)
        "Configuration File (php.ini) Path: (none)\n"
        "Loaded Configuration File:         (none)\n"
        "Scan for additional .ini files in: :sd:/nonexist\n"
        "Additional .ini files parsed:      sd/a.ini,\nsd/b.ini\n\n"
    )
    assert ini_report(None) == (
        "Configuration File (php.ini) Path: (none)\n"
        "Loaded Configuration File:         (none)\n"
        "Scan for additional .ini files in: (none)\n"
        "Additional .ini files parsed:      (none)\n"
    )
    assert find_ini("cli", env={"PHP_INI_SCAN_DIR": ""}, cwd=str(tmp_path)).scan_dir is None  # type: ignore[union-attr]


#: ini_get() under php -c php.ini-production / -development (CLI), and under php-cgi.
PRESET_CLI = {
    "production": {"output_buffering": "0", "implicit_flush": "1", "max_execution_time": "0", "display_errors": "",
                   "display_startup_errors": "", "log_errors": "1", "error_reporting": "22527", "html_errors": "0",
                   "expose_php": "", "variables_order": "GPCS", "request_order": "GP", "precision": "14",
                   "serialize_precision": "-1", "zlib.output_compression": "", "post_max_size": "8M",
                   "upload_max_filesize": "2M", "max_file_uploads": "20", "default_charset": "UTF-8",
                   "file_uploads": "1"},
    "development": {"output_buffering": "0", "implicit_flush": "1", "max_execution_time": "0", "display_errors": "1",
                    "display_startup_errors": "1", "log_errors": "1", "error_reporting": "32767", "html_errors": "0",
                    "expose_php": "1", "variables_order": "GPCS", "request_order": "GP", "precision": "14",
                    "serialize_precision": "-1", "zlib.output_compression": "", "post_max_size": "8M",
                    "upload_max_filesize": "2M", "max_file_uploads": "20", "default_charset": "UTF-8",
                    "file_uploads": "1"},
}


@pytest.mark.clause("CONF-PRESET-1")
@pytest.mark.parametrize("preset", ["production", "development"])
def test_presets_are_what_php_ini_production_and_development_make(preset: str) -> None:
    with Runtime(MemoryTransport(), ini_file=preset) as rt:
        assert {name: rt.ini_get(name) for name in PRESET_CLI[preset]} == PRESET_CLI[preset]
        assert rt.get_cfg_var("memory_limit") == "128M" and rt.get_cfg_var("session.name") == "PHPSESSID"
    source = find_ini("cli", preset, env={})
    assert source is not None and source.path == f"php.ini-{preset} (phprt's preset)" and len(PRESETS[preset]) == 100
    stdout = io.BytesIO()  # php-cgi -c php.ini-production: "|4096|22527|" and no X-Powered-By
    with Runtime(CgiTransport(stdout, io.BytesIO(), environ={}), sapi="cgi", ini_file="production") as rt:
        rt.echo(f"{rt.ini_get('display_errors')}|{rt.ini_get('output_buffering')}|{rt.ini_get('error_reporting')}|"
                f"{rt.ini_get('expose_php')}\n")
    assert stdout.getvalue() == b"Content-type: text/html; charset=UTF-8\r\n\r\n|4096|22527|\n"


@pytest.mark.clause("CONF-SYNTAX-1")
def test_a_syntax_error_in_a_scanned_file_keeps_what_came_before(tmp_path: Path) -> None:
    (tmp_path / "php.ini").write_text("precision=5\n")
    scan = tmp_path / "scan"
    scan.mkdir()
    (scan / "a.ini").write_text("serialize_precision=3\nbad=a=b\ndefault_charset=X\n")
    source = find_ini("cli", str(tmp_path), env={"PHP_INI_SCAN_DIR": "scan"}, cwd=str(tmp_path))
    assert source is not None and source.values == {"precision": "5", "serialize_precision": "3", "bad": "a"}
    assert source.errors == ("PHP:  syntax error, unexpected '=' in scan/a.ini on line 2\n",)  # named as given
    assert source.scanned == ()  # PHP lists only the files that parsed


def _site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    (site / "sub").mkdir(parents=True)
    (site / ".user.ini").write_text("precision=7\noutput_buffering=50\nuser_ini.cache_ttl=5\nexpose_php=Off\n"
                                    "foo.bar=1\n")
    (site / "sub" / ".user.ini").write_text("precision=9\ndefault_charset=ISO-8859-2\n")
    ini_files._user_cache.clear()
    return site


def _cgi(script: Path, doc_root: str | None, ini: dict[str, str] | None = None) -> tuple[dict[str, object], bytes]:
    environ = {"REQUEST_METHOD": "GET", "SCRIPT_FILENAME": str(script)}
    if doc_root is not None:
        environ["DOCUMENT_ROOT"] = doc_root
    ini_files._user_cache.clear()  # each php-cgi is a new process
    stdout, stderr = io.BytesIO(), io.BytesIO()
    with Runtime(CgiTransport(stdout, stderr, environ=environ), sapi="cgi", ini=ini) as rt:
        names = ("precision", "output_buffering", "default_charset", "user_ini.cache_ttl", "expose_php", "foo.bar")
        seen: dict[str, object] = {name: rt.ini_get(name) for name in names}
        seen["level"] = rt.ob_get_level()
        seen["set"] = rt.ini_set("precision", "3"), rt.ini_get("precision")
        seen["cfg"] = rt.get_cfg_var("precision")
    return seen, stderr.getvalue()


@pytest.mark.clause("CONF-USERINI-1")
def test_user_ini_from_the_document_root_down_perdir_directives_only(tmp_path: Path) -> None:
    site = _site(tmp_path)
    seen, stderr = _cgi(site / "sub" / "u.php", str(site))
    assert seen == {"precision": "9", "output_buffering": "50", "default_charset": "ISO-8859-2",
                    "user_ini.cache_ttl": "300", "expose_php": "1", "foo.bar": False, "level": 1,
                    "set": ("9", "3"), "cfg": False}
    assert stderr == b""


@pytest.mark.clause("CONF-USERINI-1")
@pytest.mark.parametrize(("doc_root", "buffering", "charset"), [
    ("{site}/", "50", "ISO-8859-2"),        # one trailing slash ignored
    ("{tmp}/other", "0", "ISO-8859-2"),     # not under it: the script's directory only
    ("{site}/sub", "0", "ISO-8859-2"),      # the script's directory is the root
    ("{site}/sub/", "0", "ISO-8859-2"),
    ("{tmp}", "50", "ISO-8859-2"),          # from higher up
    ("{site_prefix}", "50", "ISO-8859-2"),  # compared as strings: "/x/sit" is a prefix of "/x/site"
    (None, "0", "UTF-8"),                   # no DOCUMENT_ROOT: no .user.ini at all
])
def test_user_ini_search_follows_document_root(tmp_path: Path, doc_root: str | None, buffering: str,
                                               charset: str) -> None:
    site = _site(tmp_path)
    root = None if doc_root is None else doc_root.format(site=site, tmp=tmp_path, site_prefix=str(site)[:-1])
    seen, _ = _cgi(site / "sub" / "u.php", root)
    assert (seen["output_buffering"], seen["default_charset"]) == (buffering, charset)


@pytest.mark.clause("CONF-USERINI-1")
def test_user_ini_filename_empty_and_syntax_errors(tmp_path: Path) -> None:
    site = _site(tmp_path)
    seen, _ = _cgi(site / "sub" / "u.php", str(site), {"user_ini.filename": ""})
    assert seen["precision"] == "14" and seen["default_charset"] == "UTF-8"
    (site / ".user.ini").write_text("precision=7\noutput_buffering=50\nfoo=a=b\ndefault_charset=ISO-8859-5\n")
    seen, stderr = _cgi(site / "sub" / "u.php", str(site))
    assert (seen["precision"], seen["output_buffering"], seen["default_charset"]) == ("9", "50", "ISO-8859-2")
    assert stderr == f"PHP:  syntax error, unexpected '=' in {site}/.user.ini on line 3\n".encode()


@pytest.mark.clause("CONF-USERINI-1")
def test_user_ini_is_cached_for_its_ttl_per_process(tmp_path: Path) -> None:
    # php-fpm8.2 with one worker: a .user.ini changed between two requests in the same second is
    # not read again, with user_ini.cache_ttl=300 or 0; PHP_ADMIN_VALUE wins over it.
    site = tmp_path / "fsite"
    (site / "sub").mkdir(parents=True)
    (site / ".user.ini").write_text("precision=7\n")
    ini_files._user_cache.clear()
    server = {"SCRIPT_FILENAME": f"{site}/sub/c.php", "DOCUMENT_ROOT": str(site)}
    for ttl in ("300", "0"):
        ini_files._user_cache.clear()
        (site / ".user.ini").write_text("precision=7\n")
        configuration = configure("fpm", {"user_ini.cache_ttl": ttl})
        assert request_ini(configuration, server, "fpm", now=1000.2).changes == {"precision": "7"}
        (site / ".user.ini").write_text("precision=8\noutput_buffering=10\n")
        assert request_ini(configuration, server, "fpm", now=1000.7).changes == {"precision": "7"}
        admin = request_ini(configuration, {**server, "PHP_ADMIN_VALUE": "precision=3"}, "fpm", now=1000.9)
        assert admin.changes == {"precision": "3"} and admin.locked == {"precision"}
    # once the request time is past read time + TTL, it is read again
    assert request_ini(configuration, server, "fpm", now=1001.0).changes == {"precision": "8", "output_buffering": "10"}


@pytest.mark.clause("CONF-FPM-1")
def test_php_value_log_messages_and_the_admin_lock() -> None:
    server = {"PHP_VALUE": "precision=5\nfoo.bar=2\nbare\n[section]\nx[a]=1",
              "PHP_ADMIN_VALUE": "serialize_precision=6"}
    found = request_ini(configure("fpm"), server, "fpm")
    assert found.changes == {"precision": "5", "serialize_precision": "6"} and found.locked == {"serialize_precision"}
    assert found.fpm_log == [
        "Passing INI directive through FastCGI: unable to set 'foo.bar'",
        "Passing INI directive through FastCGI: empty value for key 'bare'",
        "Passing INI directive through FastCGI: only classic entries are allowed",
        "Passing INI directive through FastCGI: only classic entries are allowed",
    ]
    assert request_ini(configure("cgi"), server, "cgi").changes == {}  # php-cgi reads no PHP_VALUE
    transport = MemoryTransport(server={"PHP_VALUE": "precision=5"})
    with Runtime(transport, sapi="cli") as rt:  # nor does the CLI, nor apply sections
        assert rt.ini_get("precision") == "14"


@pytest.mark.clause("CONF-API-1")
def test_runtime_ini_file_then_ini_as_d(tmp_path: Path) -> None:
    (tmp_path / "php.ini").write_text("precision=5\nserialize_precision=4\n")
    with Runtime(MemoryTransport(), ini_file=tmp_path, ini={"precision": "6"}) as rt:
        assert (rt.ini_get("precision"), rt.ini_get("serialize_precision")) == ("6", "4")
    with Runtime(MemoryTransport(), ini_file=os.fspath(tmp_path / "php.ini")) as rt:
        assert rt.ini_get("precision") == "5"
    with Runtime(MemoryTransport()) as rt:  # no ini_file: php -n, even with PHPRC set
        assert rt.ini_get("precision") == "14"


@pytest.mark.clause("PERF-START-4")
def test_per_request_ini_is_remembered_only_while_equal(tmp_path: Path) -> None:
    # what PHP-FPM does (CONF-USERINI-1, CONF-FPM-1): .user.ini values kept until the TTL,
    # PHP_VALUE's messages given with every request
    site = tmp_path / "rsite"
    site.mkdir()
    (site / ".user.ini").write_text("precision=7\n")
    ini_files._user_cache.clear()
    configuration = configure("fpm", {"user_ini.cache_ttl": "300"})
    server = {"SCRIPT_FILENAME": f"{site}/a.php", "DOCUMENT_ROOT": str(site), "PHP_VALUE": "serialize_precision=5"}
    first = request_ini(configuration, server, "fpm", now=2000)
    assert first.changes == {"serialize_precision": "5", "precision": "7"}
    (site / ".user.ini").write_text("precision=8\n")
    assert request_ini(configuration, server, "fpm", now=2100).changes == first.changes  # within the TTL
    assert request_ini(configuration, {**server, "PHP_VALUE": "precision=4"}, "fpm", now=2100).changes == {
        "precision": "7"}  # the .user.ini comes after PHP_VALUE (CONF-USERINI-1)
    assert request_ini(configuration, server, "fpm", now=2301).changes == {"serialize_precision": "5", "precision": "8"}
    ini_files._user_cache.clear()  # a new worker reads the files again
    (site / ".user.ini").write_text("precision=9\n")
    assert request_ini(configuration, server, "fpm", now=2302).changes["precision"] == "9"
    noisy = {**server, "PHP_VALUE": "foo.bar=1"}
    for _ in range(2):
        assert request_ini(configuration, noisy, "fpm", now=2303).fpm_log == [
            "Passing INI directive through FastCGI: unable to set 'foo.bar'"]
    (site / ".user.ini").write_text("precision=9\nbad[=\n")
    ini_files._user_cache.clear()
    assert request_ini(configuration, server, "fpm", now=2304).errors  # the syntax error, when read
    assert not request_ini(configuration, server, "fpm", now=2305).errors  # as PHP: not read again


@pytest.mark.clause("PERF-START-4")
def test_remembered_php_value_keeps_each_versions_e_all() -> None:
    # E_ALL in PHP_VALUE is the version's (VER-E-ALL-1), however often the same request comes
    configuration = configure("fpm")
    server = {"PHP_VALUE": "error_reporting=E_ALL", "SCRIPT_FILENAME": "/nonexistent/x.php"}
    seen = []
    for version in ("8.2", "8.4", "8.2", "8.4"):
        with Runtime(MemoryTransport(server=server), "fpm", configuration, php_version=version) as rt:
            seen.append(rt.ini_get("error_reporting"))
    assert seen == ["32767", "30719", "32767", "30719"]
