"""Close the connection early, the first way: Content-Length and Connection: close.

Ports the script that "arr1 at hotmail dot co dot uk" quotes in the note
"Closing the users browser connection whilst keeping your php script running
has been an issue since 4.1, ..." (php.net note #71172) as the original
solution posted by "sts at mail dot xubion dot hu":

    <?php
    header("Connection: close");
    ob_start();
    phpinfo();
    $size=ob_get_length();
    header("Content-Length: $size");
    ob_end_flush();
    flush();
    sleep(13);
    error_log("do something in the background");
    ?>

phprt has no phpinfo(): the port echoes a page of the same kind (100 table rows,
6400 bytes) instead. The script works only while that page is longer than the
default output buffer (output_buffering=4096 in the php.ini PHP ships), because
ob_end_flush() hands the page to that buffer and flush() does not empty it:
with output_buffering=8192 nothing reaches the client before the script ends,
which is the failure arr1's note goes on to fix (close_connection_early.py).
error_log() is PHP's: its line goes where the error_log directive says, as
"[03-Dec-2026 19:00:00 UTC] do something in the background" (php.ini's
``error_log = FILE``, here ``-d error_log=FILE``), and without one to the SAPI's
log: stderr under ``run``, the console under ``serve``, nginx's error log through
FastCGI.

Run it as php-cgi with php.ini's output buffer and an error log would:

    python -m phprt run --sapi cgi -d output_buffering=4096 -d error_log=phprt-example.log examples/close_connection_original.py
"""

from phprt.php import *

header("Connection: close")
ob_start()
echo('<tr><td class="e">directive </td><td class="v">value </td></tr>\n' * 100)  # phpinfo();
size = ob_get_length()
header(f"Content-Length: {size}")
ob_end_flush()
flush()
sleep(13)
error_log("do something in the background")
