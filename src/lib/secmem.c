/* secmem.c: being written */
