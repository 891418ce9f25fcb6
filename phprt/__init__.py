"""phprt: PHP's script-runtime semantics -- output buffering, headers, connection
handling -- reimplemented in Python, to the byte.

    from phprt import Runtime, MemoryTransport

    with Runtime(transport=MemoryTransport()) as rt:
        rt.ob_start(lambda buffer, phase: buffer.upper())
        rt.echo("hello")
"""

from .engine.constants import *  # noqa: F403 - PHP's constants, listed in _constants.__all__
from .engine.constants import __all__ as _constant_names
from .engine.diagnostics import Diagnostic
from .engine.errors import ArgumentCountError, Bailout, PhpError, StartupFailed
from .engine.runtime import Runtime
from .engine.values import Ref
from .transports import CgiTransport, CliTransport, MemoryTransport
from .transports.base import ResponseHead, Transport

__version__ = "0.1.0"

__all__ = [
    "ArgumentCountError",
    "Bailout",
    "CgiTransport",
    "CliTransport",
    "Diagnostic",
    "MemoryTransport",
    "PhpError",
    "Ref",
    "ResponseHead",
    "Runtime",
    "StartupFailed",
    "Transport",
    *_constant_names,
]
