/* swefreq/export.h: symbol visibility and compiler attributes. */
#ifndef SWEFREQ_EXPORT_H
#define SWEFREQ_EXPORT_H

#include <stddef.h>

#if defined(__GNUC__) || defined(__clang__)
#define SFL_API __attribute__((visibility("default")))
#define SFL_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define SFL_WUR __attribute__((warn_unused_result))
#else
#define SFL_API
#define SFL_PRINTF(f, a)
#define SFL_WUR
#endif

/* Structs that the caller allocates and the library fills
 * (sfl_role_info_t, sfl_mongo_resume_stats_t, sfl_mongo_recovery_t) begin
 * with `size_t struct_size`: set it to sizeof the struct before the call,
 * e.g. `sfl_role_info_t info = {.struct_size = sizeof info};`. The library
 * fills at most that many bytes and sets struct_size to the bytes it
 * filled, so that a program built against newer headers (a larger struct)
 * runs with an older library and asks SFL_FILLED_HAS whether a field it
 * knows was filled. A struct_size below the struct's first published size
 * is refused (SFL_E_USAGE, or false).
 *
 * Structs the library owns and hands out by pointer (sfl_summary_t,
 * sfl_progress_t, sfl_run_info_t, ...) only grow at the end: read them
 * through the pointer, never copy them by value into your own type.
 * sfl_error_t and sfl_digest_t are fixed-size value types that never
 * change within a major version (see docs/api.md). */
#define SFL_FILLED_HAS(ptr, type, field)                                                           \
    ((ptr)->struct_size >= offsetof(type, field) + sizeof((ptr)->field))

#endif
