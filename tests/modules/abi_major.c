/* abi_major.c: being written */
