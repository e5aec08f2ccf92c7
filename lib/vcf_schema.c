/* vcf_schema.c: from a parsed VCF header to the converter's field table.
 *
 * Dataset styles are data, not branches: the table below names, per style,
 * the INFO keys of each role and the population key patterns. Everything
 * else in this file resolves that table against one header: which keys are
 * declared, which populations exist (AC_<POP> and AN_<POP> both declared),
 * the CSQ "Format:" field list and the DP_HIST/GQ_HIST "Mids:".
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bson_enc.h"
#include "numparse.h"
#include "vcf_schema.h"

const char *const sfl_quality_metrics[SFL_N_QUALITY_METRICS] = {
    "BaseQRankSum", "ClippingRankSum", "DP", "FS", "InbreedingCoeff",
    "MQ", "MQRankSum", "QD", "ReadPosRankSum", "VQSLOD"};

typedef struct {
    sfl_style_t style;
    const char *ac, *an, *hom, *hemi;
    const char *pop_ac, *pop_an, *pop_hom, *pop_hemi; /* prefixes; NULL = none */
    bool adj0_filter;
    bool exclude_underscore; /* a suffix with '_' is not a population */
    const char *not_pops[12];
} style_table_t;

static const style_table_t styles[] = {
    {SFL_STYLE_EXAC, "AC_Adj", "AN_Adj", "AC_Hom", "AC_Hemi", "AC_", "AN_", "Hom_", "Hemi_", true,
     false,
     {"Adj", "Hom", "Hemi", "Het", "MALE", "FEMALE", "POPMAX", "CONSANGUINEOUS", "raw", NULL}},
    {SFL_STYLE_SWEGEN, "AC", "AN", "AC_Hom", "AC_Hemi", NULL, NULL, NULL, NULL, false, false, {NULL}},
    {SFL_STYLE_GNOMAD, "AC", "AN", "nhomalt", "nhemi", "AC_", "AN_", "nhomalt_", NULL, false, true,
     {"male", "female", "raw", "popmax", "XX", "XY", "Adj", NULL}},
};

static const struct {
    const char *code, *name;
} pop_names[] = {
    {"AFR", "African"}, {"AMR", "Latino"}, {"ASJ", "Ashkenazi Jewish"}, {"EAS", "East Asian"},
    {"FIN", "European (Finnish)"}, {"NFE", "European (Non-Finnish)"}, {"SAS", "South Asian"},
    {"OTH", "Other"},
};

static bool info_declared(const bcf_hdr_t *h, const char *key)
{
    int id = bcf_hdr_id2int(h, BCF_DT_ID, key);
    return id >= 0 && bcf_hdr_idinfo_exists(h, BCF_HL_INFO, id);
}

static uint32_t key_hash(const char *k, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)k[i]) * 16777619u;
    return h;
}

int sfl_vcf_schema_slot(const sfl_vcf_schema_t *s, const char *k, size_t len)
{
    uint32_t i = key_hash(k, len) & s->hash_mask;
    for (;;) {
        int32_t slot = s->hash_slot[i];
        if (slot < 0)
            return -1;
        const char *sk = s->slot_key[slot];
        if (strncmp(sk, k, len) == 0 && sk[len] == '\0')
            return slot;
        i = (i + 1) & s->hash_mask;
    }
}


/* The Description of INFO `key`, without quotes handling; NULL if none. */
static const char *info_description(const bcf_hdr_t *h, const char *key)
{
    bcf_hrec_t *rec = bcf_hdr_get_hrec(h, BCF_HL_INFO, "ID", key, NULL);
    if (!rec)
        return NULL;
    int i = bcf_hrec_find_key(rec, "Description");
    return i < 0 ? NULL : rec->vals[i];
}

/* Splits "a|b|c" (stopping at a quote) into trimmed, malloc'd strings. */
static int split_pipe_list(const char *p, char ***out)
{
    const char *end = p;
    while (*end && *end != '"')
        end++;
    while (end > p && isspace((unsigned char)end[-1]))
        end--;
    int n = 1;
    for (const char *q = p; q < end; q++)
        n += *q == '|';
    char **v = calloc((size_t)n, sizeof *v);
    if (!v)
        return -1;
    int i = 0;
    const char *start = p;
    for (const char *q = p;; q++) {
        if (q == end || *q == '|') {
            const char *a = start, *b = q;
            while (a < b && isspace((unsigned char)*a))
                a++;
            while (b > a && isspace((unsigned char)b[-1]))
                b--;
            v[i] = strndup(a, (size_t)(b - a));
            if (!v[i]) {
                for (int j = 0; j < i; j++)
                    free(v[j]);
                free(v);
                return -1;
            }
            i++;
            start = q + 1;
            if (q == end)
                break;
        }
    }
    *out = v;
    return n;
}

static bool parse_mids(const bcf_hdr_t *h, const char *key, const char *path, int *n_out,
                       double **out, sfl_error_t *err)
{
    const char *d = info_description(h, key);
    const char *m = d ? strstr(d, "Mids:") : NULL;
    if (!m)
        return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_HEADER,
                             "%s: header: the ##INFO line for %s has no \"Mids: a|b|...\" in its "
                             "Description, so its histogram bins cannot be named",
                             path, key);
    char **parts = NULL;
    int n = split_pipe_list(m + 5, &parts);
    if (n < 0)
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    double *v = malloc(sizeof(double) * (size_t)n);
    bool ok = v != NULL;
    for (int i = 0; ok && i < n; i++) {
        if (!sfl_parse_double(parts[i], strlen(parts[i]), &v[i])) {
            sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_HEADER,
                          "%s: header: %s Mids value '%s' is not a number", path, key, parts[i]);
            ok = false;
        }
    }
    for (int i = 0; i < n; i++)
        free(parts[i]);
    free(parts);
    if (!ok) {
        free(v);
        return false;
    }
    *n_out = n;
    *out = v;
    return true;
}

static bool add_slot_key(sfl_vcf_schema_t *s, int slot, const char *key, const bcf_hdr_t *h,
                         bool expected)
{
    if (!key)
        return true;
    s->slot_key[slot] = strdup(key);
    if (!s->slot_key[slot])
        return false;
    s->slot_declared[slot] = info_declared(h, key);
    s->slot_expected[slot] = expected;
    return true;
}

static bool is_not_pop(const style_table_t *st, const char *suffix)
{
    if (st->exclude_underscore && strchr(suffix, '_'))
        return true;
    for (int i = 0; st->not_pops[i]; i++)
        if (strcmp(st->not_pops[i], suffix) == 0)
            return true;
    return false;
}

static const char *pop_display_name(const char *code)
{
    for (size_t i = 0; i < sizeof pop_names / sizeof pop_names[0]; i++)
        if (strcasecmp(pop_names[i].code, code) == 0)
            return pop_names[i].name;
    return code;
}

sfl_vcf_schema_t *sfl_vcf_schema_new(const bcf_hdr_t *h, sfl_style_t style, sfl_histograms_t hist,
                                     const char *path, sfl_error_t *err)
{
    if (style == SFL_STYLE_AUTO) {
        if (info_declared(h, "AC_Adj"))
            style = SFL_STYLE_EXAC;
        else if (info_declared(h, "nhomalt"))
            style = SFL_STYLE_GNOMAD;
        else
            style = SFL_STYLE_SWEGEN;
    }
    const style_table_t *st = NULL;
    for (size_t i = 0; i < sizeof styles / sizeof styles[0]; i++)
        if (styles[i].style == style)
            st = &styles[i];
    if (!st) {
        sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE, "unknown dataset style %d", (int)style);
        return NULL;
    }

    sfl_vcf_schema_t *s = calloc(1, sizeof *s);
    if (!s)
        goto nomem;
    s->style = style;
    s->histograms = hist;
    s->adj0_filter = st->adj0_filter;
    s->csq_allele_num = s->csq_allele = s->csq_gene = s->csq_feature = s->csq_feature_type = -1;
    int ns = bcf_hdr_nsamples(h);
    s->n_columns = ns > 0 ? 9 + ns : 8;

    /* Populations, in header order of their AC_<POP> declarations. */
    int n_ids = h->n[BCF_DT_ID];
    if (st->pop_ac) {
        s->pops = calloc((size_t)n_ids + 1, sizeof *s->pops);
        if (!s->pops)
            goto nomem;
        size_t plen = strlen(st->pop_ac);
        for (int id = 0; id < n_ids; id++) {
            const char *key = h->id[BCF_DT_ID][id].key;
            if (!key || !bcf_hdr_idinfo_exists(h, BCF_HL_INFO, id))
                continue;
            if (strncmp(key, st->pop_ac, plen) != 0 || key[plen] == '\0')
                continue;
            const char *code = key + plen;
            if (is_not_pop(st, code))
                continue;
            char an[256];
            snprintf(an, sizeof an, "%s%s", st->pop_an, code);
            if (!info_declared(h, an))
                continue;
            sfl_population_t *p = &s->pops[s->n_pops++];
            p->code = strdup(code);
            p->name = strdup(pop_display_name(code));
            if (!p->code || !p->name)
                goto nomem;
            p->name_len = strlen(p->name);
            const char *why;
            if (!sfl_valid_key(p->name, p->name_len, &why)) {
                sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_HEADER,
                              "%s: header: population '%.40s' (from INFO %s) %s as a key", path,
                              p->name, key, why);
                goto fail;
            }
        }
    }

    s->n_slots = SLOT_POP0 + 4 * s->n_pops;
    s->slot_key = calloc((size_t)s->n_slots, sizeof *s->slot_key);
    s->slot_declared = calloc((size_t)s->n_slots, sizeof(bool));
    s->slot_expected = calloc((size_t)s->n_slots, sizeof(bool));
    if (!s->slot_key || !s->slot_declared || !s->slot_expected)
        goto nomem;
    bool hist_on = hist != SFL_HIST_NONE;
    if (!add_slot_key(s, SLOT_AC, st->ac, h, true) || !add_slot_key(s, SLOT_AN, st->an, h, true) ||
        !add_slot_key(s, SLOT_HOM, st->hom, h, true) ||
        !add_slot_key(s, SLOT_HEMI, st->hemi, h, false) ||
        !add_slot_key(s, SLOT_DP_HIST, "DP_HIST", h, hist_on && info_declared(h, "DP_HIST")) ||
        !add_slot_key(s, SLOT_GQ_HIST, "GQ_HIST", h, hist_on && info_declared(h, "GQ_HIST")) ||
        !add_slot_key(s, SLOT_CSQ, "CSQ", h, info_declared(h, "CSQ")))
        goto nomem;
    for (int i = 0; i < SFL_N_QUALITY_METRICS; i++)
        if (!add_slot_key(s, SLOT_QM0 + i, sfl_quality_metrics[i], h, false))
            goto nomem;
    for (int p = 0; p < s->n_pops; p++) {
        char k[256];
        int base = SLOT_POP0 + 4 * p;
        snprintf(k, sizeof k, "%s%s", st->pop_ac, s->pops[p].code);
        if (!add_slot_key(s, base + POP_AC, k, h, true))
            goto nomem;
        snprintf(k, sizeof k, "%s%s", st->pop_an, s->pops[p].code);
        if (!add_slot_key(s, base + POP_AN, k, h, true))
            goto nomem;
        if (st->pop_hom) {
            snprintf(k, sizeof k, "%s%s", st->pop_hom, s->pops[p].code);
            if (!add_slot_key(s, base + POP_HOM, k, h, true))
                goto nomem;
        }
        if (st->pop_hemi) {
            snprintf(k, sizeof k, "%s%s", st->pop_hemi, s->pops[p].code);
            if (!add_slot_key(s, base + POP_HEMI, k, h, false))
                goto nomem;
            if (s->slot_declared[base + POP_HEMI])
                s->hemi_pops = true;
        }
    }

    /* The key -> slot hash. */
    uint32_t size = 16;
    while (size < 4u * (uint32_t)s->n_slots)
        size <<= 1;
    s->hash_mask = size - 1;
    s->hash_slot = malloc(sizeof(int32_t) * size);
    if (!s->hash_slot)
        goto nomem;
    for (uint32_t i = 0; i < size; i++)
        s->hash_slot[i] = -1;
    for (int slot = 0; slot < s->n_slots; slot++) {
        const char *k = s->slot_key[slot];
        if (!k || sfl_vcf_schema_slot(s, k, strlen(k)) >= 0)
            continue;
        uint32_t i = key_hash(k, strlen(k)) & s->hash_mask;
        while (s->hash_slot[i] >= 0)
            i = (i + 1) & s->hash_mask;
        s->hash_slot[i] = slot;
    }

    /* CSQ format. */
    if (info_declared(h, "CSQ")) {
        const char *d = info_description(h, "CSQ");
        const char *f = d ? strstr(d, "Format:") : NULL;
        if (!f) {
            sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_HEADER,
                          "%s: header: the ##INFO line for CSQ has no \"Format: A|B|...\" in its "
                          "Description, so CSQ entries cannot be split into fields",
                          path);
            goto fail;
        }
        s->csq_declared = true;
        s->csq_n_fields = split_pipe_list(f + 7, &s->csq_fields);
        if (s->csq_n_fields < 0)
            goto nomem;
        s->csq_field_len = calloc((size_t)s->csq_n_fields + 1, sizeof(size_t));
        if (!s->csq_field_len)
            goto nomem;
        for (int i = 0; i < s->csq_n_fields; i++) {
            s->csq_field_len[i] = strlen(s->csq_fields[i]);
            const char *why = NULL;
            bool dup = false;
            for (int j = 0; j < i && !dup; j++)
                dup = strcmp(s->csq_fields[i], s->csq_fields[j]) == 0;
            if (dup || !sfl_valid_key(s->csq_fields[i], s->csq_field_len[i], &why)) {
                sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_HEADER,
                              "%s: header: CSQ Format field %d ('%.40s') %s", path, i + 1,
                              s->csq_fields[i], dup ? "appears twice" : why);
                goto fail;
            }
        }
        for (int i = 0; i < s->csq_n_fields; i++) {
            const char *n = s->csq_fields[i];
            if (strcmp(n, "ALLELE_NUM") == 0)
                s->csq_allele_num = i;
            else if (strcmp(n, "Allele") == 0)
                s->csq_allele = i;
            else if (strcmp(n, "Gene") == 0)
                s->csq_gene = i;
            else if (strcmp(n, "Feature") == 0)
                s->csq_feature = i;
            else if (strcmp(n, "Feature_type") == 0)
                s->csq_feature_type = i;
        }
        if (s->csq_allele_num < 0 && s->csq_allele < 0) {
            sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_HEADER,
                          "%s: header: the CSQ Format has neither ALLELE_NUM nor Allele, so "
                          "annotations cannot be matched to alleles",
                          path);
            goto fail;
        }
    }
    if (s->slot_expected[SLOT_DP_HIST] &&
        !parse_mids(h, "DP_HIST", path, &s->dp_n_mids, &s->dp_mids, err))
        goto fail;
    if (s->slot_expected[SLOT_GQ_HIST] &&
        !parse_mids(h, "GQ_HIST", path, &s->gq_n_mids, &s->gq_mids, err))
        goto fail;
    return s;

nomem:
    sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
fail:
    sfl_vcf_schema_destroy(s);
    return NULL;
}

void sfl_vcf_schema_destroy(sfl_vcf_schema_t *s)
{
    if (!s)
        return;
    for (int i = 0; s->slot_key && i < s->n_slots; i++)
        free(s->slot_key[i]);
    free(s->slot_key);
    free(s->slot_declared);
    free(s->slot_expected);
    free(s->hash_slot);
    for (int p = 0; s->pops && p < s->n_pops; p++) {
        free(s->pops[p].name);
        free(s->pops[p].code);
    }
    free(s->pops);
    for (int i = 0; i < s->csq_n_fields; i++)
        free(s->csq_fields[i]);
    free(s->csq_fields);
    free(s->csq_field_len);
    free(s->dp_mids);
    free(s->gq_mids);
    free(s);
}

sfl_vcf_schema_t *sfl_vcf_schema_from_header(char *htxt, size_t hlen, uint64_t header_lines,
                                             const sfl_options_t *opt, const char *path,
                                             sfl_error_t *err)
{
    if (hlen == 0 || strncmp(htxt, "##fileformat=VCF", 16) != 0) {
        sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_HEADER,
                      "%s: line 1: missing VCF header: the file must start with "
                      "'##fileformat=VCFv4.x'",
                      path);
        return NULL;
    }
    const char *last = hlen >= 2 ? htxt + hlen - 2 : htxt;
    while (last > htxt && last[-1] != '\n')
        last--;
    if (strncmp(last, "#CHROM", 6) != 0) {
        sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_HEADER,
                      "%s: line %llu: the VCF header does not end with the '#CHROM\\tPOS...' "
                      "line",
                      path, (unsigned long long)header_lines);
        return NULL;
    }
    bcf_hdr_t *h = bcf_hdr_init("r");
    if (!h || bcf_hdr_parse(h, htxt) != 0) {
        if (h)
            bcf_hdr_destroy(h);
        sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_HEADER,
                      "%s: the VCF header could not be parsed by htslib (check the ##INFO "
                      "and #CHROM lines)",
                      path);
        return NULL;
    }
    sfl_vcf_schema_t *s = sfl_vcf_schema_new(h, opt->style, opt->histograms, path, err);
    bcf_hdr_destroy(h);
    return s;
}
