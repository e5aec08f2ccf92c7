/* secrets.h: the strings the library must never print. Private.
 *
 * Where a credential enters the library (a MongoDB URI, uri.c) its secret
 * parts are registered here; sfl_error_set() and sfl_logf(), the two doors
 * every message leaves the library by, then replace each registered secret
 * in the text they format by "***". This is the second line of defence: no
 * code of the library formats a credential, and this catches what a driver
 * echoes back. Thread safe (one process-wide list under a mutex). */
#ifndef SFL_SECRETS_H
#define SFL_SECRETS_H

#include <stddef.h>

/* Secrets shorter than this are not registered: they would match ordinary
 * words of every message (a password that short is weak anyway, and the
 * library's own messages never contain it). */
#define SFL_SECRET_MIN 4
/* At most this many distinct secrets are kept; more replace the oldest. */
#define SFL_SECRETS_MAX 64

/* Registers the n bytes at s (copied); shorter than SFL_SECRET_MIN or
 * already registered: nothing. Out of memory: nothing (the message stays
 * as the library formatted it, which holds no credential of its own). */
void sfl_secret_add(const char *s, size_t n);
/* Replaces, in place, every registered secret in msg (ASCII case folded:
 * the driver lower-cases host names it echoes) by "***". */
void sfl_secrets_scrub(char *msg);
/* Forgets every secret (sfl_cleanup). */
void sfl_secrets_clear(void);

#endif
