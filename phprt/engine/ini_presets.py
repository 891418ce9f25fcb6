"""The configuration php.ini-production and php.ini-development make, as ``-c production`` and
``-c development`` give it (CONF-PRESET-1): every ``name=value`` the two files PHP 8.2 ships set
(Debian's /usr/lib/php/8.2/php.ini-production and -development of 8.2.36), as PHP's ini scanner
reads them (On is "1", Off "", ``E_ALL & ~E_DEPRECATED & ~E_STRICT`` "22527"). Generated from
those files; they have no [PATH=...] or [HOST=...] section."""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

__all__ = ["PRESETS"]

#: The values both files set alike.
_COMMON: dict[str, str] = {
    'engine': '1',
    'short_open_tag': '',
    'precision': '14',
    'output_buffering': '4096',
    'zlib.output_compression': '',
    'implicit_flush': '',
    'unserialize_callback_func': '',
    'serialize_precision': '-1',
    'disable_functions': '',
    'disable_classes': '',
    'zend.enable_gc': '1',
    'max_execution_time': '30',
    'max_input_time': '60',
    'memory_limit': '128M',
    'log_errors': '1',
    'ignore_repeated_errors': '',
    'ignore_repeated_source': '',
    'report_memleaks': '1',
    'variables_order': 'GPCS',
    'request_order': 'GP',
    'register_argc_argv': '',
    'auto_globals_jit': '1',
    'post_max_size': '8M',
    'auto_prepend_file': '',
    'auto_append_file': '',
    'default_mimetype': 'text/html',
    'default_charset': 'UTF-8',
    'doc_root': '',
    'user_dir': '',
    'enable_dl': '',
    'file_uploads': '1',
    'upload_max_filesize': '2M',
    'max_file_uploads': '20',
    'allow_url_fopen': '1',
    'allow_url_include': '',
    'default_socket_timeout': '60',
    'cli_server.color': '1',
    'pdo_mysql.default_socket': '',
    'SMTP': 'localhost',
    'smtp_port': '25',
    'mail.add_x_header': '',
    'mail.mixed_lf_and_crlf': '',
    'odbc.allow_persistent': '1',
    'odbc.check_persistent': '1',
    'odbc.max_persistent': '-1',
    'odbc.max_links': '-1',
    'odbc.defaultlrl': '4096',
    'odbc.defaultbinmode': '1',
    'mysqli.max_persistent': '-1',
    'mysqli.allow_persistent': '1',
    'mysqli.max_links': '-1',
    'mysqli.default_port': '3306',
    'mysqli.default_socket': '',
    'mysqli.default_host': '',
    'mysqli.default_user': '',
    'mysqli.default_pw': '',
    'mysqlnd.collect_statistics': '1',
    'pgsql.allow_persistent': '1',
    'pgsql.auto_reset_persistent': '',
    'pgsql.max_persistent': '-1',
    'pgsql.max_links': '-1',
    'pgsql.ignore_notice': '0',
    'pgsql.log_notice': '0',
    'bcmath.scale': '0',
    'session.save_handler': 'files',
    'session.use_strict_mode': '0',
    'session.use_cookies': '1',
    'session.use_only_cookies': '1',
    'session.name': 'PHPSESSID',
    'session.auto_start': '0',
    'session.cookie_lifetime': '0',
    'session.cookie_path': '/',
    'session.cookie_domain': '',
    'session.cookie_httponly': '',
    'session.cookie_samesite': '',
    'session.serialize_handler': 'php',
    'session.gc_probability': '0',
    'session.gc_divisor': '1000',
    'session.gc_maxlifetime': '1440',
    'session.referer_check': '',
    'session.cache_limiter': 'nocache',
    'session.cache_expire': '180',
    'session.use_trans_sid': '0',
    'session.sid_length': '26',
    'session.trans_sid_tags': 'a=href,area=href,frame=src,form=',
    'session.sid_bits_per_character': '5',
    'tidy.clean_output': '',
    'soap.wsdl_cache_enabled': '1',
    'soap.wsdl_cache_dir': '/tmp',
    'soap.wsdl_cache_ttl': '86400',
    'soap.wsdl_cache_limit': '5',
    'ldap.max_links': '-1',
}

#: What php.ini-production sets otherwise.
_PRODUCTION: dict[str, str] = {
    'zend.exception_ignore_args': '1',
    'zend.exception_string_param_max_len': '0',
    'expose_php': '',
    'error_reporting': '22527',
    'display_errors': '',
    'display_startup_errors': '',
    'mysqlnd.collect_memory_statistics': '',
    'zend.assertions': '-1',
}

#: What php.ini-development sets otherwise.
_DEVELOPMENT: dict[str, str] = {
    'zend.exception_ignore_args': '',
    'zend.exception_string_param_max_len': '15',
    'expose_php': '1',
    'error_reporting': '32767',
    'display_errors': '1',
    'display_startup_errors': '1',
    'mysqlnd.collect_memory_statistics': '1',
    'zend.assertions': '1',
}

#: The presets by name: each the whole configuration its file makes.
PRESETS: Mapping[str, Mapping[str, str]] = MappingProxyType({
    "production": MappingProxyType({**_COMMON, **_PRODUCTION}),
    "development": MappingProxyType({**_COMMON, **_DEVELOPMENT}),
})
