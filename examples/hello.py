"""A PHP snippet ported line by line: an output handler that post-processes the page.

    <?php
    function callback($buffer, $phase) {
        return str_replace("apples", "oranges", $buffer);
    }
    ob_start("callback");
    echo "<p>It's like comparing apples to oranges.</p>\n";
    printf("<p>%d handler(s): %s</p>\n", ob_get_level(), implode(", ", ob_list_handlers()));
    ob_end_flush();
    echo [1, 2];   // Warning: Array to string conversion
"""

from phprt.php import *


def callback(buffer, phase):
    return buffer.replace("apples", "oranges")


ob_start("callback")
echo("<p>It's like comparing apples to oranges.</p>\n")
echo("<p>%d handler(s): %s</p>\n" % (ob_get_level(), ", ".join(ob_list_handlers())))
ob_end_flush()
echo([1, 2])
