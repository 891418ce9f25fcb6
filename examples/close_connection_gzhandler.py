"""Output a string and close the connection, with ob_gzhandler in mind.

Ports the note by "Anonymous" (php.net note #107027), "This simple function
outputs a string and closes the connection. It considers compression using
"ob_gzhandler"":

    <?php
    function outputStringAndCloseConnection2($stringToOutput)
    {
        set_time_limit(0);
        ignore_user_abort(true);
        // buffer all upcoming output - make sure we care about compression:
        if(!ob_start("ob_gzhandler"))
            ob_start();
        echo $stringToOutput;
        // get the size of the output
        $size = ob_get_length();
        // send headers to tell the browser to close the connection
        header("Content-Length: $size");
        header('Connection: close');
        // flush all output
        ob_end_flush();
        ob_flush();
        flush();
        // close current session
        if (session_id()) session_write_close();
    }
    ?>

The last line stays: no session is started here, so session_id() is "" and
nothing is closed; after a session_start() it would write the session and release
its lock (spec/sessions.md). The note only defines the function: the port calls it and then does the
background work, a line appended with ``error_log(line, 3, LOG)`` to the file
named by the PHPRT_EXAMPLE_LOG environment variable. Setting Content-Length turns zlib.output_compression off,
so ob_gzhandler passes the page through uncompressed and Content-Length stays
true. ob_flush() expects the default output buffer (output_buffering=4096 in the
php.ini PHP ships). With zlib.output_compression=On, ob_start("ob_gzhandler")
fails (with a warning and a notice in the page) and the fallback ob_start() runs.

Run it as php-cgi for a client that accepts gzip:

    HTTP_ACCEPT_ENCODING=gzip python -m phprt run --sapi cgi -d output_buffering=4096 examples/close_connection_gzhandler.py
"""

import os

from phprt.php import *

LOG = os.environ.get("PHPRT_EXAMPLE_LOG", "phprt-example.log")


def outputStringAndCloseConnection2(stringToOutput):
    set_time_limit(0)
    ignore_user_abort(True)
    # buffer all upcoming output - make sure we care about compression:
    if not ob_start("ob_gzhandler"):
        ob_start()
    echo(stringToOutput)
    # get the size of the output
    size = ob_get_length()
    # send headers to tell the browser to close the connection
    header(f"Content-Length: {size}")
    header('Connection: close')
    # flush all output
    ob_end_flush()
    ob_flush()
    flush()
    # close current session
    if session_id():
        session_write_close()


# added: the call and the work the connection was closed for
outputStringAndCloseConnection2("Your report is being prepared.")
sleep(10)
error_log("report prepared\n", 3, LOG)
