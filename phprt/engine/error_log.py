"""PHP's error_log() (LOG-*): ``_php_error_log_ex()`` of ext/standard/basic_functions.c.

Type 0 is php_log_err(): the ``error_log`` ini file, one ``[03-Dec-2026 19:00:00
UTC] message`` line (PHP 8.2 without date.timezone writes UTC), else the SAPI's log,
the same path diagnostics take under ``log_errors`` (engine/error_functions.py).
Type 4 is the SAPI's log itself; type 3 appends to a file; type 1 hands a mail to
``sendmail_path`` as php_mail() does; type 2 is PHP's ValueError.
"""

from __future__ import annotations

import os
from typing import Any

from . import constants as C
from .error_functions import ErrorFunctions
from .functions import php_function
from .values import PHP_BYTES

__all__ = ["DEFAULT_SENDMAIL_PATH", "ErrorLogFunctions"]

#: PHP's sendmail_path when no ini sets it (PHP_PROG_SENDMAIL " -t -i").
DEFAULT_SENDMAIL_PATH = "/usr/sbin/sendmail -t -i"


class ErrorLogFunctions(ErrorFunctions):
    """error_log()."""

    @php_function
    def error_log(self, message: Any, message_type: Any = 0, destination: Any = None,
                  additional_headers: Any = None) -> bool:
        """error_log(): send ``message`` where ``message_type`` says and return whether it
        went (LOG-TYPE-*): 0 (and any type but 1 to 4) to php_log_err() -- the
        ``error_log`` ini file with a timestamp, else the SAPI's log; the message ends
        at a NUL byte, and a line break is added (LOG-TYPE-0-1); 1 a mail to
        ``destination`` (LOG-TYPE-1-1); 2 PHP's ValueError (LOG-TYPE-2-1); 3 appended to
        the file ``destination`` as it is (LOG-TYPE-3-1); 4 the SAPI's log (LOG-TYPE-4-1)."""
        text = self._string_arg("error_log", 1, "message", message)
        kind = self._int_arg("error_log", 2, "message_type", message_type)
        target = None if destination is None else self._string_arg("error_log", 3, "destination", destination)
        headers = None if additional_headers is None else self._string_arg(
            "error_log", 4, "additional_headers", additional_headers)
        if kind == 3 and target is not None and "\0" in target:  # Z_PARAM_PATH
            raise ValueError("error_log(): Argument #3 ($destination) must not contain any null bytes")
        if kind == 1:
            return self._mail(target or "", "PHP error_log message", text, headers)
        if kind == 2:
            raise ValueError("TCP/IP option is not available for error logging")
        if kind == 3:
            return self._append(target or "", text)
        line = text.split("\0", 1)[0]  # a C string from here on
        if kind == 4:
            self._sapi_log(line)
        else:
            self._log(line)
        return True

    def _append(self, destination: str, message: str) -> bool:
        # php_stream_open_wrapper(destination, "a", REPORT_ERRORS) and one write (LOG-TYPE-3-1)
        if not destination:
            raise ValueError(self.version.empty("Path"))  # "must not" from 8.4 (VER-EMPTY-NAME-1)
        path = destination[len("file://"):] if destination.startswith("file://") else destination
        try:
            with open(path.encode(self.charset, "surrogateescape"), "ab") as stream:
                stream.write(message.encode(self.charset, PHP_BYTES))
        except OSError as error:
            reason = os.strerror(error.errno) if error.errno else str(error)
            self._error(C.E_WARNING, f"error_log({destination}): Failed to open stream: {reason}", docref=True)
            return False
        return True

    def _mail(self, to: str, subject: str, message: str, headers: str | None) -> bool:
        # php_mail(): the mail on the standard input of ``sendmail_path`` run by /bin/sh,
        # lines ending in CRLF; true when the command exits 0. Without a
        # mailer the shell says so on the process's stderr and the answer is false (LOG-TYPE-1-1).
        configured = self._configuration.get("sendmail_path", None)  # PHP_INI_SYSTEM: php.ini or -d only
        command = DEFAULT_SENDMAIL_PATH if configured is None else str(configured)
        if not command:
            return False
        message = message.split("\0", 1)[0]  # written with "%s"
        mail = f"To: {to}\r\nSubject: {subject}\r\n"
        if headers is not None:
            mail += f"{headers}\r\n"
        mail += f"\r\n{message}\r\n"
        try:
            import subprocess  # only for a piped error_log: not at every start (issue 13)

            completed = subprocess.run(["sh", "-c", command], executable="/bin/sh",  # popen()'s execl()
                                       input=mail.encode(self.charset, PHP_BYTES), check=False)
        except OSError:
            self._error(C.E_WARNING, f"error_log(): Could not execute mail delivery program '{command}'", docref=True)
            return False
        return completed.returncode == 0  # pclose()'s raw status against EX_OK/EX_TEMPFAIL: only 0 matches
