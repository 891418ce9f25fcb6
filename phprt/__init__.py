"""phprt: PHP's script-runtime semantics -- output buffering, headers, connection
handling -- reimplemented in Python, to the byte.

    from phprt import Runtime, MemoryTransport

    with Runtime(transport=MemoryTransport()) as rt:
        rt.ob_start(lambda buffer, phase: buffer.upper())
        rt.echo("hello")
"""

from ._constants import *  # noqa: F403 - PHP's constants, listed in _constants.__all__
from ._constants import __all__ as _constant_names
from ._diagnostics import Diagnostic
from ._errors import ArgumentCountError, Bailout, PhpError
from ._runtime import Runtime
from ._transport import ResponseHead, Transport
from ._values import Ref
from .transports import CgiTransport, CliTransport, MemoryTransport

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
    "Transport",
    *_constant_names,
]
