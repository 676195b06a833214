/* host.c: being written */
