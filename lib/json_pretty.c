/* json_pretty.c: re-indent compact JSON (as libbson writes it).
 *
 * A single pass that tracks only whether it is inside a string: newlines
 * and indentation go after '{', '[' and ',', and before '}' and ']';
 * whitespace outside strings is dropped. Empty {} and [] stay on one line.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "json_pretty.h"

typedef struct {
    char *s;
    size_t len, cap;
    bool oom;
} buf_t;

static void put(buf_t *b, char c)
{
    if (b->oom)
        return;
    if (b->len + 2 > b->cap) {
        size_t n = b->cap ? b->cap * 2 : 256;
        char *q = realloc(b->s, n);
        if (!q) {
            b->oom = true;
            return;
        }
        b->s = q;
        b->cap = n;
    }
    b->s[b->len++] = c;
}

static void newline(buf_t *b, int depth)
{
    put(b, '\n');
    for (int i = 0; i < depth * 2; i++)
        put(b, ' ');
}

char *sfl_json_pretty(const char *j)
{
    buf_t b = {0};
    int depth = 0;
    bool in_str = false, esc = false;
    for (const char *p = j; *p; p++) {
        char c = *p;
        if (in_str) {
            put(&b, c);
            if (esc)
                esc = false;
            else if (c == '\\')
                esc = true;
            else if (c == '"')
                in_str = false;
            continue;
        }
        switch (c) {
        case ' ': case '\n': case '\t': case '\r':
            break;
        case '"':
            in_str = true;
            put(&b, c);
            break;
        case '{': case '[': {
            const char *q = p + 1;
            while (*q == ' ' || *q == '\n')
                q++;
            if (*q == (c == '{' ? '}' : ']')) {
                put(&b, c);
                put(&b, *q);
                p = q;
                break;
            }
            put(&b, c);
            newline(&b, ++depth);
            break;
        }
        case '}': case ']':
            newline(&b, --depth);
            put(&b, c);
            break;
        case ',':
            put(&b, c);
            newline(&b, depth);
            break;
        case ':':
            put(&b, ':');
            put(&b, ' ');
            break;
        default:
            put(&b, c);
        }
    }
    put(&b, '\n');
    put(&b, '\0');
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}
