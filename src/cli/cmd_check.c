/* cmd_check.c: being written */
