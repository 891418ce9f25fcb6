from contextvars import ContextVar
from typing import Any, Callable

VERSION: int

def function(name: str, active: ContextVar[Any], fallback: Callable[..., Any], no_arguments: bool, module: str,
             doc: str | None, /) -> Callable[..., Any]: ...
def direct(name: str, active: ContextVar[Any], fallback: Callable[..., Any], module: str, doc: str | None,
           /) -> Callable[..., Any]: ...
