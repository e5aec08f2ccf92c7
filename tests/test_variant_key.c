/* Unit tests: minimal representation, xpos codes, VEP allele spelling. */
#include "testutil.h"
#include "variant_key.h"

static void minrep(int64_t pos, const char *ref, const char *alt, int64_t epos, const char *eref,
                   const char *ealt)
{
    sfl_minrep_t m;
    sfl_minimal_representation(pos, ref, strlen(ref), alt, strlen(alt), &m);
    char r[64], a[64];
    snprintf(r, sizeof r, "%.*s", (int)m.ref_len, m.ref);
    snprintf(a, sizeof a, "%.*s", (int)m.alt_len, m.alt);
    CHECK_INT(m.pos, epos);
    CHECK_STR(r, eref);
    CHECK_STR(a, ealt);
}

static int code(const char *c) { return sfl_contig_code(c, strlen(c)); }

int main(void)
{
    minrep(100, "A", "T", 100, "A", "T");
    minrep(100, "ATG", "AG", 100, "AT", "A");
    minrep(100, "CTT", "CTTT", 100, "C", "CT");
    minrep(100, "AAC", "ATC", 101, "A", "T");
    minrep(100, "CTT", "C", 100, "CTT", "C");
    minrep(100, "CTT", "CT", 100, "CT", "C");
    minrep(1000, "GAAA", "GA", 1000, "GAA", "G");
    minrep(50, "ACGT", "ACGA", 53, "T", "A");
    minrep(7, "TCAC", "TCAT", 10, "C", "T");

    CHECK_INT(code("1"), 1);
    CHECK_INT(code("22"), 22);
    CHECK_INT(code("chr7"), 7);
    CHECK_INT(code("X"), 23);
    CHECK_INT(code("chrX"), 23);
    CHECK_INT(code("Y"), 24);
    CHECK_INT(code("MT"), 25);
    CHECK_INT(code("M"), 25);
    CHECK_INT(code("chrM"), 25);
    CHECK_INT(code("23"), 0);
    CHECK_INT(code("0"), 0);
    CHECK_INT(code("01"), 0);
    CHECK_INT(code("GL000192.1"), 0);
    CHECK_INT(code(""), 0);
    CHECK_INT(sfl_xpos(23, 123), 23000000123LL);

    const char *alts1[] = {"A"};
    size_t l1[] = {1};
    CHECK(sfl_vep_strips_first_base("AT", 2, alts1, l1, 1));
    char out[16];
    CHECK_INT(sfl_vep_allele("A", 1, true, out), 1);
    CHECK_STR(out, "-");
    const char *alts2[] = {"C", "G"};
    size_t l2[] = {1, 1};
    CHECK(!sfl_vep_strips_first_base("A", 1, alts2, l2, 2));
    sfl_vep_allele("G", 1, false, out);
    CHECK_STR(out, "G");
    const char *alts3[] = {"CTT", "C"};
    size_t l3[] = {3, 1};
    CHECK(sfl_vep_strips_first_base("CT", 2, alts3, l3, 2));
    sfl_vep_allele("CTT", 3, true, out);
    CHECK_STR(out, "TT");
    const char *alts4[] = {"CTT", "G"};
    size_t l4[] = {3, 1};
    CHECK(!sfl_vep_strips_first_base("C", 1, alts4, l4, 2));
    return t_done("test_variant_key");
}
