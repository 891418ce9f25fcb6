"""Redirect under php-fpm: fastcgi_finish_request() ends the response, the script goes on.

Ports the note by "Ilya Penyaev" (php.net note #110184), "I was quite stuck when
trying to make my script redirect the client to another URL and then continue
processing. The reason was php-fpm.":

    <?php
        // redirecting...
        ignore_user_abort(true);
        header("Location: ".$redirectUrl, true);
        header("Connection: close", true);
        header("Content-Length: 0", true);
        ob_end_flush();
        flush();
        fastcgi_finish_request(); // important when using php-fpm!

        sleep (5); // User won't feel this sleep because he'll already be away

        // do some work after user has been redirected
    ?>

The note never sets $redirectUrl (PHP would warn "Undefined variable", and that
warning, printed first, would stop header() from working); the port sets it.
"do some work" is a line appended with ``error_log(line, 3, LOG)`` to the file
named by the PHPRT_EXAMPLE_LOG environment variable. ob_end_flush() expects the default output buffer
(output_buffering=4096 in the php.ini PHP ships); without one it prints a notice.
fastcgi_finish_request() exists only under the "fpm" SAPI profile, on a transport
that can end the response while the script goes on (the MemoryTransport can; the
CLI transport of `python -m phprt run --sapi fpm` cannot, so there the script
stops with "Call to undefined function fastcgi_finish_request()").

Run it as php-fpm would, from the repository's root, and see the response end
before the work:

    python - <<'EOF'
    import runpy, phprt
    transport = phprt.MemoryTransport()
    with phprt.Runtime(transport=transport, sapi="fpm", ini={"output_buffering": "4096"}):
        runpy.run_path("examples/redirect_fastcgi_finish_request.py", run_name="__main__")
    print(transport.events)
    EOF
"""

import os

from phprt.php import *

LOG = os.environ.get("PHPRT_EXAMPLE_LOG", "phprt-example.log")

redirectUrl = "/thank-you.html"  # added: the note leaves $redirectUrl unset

# redirecting...
ignore_user_abort(True)
header("Location: " + redirectUrl, True)
header("Connection: close", True)
header("Content-Length: 0", True)
ob_end_flush()
flush()
fastcgi_finish_request()  # important when using php-fpm!

sleep(5)  # User won't feel this sleep because he'll already be away

# do some work after user has been redirected
error_log("work done after the redirect\n", 3, LOG)  # the work: a line in LOG
