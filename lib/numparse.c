/* numparse.c: integer and double parsing for the hot paths.
 *
 * The design is simple: a plain decimal with at most 19 significant digits
 * and a small exponent is converted as an exact integer divided (or
 * multiplied) by an exact power of ten, which IEEE arithmetic rounds
 * correctly when the integer is below 2^53 (Clinger's fast path). Anything
 * else (long mantissas, big exponents, nan/inf) falls back to strtod on a
 * NUL-terminated copy, so the result always equals strtod's. The C locale is
 * assumed for strtod's decimal point; the fast path ignores locale.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "numparse.h"

bool sfl_parse_int64_any(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (len == 0)
        return false;
    if (s[0] == '-' || s[0] == '+') {
        neg = s[0] == '-';
        i = 1;
        if (len == 1)
            return false;
    }
    uint64_t v = 0;
    for (; i < len; i++) {
        unsigned d = (unsigned char)s[i] - '0';
        if (d > 9)
            return false;
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (neg) {
        if (v > (uint64_t)INT64_MAX + 1)
            return false;
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    } else {
        if (v > (uint64_t)INT64_MAX)
            return false;
        *out = (int64_t)v;
    }
    return true;
}

static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* strtod also takes leading blanks, hex floats and other spellings; a
 * VCF or coverage number is a decimal, or nan/inf (any case, signed). */
static bool plain_number(const char *s, size_t len)
{
    size_t i = (len && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
    const char *w = s + i;
    size_t wl = len - i;
    if ((wl == 3 && (!strncasecmp(w, "nan", 3) || !strncasecmp(w, "inf", 3))) ||
        (wl == 8 && !strncasecmp(w, "infinity", 8)))
        return true;
    for (; i < len; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '-' || c == '+'))
            return false;
    }
    return true;
}

static bool parse_slow(const char *s, size_t len, double *out)
{
    if (!plain_number(s, len))
        return false;
    char buf[128];
    char *tmp = len < sizeof buf ? buf : malloc(len + 1);
    if (!tmp)
        return false;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    char *end = NULL;
    errno = 0;
    double v = strtod(tmp, &end);
    bool ok = end == tmp + len && len > 0;
    /* ERANGE on underflow still gives the correctly rounded tiny value or 0;
     * on overflow it gives HUGE_VAL, which the caller treats as non-finite. */
    if (tmp != buf)
        free(tmp);
    if (!ok)
        return false;
    *out = v;
    return true;
}

bool sfl_parse_double(const char *s, size_t len, double *out)
{
    size_t i = 0;
    bool neg = false;
    if (len == 0)
        return false;
    if (s[0] == '-' || s[0] == '+') {
        neg = s[0] == '-';
        i = 1;
    }
    uint64_t mant = 0;
    int digits = 0, frac = 0;
    bool any = false, dot = false;
    for (; i < len; i++) {
        unsigned d = (unsigned char)s[i] - '0';
        if (d <= 9) {
            any = true;
            if (mant == 0 && d == 0) {
                if (dot)
                    frac++;
                continue; /* leading zeros are not significant */
            }
            if (++digits > 19)
                return parse_slow(s, len, out);
            mant = mant * 10 + d;
            if (dot)
                frac++;
        } else if (s[i] == '.' && !dot) {
            dot = true;
        } else {
            break;
        }
    }
    int exp10 = 0;
    if (i < len) {
        if ((s[i] != 'e' && s[i] != 'E') || !any)
            return parse_slow(s, len, out);
        int64_t e;
        if (!sfl_parse_int64(s + i + 1, len - i - 1, &e))
            return false;
        if (e > 400 || e < -400)
            return parse_slow(s, len, out);
        exp10 = (int)e;
    }
    if (!any)
        return false;
    exp10 -= frac;
    if (mant >> 53)
        return parse_slow(s, len, out);
    double v = (double)mant;
    if (mant == 0) {
        v = 0.0;
    } else if (exp10 < 0) {
        if (-exp10 > 22)
            return parse_slow(s, len, out);
        v /= pow10_exact[-exp10];
    } else if (exp10 > 0) {
        if (exp10 > 22)
            return parse_slow(s, len, out);
        v *= pow10_exact[exp10];
    }
    *out = neg ? -v : v;
    return true;
}
