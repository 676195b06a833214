/* counting.c: being written */
