/* cmd_token.c: being written */
