"""ini_get() and ini_set(): the script's view of the ini settings (INI-GET-1, INI-SET-1)."""

from __future__ import annotations

from typing import Any

from . import constants as C
from .base import RuntimeBase
from .functions import php_function
from .ini import DIRECTIVES, INI_USER, ini_bool, ini_quantity_warning, ini_value
from .values import encodable

__all__ = ["IniFunctions"]


#: The on-update handlers (``DIRECTIVES[name].on_update``) whose change does more than
#: store the value, as the Runtime method that does it; False refuses the change (INI-SET-1).
_ON_UPDATE = {
    "OnUpdateDefaultCharset": "_update_header_default",
    "OnUpdateDefaultMimeTye": "_update_header_default",
    "OnUpdate_zlib_output_compression": "_update_zlib_compression",
    "OnUpdate_zlib_output_handler": "_update_zlib_output_handler",
    "OnUpdateTimeout": "_update_timeout",
}


class IniFunctions(RuntimeBase):
    """The ini functions, and the directives' values as the other concerns read them."""

    @php_function
    def ini_get(self, option: str) -> str | bool:
        """The directive's value as a string, or False for one phprt does not know (INI-GET-1)."""
        if option not in self._ini:
            return False
        return self._ini_str(option)

    def _ini_str(self, name: str) -> str:
        return self._ini[name] or ""

    def _ini_flag(self, name: str) -> bool:
        return ini_bool(self._ini_str(name))

    @php_function
    def get_cfg_var(self, option: str) -> str | bool:
        """The value php.ini or ``-d`` gave ``option`` -- ``Runtime(ini=...)`` here --, known
        directive or not, or False when none did (INI-UNKNOWN-1)."""
        return self._configuration.get(option, False)

    @php_function
    def ini_set(self, option: str, value: Any) -> str | bool:
        """Set a directive changeable at run time; returns the old value, or False (INI-SET-1)."""
        directive = DIRECTIVES.get(option)
        if directive is None or not directive.modifiable & INI_USER:
            return False
        old, new = self._ini_str(option), ini_value(value)
        warning = ini_quantity_warning(option, new)
        if warning is not None:  # zend_ini_parse_quantity_warn(): the value is kept (INI-SET-4)
            self._error(C.E_WARNING, warning)
        hook = _ON_UPDATE.get(directive.on_update or "")
        if hook is not None and not getattr(self, hook)(new):
            return False
        self._ini[option] = new
        return old

    def _update_header_default(self, value: str) -> bool:
        # OnUpdateDefaultCharset, OnUpdateDefaultMimeTye: no CR, LF or NUL (HDR-DEFAULT-3),
        # and nothing the charset cannot encode (DEV-HEADER-BYTES-1)
        return not any(char in value for char in "\r\n\0") and encodable(value, self.charset)
