"""When connection_status() becomes 1, 2 and 3 (the manual's four states: NORMAL 0,
ABORTED 1, TIMEOUT 2, ABORTED and TIMEOUT 3).

The page writes three lines, flushing each, with ignore_user_abort(true) so that a
client that leaves does not stop it; then it works on the CPU past its time limit.
A shutdown function reports the status. Traced in the tour (examples/tour/README.md):

    python -m phprt trace --sapi cgi --time-limit 1 examples/tour/status_codes.py                        # 2
    python -m phprt trace --sapi cgi --time-limit 1 --disconnect-after 5 examples/tour/status_codes.py   # 1, then 3
"""

import time

from phprt.php import *


def report():
    echo(f"shutdown: connection_status() = {connection_status()}\n")


ignore_user_abort(True)
register_shutdown_function(report)
for step in range(3):
    echo(f"step {step}\n")
    flush()
start = time.thread_time()
while time.thread_time() - start < 10: pass  # noqa: E701 - one line, so the timeout's line is always this one
