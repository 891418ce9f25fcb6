"""The fault suite's own script: output in steps, and a shutdown function that records
connection_status() (tests/frontends/test_faults.py).

The PHP it ports, which tests/scripts/faults/record.py runs under ``php -S`` and PHP-FPM:

    <?php
    function logline($line) { file_put_contents(getenv('PHPRT_EXAMPLE_LOG'), "$line\\n", FILE_APPEND); }
    function recorded() { logline("shutdown: connection_status()=" . connection_status()); }
    register_shutdown_function('recorded');
    sleep(1);                           // nothing is sent yet
    echo "one\\n"; flush(); logline("one sent"); sleep(1);
    echo "two\\n"; flush(); logline("two sent"); sleep(1);
    echo "three\\n"; logline("three sent"); sleep(1);  // no flush: under PHP-FPM it stays in the record buffer
    echo "four\\n"; logline("four sent");
    logline("end of script");

The fault suite makes each sleep() a gate at which the client may hang up.
"""

import os

from phprt.php import *

LOG = os.environ.get("PHPRT_EXAMPLE_LOG", "phprt-example.log")


def logline(line):
    with open(LOG, "a") as log:
        log.write(line + "\n")


def recorded():
    logline(f"shutdown: connection_status()={connection_status()}")


register_shutdown_function('recorded')
sleep(1)  # nothing is sent yet
echo("one\n")
flush()
logline("one sent")
sleep(1)
echo("two\n")
flush()
logline("two sent")
sleep(1)
echo("three\n")
logline("three sent")
sleep(1)  # no flush: under PHP-FPM it stays in the record buffer
echo("four\n")
logline("four sent")
logline("end of script")
