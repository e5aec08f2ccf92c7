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
#include "swefreq/version.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The library's version, e.g. "0.1.0". */
SFL_API const char *sfl_version(void);

/* Call once per process before any other call, from one thread. It
 * initialises libmongoc and routes libmongoc's log to nowhere, so that
 * nothing the library calls prints. htslib (1.16) has no log callback: its
 * messages are not forwarded but suppressed, by setting htslib's
 * process-wide log level to "off" while a job runs and restoring the
 * caller's level after the last concurrent job ends; every condition
 * htslib would have reported comes back as an sfl_error_t or a counted
 * warning instead. Calling sfl_init again is harmless. */
SFL_API void sfl_init(void);

/* Call once at exit, after every object was destroyed. */
SFL_API void sfl_cleanup(void);

#ifdef __cplusplus
}
#endif
#endif
