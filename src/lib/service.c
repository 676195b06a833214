/* service.c: being written */
