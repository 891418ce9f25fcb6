"""Exceptions phprt raises.

    Exception
     ├── PhpError              PHP's \\Error (e.g. "Object of class X could not be converted to string")
     │    └── UndefinedFunction  "Call to undefined function f()"
     ├── TypeError             PHP's TypeError, with PHP's message
     │    └── ArgumentCountError
     └── ValueError            PHP's ValueError, with PHP's message
    BaseException
     └── Bailout               the script was stopped (a fatal error); Runtime ends the request
          ├── Exit             exit/die: PHP 8's "unwind exit", which a handler's call passes on
          └── StartupFailed    the request could not start: the script must not run
"""

from __future__ import annotations


class PhpError(Exception):
    """PHP's ``\\Error``: raised where PHP 8.2 throws an Error."""


class UndefinedFunction(PhpError):
    """PHP's Error for a call of a function the request's PHP does not have (a version's or
    a SAPI's, RT-REGISTRY-1): the function is never entered, so PHP's trace has no frame of it."""

    def __init__(self, name: str) -> None:
        super().__init__(f"Call to undefined function {name}()")


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


class Exit(Bailout):
    """``exit``/``die``. PHP 8 implements exit as an internal exception that unwinds
    the stack rather than as a bailout: inside an output handler or a header callback
    that PHP code called, it ends the callback's call (a failed call) and stops the
    script when that code resumes, as a thrown exception would (OUT-EXIT-1)."""


class StartupFailed(Bailout):
    """php_request_startup() failed: a bailout during start-up (the client was gone
    when a start-up diagnostic was displayed). PHP then runs no script, only the
    request's shutdown, and the CLI exits 1 (RT-STARTUP-2). ``with Runtime(...)``
    raises it from ``__enter__``, the request already ended, so that the block's
    body (the script) does not run."""

    def __init__(self) -> None:
        super().__init__(1)


__all__ = ["ArgumentCountError", "Bailout", "Exit", "PhpError", "StartupFailed", "UndefinedFunction"]
