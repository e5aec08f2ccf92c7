/* version.c: the library's version. */
#include "swefreq/swefreq.h"

const char *sfl_version(void) { return SFL_VERSION_STRING; }
