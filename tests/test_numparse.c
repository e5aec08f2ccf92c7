/* Unit tests: the fast number parser agrees with strtod bit for bit. */
#include <math.h>

#include "numparse.h"
#include "testutil.h"

static void same_as_strtod(const char *s)
{
    double a = 0, b = strtod(s, NULL);
    t_checks++;
    if (!sfl_parse_double(s, strlen(s), &a) || memcmp(&a, &b, sizeof a) != 0) {
        t_failures++;
        fprintf(stderr, "parse_double(\"%s\") = %.17g, strtod = %.17g\n", s, a, b);
    }
}

int main(void)
{
    const char *cases[] = {"0", "0.0", "-0.0", "1", "31.45", "0.9912", "1e-05", "-1.234e+01",
                           "1234.56", "0.1", "2.5", "97.5", "123456789012345678", "1.7976931348623157e308",
                           "4.9e-324", "12345678901234567890.5", ".5", "5.", "-3.0e-2", "0.30000000000000004",
                           "9007199254740993", "1e22", "1e23", "-0"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        same_as_strtod(cases[i]);
    /* random decimals */
    srand(42);
    for (int i = 0; i < 200000; i++) {
        char buf[64];
        int ip = rand() % 100000, fp = rand() % 1000000, e = rand() % 40 - 20;
        if (i % 3 == 0)
            snprintf(buf, sizeof buf, "%d.%06d", ip, fp);
        else if (i % 3 == 1)
            snprintf(buf, sizeof buf, "-%d.%de%d", ip, fp, e);
        else
            snprintf(buf, sizeof buf, "%.*f", rand() % 10, (double)rand() / RAND_MAX * 1000);
        same_as_strtod(buf);
    }
    double d;
    CHECK(!sfl_parse_double("", 0, &d));
    CHECK(!sfl_parse_double("abc", 3, &d));
    CHECK(!sfl_parse_double("1.2.3", 5, &d));
    CHECK(!sfl_parse_double("NA", 2, &d));
    CHECK(!sfl_parse_double("1e", 2, &d));
    CHECK(sfl_parse_double("nan", 3, &d) && isnan(d));
    CHECK(sfl_parse_double("inf", 3, &d) && isinf(d));
    int64_t v;
    CHECK(sfl_parse_int64("123", 3, &v) && v == 123);
    CHECK(sfl_parse_int64("-5", 2, &v) && v == -5);
    CHECK(!sfl_parse_int64("12a", 3, &v));
    CHECK(!sfl_parse_int64("", 0, &v));
    CHECK(!sfl_parse_int64("-", 1, &v));
    CHECK(!sfl_parse_int64("99999999999999999999", 20, &v));
    CHECK(sfl_parse_int64("9223372036854775807", 19, &v) && v == INT64_MAX);
    return t_done("test_numparse");
}
