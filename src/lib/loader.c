/* loader.c: being written */
