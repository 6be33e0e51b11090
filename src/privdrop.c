#include "privdrop.h"
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

bool nw_drop_privileges(const char *user, char *err, size_t errlen)
{
	struct passwd *pw;

	if (geteuid() != 0 || !user || !user[0])
		return true;
	errno = 0;
	pw = getpwnam(user);
	if (!pw) {
		snprintf(err, errlen, "user '%s' not found%s%s", user,
			 errno ? ": " : "", errno ? strerror(errno) : "");
		return false;
	}
	if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 ||
	    setuid(pw->pw_uid) != 0) {
		snprintf(err, errlen, "cannot switch to user '%s': %s", user,
			 strerror(errno));
		return false;
	}
	if (pw->pw_uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		snprintf(err, errlen, "privileges could be regained after switching to '%s'", user);
		return false;
	}
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	return true;
}
