"""Redirect the browser, then keep working: Location, Content-Length: 0, flush.

Ports the note by "mheumann at comciencia dot cl" (php.net note #112843), "I had a
lot of problems getting a redirect to work, after which my script was intended
to keep working in the background.":

    <?php
    ignore_user_abort(true);
    set_time_limit(0);

    $strURL = "PUT YOUR REDIRCT HERE";
    header("Location: $strURL", true);
    header("Connection: close", true);
    header("Content-Encoding: none\\r\\n");
    header("Content-Length: 0", true);

    flush();
    ob_flush();

    session_write_close();

    // Continue processing...

    sleep(100);
    exit;
    ?>

session_write_close() stays: here no session was started, so it returns false
and does nothing, as in PHP; in a page that called session_start() it writes the
session and releases its lock, so the page the browser is sent to can open the
same session while this one keeps working (tests/session/test_lock.py). Whether the redirect leaves before the
processing depends on the SAPI: the built-in server (and Apache) send the
headers on flush(), php-cgi and php-fpm only when output starts or the request
ends. ob_flush() expects the default output buffer (output_buffering=4096 in the
php.ini PHP ships); without one it prints a notice after the empty body.

Run it as the built-in server (php -S) would, or as php-cgi:

    python -m phprt run --sapi cli-server -d output_buffering=4096 examples/redirect_then_continue.py
    python -m phprt run --sapi cgi -d output_buffering=4096 examples/redirect_then_continue.py
"""

from phprt.php import *

ignore_user_abort(True)
set_time_limit(0)

strURL = "PUT YOUR REDIRCT HERE"
header(f"Location: {strURL}", True)
header("Connection: close", True)
header("Content-Encoding: none\r\n")
header("Content-Length: 0", True)

flush()
ob_flush()

session_write_close()

# Continue processing...

sleep(100)
exit()
