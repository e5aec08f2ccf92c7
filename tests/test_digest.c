/* Tests of the collection digest (swefreq/digest.h).
 *
 * Known answers: E(doc) and the digests of tests/digest_kat.h were computed
 * by tests/digest_kat.py with Python's hashlib and `openssl enc -chacha20`,
 * never by this library. Then the properties a manifest relies on: the
 * digest of a set equals the sum of the digests of any partition of it,
 * whatever the order or the thread; removing a document gives the digest
 * of the set without it; the text form round-trips and only its canonical
 * spelling parses; and every change of the set (a byte, a duplicate, a
 * document more or less) changes it. The format-1 kind (XXH3 sum) keeps the
 * same algebra.
 */
#include <bson/bson.h>
#include <pthread.h>
#include <unistd.h>

#include "swefreq/swefreq.h"
#include "testutil.h"

#include "digest_kat.h"

static void test_known_answers(void)
{
    sfl_digest_t all;
    sfl_digest_init(&all);
    for (int i = 0; i < KAT_N_DOCS; i++) {
        sfl_digest_t d;
        sfl_digest_init(&d);
        sfl_digest_add(&d, kat_docs[i], kat_lens[i]);
        const unsigned short *head = i == 0 ? kat_e0_head : i == 1 ? kat_e1_head : kat_e2_head;
        int last = i == 0 ? KAT_E0_LAST : i == 1 ? KAT_E1_LAST : KAT_E2_LAST;
        for (int l = 0; l < 8; l++)
            CHECK_INT(d.lanes[l], head[l]);
        CHECK_INT(d.lanes[SFL_DIGEST_LANES - 1], last);
        char fp[SFL_DIGEST_FINGERPRINT_SIZE];
        sfl_digest_fingerprint(&d, fp);
        CHECK_STR(fp, kat_fp_one[i]); /* covers all 2048 bytes of E(doc) */
        CHECK_INT(d.count, 1);
        CHECK_INT(d.bytes, kat_lens[i]);
        sfl_digest_add(&all, kat_docs[i], kat_lens[i]);

        /* the file hash is SHA-256 of the bytes */
        char path[] = "/tmp/sfl_test_digest.XXXXXX";
        int fd = mkstemp(path);
        CHECK(fd >= 0 && write(fd, kat_docs[i], kat_lens[i]) == (ssize_t)kat_lens[i]);
        close(fd);
        char hex[65];
        uint64_t size = 0;
        sfl_error_t err;
        CHECK(sfl_hash_file(path, hex, &size, &err));
        CHECK_STR(hex, kat_sha256[i]);
        CHECK_INT(size, kat_lens[i]);
        unlink(path);
    }
    char fp[SFL_DIGEST_FINGERPRINT_SIZE];
    sfl_digest_fingerprint(&all, fp);
    CHECK_STR(fp, KAT_FP_ALL);
    for (int l = 0; l < 8; l++)
        CHECK_INT(all.lanes[l], kat_all_head[l]);

    /* the vector's bytes are what libbson writes for that document */
    bson_t *b = bson_new();
    BSON_APPEND_UTF8(b, "_id", "1-55516888-G-GA");
    BSON_APPEND_DOUBLE(b, "allele_freq", 0.5);
    CHECK_INT(b->len, kat_lens[0]);
    CHECK(b->len == kat_lens[0] && memcmp(bson_get_data(b), kat_docs[0], b->len) == 0);
    bson_destroy(b);

    /* the empty set: all zeros, and its text is the prefix and base64 of
     * 2048 zero bytes */
    sfl_digest_t z;
    sfl_digest_init(&z);
    static char text[SFL_DIGEST_TEXT_SIZE];
    sfl_digest_text(&z, text);
    CHECK_INT(strlen(text), strlen(SFL_DIGEST_ALGORITHM) + 1 + 2732);
    CHECK(strncmp(text, SFL_DIGEST_ALGORITHM ":AAAA", strlen(SFL_DIGEST_ALGORITHM) + 5) == 0);
    CHECK(strcmp(text + strlen(text) - 4, "AAA=") == 0);
}

/* n documents, each {_id: "d<i>", v: i * 7}. */
static bson_t **make_docs(int n)
{
    bson_t **docs = calloc((size_t)n, sizeof *docs);
    for (int i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof id, "d%d", i);
        docs[i] = bson_new();
        BSON_APPEND_UTF8(docs[i], "_id", id);
        BSON_APPEND_INT32(docs[i], "v", i * 7);
    }
    return docs;
}

static void add_doc(sfl_digest_t *d, const bson_t *b) { sfl_digest_add(d, bson_get_data(b), b->len); }

static bool same(const sfl_digest_t *a, const sfl_digest_t *b)
{
    return sfl_digest_equal(a, b) && a->count == b->count && a->bytes == b->bytes;
}

enum { N = 300 };

/* Sum of the parts = the whole, for several partitions and both kinds. */
static void test_partitions(sfl_digest_kind_t kind, bson_t **docs)
{
    sfl_digest_t whole, rev;
    sfl_digest_init_kind(&whole, kind);
    sfl_digest_init_kind(&rev, kind);
    for (int i = 0; i < N; i++)
        add_doc(&whole, docs[i]);
    for (int i = N - 1; i >= 0; i--)
        add_doc(&rev, docs[i]);
    CHECK(same(&whole, &rev)); /* order-independent */
    unsigned seed = 12345;
    for (int k = 1; k <= 6; k++) {
        sfl_digest_t parts[6], sum;
        for (int p = 0; p < k; p++)
            sfl_digest_init_kind(&parts[p], kind);
        for (int i = 0; i < N; i++) {
            seed = seed * 1103515245u + 12345u;
            add_doc(&parts[(seed >> 16) % (unsigned)k], docs[i]);
        }
        sfl_digest_init_kind(&sum, kind);
        for (int p = k - 1; p >= 0; p--) /* merged in any order */
            CHECK(sfl_digest_merge(&sum, &parts[p]));
        CHECK(same(&sum, &whole));
        /* removing one part's documents from the whole leaves the rest */
        sfl_digest_t rest = whole, others;
        sfl_digest_init_kind(&others, kind);
        seed = 999u + (unsigned)k;
        for (int i = 0; i < N; i++) {
            seed = seed * 1103515245u + 12345u;
            if ((seed >> 16) % 3 == 0)
                sfl_digest_remove(&rest, bson_get_data(docs[i]), docs[i]->len);
            else
                add_doc(&others, docs[i]);
        }
        CHECK(same(&rest, &others));
    }
    /* removing everything gives the empty set */
    sfl_digest_t empty, gone = whole;
    sfl_digest_init_kind(&empty, kind);
    for (int i = 0; i < N; i++)
        sfl_digest_remove(&gone, bson_get_data(docs[i]), docs[i]->len);
    CHECK(same(&gone, &empty));
    CHECK_INT(gone.count, 0);
    /* digests of another kind do not merge */
    sfl_digest_t other;
    sfl_digest_init_kind(&other, kind == SFL_DIGEST_LTHASH16 ? SFL_DIGEST_XXH3_SUM
                                                             : SFL_DIGEST_LTHASH16);
    sfl_digest_t before = whole;
    CHECK(!sfl_digest_merge(&whole, &other));
    CHECK(same(&whole, &before));
    CHECK(!sfl_digest_equal(&empty, &other));
}

/* Every change of the set changes the digest. */
static void test_changes(bson_t **docs)
{
    sfl_digest_t whole;
    sfl_digest_init(&whole);
    for (int i = 0; i < N; i++)
        add_doc(&whole, docs[i]);
    /* one byte of one document */
    for (uint32_t at = 4; at < docs[7]->len - 1; at++) {
        uint8_t *copy = malloc(docs[7]->len);
        memcpy(copy, bson_get_data(docs[7]), docs[7]->len);
        copy[at] ^= 1;
        sfl_digest_t d;
        sfl_digest_init(&d);
        for (int i = 0; i < N; i++) {
            if (i == 7)
                sfl_digest_add(&d, copy, docs[7]->len);
            else
                add_doc(&d, docs[i]);
        }
        CHECK(!sfl_digest_equal(&d, &whole));
        free(copy);
    }
    /* a document twice (a multiset), one left out, one more */
    sfl_digest_t twice = whole, less = whole, more = whole;
    add_doc(&twice, docs[0]);
    sfl_digest_remove(&less, bson_get_data(docs[0]), docs[0]->len);
    bson_t *extra = bson_new();
    BSON_APPEND_UTF8(extra, "_id", "extra");
    add_doc(&more, extra);
    bson_destroy(extra);
    CHECK(!sfl_digest_equal(&twice, &whole));
    CHECK(!sfl_digest_equal(&less, &whole));
    CHECK(!sfl_digest_equal(&more, &whole));
    /* values swapped between two documents */
    bson_t *a = bson_new(), *b = bson_new();
    BSON_APPEND_UTF8(a, "_id", "d1");
    BSON_APPEND_INT32(a, "v", 2 * 7);
    BSON_APPEND_UTF8(b, "_id", "d2");
    BSON_APPEND_INT32(b, "v", 1 * 7);
    sfl_digest_t swapped = whole;
    sfl_digest_remove(&swapped, bson_get_data(docs[1]), docs[1]->len);
    sfl_digest_remove(&swapped, bson_get_data(docs[2]), docs[2]->len);
    add_doc(&swapped, a);
    add_doc(&swapped, b);
    CHECK(swapped.count == whole.count && swapped.bytes == whole.bytes);
    CHECK(!sfl_digest_equal(&swapped, &whole));
    bson_destroy(a);
    bson_destroy(b);
}

/* The text form: round trip, and only the canonical spelling parses. */
static void test_text(bson_t **docs)
{
    static char text[SFL_DIGEST_TEXT_SIZE], bad[SFL_DIGEST_TEXT_SIZE];
    sfl_digest_t d, back;
    sfl_digest_init(&d);
    for (int i = 0; i < 10; i++)
        add_doc(&d, docs[i]);
    sfl_digest_text(&d, text);
    CHECK_INT(sfl_digest_kind_of_text(text), SFL_DIGEST_LTHASH16);
    CHECK(sfl_digest_from_text(&back, text));
    CHECK(sfl_digest_equal(&back, &d));
    CHECK_INT(back.count, 0);
    char fp1[SFL_DIGEST_FINGERPRINT_SIZE], fp2[SFL_DIGEST_FINGERPRINT_SIZE];
    sfl_digest_fingerprint(&d, fp1);
    sfl_digest_fingerprint(&back, fp2);
    CHECK_STR(fp1, fp2);
    CHECK_INT(strlen(fp1), 32);
    size_t n = strlen(text);
    /* the last base64 digit holds 4 padding bits that must be zero */
    memcpy(bad, text, n + 1);
    CHECK(bad[n - 1] == '=');
    bad[n - 2] = bad[n - 2] == 'A' ? 'B' : (char)(bad[n - 2] ^ 1);
    CHECK(!sfl_digest_from_text(&back, bad));
    memcpy(bad, text, n + 1);
    bad[n - 1] = '\0'; /* no padding */
    CHECK(!sfl_digest_from_text(&back, bad));
    memcpy(bad, text, n + 1);
    bad[n - 10] = '*'; /* not base64 */
    CHECK(!sfl_digest_from_text(&back, bad));
    memcpy(bad, text, n + 1);
    bad[40] = ' '; /* whitespace inside */
    CHECK(!sfl_digest_from_text(&back, bad));
    memcpy(bad, text, n + 1);
    bad[0] = 'L'; /* another algorithm */
    CHECK(!sfl_digest_from_text(&back, bad));
    CHECK_INT(sfl_digest_kind_of_text(bad), 0);
    CHECK(!sfl_digest_from_text(&back, SFL_DIGEST_ALGORITHM ":"));
    /* format 1: 32 lowercase hex digits */
    sfl_digest_t v1, v1b;
    sfl_digest_init_kind(&v1, SFL_DIGEST_XXH3_SUM);
    add_doc(&v1, docs[0]);
    sfl_digest_text(&v1, text);
    CHECK_INT(strlen(text), 32);
    CHECK_INT(sfl_digest_kind_of_text(text), SFL_DIGEST_XXH3_SUM);
    CHECK(sfl_digest_from_text(&v1b, text) && sfl_digest_equal(&v1, &v1b));
    sfl_digest_fingerprint(&v1, fp1);
    CHECK_STR(fp1, text); /* a format-1 digest is its own short name */
    text[3] = 'A'; /* upper case is not the canonical spelling */
    CHECK(!sfl_digest_from_text(&v1b, text));
}

typedef struct {
    bson_t **docs;
    int from, to;
    sfl_digest_t d;
} part_t;

static void *digest_part(void *arg)
{
    part_t *p = arg;
    sfl_digest_init(&p->d);
    for (int i = p->from; i < p->to; i++)
        add_doc(&p->d, p->docs[i]);
    return NULL;
}

/* Threads digest parts at once (each with its own OpenSSL contexts); the
 * merged result equals the serial one. */
static void test_threads(bson_t **docs)
{
    enum { T = 4 };
    part_t parts[T];
    pthread_t th[T];
    for (int t = 0; t < T; t++) {
        parts[t].docs = docs;
        parts[t].from = t * N / T;
        parts[t].to = (t + 1) * N / T;
        CHECK(pthread_create(&th[t], NULL, digest_part, &parts[t]) == 0);
    }
    sfl_digest_t sum, serial;
    sfl_digest_init(&sum);
    sfl_digest_init(&serial);
    for (int t = 0; t < T; t++) {
        pthread_join(th[t], NULL);
        CHECK(sfl_digest_merge(&sum, &parts[t].d));
    }
    for (int i = 0; i < N; i++)
        add_doc(&serial, docs[i]);
    CHECK(same(&sum, &serial));
}

int main(void)
{
    sfl_init();
    test_known_answers();
    bson_t **docs = make_docs(N);
    test_partitions(SFL_DIGEST_LTHASH16, docs);
    test_partitions(SFL_DIGEST_XXH3_SUM, docs);
    test_changes(docs);
    test_text(docs);
    test_threads(docs);
    for (int i = 0; i < N; i++)
        bson_destroy(docs[i]);
    free(docs);
    sfl_cleanup();
    return t_done("test_digest");
}
