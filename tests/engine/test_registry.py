"""The registry of PHP functions (RT-REGISTRY-1) and the output handler registries (OUT-GZIP-5)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from typing import Any

import pytest

import phprt.php
from phprt import MemoryTransport, Runtime
from phprt.engine import functions
from phprt.engine.functions import FUNCTIONS, FunctionRegistry, PhpFunction, php_function
from phprt.engine.reference import reference
from phprt.output import handlers
from tests.support import ROOT
from tests.support.spec import defined_clauses

#: (required, total or None for variadic) as PHP 8.2.36's ReflectionFunction reports them
#: (php -n: getNumberOfRequiredParameters(), isVariadic() ? None : getNumberOfParameters());
#: fastcgi_finish_request, which php -n's CLI lacks, from php-src's sapi/fpm/fpm/fpm_main.stub.php;
#: get_error_handler and get_exception_handler, PHP 8.5's, from wasm 8.5.10's ReflectionFunction.
PHP_ARITY: dict[str, tuple[int, int | None]] = {
    "flush": (0, 0), "ob_start": (0, 3), "ob_flush": (0, 0), "ob_clean": (0, 0), "ob_end_flush": (0, 0),
    "ob_end_clean": (0, 0), "ob_get_clean": (0, 0), "ob_get_flush": (0, 0), "ob_get_contents": (0, 0),
    "ob_get_length": (0, 0), "ob_get_level": (0, 0), "ob_get_status": (0, 1), "ob_implicit_flush": (0, 1),
    "ob_list_handlers": (0, 0), "output_add_rewrite_var": (2, 2), "output_reset_rewrite_vars": (0, 0),
    "ob_gzhandler": (2, 2), "header": (1, 3), "header_remove": (0, 1), "headers_list": (0, 0),
    "headers_sent": (0, 2), "http_response_code": (0, 1), "header_register_callback": (1, 1),
    "setcookie": (1, 7), "setrawcookie": (1, 7), "register_shutdown_function": (1, None),
    "connection_status": (0, 0), "connection_aborted": (0, 0), "ignore_user_abort": (0, 1),
    "set_time_limit": (1, 1), "fastcgi_finish_request": (0, 0), "sleep": (1, 1), "usleep": (1, 1),
    "function_exists": (1, 1), "ini_get": (1, 1), "ini_set": (2, 2), "ini_alter": (2, 2),
    "ini_restore": (1, 1), "ini_get_all": (0, 2), "get_cfg_var": (1, 1), "trigger_error": (1, 2),
    "user_error": (1, 2), "set_error_handler": (1, 2), "restore_error_handler": (0, 0),
    "set_exception_handler": (1, 1), "restore_exception_handler": (0, 0),
    "error_reporting": (0, 1), "error_get_last": (0, 0), "error_clear_last": (0, 0),
    "print_r": (1, 2), "var_dump": (1, None), "var_export": (1, 2), "readfile": (1, 3), "fpassthru": (1, 1),
    "error_log": (1, 4),
    "session_start": (0, 1), "session_status": (0, 0), "session_id": (0, 1), "session_name": (0, 1),
    "session_save_path": (0, 1), "session_cache_limiter": (0, 1), "session_cache_expire": (0, 1),
    "session_get_cookie_params": (0, 0), "session_set_cookie_params": (1, 5), "session_write_close": (0, 0),
    "session_commit": (0, 0), "session_abort": (0, 0), "session_reset": (0, 0), "session_destroy": (0, 0),
    "session_unset": (0, 0), "session_gc": (0, 0), "session_encode": (0, 0), "session_decode": (1, 1),
    "session_create_id": (0, 1), "session_regenerate_id": (0, 1), "session_set_save_handler": (1, 9),
    "serialize": (1, 1), "unserialize": (1, 2),
    "sprintf": (1, None), "vsprintf": (2, 2), "printf": (1, None), "vprintf": (2, 2), "fprintf": (2, None),
    "vfprintf": (3, 3), "get_error_handler": (0, 0), "get_exception_handler": (0, 0),
}
#: What PHP 8.2.36's function_exists() says (php -n -r): the language constructs are no functions.
PHP_EXISTS = {"echo": False, "print": False, "exit": False, "die": False, "user_error": True, "ob_gzhandler": True}


@pytest.mark.clause("RT-REGISTRY-1")
def test_the_arity_of_every_function_is_phps() -> None:
    functions = {entry.name: (entry.min_args, entry.max_args) for entry in FUNCTIONS if not entry.construct}
    assert functions == PHP_ARITY


@pytest.mark.clause("RT-REGISTRY-1")
def test_the_recorded_arity_is_what_php_reports(request: pytest.FixtureRequest) -> None:
    if not request.config.getoption("--php-live"):
        pytest.skip("asks a live php only with --php-live")
    assert shutil.which("php"), "--php-live needs PHP 8.2's php on PATH"
    script = """$out = [];
    foreach (json_decode($argv[1]) as $f) {
        if (!function_exists($f)) continue;
        $r = new ReflectionFunction($f);
        $out[$f] = [$r->getNumberOfRequiredParameters(), $r->isVariadic() ? null : $r->getNumberOfParameters()];
    }
    echo json_encode($out);"""
    names = json.dumps(list(PHP_ARITY))
    reported = json.loads(subprocess.run(["php", "-n", "-r", script, names], capture_output=True, check=True, timeout=30).stdout)
    assert {name: tuple(arity) for name, arity in reported.items()} == {
        name: arity for name, arity in PHP_ARITY.items() if name != "fastcgi_finish_request"}


@pytest.mark.clause("RT-REGISTRY-1")
def test_function_exists_is_false_for_language_constructs() -> None:
    with Runtime(transport=MemoryTransport()) as rt:
        assert {name: rt.function_exists(name) for name in PHP_EXISTS} == PHP_EXISTS
        assert rt.function_exists("ECHO") is False


@pytest.mark.clause("RT-REGISTRY-1")
def test_phprt_php_binds_every_registered_function() -> None:
    for entry in FUNCTIONS:
        assert callable(getattr(Runtime, entry.name)), entry.name
        assert getattr(phprt.php, entry.name).__name__ == entry.name
        assert (entry.name in phprt.php.__all__) is (entry.name != "print")


@pytest.mark.clause("RT-REGISTRY-1")
def test_every_function_cites_known_clauses() -> None:
    known = set(defined_clauses())
    for entry in FUNCTIONS:
        assert entry.clauses, f"{entry.name}() cites no clause"
        for clause in entry.clauses:
            family = clause[:-1] if clause.endswith("-*") else None
            assert clause in known or (family and any(k.startswith(family) for k in known)), clause


@pytest.mark.clause("RT-REGISTRY-1")
def test_the_reference_page_is_up_to_date() -> None:
    page = (ROOT / "spec" / "functions.md").read_text()
    assert page == reference(), "spec/functions.md is out of date: python -m phprt.engine.reference > spec/functions.md"
    assert re.search(r"^\| `ob_start` \| 0-3 \| all \| all \| OUT-START-\* \| `phprt\.output\.functions\.", page, re.M)


def _probe(monkeypatch: pytest.MonkeyPatch, **options: Any) -> PhpFunction:
    # A function registered with these options, in a registry of its own.
    registry = FunctionRegistry()
    monkeypatch.setattr(functions, "FUNCTIONS", registry)

    def probe(self: Runtime) -> None:
        """A probe (RT-REGISTRY-1)."""

    php_function(**options)(probe)
    entry = registry.get("probe")
    assert entry is not None
    return entry


@pytest.mark.clause("RT-REGISTRY-1")
def test_sapi_and_version_range_decide_availability(monkeypatch: pytest.MonkeyPatch) -> None:
    with Runtime(transport=MemoryTransport(), sapi="cli") as cli, Runtime(transport=MemoryTransport(), sapi="fpm") as fpm:
        only_fpm = _probe(monkeypatch, sapi=("fpm-fcgi",))
        assert not only_fpm.exists(cli) and only_fpm.exists(fpm)
        for since, until, exists in (("8.3", None, False), (None, "8.1", False), ("8.0", "8.2", True)):
            assert _probe(monkeypatch, since=since, until=until).exists(cli) is exists, (since, until)


@pytest.mark.clause("RT-REGISTRY-1")
def test_a_name_registers_once() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        php_function(Runtime.ob_start)


@pytest.mark.clause("OUT-GZIP-5")
def test_zlib_registers_its_alias_and_conflicts_as_its_minit_does(monkeypatch: pytest.MonkeyPatch) -> None:
    assert handlers.alias("ob_gzhandler") is not None and handlers.alias("ob_gzhandler ") is None
    assert handlers.alias_name(getattr(phprt.php, "ob_gzhandler")) == "ob_gzhandler"
    seen: list[tuple[str, str]] = []

    def refuse(runtime: Any, name: str, prefix: str) -> bool:
        seen.append((name, prefix))
        return True

    monkeypatch.setattr(handlers, "_reverse_conflicts", {})
    handlers.reverse_conflict_register("default output handler", refuse)
    with Runtime(transport=MemoryTransport()) as rt:
        rt.ob_start("ob_gzhandler")
        assert rt.ob_start("ob_gzhandler") is False  # zlib's conflict check: "cannot be used twice"
        assert rt.diagnostics[-2].message == "ob_start(): Output handler 'ob_gzhandler' cannot be used twice"
        assert rt.ob_start() is False and seen == [("default output handler", "ob_start(): ")]
        assert rt.ob_list_handlers() == ["ob_gzhandler"]
