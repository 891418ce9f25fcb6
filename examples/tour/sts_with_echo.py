"""The original close-the-connection-early script with echo() for phpinfo() -- the case
arr1's note (php.net #71172) describes: "Which works fine until you substitute phpinfo()
for echo ('text I want user to see'); in which case the headers are never sent!"

    <?php
    header("Connection: close");
    ob_start();
    echo ('text I want user to see');   // was: phpinfo();
    $size=ob_get_length();
    header("Content-Length: $size");
    ob_end_flush();
    flush();
    sleep(13);
    error_log("do something in the background");
    ?>

Traced in the tour (examples/tour/README.md) as php-cgi with php.ini's output buffer:

    python -m phprt trace --sapi cgi -d output_buffering=4096 -d error_log=phprt-example.log --no-sleep examples/tour/sts_with_echo.py
"""

from phprt.php import *

header("Connection: close")
ob_start()
echo('text I want user to see')
size = ob_get_length()
header(f"Content-Length: {size}")
ob_end_flush()
flush()
sleep(13)
error_log("do something in the background")
