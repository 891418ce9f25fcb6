"""A shutdown function that cleans up only when the client aborted.

Ports the second script of the note by "a1n2ton at gmail dot com" (php.net note
#95087), "PHP changes directory on connection abort so code like this will not do
what you want:":

    <?php
    function abort()
    {
         global $dsd;
         if(connection_aborted())
               unlink($dsd.'/file.ini');
    }
    register_shutdown_function('abort');
    $dsd=getcwd();
    ?>

(The note's first script unlinks the relative 'file.ini', which goes wrong
where the working directory in shutdown functions is not the script's: the note
says Apache changes it. php-cgi, for its part, runs the script in the script's
own directory, so getcwd() is that directory there.) The note's fragment writes nothing, and PHP
notices a hang-up only when it writes: the port adds a page that writes a line,
works, then writes another, so that a client that leaves after the first line
makes connection_aborted() true in abort(). unlink() is os.unlink and getcwd()
os.getcwd().

Run it as php-cgi would (it removes ./file.ini only if the client went away):

    python -m phprt run --sapi cgi examples/shutdown_abort_cleanup.py
"""

import os

from phprt.php import *


def abort():
    global dsd
    if connection_aborted():
        os.unlink(dsd + '/file.ini')


register_shutdown_function('abort')
dsd = os.getcwd()

# added: the rest of the page
echo("Working...\n")
flush()
sleep(2)
echo("Done.\n")
