# SPDX-License-Identifier: MIT
"""loopback_server.py: how every test HTTP server here starts: listen on
127.0.0.1 only, on a free port, and publish the port by writing PORTFILE
atomically (a test waits for the file to appear). Standard library only.

Usage from a server script run as `NAME.py PORTFILE LOGFILE`:
    from loopback_server import serve
    serve(Handler, "NAME.py")
The handler finds LOGFILE as self.server.logfile.
"""
import os
import sys
from http.server import ThreadingHTTPServer


def serve(handler, name):
    if len(sys.argv) != 3:
        sys.exit("usage: %s PORTFILE LOGFILE" % name)
    portfile, logfile = sys.argv[1], sys.argv[2]
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    srv.daemon_threads = True
    srv.logfile = logfile
    open(logfile, "a").close()
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(portfile + ".tmp", portfile)
    srv.serve_forever()
