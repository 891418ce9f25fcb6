"""phprt.engine.ini_table, PHP 8.2's table of ini directives, generated from PHP itself, and
checked here against a live PHP where one is installed (INI-TABLE-1, INI-TABLE-2).

``python -m tests.engine.test_ini_table --write`` regenerates phprt/engine/ini_table.py: it runs
``ini_get_all(null, true)`` and, for each of ``get_loaded_extensions()``, ``ini_get_all(EXT,
false)`` under ``php -n`` (cli), ``php -n -S`` (cli-server), ``php-cgi -n`` (cgi) and a private
``php-fpm8.2 -n`` pool (fpm). The test renders the module again from what PHP says now and
compares it with the file, byte for byte.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from phprt import MemoryTransport, Runtime
from phprt.engine import ini_files, ini_table
from phprt.engine.ini import (
    DIRECTIVES,
    MODELLED,
    OWN_DEFAULTS,
    SAPI_PROFILES,
    IniSource,
    configure,
    sapi_directives,
)
from phprt.transports import CgiTransport

TABLE_FILE = Path(ini_table.__file__)

#: What each SAPI registers: every directive with its global value and access, the extension of
#: each, and the loaded extensions' names.
_PROBE = r"""<?php
$modules = [];
foreach (get_loaded_extensions() as $name) {
    foreach (ini_get_all(strtolower($name), false) as $key => $value) {
        $modules[$key] = strtolower($name);  // "core" lists them all; another extension its own
    }
}
echo json_encode([ini_get_all(null, true), $modules, array_map('strtolower', get_loaded_extensions()),
                  PHP_VERSION]);
"""

_BINARIES = ("php", "php-cgi", "php-fpm8.2")


def _body(response: bytes) -> bytes:
    return response[response.index(b"\r\n\r\n") + 4:]


def live_tables() -> dict[str, Any]:
    """What each SAPI's ini_get_all() says, by phprt's profile name."""
    from phprt.conformance.servers import run_cli_server, run_fpm
    with tempfile.TemporaryDirectory(prefix="phprt-ini-table-") as tmp:
        script = os.path.join(tmp, "probe.php")
        Path(script).write_text(_PROBE)
        outputs = {
            "cli": subprocess.run(["php", "-n", script], capture_output=True, check=True, timeout=30).stdout,
            "cgi": subprocess.run(["php-cgi", "-n", "-q", script], capture_output=True, check=True, timeout=30).stdout,
            "cli-server": _body(run_cli_server(script, {})["stdout"]),
            "fpm": _body(run_fpm(script, {})["stdout"]),
        }
    return {sapi: json.loads(output) for sapi, output in outputs.items()}


def _entry(values: dict[str, Any], module: str) -> str:
    return f"({values['global_value']!r}, {values['access']}, {module!r})"


def render(tables: dict[str, Any]) -> str:
    """phprt/engine/ini_table.py's text for ``tables`` (what :func:`live_tables` returned)."""
    everywhere = set.intersection(*(set(table[0]) for table in tables.values()))
    builtin = tables["cgi"]  # php-cgi -n sets no directive of its own: PHP's built-in defaults
    version = builtin[3]
    lines = [
        f'"""PHP {version}\'s ini directives, as Debian\'s php8.2 packages register them with no php.ini',
        "(INI-TABLE-1). Generated -- do not edit -- by ``python -m tests.engine.test_ini_table --write``,",
        "which runs under ``php -n``, ``php -n -S``, ``php-cgi -n`` and ``php-fpm8.2 -n``::",
        "",
        "    var_export(ini_get_all(null, true));            // every directive: global_value, access",
        "    foreach (get_loaded_extensions() as $name)       // which extension registers each",
        "        ini_get_all(strtolower($name), false);",
        "",
        "tests/engine/test_ini_table.py checks this file against the PHP installed, where there is one.",
        "Access is PHP's mode: INI_USER 1 | INI_PERDIR 2 | INI_SYSTEM 4 (INI_ALL 7).",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from typing import Final",
        "",
        '__all__ = ["EXTENSIONS", "PHP_DIRECTIVES", "SAPI_DIRECTIVES", "SAPI_VALUES"]',
        "",
        "#: Every directive all of PHP's SAPIs register, in ini_get_all()'s order: its built-in default",
        "#: (php-cgi -n's global_value; None: no value), its access, and the extension that registers",
        '#: it ("core": PHP itself).',
        "PHP_DIRECTIVES: Final[dict[str, tuple[str | None, int, str]]] = {",
    ]
    lines += [f"    {name!r}: {_entry(values, builtin[1][name])}," for name, values in builtin[0].items()
              if name in everywhere]
    lines += ["}", "", "#: The directives only one SAPI registers (its own module's), by phprt's profile name.",
              "SAPI_DIRECTIVES: Final[dict[str, dict[str, tuple[str | None, int, str]]]] = {"]
    for sapi, table in sorted(tables.items()):
        extra = [f"        {name!r}: {_entry(values, table[1][name])}," for name, values in table[0].items()
                 if name not in everywhere]
        lines += [f"    {sapi!r}: {{", *extra, "    },"] if extra else [f"    {sapi!r}: {{}},"]
    lines += ["}", "", "#: The global values a SAPI gives that differ from the built-in defaults (php_cli.c's INI_DEFAULT).",
              "SAPI_VALUES: Final[dict[str, dict[str, str | None]]] = {"]
    for sapi, table in sorted(tables.items()):
        differ = {name: values["global_value"] for name, values in table[0].items()
                  if name in everywhere and values["global_value"] != builtin[0][name]["global_value"]}
        lines.append(f"    {sapi!r}: {differ!r},")
    lines += ["}", "", "#: get_loaded_extensions() of each SAPI, lower-cased: the names ini_get_all() finds.",
              "EXTENSIONS: Final[dict[str, tuple[str, ...]]] = {"]
    lines += [f"    {sapi!r}: {tuple(table[2])!r}," for sapi, table in sorted(tables.items())]
    lines += ["}", ""]
    return "\n".join(lines)


def _have_php() -> str | None:
    missing = [binary for binary in _BINARIES if shutil.which(binary) is None]
    return f"needs {', '.join(missing)} (Debian: php8.2-cli php8.2-cgi php8.2-fpm)" if missing else None


@pytest.mark.clause("INI-TABLE-1")
@pytest.mark.skipif(_have_php() is not None, reason=_have_php() or "")
def test_the_table_is_what_php_registers() -> None:
    tables = live_tables()
    if not tables["cli"][3].startswith("8.2."):
        pytest.skip(f"the table is PHP 8.2's; this is PHP {tables['cli'][3]}")
    assert render(tables) == TABLE_FILE.read_text()


@pytest.mark.clause("INI-TABLE-1")
def test_every_sapi_knows_the_common_table_and_its_own() -> None:
    for sapi in SAPI_PROFILES:
        known = sapi_directives(sapi)
        assert set(ini_table.PHP_DIRECTIVES) <= set(known)
        assert set(known) - set(DIRECTIVES) == set(ini_table.SAPI_DIRECTIVES.get(sapi, {}))
    assert {"cgi.fix_pathinfo", "fastcgi.logging"} <= set(sapi_directives("cgi"))
    assert "fpm.config" in sapi_directives("fpm") and "cli_server.color" in sapi_directives("cli-server")
    assert "cgi.fix_pathinfo" not in sapi_directives("cli")


@pytest.mark.clause("INI-TABLE-2")
def test_phps_table_wins_over_what_phprt_models() -> None:
    """Every directive phprt models is in PHP's table; where DIRECTIVES' hand-written entry says
    another default or access, PHP's table is what phprt uses -- but for the deliberate
    deviations named in OWN_DEFAULTS."""
    assert set(MODELLED) <= set(ini_table.PHP_DIRECTIVES)
    disagree = {}
    for name, modelled in MODELLED.items():
        default, access, _ = ini_table.PHP_DIRECTIVES[name]
        known = DIRECTIVES[name]
        assert known.on_update == modelled.on_update  # phprt's handler stays
        assert known.modifiable == access
        assert known.default == (modelled.default if name in OWN_DEFAULTS else default)
        if (modelled.default, modelled.modifiable) != (default, access):
            disagree[name] = (modelled.default, modelled.modifiable, default, access)
    # What DIRECTIVES wrote that PHP's table overrules (php-cgi -n's ini_get_all()): PHP says ""
    # where phprt wrote "no value", and session.auto_start is PHP_INI_PERDIR only.
    assert {name: d for name, d in disagree.items() if name not in OWN_DEFAULTS} == {
        name: value for name, value in {
            "session.auto_start": ("0", 6, "0", 2),
            "session.trans_sid_hosts": (None, 7, "", 7),
            "url_rewriter.hosts": (None, 7, "", 7),
            "zlib.output_handler": (None, 7, "", 7),
        }.items() if name in disagree
    }
    assert OWN_DEFAULTS == {"session.save_path": "DEV-SESS-SAVE-PATH-1"}
    assert ini_table.PHP_DIRECTIVES["session.save_path"][0] == "/var/lib/php/sessions"  # Debian's build
    assert DIRECTIVES["session.save_path"].default == ""


@pytest.mark.clause("INI-TABLE-1", "SAPI-DEFAULTS-1")
def test_the_sapi_profiles_give_the_values_php_gives() -> None:
    for sapi, values in ini_table.SAPI_VALUES.items():
        profile = SAPI_PROFILES[sapi].ini
        assert {name: profile[name] for name in values} == values
        assert all(profile[name] == DIRECTIVES[name].default for name in profile if name not in values)


@pytest.mark.clause("INI-TABLE-2", "INI-RESTORE-1", "INI-GETALL-1", "CONF-USERINI-1")
def test_user_ini_sets_directives_phprt_does_not_model(tmp_path: Path) -> None:
    """php-cgi -n -d memory_limit=64M, DOCUMENT_ROOT the script's directory, whose .user.ini sets
    memory_limit=96M, session.upload_progress.enabled=1 (PERDIR), allow_url_fopen=0 (SYSTEM: ignored)
    and cgi.nph=1: ini_get() "96M", "1", "1", "1"; after ini_restore("memory_limit") "64M", and
    ini_get_all("core")["memory_limit"] global and local "64M", access 7."""
    (tmp_path / ".user.ini").write_text("memory_limit=96M\nsession.upload_progress.enabled=1\nallow_url_fopen=0\n"
                                        "cgi.nph=1\n")
    environ = {"REQUEST_METHOD": "GET", "SCRIPT_FILENAME": str(tmp_path / "u.php"), "DOCUMENT_ROOT": str(tmp_path)}
    ini_files._user_cache.clear()
    with Runtime(CgiTransport(io.BytesIO(), io.BytesIO(), environ=environ), sapi="cgi",
                 ini={"memory_limit": "64M"}) as rt:
        names = ("memory_limit", "session.upload_progress.enabled", "allow_url_fopen", "cgi.nph")
        assert [rt.ini_get(name) for name in names] == ["96M", "1", "1", "1"]
        assert rt.ini_get_all("core")["memory_limit"] == {"global_value": "64M", "local_value": "96M", "access": 7}
        rt.ini_restore("memory_limit")
        assert rt.ini_get("memory_limit") == "64M"
        assert rt.ini_get_all("core")["memory_limit"] == {"global_value": "64M", "local_value": "64M", "access": 7}
    ini_files._user_cache.clear()


@pytest.mark.clause("INI-TABLE-1", "CONF-SECTION-1")
def test_path_sections_set_the_sapis_own_directives_too() -> None:
    """php-cgi applies a [PATH=] section with PHP_INI_SYSTEM rights to every directive it
    registers, its own cgi.* among them; the CLI has no cgi.* to set."""
    source = IniSource(per_dir={"/srv/site": {"cgi.nph": "1", "memory_limit": "1G", "foo.bar": "x"}})
    configuration = configure("cgi", source=source)
    found = ini_files.request_ini(configuration, {"SCRIPT_FILENAME": "/srv/site/u.php"}, "cgi")
    assert found.changes == {"cgi.nph": "1", "memory_limit": "1G"}


@pytest.mark.clause("INI-GETALL-1")
def test_ini_get_all_lists_every_directive_in_phps_order() -> None:
    """php -n: ini_get_all() has the table's 153 directives, SMTP among the s's (PHP sorts without
    case), cli.* none; php-cgi -n adds cgi.* and fastcgi.logging."""
    with Runtime(MemoryTransport()) as rt:
        every = rt.ini_get_all(None, False)
        assert isinstance(every, dict) and list(every) == list(ini_table.PHP_DIRECTIVES)
        assert list(every).index("SMTP") == list(every).index("smtp_port") - 1
        assert every["html_errors"] == "0" and every["memory_limit"] == "128M"
    with Runtime(MemoryTransport(), sapi="cgi") as rt:
        every = rt.ini_get_all()
        assert isinstance(every, dict) and len(every) == 161 and every["fastcgi.logging"]["access"] == 4


@pytest.mark.clause("DEV-INI-DIRECTIVES-1", "INI-TABLE-2")
def test_a_directive_phprt_does_not_model_is_only_stored() -> None:
    """PHP refuses these with a warning (see the clause); phprt stores them and returns the old value."""
    with Runtime(MemoryTransport()) as rt:
        assert rt.ini_set("memory_limit", "1K") == "128M" and rt.ini_get("memory_limit") == "1K"
        assert rt.ini_set("date.timezone", "Nowhere/X") == "UTC" and rt.ini_get("date.timezone") == "Nowhere/X"
        assert rt.diagnostics == []
    assert DIRECTIVES["memory_limit"].on_update is None and "memory_limit" not in MODELLED


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python -m tests.engine.test_ini_table --write")
    TABLE_FILE.write_text(render(live_tables()))
    print(f"wrote {TABLE_FILE}")
