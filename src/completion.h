/* Shell completion scripts for nano-web's command line. Pure. */
#ifndef NW_COMPLETION_H
#define NW_COMPLETION_H
#include <stdbool.h>

#include "strbuf.h"

/* Appends the completion script for shell ("bash", "zsh" or "fish") to
 * out; false for another shell. */
bool nw_completion_script(const char *shell, struct strbuf *out);

#endif
