"""arr1's fix (examples/close_connection_early.py) without its flush(): "Strange
behaviour, will not work ... Unless both are called!" Under PHP-FPM the 22 bytes
ob_end_flush() writes wait in PHP-FPM's 8 KiB record buffer (SAPI-FPM-1) until
something flushes it -- here, the end of the request, after the work.

    python -m phprt trace --sapi fpm -d output_buffering=4096 --no-sleep examples/tour/arr1_without_flush.py
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
# flush()       # Unless both are called !
sleep(30)
echo('Text user will never see')
