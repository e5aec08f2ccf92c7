/* roles.c: the names of a database's roles (swefreq/lifecycle.h).
 *
 * Only the words: "development", "live" (and "none" for a database without
 * a role record). Reading and changing the role record of a server is
 * lifecycle.c's job; the words live down here so that anything that prints
 * a role (the dump verifier's report, the CLI) reaches them without
 * depending on the server side.
 */
#include <string.h>

#include "swefreq/lifecycle.h"

const char *sfl_role_name(sfl_role_t r)
{
    switch (r) {
    case SFL_ROLE_NONE: return "none";
    case SFL_ROLE_DEVELOPMENT: return "development";
    case SFL_ROLE_LIVE: return "live";
    default: return "unknown";
    }
}

bool sfl_role_parse(const char *name, sfl_role_t *out)
{
    if (!name || !out)
        return false;
    if (!strcmp(name, "development") || !strcmp(name, "dev"))
        *out = SFL_ROLE_DEVELOPMENT;
    else if (!strcmp(name, "live"))
        *out = SFL_ROLE_LIVE;
    else
        return false;
    return true;
}
