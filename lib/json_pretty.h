/* json_pretty.h: indent compact JSON for people. Private to the library. */
#ifndef SFL_JSON_PRETTY_H
#define SFL_JSON_PRETTY_H

/* A malloc'd, 2-space indented copy of `json` (which must be valid JSON),
 * ending in a newline; NULL when out of memory. */
char *sfl_json_pretty(const char *json);

#endif
