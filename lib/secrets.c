/* secrets.c: the process-wide list of strings no message may carry.
 *
 * The design is simple: a small array of copies under a mutex, an atomic
 * count so that a process that never registered anything pays one load per
 * message, and an in-place scrub ("***" is never longer than a registered
 * secret, so the message only shrinks). Longest secrets are replaced first,
 * so that a secret containing another is not left half visible.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "secrets.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char *list[SFL_SECRETS_MAX];
static size_t lens[SFL_SECRETS_MAX];
static size_t next_slot;
static atomic_int count;

void sfl_secret_add(const char *s, size_t n)
{
    if (!s || n < SFL_SECRET_MIN)
        return;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < SFL_SECRETS_MAX; i++)
        if (list[i] && lens[i] == n && strncasecmp(list[i], s, n) == 0) {
            pthread_mutex_unlock(&lock);
            return;
        }
    char *c = malloc(n + 1);
    if (c) {
        memcpy(c, s, n);
        c[n] = '\0';
        size_t slot = next_slot++ % SFL_SECRETS_MAX;
        free(list[slot]);
        list[slot] = c;
        lens[slot] = n;
        int k = 0;
        for (size_t i = 0; i < SFL_SECRETS_MAX; i++)
            k += list[i] != NULL;
        atomic_store(&count, k);
    }
    pthread_mutex_unlock(&lock);
}

/* Replaces every case-folded occurrence of s (length n) in msg by ***. */
static void scrub_one(char *msg, const char *s, size_t n)
{
    char *w = msg;
    for (const char *r = msg; *r;) {
        if (strncasecmp(r, s, n) == 0) {
            memcpy(w, "***", 3);
            w += 3;
            r += n;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
}

void sfl_secrets_scrub(char *msg)
{
    if (!msg || atomic_load(&count) == 0)
        return;
    pthread_mutex_lock(&lock);
    bool done[SFL_SECRETS_MAX] = {false};
    for (;;) {
        size_t best = SFL_SECRETS_MAX;
        for (size_t i = 0; i < SFL_SECRETS_MAX; i++)
            if (list[i] && !done[i] && (best == SFL_SECRETS_MAX || lens[i] > lens[best]))
                best = i;
        if (best == SFL_SECRETS_MAX)
            break;
        done[best] = true;
        scrub_one(msg, list[best], lens[best]);
    }
    pthread_mutex_unlock(&lock);
}

void sfl_secrets_clear(void)
{
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < SFL_SECRETS_MAX; i++) {
        free(list[i]);
        list[i] = NULL;
        lens[i] = 0;
    }
    next_slot = 0;
    atomic_store(&count, 0);
    pthread_mutex_unlock(&lock);
}
