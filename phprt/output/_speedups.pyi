from typing import Callable

VERSION: int

def echo_into(target: list[list[str | bytes] | None], fallback: Callable[..., None], /) -> Callable[..., None]: ...
