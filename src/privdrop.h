/* Dropping root privileges after start-up. */
#ifndef NW_PRIVDROP_H
#define NW_PRIVDROP_H
#include <stdbool.h>
#include <stddef.h>

/*
 * When running as root and `user` is non-empty, switches to that user and
 * its primary group (supplementary groups cleared). Returns false with a
 * message when the user is unknown or the switch fails.
 */
bool nw_drop_privileges(const char *user, char *err, size_t errlen);

#endif
