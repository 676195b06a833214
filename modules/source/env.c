/* env.c: being written */
