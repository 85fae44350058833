/* SPDX-License-Identifier: MIT */
/*
 * `flashpan --config-file FILE [--api-sock PATH]`: the Firecracker-style JSON
 * VM description a sandbox runtime writes for its hypervisor, translated into
 * the arguments of `flashpan run`, so the runtime can switch hypervisor by
 * changing a binary path.
 */
#ifndef FLASHPAN_CONFIG_FILE_H
#define FLASHPAN_CONFIG_FILE_H

#include <stdbool.h>
#include <stdio.h>

struct config_file_args {
	int argc;
	char **argv; /* "flashpan", "run", ... NULL-terminated; all allocated */
};

/* Whether argv[1] starts the config-file mode (--config-file, --api-sock, ...). */
bool config_file_mode(int argc, char **argv);

/*
 * Parse the config-file command line and the JSON file into `run` arguments.
 * Returns 0, or an exit status: 0 with out->argc == 0 after --help, 2
 * (FP_EXIT_CONFIG) for bad options, unreadable or invalid JSON and missing
 * or mistyped keys, with the reason on stderr. Unknown keys are reported on
 * stderr as warnings and ignored.
 */
int config_file_translate(int argc, char **argv, struct config_file_args *out);

/* Translate the JSON text alone (for tests); warnings and errors go to `log`. */
int config_file_translate_json(const char *json, const char *name, const char *id, bool boot_timer,
			       FILE *log, struct config_file_args *out);

void config_file_args_free(struct config_file_args *a);

#endif
