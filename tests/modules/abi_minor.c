/* abi_minor.c: being written */
