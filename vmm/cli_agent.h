/* SPDX-License-Identifier: MIT */
/*
 * The CLI verbs that talk to a running machine's guest agent through
 * libflashpan (fp_machine_attach on the VMM's vsock socket): flashpan exec,
 * cp and ls. argv[0] is the verb; each returns the process exit status.
 */
#ifndef FLASHPAN_VMM_CLI_AGENT_H
#define FLASHPAN_VMM_CLI_AGENT_H

int cli_exec(int argc, char **argv);
int cli_cp(int argc, char **argv);
int cli_ls(int argc, char **argv);

#endif
