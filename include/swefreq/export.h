/* swefreq/export.h: symbol visibility and compiler attributes. */
#ifndef SWEFREQ_EXPORT_H
#define SWEFREQ_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define SFL_API __attribute__((visibility("default")))
#define SFL_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define SFL_WUR __attribute__((warn_unused_result))
#else
#define SFL_API
#define SFL_PRINTF(f, a)
#define SFL_WUR
#endif

#endif
