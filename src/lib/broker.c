/* broker.c: being written */
