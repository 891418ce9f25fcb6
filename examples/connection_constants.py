"""The CONNECTION_* constants, and how (not) to test for status 3.

Ports the note by "Marco" (php.net note #120770), "The CONNECTION_XXX constants
that are not listed here for some reason are:":

    0 = CONNECTION_NORMAL
    1 = CONNECTION_ABORTED
    2 = CONNECTION_TIMEOUT
    3 = CONNECTION_ABORTED & CONNECTION_TIMEOUT

    Number 3 is effectively tested like this:
    if (CONNECTION_ABORTED & CONNECTION_TIMEOUT)
        echo 'Connection both aborted and timed out';

The note's test is broken: CONNECTION_ABORTED & CONNECTION_TIMEOUT is 1 & 2, which
is 0, so it never echoes (PHP 8.2 prints nothing for it); status 3 is
CONNECTION_ABORTED | CONNECTION_TIMEOUT. The port prints the table from the
constants, runs the note's test as written, then shows the intended test on
connection_status() in a shutdown function, where the manual says to look.

Run it as php would:

    python -m phprt run examples/connection_constants.py
"""

from phprt.php import *


def report():
    status = connection_status()
    echo(f"connection_status() = {status}\n")
    if (status & CONNECTION_ABORTED) and (status & CONNECTION_TIMEOUT):
        echo('Connection both aborted and timed out')


register_shutdown_function('report')
echo(CONNECTION_NORMAL, " = CONNECTION_NORMAL\n")
echo(CONNECTION_ABORTED, " = CONNECTION_ABORTED\n")
echo(CONNECTION_TIMEOUT, " = CONNECTION_TIMEOUT\n")
echo(CONNECTION_ABORTED | CONNECTION_TIMEOUT, " = CONNECTION_ABORTED & CONNECTION_TIMEOUT\n")
if CONNECTION_ABORTED & CONNECTION_TIMEOUT:
    echo('Connection both aborted and timed out')
echo("CONNECTION_ABORTED & CONNECTION_TIMEOUT = ", CONNECTION_ABORTED & CONNECTION_TIMEOUT, "\n")
