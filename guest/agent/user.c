// SPDX-License-Identifier: MIT
/* User and group resolution from /etc/passwd and /etc/group; see user.h. */
#include "guest/agent/user.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool parse_id(const char *s, unsigned long *out)
{
	char *end;

	if (!s[0] || s[0] == '-' || s[0] == '+')
		return false;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return !errno && !*end && *out < 0xffffffffUL;
}

/*
 * Splits a colon-separated line into at most max fields, in place. Returns
 * the number of fields.
 */
static int split_fields(char *line, char **f, int max)
{
	int n = 0;

	line[strcspn(line, "\n")] = 0;
	while (n < max) {
		f[n++] = line;
		line = strchr(line, ':');
		if (!line)
			break;
		*line++ = 0;
	}
	return n;
}

/* Finds a passwd entry by name (name != NULL) or by uid. */
static bool passwd_lookup(const char *path, const char *name, uid_t uid, uid_t *uid_out,
			  gid_t *gid_out, char *name_out, size_t name_len)
{
	FILE *f = fopen(path, "re");
	char *line = NULL, *fld[7];
	size_t cap = 0;
	bool found = false;

	if (!f)
		return false;
	while (!found && getline(&line, &cap, f) > 0) {
		unsigned long u, g;

		if (line[0] == '#' || split_fields(line, fld, 7) < 4)
			continue;
		if (!parse_id(fld[2], &u) || !parse_id(fld[3], &g))
			continue;
		if (name ? strcmp(fld[0], name) != 0 : u != uid)
			continue;
		*uid_out = u;
		*gid_out = g;
		snprintf(name_out, name_len, "%s", fld[0]);
		found = true;
	}
	free(line);
	fclose(f);
	return found;
}

/*
 * One pass over /etc/group: resolves a group name (when want_name is set)
 * and collects the groups that list user as a member.
 */
static bool group_scan(const char *path, const char *want_name, gid_t *gid_out,
		       const char *user, struct user_cred *cred)
{
	FILE *f = fopen(path, "re");
	char *line = NULL, *fld[4];
	size_t cap = 0;
	bool found = false;

	if (!f)
		return false;
	while (getline(&line, &cap, f) > 0) {
		unsigned long g;
		char *m, *save = NULL;

		if (line[0] == '#' || split_fields(line, fld, 4) < 3 || !parse_id(fld[2], &g))
			continue;
		if (want_name && !found && strcmp(fld[0], want_name) == 0) {
			*gid_out = g;
			found = true;
		}
		if (!user || !user[0] || !cred)
			continue;
		for (m = strtok_r(fld[3] ? fld[3] : "", ",", &save); m; m = strtok_r(NULL, ",", &save)) {
			size_t i;

			if (strcmp(m, user) != 0)
				continue;
			for (i = 0; i < cred->n_groups && cred->groups[i] != g; i++)
				;
			if (i == cred->n_groups && cred->n_groups < USER_MAX_GROUPS)
				cred->groups[cred->n_groups++] = g;
		}
	}
	free(line);
	fclose(f);
	return found;
}

int user_resolve(const char *spec, const char *passwd_path, const char *group_path,
		 struct user_cred *cred, char *err, size_t errlen)
{
	char buf[256], name[256] = "", *colon, *gpart = NULL;
	unsigned long id;
	uid_t uid = 0;
	gid_t gid = 0;

	memset(cred, 0, sizeof(*cred));
	if (strlen(spec) >= sizeof(buf)) {
		snprintf(err, errlen, "user %.64s...: too long", spec);
		return -EINVAL;
	}
	strcpy(buf, spec);
	colon = strchr(buf, ':');
	if (colon) {
		*colon = 0;
		gpart = colon + 1;
	}
	if (parse_id(buf, &id)) {
		uid = id;
		/* A uid without a passwd entry gets the gid of the same number. */
		if (!passwd_lookup(passwd_path, NULL, uid, &uid, &gid, name, sizeof(name)))
			gid = uid;
	} else if (!passwd_lookup(passwd_path, buf, 0, &uid, &gid, name, sizeof(name))) {
		snprintf(err, errlen, "unable to find user %s: no matching entries in passwd file", buf);
		return -ENOENT;
	}
	if (gpart) {
		if (parse_id(gpart, &id)) {
			gid = id;
		} else if (!group_scan(group_path, gpart, &gid, NULL, NULL)) {
			snprintf(err, errlen, "unable to find group %s: no matching entries in group file",
				 gpart);
			return -ENOENT;
		}
	}
	cred->uid = uid;
	cred->gid = gid;
	cred->groups[cred->n_groups++] = gid;
	/* Supplementary groups: every group that lists the user, like initgroups(3). */
	group_scan(group_path, NULL, NULL, name, cred);
	return 0;
}
