/* cmd_status.c: being written */
