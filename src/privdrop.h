/* Dropping root privileges at start-up. */
#ifndef NW_PRIVDROP_H
#define NW_PRIVDROP_H
#include <stdbool.h>
#include <stddef.h>

/*
 * When running as root and `user` is non-empty, switches to that user, its
 * primary group and the groups it is a member of (initgroups), so that the
 * files it may read as a member of a group are readable. Returns false with
 * a message when the user is unknown or the switch fails.
 */
bool nw_drop_privileges(const char *user, char *err, size_t errlen);

/*
 * Run as root before nw_drop_privileges(): when the file `path` does not
 * exist, creates it (mode 0640) owned by `user` and its primary group, so
 * that the user can open it again later (the access log's SIGUSR1 reopen).
 * An existing file is left alone. Returns false with a message on failure;
 * does nothing when not root or `user` is empty.
 */
bool nw_create_for_user(const char *path, const char *user, char *err,
			size_t errlen);

#endif
