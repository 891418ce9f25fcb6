"""Exceptions phprt raises.

    Exception
     ├── PhpError              PHP's \\Error (e.g. "Object of class X could not be converted to string")
     ├── TypeError             PHP's TypeError, with PHP's message
     │    └── ArgumentCountError
     └── ValueError            PHP's ValueError, with PHP's message
    BaseException
     └── Bailout               the script was stopped (a fatal error); Runtime ends the request
"""

from __future__ import annotations


class PhpError(Exception):
    """PHP's ``\\Error``: raised where PHP 8.2 throws an Error."""


class ArgumentCountError(TypeError):
    """PHP's ``ArgumentCountError``."""


class Bailout(BaseException):
    """The script was stopped, as PHP's ``zend_bailout()`` stops it (DIAG-FATAL-1).

    It derives from BaseException so that a ported script's ``except Exception:``
    cannot swallow it; the ``with Runtime(...)`` block catches it and ends the
    request the way PHP does.
    """

    def __init__(self, exit_status: int = 255) -> None:
        super().__init__(exit_status)
        self.exit_status = exit_status


__all__ = ["ArgumentCountError", "Bailout", "PhpError"]
