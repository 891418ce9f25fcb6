"""Close the connection early with Content-Encoding: none and ignore_user_abort(true).

Ports the note by "tom lgold2003 at gmail dot com" (php.net note #93441), "hey,
thanks to arr1, and it is very useful for me, when I need to return to the user
fast and then do something else.":

    <?php
    ob_end_clean();
    header("Connection: close\\r\\n");
    header("Content-Encoding: none\\r\\n");
    ignore_user_abort(true); // optional
    ob_start();
    echo ('Text user will see');
    $size = ob_get_length();
    header("Content-Length: $size");
    ob_end_flush();     // Strange behaviour, will not work
    flush();            // Unless both are called !
    ob_end_clean();

    //do processing here
    sleep(5);

    echo('Text user will never see');
    //do some processing
    ?>

header() drops the trailing "\\r\\n" of the first two headers. The second
ob_end_clean() finds no buffer left and prints a notice after the 18 bytes the
client was promised; a client that honours Content-Length sees neither it nor the
last echo. Because of ignore_user_abort(true), a client that hangs up does not
stop the script. The first ob_end_clean() expects the default output buffer
(output_buffering=4096 in the php.ini PHP ships).

Run it as php-cgi with php.ini's output buffer would:

    python -m phprt run --sapi cgi -d output_buffering=4096 examples/close_connection_content_encoding_none.py
"""

from phprt.php import *

ob_end_clean()
header("Connection: close\r\n")
header("Content-Encoding: none\r\n")
ignore_user_abort(True)  # optional
ob_start()
echo('Text user will see')
size = ob_get_length()
header(f"Content-Length: {size}")
ob_end_flush()  # Strange behaviour, will not work
flush()  # Unless both are called !
ob_end_clean()

# do processing here
sleep(5)

echo('Text user will never see')
# do some processing
