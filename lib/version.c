/* version.c: the library's version. */
#include "swefreq/swefreq.h"

const char *sfl_version(void) { return SFL_VERSION_STRING; }

unsigned long sfl_version_hex(void) { return SFL_VERSION_HEX; }

bool sfl_version_check(unsigned major, unsigned minor, unsigned patch)
{
    return major == SFL_VERSION_MAJOR && SFL_VERSION_HEX >= SFL_VERSION_ENCODE(major, minor, patch);
}
