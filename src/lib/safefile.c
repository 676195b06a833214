/* safefile.c: being written */
