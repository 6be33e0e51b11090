#include "privdrop.h"
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <unistd.h>

static bool lookup(const char *user, uid_t *uid, gid_t *gid, char *err,
		   size_t errlen)
{
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(user);
	if (!pw) {
		snprintf(err, errlen, "user '%s' not found%s%s", user,
			 errno ? ": " : "", errno ? strerror(errno) : "");
		return false;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return true;
}

bool nw_drop_privileges(const char *user, char *err, size_t errlen)
{
	uid_t uid;
	gid_t gid;

	if (geteuid() != 0 || !user || !user[0])
		return true;
	if (!lookup(user, &uid, &gid, err, errlen))
		return false;
	if (initgroups(user, gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
		snprintf(err, errlen, "cannot switch to user '%s': %s", user,
			 strerror(errno));
		return false;
	}
	if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		snprintf(err, errlen, "privileges could be regained after switching to '%s'", user);
		return false;
	}
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	return true;
}

bool nw_create_for_user(const char *path, const char *user, char *err,
			size_t errlen)
{
	uid_t uid;
	gid_t gid;
	int fd;

	if (geteuid() != 0 || !user || !user[0])
		return true;
	if (!lookup(user, &uid, &gid, err, errlen))
		return false;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC |
		  O_NOFOLLOW, 0640);
	if (fd < 0) {
		if (errno == EEXIST)
			return true;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return false;
	}
	if (fchown(fd, uid, gid) != 0) {
		snprintf(err, errlen, "%s: chown to '%s': %s", path, user,
			 strerror(errno));
		close(fd);
		return false;
	}
	close(fd);
	return true;
}
