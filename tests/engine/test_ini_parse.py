"""phprt.engine.ini_scanner against PHP 8.2.36 (``php -n``, ``php-cgi -n``): every expected value below
was printed by PHP (INI-PARSE-1 to INI-PARSE-7).

How the tables were recorded:

* QUANTITIES: ``ini_set("session.cache_expire", $v)`` (OnUpdateLong, PHP_INI_ALL), then
  ``session_cache_expire()`` for the value and the E_WARNING an error handler caught, less its
  'Invalid "session.cache_expire" setting. ' prefix (inputs and messages passed as hex).
* INTEGERS: for each string ``ini_set()`` of ``ignore_user_abort`` (OnUpdateBool, read back
  with ``ignore_user_abort()``), ``error_reporting`` (``error_reporting()``) and ``precision``
  (``(string)(1/3)``, None when ini_set() refused the value).
* DISPLAY_ERRORS: ``ini_set("display_errors", $v); trigger_error("x");``, whether the notice
  reached stdout or stderr. INI_INT: ``php-cgi -n -d max_file_uploads=V`` on a POST of 12 files,
  ``count($_FILES)``. ZLIB: ``HTTP_ACCEPT_ENCODING=gzip php -n -d zlib.output_compression=V``,
  ``ob_get_status(true)``'s chunk sizes.
* DEFINES / CGI_DEFINES: ``php -n -d ARG -r 'echo json_encode(get_cfg_var("x"));'`` (and
  ``php-cgi -n -q -d ARG``) with HOME=/root, and what PHP printed on stderr.
* PARSED: ``parse_ini_string($text, true, INI_SCANNER_NORMAL)`` json-encoded with
  JSON_FORCE_OBJECT, and the E_WARNING text it gave (HOME=/root); the same scanner and parser
  read php.ini, only the callback that builds the array differs (emulated by ``php_array``).
* FILES: ``PHP_INI_SCAN_DIR= php -c FILE -r`` printing ``get_cfg_var()`` of x, y, z, and stderr.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from phprt.engine.ini_scanner import (
    CLI_HARDCODED_INI,
    DISPLAY_OFF,
    DISPLAY_STDERR,
    DISPLAY_STDOUT,
    INI_CONSTANTS,
    IniSyntaxError,
    c_atoi,
    c_atol,
    define_line,
    display_errors_mode,
    evaluate_value,
    ini_long,
    parse_bool,
    parse_ini_string,
    parse_quantity,
    quantity_warning,
    zlib_output_compression,
)

HOME = {"HOME": "/root"}

# (value, what OnUpdateLong stored, warning text or None)
QUANTITIES: list[tuple[str, int, str | None]] = [
    ('4K', 4096, None),
    ('4k', 4096, None),
    ('4M', 4194304, None),
    ('4m', 4194304, None),
    ('4G', 4294967296, None),
    ('4g', 4294967296, None),
    ('4Q', 4, 'Invalid quantity "4Q": unknown multiplier "Q", interpreting as "4" for backwards compatibility'),
    ('4 K', 4096, None),
    ('4KB', 4, 'Invalid quantity "4KB": unknown multiplier "B", interpreting as "4" for backwards compatibility'),
    (' 4K ', 4096, None),
    ('0x1F', 31, None),
    ('0X1f', 31, None),
    ('0o17', 15, None),
    ('0O17', 15, None),
    ('017', 15, None),
    ('0b101', 5, None),
    ('0B101', 5, None),
    ('0x', 0, 'Invalid quantity "0x": no digits after base prefix, interpreting as "0" for backwards compatibility'),
    ('0o', 0, 'Invalid quantity "0o": no digits after base prefix, interpreting as "0" for backwards compatibility'),
    ('0b', 0, 'Invalid quantity "0b": no digits after base prefix, interpreting as "0" for backwards compatibility'),
    ('0x1fK', 31744, None),
    ('0xg', 0, 'Invalid quantity "0xg": no valid leading digits, interpreting as "0" for backwards compatibility'),
    ('0q', 0, 'Invalid prefix "0q", interpreting as "0" for backwards compatibility'),
    ('0', 0, None),
    ('00', 0, None),
    ('-0', 0, None),
    ('+5', 5, None),
    ('-5', -5, None),
    ('-5K', -5120, None),
    ('-5Q', -5, 'Invalid quantity "-5Q": unknown multiplier "Q", interpreting as "-5" for backwards compatibility'),
    ('', 0, None),
    (' ', 0, None),
    ('abc', 0, 'Invalid quantity "abc": no valid leading digits, interpreting as "0" for backwards compatibility'),
    ('K', 0, 'Invalid quantity "K": no valid leading digits, interpreting as "0" for backwards compatibility'),
    ('-', 0, 'Invalid quantity "-": no valid leading digits, interpreting as "0" for backwards compatibility'),
    ('+', 0, 'Invalid quantity "+": no valid leading digits, interpreting as "0" for backwards compatibility'),
    ('-x', 0, 'Invalid quantity "-x": no valid leading digits, interpreting as "0" for backwards compatibility'),
    ('1.5', 1, 'Invalid quantity "1.5": unknown multiplier "5", interpreting as "1" for backwards compatibility'),
    ('1.5K', 1024, 'Invalid quantity "1.5K", interpreting as "1K" for backwards compatibility'),
    ('1e3', 1, 'Invalid quantity "1e3": unknown multiplier "3", interpreting as "1" for backwards compatibility'),
    ('9223372036854775807', 9223372036854775807, None),
    ('9223372036854775808', -9223372036854775808, 'Invalid quantity "9223372036854775808": value is out of range, using overflow result for backwards compatibility'),
    ('-9223372036854775808', -9223372036854775808, None),
    ('-9223372036854775809', -9223372036854775807, 'Invalid quantity "-9223372036854775809": value is out of range, using overflow result for backwards compatibility'),
    ('18446744073709551616', -1, 'Invalid quantity "18446744073709551616": value is out of range, using overflow result for backwards compatibility'),
    ('99999999999999999999Q', -1, 'Invalid quantity "99999999999999999999Q": unknown multiplier "Q", interpreting as "99999999999999999999" for backwards compatibility'),
    ('8388608G', 9007199254740992, None),
    ('-8388609G', -9007200328482816, None),
    ('8589934591G', 9223372035781033984, None),
    ('8589934592G', -9223372036854775808, 'Invalid quantity "8589934592G": value is out of range, using overflow result for backwards compatibility'),
    ('-8589934592G', -9223372036854775808, None),
    ('-8589934593G', 9223372035781033984, 'Invalid quantity "-8589934593G": value is out of range, using overflow result for backwards compatibility'),
    ('0x0x1', 0, 'Invalid quantity "0x0x1": no digits after base prefix, interpreting as "0" for backwards compatibility'),
    ('0b0b1', 0, 'Invalid quantity "0b0b1": no digits after base prefix, interpreting as "0" for backwards compatibility'),
    ('0x0b1', 0, 'Invalid quantity "0x0b1": no digits after base prefix, interpreting as "0" for backwards compatibility'),
    ('0x00', 0, None),
    ('0x0', 0, None),
    ('00x1', 0, 'Invalid quantity "00x1": unknown multiplier "1", interpreting as "00" for backwards compatibility'),
    ('08', 0, 'Invalid quantity "08": unknown multiplier "8", interpreting as "0" for backwards compatibility'),
    ('09K', 0, 'Invalid quantity "09K", interpreting as "0K" for backwards compatibility'),
    ('0 K', 0, 'Invalid prefix "0 ", interpreting as "0" for backwards compatibility'),
    ('0K', 0, None),
    ('0k', 0, None),
    ('0M', 0, None),
    ('0G', 0, None),
    ('0Q', 0, 'Invalid prefix "0Q", interpreting as "0" for backwards compatibility'),
    ('4\t', 4, None),
    ('\t4', 4, None),
    ('4\tK', 4096, None),
    ('4\n', 4, None),
    ('\n4', 4, None),
    ('4\x0b', 4, None),
    ('4\x0c', 4, None),
    ('12abc', 12, 'Invalid quantity "12abc": unknown multiplier "c", interpreting as "12" for backwards compatibility'),
    ('1 2', 1, 'Invalid quantity "1 2": unknown multiplier "2", interpreting as "1 " for backwards compatibility'),
    ('0x-1', 0, 'Invalid quantity "0x-1": no digits after base prefix, interpreting as "0" for backwards compatibility'),
    ('0x+1', 0, 'Invalid quantity "0x+1": no digits after base prefix, interpreting as "0" for backwards compatibility'),
    ('0b2', 0, 'Invalid quantity "0b2": no valid leading digits, interpreting as "0" for backwards compatibility'),
    ('0o8', 0, 'Invalid quantity "0o8": no valid leading digits, interpreting as "0" for backwards compatibility'),
    ('-0x10', -16, None),
    ('+0x10', 16, None),
    ('  -0x10K', -16384, None),
    ('- 5', 0, 'Invalid quantity "- 5": no valid leading digits, interpreting as "0" for backwards compatibility'),
    ('1K2', 1, 'Invalid quantity "1K2": unknown multiplier "2", interpreting as "1" for backwards compatibility'),
    ('4KK', 4096, 'Invalid quantity "4KK", interpreting as "4K" for backwards compatibility'),
    ('4é', 4, 'Invalid quantity "4\\xC3\\xA9": unknown multiplier "\\xA9", interpreting as "4" for backwards compatibility'),
    ('0é', 0, 'Invalid prefix "0\udcc3", interpreting as "0" for backwards compatibility'),
    ('4\x01', 4, 'Invalid quantity "4\\x01": unknown multiplier "\\x01", interpreting as "4" for backwards compatibility'),
    ('4\\', 4, 'Invalid quantity "4\\\\": unknown multiplier "\\\\", interpreting as "4" for backwards compatibility'),
    ('4\nQ', 4, 'Invalid quantity "4\\nQ": unknown multiplier "Q", interpreting as "4\\n" for backwards compatibility'),
    ('4\x1bQ', 4, 'Invalid quantity "4\\eQ": unknown multiplier "Q", interpreting as "4" for backwards compatibility'),
    ('0\tK', 0, 'Invalid prefix "0\t", interpreting as "0" for backwards compatibility'),
    ('0b1 1', 1, 'Invalid quantity "0b1 1": unknown multiplier "1", interpreting as "0b1 " for backwards compatibility'),
    ('1\x00', 1, 'Invalid quantity "1\\x00": unknown multiplier "\\x00", interpreting as "1" for backwards compatibility'),
    ('0x1F ', 31, None),
]


@pytest.mark.clause("INI-PARSE-1")
@pytest.mark.parametrize(("text", "value", "warning"), QUANTITIES)
def test_quantity(text: str, value: int, warning: str | None) -> None:
    assert parse_quantity(text) == (value, warning)


@pytest.mark.clause("INI-PARSE-1")
def test_quantity_warning_names_the_directive() -> None:
    # php -n -d output_buffering=4Q -r 'var_dump(ob_get_status()["chunk_size"]);' prints
    # 'Warning: Invalid "output_buffering" setting. Invalid quantity "4Q": unknown multiplier "Q",
    # interpreting as "4" for backwards compatibility in Unknown on line 0' and int(4);
    # -d output_buffering=4K gives chunk_size 4096 and no warning.
    value, error = parse_quantity("4Q")
    assert value == 4 and error is not None
    assert quantity_warning("output_buffering", error) == (
        'Invalid "output_buffering" setting. Invalid quantity "4Q": unknown multiplier "Q", '
        'interpreting as "4" for backwards compatibility'
    )
    assert parse_quantity("4K") == (4096, None)


# (zlib.output_compression, the value PHP used: 0 no handler, 1 the default 16384 chunk, else
# the chunk size; whether it warned)
ZLIB: list[tuple[str, int, bool]] = [
    ("0x800", 2048, False), ("4K", 4096, False), ("On", 1, False), ("off", 0, False), ("1", 1, False),
    ("4Q", 4, True), ("0b1", 1, False), (" 2048", 2048, False), ("017", 15, False), ("-1", -1, False),
    ("4294967297", 1, False),
]


@pytest.mark.clause("INI-PARSE-1")
@pytest.mark.parametrize(("text", "value", "warns"), ZLIB)
def test_zlib_output_compression(text: str, value: int, warns: bool) -> None:
    result, error = zlib_output_compression(text)
    assert (result, error is not None) == (value, warns)


# (string, OnUpdateBool's value, error_reporting(), (string)(1/3) after ini_set("precision"))
INTEGERS: list[tuple[str, bool, int, str | None]] = [
    ('On', True, 0, '0.3'),
    ('on', True, 0, '0.3'),
    ('ON', True, 0, '0.3'),
    (' on', False, 0, '0.3'),
    ('on ', False, 0, '0.3'),
    ('TRUE', True, 0, '0.3'),
    ('True', True, 0, '0.3'),
    ('yes', True, 0, '0.3'),
    ('YES', True, 0, '0.3'),
    ('y', False, 0, '0.3'),
    ('2', True, 2, '0.33'),
    ('0x1', False, 0, '0.3'),
    ('4294967296', False, 0, '0.3'),
    ('4294967297', True, 1, '0.3'),
    ('2147483648', True, -2147483648, '0.3333333333333333'),
    (' 1', True, 1, '0.3'),
    ('\t1', True, 1, '0.3'),
    ('\n1', True, 1, '0.3'),
    ('1abc', True, 1, '0.3'),
    ('-1', True, -1, '0.3333333333333333'),
    ('off', False, 0, '0.3'),
    ('', False, 0, '0.3'),
    ('0', False, 0, '0.3'),
    ('00', False, 0, '0.3'),
    ('+1', True, 1, '0.3'),
    ('on\x00', False, 0, '0.3'),
    ('1.9', True, 1, '0.3'),
    ('0.9', False, 0, '0.3'),
    ('0x800', False, 0, '0.3'),
    ('4K', True, 4, '0.3333'),
    (' 8', True, 8, '0.33333333'),
    ('abc', False, 0, '0.3'),
    ('1e3', True, 1, '0.3'),
    ('-2', True, -2, None),
    ('17abc', True, 17, '0.33333333333333331'),
    (' 5', True, 5, '0.33333'),
    ('010', True, 10, '0.3333333333'),
    ('0x10', False, 0, '0.3'),
    ('99999999999999999999', True, -1, '0.3333333333333333'),
    ('-99999999999999999999', False, 0, None),
    ('+-1', False, 0, '0.3'),
    ('- 1', False, 0, '0.3'),
    ('\x0b3', True, 3, '0.333'),
    ('3\x0b', True, 3, '0.333'),
]


@pytest.mark.clause("INI-PARSE-2")
@pytest.mark.parametrize(("text", "boolean"), [(row[0], row[1]) for row in INTEGERS])
def test_bool(text: str, boolean: bool) -> None:
    assert parse_bool(text) is boolean


@pytest.mark.clause("INI-PARSE-4")
@pytest.mark.parametrize(("text", "reporting"), [(row[0], row[2]) for row in INTEGERS])
def test_atoi_is_error_reporting(text: str, reporting: int) -> None:
    assert c_atoi(text) == reporting


@pytest.mark.clause("INI-PARSE-4")
@pytest.mark.parametrize(("text", "third"), [(row[0], row[3]) for row in INTEGERS])
def test_atol_is_precision(text: str, third: str | None) -> None:
    # OnSetPrecision refuses values below -1; -1 is the shortest repr, 0 and 1 one digit.
    precision = c_atol(text)
    if third is None:
        assert precision < -1
    elif precision == -1:
        assert third == "0.3333333333333333"
    elif precision <= 17:
        assert len(third) - 2 == max(precision, 1)
    else:
        assert precision > 2**31 - 1  # kept in a C int: outside this table's reach


DISPLAY_ERRORS: list[tuple[str, int]] = [
    ("256", DISPLAY_OFF), ("257", DISPLAY_STDOUT), (" on", DISPLAY_OFF), ("On", DISPLAY_STDOUT),
    ("YES", DISPLAY_STDOUT), ("true", DISPLAY_STDOUT), ("2", DISPLAY_STDERR), ("3", DISPLAY_STDOUT),
    ("stderr", DISPLAY_STDERR), ("STDERR", DISPLAY_STDERR), ("StdOut", DISPLAY_STDOUT), ("0x1", DISPLAY_OFF),
    ("-1", DISPLAY_STDOUT), ("1abc", DISPLAY_STDOUT), ("0", DISPLAY_OFF), ("", DISPLAY_OFF),
    ("258", DISPLAY_STDERR), ("-254", DISPLAY_STDERR), ("abc", DISPLAY_OFF),
]


@pytest.mark.clause("INI-PARSE-2")
@pytest.mark.parametrize(("text", "mode"), DISPLAY_ERRORS)
def test_display_errors_mode(text: str, mode: int) -> None:
    assert display_errors_mode(text) == mode


@pytest.mark.clause("INI-PARSE-4")
@pytest.mark.parametrize(("text", "files"), [
    ("0x2", 2), ("010", 8), ("2K", 2), (" 3", 3), ("3abc", 3), ("0b11", 0), ("012", 10), ("0x", 0),
])
def test_ini_long_is_max_file_uploads(text: str, files: int) -> None:
    assert ini_long(text) == files


# (-d argument, get_cfg_var("x") or None for false, what php -n printed on stderr)
DEFINES: list[tuple[str, str | None, str | None]] = [
    ('x=On', '1', None),
    ('x=on', '1', None),
    ('x=ON', '1', None),
    ('x=yes', '1', None),
    ('x=true', '1', None),
    ('x=off', '', None),
    ('x=no', '', None),
    ('x=false', '', None),
    ('x=none', '', None),
    ('x=None', '', None),
    ('x=null', '', None),
    ('x=NULL', '', None),
    ('x', '1', None),
    ('x=', '', None),
    ('x="quoted"', 'quoted', None),
    ("x='single'", 'single', None),
    ('x=${HOME}', '/root', None),
    ('x=a${HOME}b', 'a/rootb', None),
    ('x="a${HOME}b"', 'a/rootb', None),
    ('x=$HOME', '$HOME', None),
    ('x=${NOPE_NOT_SET}', '', None),
    ('x=${HOME:-fb}', '', None),
    ('x=E_ALL', '32767', None),
    ('x=E_ALL & ~E_NOTICE', '32759', None),
    ('x=E_ALL & ~E_DEPRECATED & ~E_STRICT', '22527', None),
    ('x=E_ALL&~E_DEPRECATED', '24575', None),
    ('x=E_ALL | E_STRICT', '32767', None),
    ('x=~E_ALL', '~E_ALL', None),
    ('x=!0', '!0', None),
    ('x=(1|2)', '(1|2)', None),
    ('x=1^3', '2', None),
    ('x=4K', '4K', None),
    ('x=0x800', '0x800', None),
    ('x= spaced ', ' spaced ', None),
    ('x=a b  c', 'a b  c', None),
    ('x=a;b', 'a', None),
    ('x=1;2', '1', None),
    ('x="1;2"', '1;2', None),
    ('x=;2', ';2', None),
    ('x=PHP_VERSION', '8.2.36', None),
    ('x=PHP_INT_MAX', '9223372036854775807', None),
    ('x=PHP_OS', 'Linux', None),
    ('x=M_PI', 'M_PI', None),
    ('x=UNKNOWN_CONST', 'UNKNOWN_CONST', None),
    ('x=1.5', '1.5', None),
    ('x=-3', '-3', None),
    ('x=.5', '.5', None),
    ('x=_a', '_a', None),
    ('x=é', 'é', None),
    ('x=a"b"c', 'abc', None),
    ('x=(1', '(1', None),
    ('x=\\', '\\', None),
    ('x=a\\', 'a\\', None),
    ('x="a\\"', 'a\\', None),
    ("x='a'b", 'ab', None),
    ('x=E_ALL E_NOTICE', '32767 8', None),
    ('x=5000000000|0', '705032704', None),
    ('x=12abc|1', '13', None),
    ('x=a"b', None, 'PHP:  syntax error, unexpected end of file, expecting TC_DOLLAR_CURLY or TC_QUOTED_STRING or \'"\' in Unknown on line 8'),
    ('x="a', None, 'PHP:  syntax error, unexpected end of file, expecting TC_DOLLAR_CURLY or TC_QUOTED_STRING or \'"\' in Unknown on line 8'),
    ('x=a=b', 'a', "PHP:  syntax error, unexpected '=' in Unknown on line 7"),
    ('x=E_ALL|', None, 'PHP:  syntax error, unexpected END_OF_LINE in Unknown on line 8'),
    ('x=${HOME', None, "PHP:  syntax error, unexpected end of file, expecting '}' in Unknown on line 7"),
    ("x='a", None, 'PHP:  syntax error, unexpected end of file in Unknown on line 7'),
    ('x=yes please', '1', 'PHP:  syntax error, unexpected TC_CONSTANT in Unknown on line 7'),
    ('x=true false', '1', 'PHP:  syntax error, unexpected BOOL_FALSE in Unknown on line 7'),
    ('x=on2', 'on2', None),
    ('x=E_ALL.5', 'E_ALL.5', None),
    ('x=-E_ALL', '-E_ALL', None),
]


def defines(text: str) -> tuple[str | None, str | None]:
    result = parse_ini_string(text, env=HOME)
    error = None if result.error is None else "PHP:  " + result.error.message
    return result.configuration().get("x"), error


@pytest.mark.clause("INI-PARSE-6")
@pytest.mark.parametrize(("argument", "value", "stderr"), DEFINES)
def test_cli_define(argument: str, value: str | None, stderr: str | None) -> None:
    assert defines(CLI_HARDCODED_INI + define_line(argument)) == (value, stderr)


CGI_DEFINES: list[tuple[str, str | None, str | None]] = [
    ('x=a=b', 'a', "PHP:  syntax error, unexpected '=' in Unknown on line 1"),
    ('x="a', None, 'PHP:  syntax error, unexpected end of file, expecting TC_DOLLAR_CURLY or TC_QUOTED_STRING or \'"\' in Unknown on line 2'),
    ('x=~E_ALL', '~E_ALL', None),
    ('x=E_ALL & ~E_NOTICE', '32759', None),
    ('x', '1', None),
    ('x=${HOME', None, "PHP:  syntax error, unexpected end of file, expecting '}' in Unknown on line 1"),
]


@pytest.mark.clause("INI-PARSE-6")
@pytest.mark.parametrize(("argument", "value", "stderr"), CGI_DEFINES)
def test_cgi_define(argument: str, value: str | None, stderr: str | None) -> None:
    assert defines(define_line(argument)) == (value, stderr)


@pytest.mark.clause("INI-PARSE-6")
def test_defines_together() -> None:
    # php -n -d 'x=a=b' -d y=2: x is "a", y is not set (the error ends the parse);
    # php -n -d x=1 -d 'y=${x}': y is "1"; php -c FILE (x=9) -d 'y=${x}': y is "9".
    result = parse_ini_string(CLI_HARDCODED_INI + define_line("x=a=b") + define_line("y=2"))
    assert result.configuration().get("x") == "a" and "y" not in result.configuration()
    assert parse_ini_string(define_line("x=1") + define_line("y=${x}")).configuration()["y"] == "1"
    assert parse_ini_string(define_line("y=${x}"), config={"x": "9"}).configuration()["y"] == "9"


@pytest.mark.clause("INI-PARSE-3")
@pytest.mark.parametrize(("raw", "stored"), [
    # php -n -d "x=RAW" -r 'var_dump(get_cfg_var("x"));', values that start with a letter or digit
    ("On", "1"), ("none", ""), ("E_ALL & ~E_DEPRECATED & ~E_STRICT", "22527"), ("PHP_VERSION", "8.2.36"),
    ("M_PI", "M_PI"), ("a b  c", "a b  c"), ("a;b", "a"),
])
def test_evaluate_value(raw: str, stored: str) -> None:
    assert evaluate_value(raw) == stored
    assert evaluate_value(raw, define=True) == stored


@pytest.mark.clause("INI-PARSE-5")
def test_evaluate_value_raises_php_message() -> None:
    with pytest.raises(IniSyntaxError) as raised:
        evaluate_value("E_ALL|")
    assert raised.value.message == "syntax error, unexpected END_OF_LINE in Unknown on line 2"
    # -d "x=~E_ALL" quotes the value; in php.ini ~E_ALL is -32768 (FILES below)
    assert evaluate_value("~E_ALL", define=True) == "~E_ALL"
    assert evaluate_value("~E_ALL") == "-32768"


@pytest.mark.clause("INI-PARSE-3")
def test_constants_table() -> None:
    # get_cfg_var("c_NAME") of a php.ini line c_NAME=NAME for every constant php -n defines
    assert INI_CONSTANTS["E_ALL"] == 32767 and INI_CONSTANTS["E_STRICT"] == 2048
    assert INI_CONSTANTS["E_DEPRECATED"] == 8192 and INI_CONSTANTS["E_USER_DEPRECATED"] == 16384


def _key(name: str) -> Any:
    # zend_symtable_update(): a canonical decimal integer string is an integer key.
    if re.fullmatch(r"0|-?[1-9][0-9]*", name) and -(2**63) <= int(name) < 2**63:
        return int(name)
    return name


def php_array(text: str) -> tuple[Any, str | None]:
    """What parse_ini_string($text, true) returns, built from the parser's entries as
    php_simple_ini_parser_cb() builds it, json-encoded as JSON_FORCE_OBJECT does, and the
    warning text."""
    result = parse_ini_string(text, env=HOME)
    if result.error is not None:
        return None, result.error.message
    top: dict[Any, Any] = {}
    active = top
    for entry in result.entries:
        if entry.section is not None:
            active = top[_key(entry.section)] = {}
        elif entry.value is None:
            continue
        elif entry.offset is None:
            active[_key(entry.name)] = entry.value
        else:
            if not isinstance(active.get(_key(entry.name)), dict):
                active[_key(entry.name)] = {}
            array = active[_key(entry.name)]
            if entry.offset:
                array[_key(entry.offset)] = entry.value
            else:
                array[max([k for k in array if isinstance(k, int)], default=-1) + 1] = entry.value
    return json.loads(json.dumps(top)), None


# (text, parse_ini_string's array as JSON or None, its warning text)
PARSED: list[tuple[str, str | None, str | None]] = [
    ('x=1', '{"x": "1"}', None),
    ('x = 1 ', '{"x": "1 "}', None),
    ('  x  =  a b  ', '{"x": "a b  "}', None),
    ('x\t=\t1', '{"x": "1"}', None),
    ('a b=1', '{"a b": "1"}', None),
    ('a]b=1', '{"a]b": "1"}', None),
    ("a'b=1", '{"a\'b": "1"}', None),
    ('a.b-c:d=1', '{"a.b-c:d": "1"}', None),
    ('x', '{}', None),
    ('x=', '{"x": ""}', None),
    ('x=On', '{"x": "1"}', None),
    ('x=oFF', '{"x": ""}', None),
    ('x=none', '{"x": ""}', None),
    ('x=NULL', '{"x": ""}', None),
    ('x=yes ', '{"x": "1"}', None),
    ('x=on2', '{"x": "on2"}', None),
    ('x=nonex', '{"x": "nonex"}', None),
    ('x=true_', '{"x": "true_"}', None),
    ('x=E_ALL', '{"x": "32767"}', None),
    ('x=E_ALL E_NOTICE', '{"x": "32767 8"}', None),
    ('x=E_ALLx', '{"x": "E_ALLx"}', None),
    ('x=E_ALL.1', '{"x": "E_ALL.1"}', None),
    ('x=-1', '{"x": "-1"}', None),
    ('x=1.5e3', '{"x": "1.5e3"}', None),
    ('x=.5', '{"x": ".5"}', None),
    ('x=-1.5', '{"x": "-1.5"}', None),
    ('x=E_ALL & ~E_NOTICE', '{"x": "32759"}', None),
    ('x=E_ALL&~E_DEPRECATED&~E_STRICT', '{"x": "22527"}', None),
    ('x=1|2&4', '{"x": "0"}', None),
    ('x=4&2|1', '{"x": "1"}', None),
    ('x=~1&3', '{"x": "2"}', None),
    ('x=!E_ALL|2', '{"x": "2"}', None),
    ('x=(1|2)&~(2)', '{"x": "1"}', None),
    ('x=!!5', '{"x": "1"}', None),
    ('x=~~5', '{"x": "5"}', None),
    ('x=5000000000|0', '{"x": "705032704"}', None),
    ('x=1.9|0', '{"x": "1"}', None),
    ('x=abc|1', '{"x": "1"}', None),
    ('x=12abc|1', '{"x": "13"}', None),
    ('x=E_ALL ^ E_NOTICE', '{"x": "32759"}', None),
    ('x="1"|"2"', '{"x": "3"}', None),
    ('x=${HOME}|1', '{"x": "1"}', None),
    ('x="a b"', '{"x": "a b"}', None),
    ('x="a\\"b"', '{"x": "a\\"b"}', None),
    ('x="a\\\\b"', '{"x": "a\\\\b"}', None),
    ('x="a\\$b"', '{"x": "a$b"}', None),
    ('x="a\\nb"', '{"x": "a\\\\nb"}', None),
    ('x="C:\\path\\"', '{"x": "C:\\\\path\\\\"}', None),
    ('x="a\\\\"', '{"x": "a\\\\"}', None),
    ('x="a$b"', '{"x": "a$b"}', None),
    ('x="a ${HOME} b"', '{"x": "a /root b"}', None),
    ('x=a "b" c', '{"x": "abc"}', None),
    ('x="a" "b"', '{"x": "ab"}', None),
    ("x=''", '{"x": ""}', None),
    ("x='a b'", '{"x": "a b"}', None),
    ('x=\'a"b\'', '{"x": "a\\"b"}', None),
    ("x='a''b'", '{"x": "ab"}', None),
    ("x='${HOME}'", '{"x": "${HOME}"}', None),
    ("x='a;b'", '{"x": "a;b"}', None),
    ('x="a;b"', '{"x": "a;b"}', None),
    ('x=${HOME}', '{"x": "/root"}', None),
    ('x=a${HOME}b', '{"x": "a/rootb"}', None),
    ('x=${NOPE}', '{"x": ""}', None),
    ('x=$HOME', '{"x": "$HOME"}', None),
    ('x=a$', '{"x": "a"}', None),
    ('x=a$\ny=2', 'null', "syntax error, unexpected '=' in Unknown on line 1"),
    ('x=$\\n', '{"x": "$\\\\n"}', None),
    ('x=${ HOME }', '{"x": "/root"}', None),
    ('x=1;c', '{"x": "1"}', None),
    ('x=1 ;c\ny=2', '{"x": "1", "y": "2"}', None),
    ('x=1 ;c', '{"x": "1"}', None),
    (';only\nx=1', '{"x": "1"}', None),
    ('x=1\r\ny=2', '{"x": "1", "y": "2"}', None),
    ('x=1\ry=2', '{"x": "1", "y": "2"}', None),
    ('x=1\n\n\ny=2', '{"x": "1", "y": "2"}', None),
    ('\ufeffx=1', '{"x": "1"}', None),
    ('x=a  ', '{"x": "a  "}', None),
    ('x=a\t\n', '{"x": "a"}', None),
    ('[s]\nx=1', '{"s": {"x": "1"}}', None),
    ('[ s ]\nx=1', '{" s ": {"x": "1"}}', None),
    ('[s]x=1', '{"s": {"x": "1"}}', None),
    ('[a b]', '{"a b": {}}', None),
    ('["q" w]', '{"qw": {}}', None),
    ('[${HOME}x]', '{"/rootx": {}}', None),
    ('[E_ALL]', '{"E_ALL": {}}', None),
    ("['r']", '{"r": {}}', None),
    ('[s]\n[s]\nx=1', '{"s": {"x": "1"}}', None),
    ('[]\nx=1', '{"": {"x": "1"}}', None),
    ('a[]=1\na[]=2', '{"a": {"0": "1", "1": "2"}}', None),
    ('a[k]=1', '{"a": {"k": "1"}}', None),
    ('a[E_ALL]=1', '{"a": {"32767": "1"}}', None),
    ('a[ k ]=1', '{"a": {"k ": "1"}}', None),
    ('a["q"]=1', '{"a": {"q": "1"}}', None),
    ("a['r']=1", '{"a": {"r": "1"}}', None),
    ('a[${HOME}]=1', '{"a": {"/root": "1"}}', None),
    ('a[b] =1', '{"a": {"b": "1"}}', None),
    ('x==1', 'null', "syntax error, unexpected '=' in Unknown on line 1"),
    ('x=1)', 'null', "syntax error, unexpected ')' in Unknown on line 1"),
    ('=1', 'null', "syntax error, unexpected '=' in Unknown on line 1"),
    ('x=(1', 'null', "syntax error, unexpected END_OF_LINE, expecting '^' or '|' or '&' or ')' in Unknown on line 1"),
    ('x=(1|2', 'null', "syntax error, unexpected END_OF_LINE, expecting '^' or '|' or '&' or ')' in Unknown on line 1"),
    ('x=~', 'null', 'syntax error, unexpected END_OF_LINE in Unknown on line 1'),
    ('x=!', 'null', 'syntax error, unexpected END_OF_LINE in Unknown on line 1'),
    ('x=|1', 'null', "syntax error, unexpected '|' in Unknown on line 1"),
    ('x=1|', 'null', 'syntax error, unexpected END_OF_LINE in Unknown on line 1'),
    ('x=()', 'null', "syntax error, unexpected ')' in Unknown on line 1"),
    ('x="a', 'null', 'syntax error, unexpected end of file, expecting TC_DOLLAR_CURLY or TC_QUOTED_STRING or \'"\' in Unknown on line 1'),
    ('x="a\nb', 'null', 'syntax error, unexpected end of file, expecting TC_DOLLAR_CURLY or TC_QUOTED_STRING or \'"\' in Unknown on line 2'),
    ("x='a", 'null', 'syntax error, unexpected end of file in Unknown on line 1'),
    ('x=${', 'null', 'syntax error, unexpected end of file, expecting TC_VARNAME in Unknown on line 1'),
    ('x=${HOME', 'null', 'syntax error, unexpected end of file, expecting TC_VARNAME in Unknown on line 1'),
    ('x=${HOME=1}', 'null', "syntax error, unexpected end of file, expecting '}' in Unknown on line 1"),
    ('x=${}', 'null', "syntax error, unexpected '}', expecting TC_VARNAME in Unknown on line 1"),
    ('[s', 'null', "syntax error, unexpected end of file, expecting ']' in Unknown on line 1"),
    ('[s\nx=1', 'null', "syntax error, unexpected end of file, expecting ']' in Unknown on line 1"),
    ('[s=1]', '{"s=1": {}}', None),
    ('a[b=1', 'null', "syntax error, unexpected end of file, expecting ']' in Unknown on line 1"),
    ('a[b]1', 'null', "syntax error, unexpected end of file, expecting '=' in Unknown on line 1"),
    ('a[b]\n=1', 'null', "syntax error, unexpected END_OF_LINE, expecting '=' in Unknown on line 2"),
    (' [s]\nx=1', 'null', "syntax error, unexpected END_OF_LINE, expecting '=' in Unknown on line 2"),
    ('on=1', 'null', 'syntax error, unexpected BOOL_TRUE in Unknown on line 1'),
    ('true', '{}', None),
    ('x=yes please', 'null', 'syntax error, unexpected TC_CONSTANT in Unknown on line 1'),
    ('x=true false', 'null', 'syntax error, unexpected BOOL_FALSE in Unknown on line 1'),
    ('x=on|1', 'null', "syntax error, unexpected '|' in Unknown on line 1"),
    ('(x=1', 'null', "syntax error, unexpected '(' in Unknown on line 1"),
    ('x=1\n=2', 'null', "syntax error, unexpected '=' in Unknown on line 2"),
    ('x=1\ny=2\nz=(\n', 'null', 'syntax error, unexpected END_OF_LINE in Unknown on line 4'),
    ('x="a\nb"\ny=(', 'null', 'syntax error, unexpected END_OF_LINE in Unknown on line 3'),
    ('x=a=b', 'null', "syntax error, unexpected '=' in Unknown on line 1"),
    ('x=1 = 2', 'null', "syntax error, unexpected '=' in Unknown on line 1"),
    ('x=1\n{=2', 'null', "syntax error, unexpected '{' in Unknown on line 2"),
    ('x=a"b', 'null', 'syntax error, unexpected end of file, expecting TC_DOLLAR_CURLY or TC_QUOTED_STRING or \'"\' in Unknown on line 1'),
    ('x="${HOME"', 'null', "syntax error, unexpected end of file, expecting '}' in Unknown on line 1"),
    ('x="${}"', 'null', "syntax error, unexpected '}', expecting TC_VARNAME in Unknown on line 1"),
    ('x="\\', 'null', 'syntax error, unexpected end of file, expecting TC_DOLLAR_CURLY or TC_QUOTED_STRING or \'"\' in Unknown on line 1'),
    ('x=(E_ALL', 'null', "syntax error, unexpected END_OF_LINE, expecting '^' or '|' or '&' or ')' in Unknown on line 1"),
    ('x=((1)', 'null', "syntax error, unexpected END_OF_LINE, expecting '^' or '|' or '&' or ')' in Unknown on line 1"),
    ('x=(1))', 'null', "syntax error, unexpected ')' in Unknown on line 1"),
]


@pytest.mark.clause("INI-PARSE-3")
@pytest.mark.clause("INI-PARSE-5")
@pytest.mark.clause("INI-PARSE-7")
@pytest.mark.parametrize(("text", "array", "warning"), PARSED)
def test_parse_ini_string(text: str, array: str | None, warning: str | None) -> None:
    assert php_array(text) == (None if array is None else json.loads(array), warning)


# (php.ini text, get_cfg_var() of x, y, z (None for false), stderr)
FILES: list[tuple[str, list[str | None], str | None]] = [
    ("x=1\ny=${x}\n", ["1", "1", None], None),
    ("y=${x}\nx=1\n", ["1", "", None], None),
    ("x=1\n[PATH=/tmp]\nx=2\ny=${x}\n", ["1", None, None], None),
    ("[PATH=/tmp]\nz=2\n[other]\ny=${z}\n", [None, None, None], None),
    ("x=1\nx=2\n", ["2", None, None], None),
    ("\ufeffx=1\n", ["1", None, None], None),
    ("x=1\r\ny=2\r\n", ["1", "2", None], None),
    ("x=~E_ALL\ny=!0\nz=(1|2)\n", ["-32768", "1", "3"], None),
    ("x=1\ny=\"a\nb\"\nz=(\n", ["1", "a\nb", None], "PHP:  syntax error, unexpected END_OF_LINE in /tmp/ini/c.ini on line 5"),
    ("x=1\n  =2\n", ["1", None, None], "PHP:  syntax error, unexpected '=' in /tmp/ini/c.ini on line 2"),
    ("error_reporting = E_ALL & ~E_NOTICE ; comment\nx=${error_reporting}\n", ["32759", None, None], None),
    ("x=1\n[sec\ny=2\n", ["1", None, None], "PHP:  syntax error, unexpected end of file, expecting ']' in /tmp/ini/c.ini on line 2"),
    ("[PATH]\nx=1\n", ["1", None, None], None),
    ("[host]\nx=1\n", ["1", None, None], None),
    ("x=1\n\n;c\n\ny=(\n", ["1", None, None], "PHP:  syntax error, unexpected END_OF_LINE in /tmp/ini/c.ini on line 6"),
    ("x=\"a\\\n\"\ny=(\n", ["a\\\n", None, None], "PHP:  syntax error, unexpected END_OF_LINE in /tmp/ini/c.ini on line 4"),
    ("x=a$\ny=(\n", ["a$\ny", None, None], "PHP:  syntax error, unexpected '=' in /tmp/ini/c.ini on line 1"),
]


@pytest.mark.clause("INI-PARSE-7")
@pytest.mark.parametrize(("text", "values", "stderr"), FILES)
def test_php_ini_file(text: str, values: list[str | None], stderr: str | None) -> None:
    result = parse_ini_string(text, env=HOME, filename="/tmp/ini/c.ini")
    configuration = result.configuration()
    assert [configuration.get(name) for name in "xyz"] == values
    assert (None if result.error is None else "PHP:  " + result.error.message) == stderr
