/* origin.c: being written */
