/* context.c: being written */
