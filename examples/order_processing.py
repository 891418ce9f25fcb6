"""An order that is processed to the end even if the visitor leaves.

The notes by "pulstar at mail dot com" (php.net note #34800), "These functions
are very useful for example if you need to control when a visitor in your
website place an order ...", and by "Lee" (#45779), "The point mentioned in the
last comment isn't always the case.", describe this script but contain no code:
it is written from their description, not ported. ignore_user_abort(true) lets
the order be registered completely even if the visitor hits STOP (Lee: without
it, the card was charged but the order never reached the database); a shutdown
function then checks connection_aborted() and sets the order as not confirmed if
the visitor left (pulstar). The database is a file: one line per step, appended
with ``error_log(line, 3, LOG)`` to the file named by the PHPRT_EXAMPLE_LOG
environment variable.

Run it as php-cgi would:

    python -m phprt run --sapi cgi examples/order_processing.py
"""

import os

from phprt.php import *

LOG = os.environ.get("PHPRT_EXAMPLE_LOG", "phprt-example.log")


def logline(line):  # the database: a line in LOG
    error_log(line + "\n", 3, LOG)


order_id = 1001
products = ["book", "lamp", "chair"]


def check_order(order_id):
    if connection_aborted():
        logline(f"order {order_id}: visitor left, set as not confirmed")
    else:
        logline(f"order {order_id}: confirmed")


ignore_user_abort(True)
register_shutdown_function('check_order', order_id)
echo("<p>Processing your order...</p>\n")
flush()
for product in products:
    sleep(1)  # charge the card, insert the row
    logline(f"order {order_id}: registered {product}")
    echo(f"<p>{product} registered</p>\n")
    flush()
logline(f"order {order_id}: committed")
echo("<p>Thank you!</p>\n")
