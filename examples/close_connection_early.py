"""Close the connection early: turn off the default buffer, send Content-Length, flush.

Ports the example of the note by "arr1 at hotmail dot co dot uk" (php.net note
#71172), "Closing the users browser connection whilst keeping your php script
running has been an issue since 4.1, ...":

    <?php
     ob_end_clean();
     header("Connection: close");
     ignore_user_abort(); // optional
     ob_start();
     echo ('Text the user will see');
     $size = ob_get_length();
     header("Content-Length: $size");
     ob_end_flush(); // Strange behaviour, will not work
     flush();            // Unless both are called !
     // Do processing here
     sleep(30);
     echo('Text user will never see');
    ?>

The first ob_end_clean() removes the default output buffer (output_buffering=4096
in the php.ini PHP ships); without one it only prints a notice, which sends the
headers before Content-Length is set. As the note by "Anonymous" (#79134, "in
regards of posting from: arr1 at hotmail dot co dot uk") points out,
ignore_user_abort() without an argument only reads the setting: a client that
hangs up after the 22 bytes it was promised stops the script at the last echo.

Run it as php-cgi with php.ini's output buffer would:

    python -m phprt run --sapi cgi -d output_buffering=4096 examples/close_connection_early.py
"""

from phprt.php import *

ob_end_clean()
header("Connection: close")
ignore_user_abort()  # optional
ob_start()
echo('Text the user will see')
size = ob_get_length()
header(f"Content-Length: {size}")
ob_end_flush()  # Strange behaviour, will not work
flush()  # Unless both are called !
# Do processing here
sleep(30)
echo('Text user will never see')
