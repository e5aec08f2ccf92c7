/* swefreq/swefreq.h: the umbrella header of libswefreq-load.
 *
 * libswefreq-load turns bgzipped, VEP-annotated sites VCFs and per-base
 * coverage files into the documents of the SweFreq browser, and writes them
 * to a sink: a dry run, a mongorestore-compatible dump, or MongoDB. Every
 * run records a content-hash manifest that can later prove that a dump or a
 * database still equals its source files.
 *
 * The library never prints and never exits: messages go to the log
 * callback in sfl_options_t, failures come back in sfl_error_t.
 *
 * NULL arguments, in every header: no public function crashes on a NULL
 * handle or a NULL required pointer. A function that can fail then returns
 * false (or NULL) with SFL_E_USAGE in `err` (when `err` is not NULL); a
 * getter returns 0 or NULL; every _destroy and _init accepts NULL and does
 * nothing. tests/test_api.c calls each public function so.
 */
#ifndef SWEFREQ_SWEFREQ_H
#define SWEFREQ_SWEFREQ_H

#include "swefreq/export.h"
#include "swefreq/error.h"
#include "swefreq/sink.h"
#include "swefreq/digest.h"
#include "swefreq/job.h"
#include "swefreq/manifest.h"
#include "swefreq/verify.h"
#include "swefreq/mongo.h"
#include "swefreq/lifecycle.h"
#include "swefreq/sign.h"
#include "swefreq/group.h"
#include "swefreq/version.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The running library's version, e.g. "0.1.0" (swefreq/version.h has the
 * headers' version). */
SFL_API const char *sfl_version(void);

/* The running library's version as SFL_VERSION_HEX, and whether it can
 * serve a program built against headers of version major.minor.patch:
 * true when the library has the same major version and is at least that
 * version. Call sfl_version_check(SFL_VERSION_MAJOR, SFL_VERSION_MINOR,
 * SFL_VERSION_PATCH) at start-up to refuse an older library than the one
 * you built against (the dynamic linker only checks the major version). */
SFL_API unsigned long sfl_version_hex(void);
SFL_API bool sfl_version_check(unsigned major, unsigned minor, unsigned patch);

/* Flags of sfl_init_ex. */
#define SFL_INIT_OWN_MONGOC 0x1u   /* the sfl_cleanup that balances the last
                                    * sfl_init calls mongoc_cleanup(): for a
                                    * host that does not use libmongoc
                                    * itself. After it, libmongoc cannot be
                                    * used again in the process: every later
                                    * call that needs it fails with
                                    * SFL_E_USAGE (libmongoc's own rule). */
#define SFL_INIT_QUIET_MONGOC 0x2u /* replace libmongoc's process-wide log
                                    * handler by one that drops every
                                    * message (the CLI does this). */

/* Prepares the library: initialises libmongoc (mongoc_init, which is
 * idempotent) and nothing else unless `flags` ask for it. Thread-safe;
 * calls are counted, and each should be balanced by one sfl_cleanup.
 *
 * A host program that uses libmongoc itself keeps it: the library never
 * calls mongoc_cleanup() and never replaces libmongoc's log handler unless
 * the host passes SFL_INIT_OWN_MONGOC or SFL_INIT_QUIET_MONGOC. Messages of
 * the library go to the log callback of sfl_options_t, never to
 * libmongoc's handler; messages of libmongoc itself (rare: e.g. a failed
 * "endSessions" when a connection is closed after the server went away)
 * go to whatever handler the host installed, libmongoc's default one
 * printing to stderr. Calling the library without sfl_init also works
 * (libmongoc is initialised at the first connection).
 *
 * htslib (1.16) has no log callback: its messages are not forwarded but
 * suppressed, by setting htslib's process-wide log level to "off" while a
 * job runs and restoring the caller's level after the last concurrent job
 * ends; every condition htslib would have reported comes back as an
 * sfl_error_t or a counted warning instead.
 *
 * Returns false with SFL_E_USAGE for unknown flags, or when an earlier
 * sfl_cleanup already shut libmongoc down (SFL_INIT_OWN_MONGOC). */
SFL_API bool sfl_init_ex(unsigned flags, sfl_error_t *err);

/* sfl_init_ex(0, NULL). */
SFL_API void sfl_init(void);

/* Balances one sfl_init / sfl_init_ex. Harmless when unbalanced (does
 * nothing). When the count drops to zero it forgets the credentials the
 * library noted to keep them out of its messages; only then, and only
 * with SFL_INIT_OWN_MONGOC, does it call mongoc_cleanup(): then call it
 * after every object of the library was destroyed. Thread-safe. */
SFL_API void sfl_cleanup(void);

#ifdef __cplusplus
}
#endif
#endif
