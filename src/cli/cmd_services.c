/* cmd_services.c: being written */
