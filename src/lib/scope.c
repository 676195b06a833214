/* scope.c: being written */
