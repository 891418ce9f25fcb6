"""A long loop that writes as it goes: the STOP button ends it at the next write.

Written from the manual page's text ("With a shutdown function, when the remote
user hits his STOP button, the next time your script tries to output something
PHP will detect that the connection has been aborted and the shutdown function
is called.") and from the notes by "ej" ("I don't think the first example given
below will occur in the real world. ... PHP only senses user aborts when a
script sends output.") and "bg" ("Confirmed.  User presses STOP button. ...") in
the older copy of the page's notes; none of them contains code, so this is not a
port. Each step writes a line and flushes it, then works; a client that leaves
stops the script at the first write after it left, and the shutdown function
sees connection_status() 1 (CONNECTION_ABORTED) and the step it stopped at. The
steps are lines appended with ``error_log(line, 3, LOG)`` to the file named by
the PHPRT_EXAMPLE_LOG environment variable.

Run it as php-cgi would:

    python -m phprt run --sapi cgi examples/stop_button_loop.py
"""

import os

from phprt.php import *

LOG = os.environ.get("PHPRT_EXAMPLE_LOG", "phprt-example.log")


def logline(line):
    error_log(line + "\n", 3, LOG)


def stopped():
    global step
    logline(f"shutdown: connection_status()={connection_status()} at step {step}")


register_shutdown_function('stopped')
for step in range(1, 6):
    echo(f"Step {step} done<br>\n")
    flush()
    logline(f"step {step}")
    sleep(1)
logline("finished")
