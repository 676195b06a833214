/* authorize.c: being written */
