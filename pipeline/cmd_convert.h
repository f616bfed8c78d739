/* `profgate convert`: the format bridge for files. */
#ifndef PG_CMD_CONVERT_H
#define PG_CMD_CONVERT_H

/* Runs the convert command with argv after "convert"; returns the process exit code. */
int pg_cmd_convert(int argc, char **argv);

#endif
