/* vcf_schema.c: from a parsed VCF header to the converter's field table.
 *
 * Dataset styles are data, not branches: the table below names, per style,
 * the INFO keys of each role and the population key patterns. Everything
 * else in this file resolves that table against one header: which keys are
 * declared, which populations exist (AC_<POP> and AN_<POP> both declared),
 * which INFO field holds the consequence annotations (found by its
 * Description, not its name) and its "Format:" field list, the genome
 * build (for gnomAD's hemizygotes outside the PARs) and the
 * DP_HIST/GQ_HIST "Mids:".
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bson_enc.h"
#include "log.h"
#include "numparse.h"
#include "variant_key.h"
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
    /* gnomAD: hemizygotes are the XY (or male) allele counts outside the
     * PARs: AC_<sex> and AC_<pop>_<sex>, the first sex declared. */
    const char *hemi_sex[3];
} style_table_t;

static const style_table_t styles[] = {
    {SFL_STYLE_EXAC, "AC_Adj", "AN_Adj", "AC_Hom", "AC_Hemi", "AC_", "AN_", "Hom_", "Hemi_", true,
     false, {NULL}},
    {SFL_STYLE_SWEGEN, "AC", "AN", "AC_Hom", "AC_Hemi", NULL, NULL, NULL, NULL, false, false,
     {NULL}},
    {SFL_STYLE_GNOMAD, "AC", "AN", "nhomalt", NULL, "AC_", "AN_", "nhomalt_", NULL, false, true,
     {"XY", "male", NULL}},
    {SFL_STYLE_GNOMAD2, "AC", "AN", "Hom", "Hemi", "AC_", "AN_", "Hom_", "Hemi_", false, true,
     {NULL}},
};

/* Suffixes that are never populations (any case), and prefixes. */
static const char *const not_pops[] = {
    "adj", "hom", "hemi", "het", "male", "female", "popmax", "grpmax", "joint",
    "consanguineous", "raw", "xx", "xy", NULL};
static const char *const not_pop_prefixes[] = {"faf", NULL};

static const struct {
    const char *code, *name;
} pop_names[] = {
    {"AFR", "African"}, {"AMR", "Latino"}, {"ASJ", "Ashkenazi Jewish"}, {"EAS", "East Asian"},
    {"FIN", "European (Finnish)"}, {"NFE", "European (Non-Finnish)"}, {"SAS", "South Asian"},
    {"OTH", "Other"}, {"AMI", "Amish"}, {"MID", "Middle Eastern"}, {"REMAINING", "Remaining"},
};

const char sfl_gnomad_v40_format[] =
    "Allele|Consequence|IMPACT|SYMBOL|Gene|Feature_type|Feature|BIOTYPE|EXON|INTRON|HGVSc|HGVSp|"
    "cDNA_position|CDS_position|Protein_position|Amino_acids|Codons|ALLELE_NUM|DISTANCE|STRAND|"
    "FLAGS|VARIANT_CLASS|SYMBOL_SOURCE|HGNC_ID|CANONICAL|MANE_SELECT|MANE_PLUS_CLINICAL|TSL|"
    "APPRIS|CCDS|ENSP|UNIPROT_ISOFORM|SOURCE|DOMAINS|miRNA|HGVS_OFFSET|PUBMED|MOTIF_NAME|"
    "MOTIF_POS|HIGH_INF_POS|MOTIF_SCORE_CHANGE|TRANSCRIPTION_FACTORS|LoF|LoF_filter|LoF_flags|"
    "LoF_info";
const char sfl_gnomad_v40_entries[] =
    "Allele|Consequence|IMPACT|SYMBOL|Gene|Feature_type|Feature|BIOTYPE|EXON|INTRON|HGVSc|HGVSp|"
    "cDNA_position|CDS_position|Protein_position|Amino_acids|Codons|ALLELE_NUM|DISTANCE|STRAND|"
    "FLAGS|VARIANT_CLASS|SYMBOL_SOURCE|HGNC_ID|CANONICAL|MANE_SELECT|MANE_PLUS_CLINICAL|TSL|"
    "APPRIS|CCDS|ENSP|UNIPROT_ISOFORM|SOURCE|SIFT|PolyPhen|DOMAINS|miRNA|HGVS_OFFSET|PUBMED|"
    "MOTIF_NAME|MOTIF_POS|HIGH_INF_POS|MOTIF_SCORE_CHANGE|TRANSCRIPTION_FACTORS|LoF|LoF_filter|"
    "LoF_flags|LoF_info";

/* Builds by the lengths of contigs 1, X and Y; PARs from the GRC. */
static const struct {
    sfl_genome_t genome;
    int64_t len_1, len_x, len_y;
    sfl_build_t build;
} builds[] = {
    {SFL_GENOME_GRCH37, 249250621, 155270560, 59373566,
     {SFL_GENOME_GRCH37, {{60001, 2699520}, {154931044, 155260560}},
      {{10001, 2649520}, {59034050, 59363566}}}},
    {SFL_GENOME_GRCH38, 248956422, 156040895, 57227415,
     {SFL_GENOME_GRCH38, {{10001, 2781479}, {155701383, 156030895}},
      {{10001, 2781479}, {56887903, 57217415}}}},
};

bool sfl_build_nonpar(const sfl_build_t *b, int code, int64_t pos)
{
    if (code != 23 && code != 24)
        return false;
    const int64_t(*par)[2] = code == 23 ? b->x_par : b->y_par;
    for (int i = 0; i < 2; i++)
        if (pos >= par[i][0] && pos <= par[i][1])
            return false;
    return true;
}

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
    uint32_t h = key_hash(k, len), i = h & s->hash_mask;
    for (;;) {
        const struct sfl_slot_entry *e = &s->hash_slot[i];
        if (e->slot < 0)
            return -1;
        if (e->hash == h && e->len == len && memcmp(s->slot_key[e->slot], k, len) == 0)
            return e->slot;
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

static bool is_not_pop_flag(bool exclude_underscore, const char *suffix)
{
    if (exclude_underscore && strchr(suffix, '_'))
        return true;
    for (int i = 0; not_pops[i]; i++)
        if (strcasecmp(not_pops[i], suffix) == 0)
            return true;
    for (int i = 0; not_pop_prefixes[i]; i++)
        if (strncasecmp(not_pop_prefixes[i], suffix, strlen(not_pop_prefixes[i])) == 0)
            return true;
    return false;
}

static bool is_not_pop(const style_table_t *st, const char *suffix)
{
    return is_not_pop_flag(st->exclude_underscore, suffix);
}

/* The declared INFO ids that start with the population prefix, sorted,
 * for sfl_vcf_schema_undeclared_pop. False when out of memory. */
static bool collect_declared_pop_keys(sfl_vcf_schema_t *s, const bcf_hdr_t *h,
                                      const style_table_t *st)
{
    if (!st->pop_ac)
        return true;
    s->pop_prefix = st->pop_ac;
    s->pop_prefix_len = strlen(st->pop_ac);
    s->exclude_underscore = st->exclude_underscore;
    int n_ids = h->n[BCF_DT_ID];
    s->declared_pop_keys = calloc((size_t)n_ids + 1, sizeof(char *));
    if (!s->declared_pop_keys)
        return false;
    for (int id = 0; id < n_ids; id++) {
        const char *key = h->id[BCF_DT_ID][id].key;
        if (!key || !bcf_hdr_idinfo_exists(h, BCF_HL_INFO, id) ||
            strncmp(key, s->pop_prefix, s->pop_prefix_len) != 0)
            continue;
        if (!(s->declared_pop_keys[s->n_declared_pop_keys] = strdup(key)))
            return false;
        s->n_declared_pop_keys++;
    }
    /* An open-addressing set over them: lines carry these keys by the
     * hundred (gnomAD's AC_<pop>_XX, AC_raw, ...), so each lookup is one
     * hash and, mostly, one compare. */
    uint32_t size = 16;
    while (size < 2u * (uint32_t)s->n_declared_pop_keys + 2)
        size <<= 1;
    s->declared_mask = size - 1;
    if (!(s->declared_set = malloc(sizeof(int32_t) * size)))
        return false;
    for (uint32_t i = 0; i < size; i++)
        s->declared_set[i] = -1;
    for (size_t k = 0; k < s->n_declared_pop_keys; k++) {
        const char *key = s->declared_pop_keys[k];
        uint32_t i = key_hash(key, strlen(key)) & s->declared_mask;
        while (s->declared_set[i] >= 0)
            i = (i + 1) & s->declared_mask;
        s->declared_set[i] = (int32_t)k;
    }
    return true;
}

static bool pop_key_declared(const sfl_vcf_schema_t *s, const char *k, size_t len)
{
    uint32_t i = key_hash(k, len) & s->declared_mask;
    for (int32_t x; (x = s->declared_set[i]) >= 0; i = (i + 1) & s->declared_mask) {
        const char *d = s->declared_pop_keys[x];
        if (strncmp(d, k, len) == 0 && d[len] == '\0')
            return true;
    }
    return false;
}

bool sfl_vcf_schema_undeclared_pop(const sfl_vcf_schema_t *s, const char *k, size_t len,
                                   size_t *code_off)
{
    size_t pl = s->pop_prefix_len;
    if (!s->pop_prefix || len <= pl || len >= 256 || memcmp(k, s->pop_prefix, pl) != 0 ||
        pop_key_declared(s, k, len))
        return false;
    char key[256];
    memcpy(key, k, len);
    key[len] = '\0';
    if (is_not_pop_flag(s->exclude_underscore, key + pl))
        return false;
    *code_off = pl;
    return true;
}

static const char *pop_display_name(const char *code)
{
    for (size_t i = 0; i < sizeof pop_names / sizeof pop_names[0]; i++)
        if (strcasecmp(pop_names[i].code, code) == 0)
            return pop_names[i].name;
    return code;
}

static void layout_free(sfl_csq_layout_t *l)
{
    for (int i = 0; l->fields && i < l->n_fields; i++)
        free(l->fields[i]);
    free(l->fields);
    free(l->field_len);
    memset(l, 0, sizeof *l);
}

/* Splits a Format list into layout `l`; checks the names as keys. */
static bool layout_parse(sfl_csq_layout_t *l, const char *list, const char *path,
                         const char *key, sfl_error_t *err)
{
    l->allele_num = l->allele = l->gene = l->feature = l->feature_type = -1;
    l->n_fields = split_pipe_list(list, &l->fields);
    if (l->n_fields < 0 || !(l->field_len = calloc((size_t)l->n_fields + 1, sizeof(size_t)))) {
        l->n_fields = l->fields ? l->n_fields : 0;
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    }
    /* "Format: A|B|LoF_info." ends a sentence: the period is not part of
     * the last name (no name can hold a '.': it would be a key path). */
    char *last = l->fields[l->n_fields - 1];
    size_t ll = strlen(last);
    if (ll > 1 && last[ll - 1] == '.')
        last[ll - 1] = '\0';
    for (int i = 0; i < l->n_fields; i++) {
        l->field_len[i] = strlen(l->fields[i]);
        const char *why = NULL;
        bool dup = false;
        for (int j = 0; j < i && !dup; j++)
            dup = strcmp(l->fields[i], l->fields[j]) == 0;
        if (dup || !sfl_valid_key(l->fields[i], l->field_len[i], &why))
            return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_HEADER,
                                 "%s: header: %s Format field %d ('%.40s') %s", path, key, i + 1,
                                 l->fields[i], dup ? "appears twice" : why);
        const char *n = l->fields[i];
        if (strcmp(n, "ALLELE_NUM") == 0)
            l->allele_num = i;
        else if (strcmp(n, "Allele") == 0)
            l->allele = i;
        else if (strcmp(n, "Gene") == 0)
            l->gene = i;
        else if (strcmp(n, "Feature") == 0)
            l->feature = i;
        else if (strcmp(n, "Feature_type") == 0)
            l->feature_type = i;
    }
    return true;
}

/* The '|'-joined fields of `l`. */
static char *layout_join(const sfl_csq_layout_t *l)
{
    size_t n = 1;
    for (int i = 0; i < l->n_fields; i++)
        n += l->field_len[i] + 1;
    char *out = malloc(n), *p = out;
    if (!out)
        return NULL;
    for (int i = 0; i < l->n_fields; i++) {
        if (i)
            *p++ = '|';
        memcpy(p, l->fields[i], l->field_len[i]);
        p += l->field_len[i];
    }
    *p = '\0';
    return out;
}

/* Does the Description say "Consequence annotations from Ensembl VEP.
 * Format: ..."? (gnomAD's `vep`, VEP's own `CSQ`.) */
static bool is_vep_description(const char *d)
{
    static const char lead[] = "Consequence annotations from Ensembl VEP";
    while (d && (isspace((unsigned char)*d) || *d == '"'))
        d++;
    return d && strncmp(d, lead, sizeof lead - 1) == 0 && strstr(d, "Format:");
}

/* The consequence field: --csq-field, else the one INFO field whose
 * Description says what it is, else CSQ when declared. *key = NULL when
 * there is none. */
static bool find_csq_key(const bcf_hdr_t *h, const sfl_options_t *opt, const char *path,
                         const char **key, sfl_error_t *err)
{
    *key = NULL;
    if (opt->csq_field) {
        if (!info_declared(h, opt->csq_field))
            return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_HEADER,
                                 "%s: header: the consequence field %s "
                                 "(sfl_options_t.csq_field): the header declares no INFO "
                                 "field %s",
                                 path, opt->csq_field, opt->csq_field);
        *key = opt->csq_field;
        return true;
    }
    int n_ids = h->n[BCF_DT_ID];
    for (int id = 0; id < n_ids; id++) {
        const char *k = h->id[BCF_DT_ID][id].key;
        if (!k || !bcf_hdr_idinfo_exists(h, BCF_HL_INFO, id) ||
            !is_vep_description(info_description(h, k)))
            continue;
        if (*key)
            return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_HEADER,
                                 "%s: header: both INFO %s and INFO %s are described as "
                                 "\"Consequence annotations from Ensembl VEP\"; choose one "
                                 "(sfl_options_t.csq_field)",
                                 path, *key, k);
        *key = k;
    }
    if (!*key && info_declared(h, "CSQ"))
        *key = "CSQ";
    return true;
}

/* The build from the ##contig lengths of 1, X and Y (with or without
 * 'chr'); AUTO when they are absent, unknown or disagree. */
static sfl_genome_t genome_from_contigs(const bcf_hdr_t *h, bool *conflict)
{
    sfl_genome_t found = SFL_GENOME_AUTO;
    *conflict = false;
    for (int i = 0; i < h->n[BCF_DT_CTG]; i++) {
        const char *name = h->id[BCF_DT_CTG][i].key;
        const bcf_idinfo_t *info = h->id[BCF_DT_CTG][i].val;
        if (!name || !info || info->info[0] <= 0)
            continue;
        if (strncmp(name, "chr", 3) == 0)
            name += 3;
        int which = strcmp(name, "1") == 0 ? 0 : strcmp(name, "X") == 0 ? 1
                  : strcmp(name, "Y") == 0 ? 2 : -1;
        if (which < 0)
            continue;
        int64_t len = (int64_t)info->info[0];
        sfl_genome_t g = SFL_GENOME_AUTO;
        for (size_t b = 0; b < sizeof builds / sizeof builds[0]; b++) {
            int64_t want = which == 0 ? builds[b].len_1 : which == 1 ? builds[b].len_x
                                                                     : builds[b].len_y;
            if (len == want)
                g = builds[b].genome;
        }
        if (g == SFL_GENOME_AUTO || (found != SFL_GENOME_AUTO && g != found)) {
            *conflict = true;
            return SFL_GENOME_AUTO;
        }
        found = g;
    }
    return found;
}

static bool resolve_build(sfl_vcf_schema_t *s, const bcf_hdr_t *h, const sfl_options_t *opt,
                          const char *path, sfl_error_t *err)
{
    bool conflict;
    sfl_genome_t from_hdr = genome_from_contigs(h, &conflict);
    sfl_genome_t g = opt->genome != SFL_GENOME_AUTO ? opt->genome : from_hdr;
    if (opt->genome != SFL_GENOME_AUTO && from_hdr != SFL_GENOME_AUTO && from_hdr != opt->genome)
        return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_HEADER,
                             "%s: header: the ##contig lengths are %s's, but the genome "
                             "build %s was given (sfl_options_t.genome)",
                             path, sfl_genome_name(from_hdr), sfl_genome_name(opt->genome));
    if (g == SFL_GENOME_AUTO)
        return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_HEADER,
                             "%s: header: hemizygote counts need the genome build (for the "
                             "pseudoautosomal regions), and the ##contig lengths of 1, X and Y "
                             "%s; give the build, GRCh37 or GRCh38 (sfl_options_t.genome)",
                             path, conflict ? "match neither GRCh37 nor GRCh38" : "are absent");
    for (size_t b = 0; b < sizeof builds / sizeof builds[0]; b++)
        if (builds[b].genome == g)
            s->build = builds[b].build;
    return true;
}

/* The ##contig lengths by xpos code, for the POS check. */
static void read_contig_lengths(sfl_vcf_schema_t *s, const bcf_hdr_t *h)
{
    bool conflict[26] = {false};
    for (int i = 0; i < h->n[BCF_DT_CTG]; i++) {
        const char *name = h->id[BCF_DT_CTG][i].key;
        const bcf_idinfo_t *info = h->id[BCF_DT_CTG][i].val;
        if (!name || !info || info->info[0] <= 0)
            continue;
        int code = sfl_contig_code(name, strlen(name));
        if (code <= 0 || code > 25)
            continue;
        int64_t len = (int64_t)info->info[0];
        if (s->contig_len[code] && s->contig_len[code] != len)
            conflict[code] = true;
        s->contig_len[code] = len;
    }
    for (int c = 0; c < 26; c++)
        if (conflict[c])
            s->contig_len[c] = 0;
}

/* The style's table: the one asked for, or detected from the header. */
static const style_table_t *pick_style(const bcf_hdr_t *h, sfl_style_t style, sfl_error_t *err)
{
    if (style == SFL_STYLE_AUTO) {
        if (info_declared(h, "AC_Adj"))
            style = SFL_STYLE_EXAC;
        else if (info_declared(h, "nhomalt"))
            style = SFL_STYLE_GNOMAD;
        else if (info_declared(h, "Hom") && info_declared(h, "AC") && info_declared(h, "AN"))
            style = SFL_STYLE_GNOMAD2;
        else
            style = SFL_STYLE_SWEGEN;
    }
    for (size_t i = 0; i < sizeof styles / sizeof styles[0]; i++)
        if (styles[i].style == style)
            return &styles[i];
    sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE, "unknown dataset style %d", (int)style);
    return NULL;
}

/* Populations, in header order of their AC_<POP> declarations: a
 * population has both AC_<POP> and AN_<POP>, and a name that can be a key. */
static bool find_populations(sfl_vcf_schema_t *s, const bcf_hdr_t *h, const style_table_t *st,
                             const char *path, sfl_error_t *err)
{
    int n_ids = h->n[BCF_DT_ID];
    if (!st->pop_ac)
        return true;
    s->pops = calloc((size_t)n_ids + 1, sizeof *s->pops);
    if (!s->pops)
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
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
            return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        p->name_len = strlen(p->name);
        /* Two codes with one display name (AC_OTH and AC_oth, AC_AFR and
         * AC_African) would write one key twice in pop_acs. */
        for (int q = 0; q < s->n_pops - 1; q++)
            if (strcmp(s->pops[q].name, p->name) == 0)
                return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_HEADER,
                                     "%s: header: INFO %s%s and INFO %s both name the "
                                     "population '%s' in the documents; a document cannot hold "
                                     "both (rename one of them in the header)",
                                     path, st->pop_ac, s->pops[q].code, key, p->name);
        const char *why;
        if (!sfl_valid_key(p->name, p->name_len, &why))
            return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_HEADER,
                                 "%s: header: population '%.40s' (from INFO %s) %s as a key",
                                 path, p->name, key, why);
    }
    return true;
}

/* gnomAD's hemizygotes: AC_XY or AC_male, when declared; then the build's
 * PARs are needed. `*sex` is NULL when the style has none declared. */
static bool find_hemi_sex(sfl_vcf_schema_t *s, const bcf_hdr_t *h, const style_table_t *st,
                          const sfl_options_t *opt, const char *path, const char **sex,
                          sfl_error_t *err)
{
    *sex = NULL;
    for (int i = 0; st->hemi_sex[i] && !*sex; i++) {
        char k[64];
        snprintf(k, sizeof k, "AC_%s", st->hemi_sex[i]);
        if (info_declared(h, k))
            *sex = st->hemi_sex[i];
    }
    if (!*sex)
        return true;
    s->hemi_nonpar = true;
    return resolve_build(s, h, opt, path, err);
}

/* The INFO key of every slot: the style's, the hemizygotes' (`sex`), the
 * histograms (when kept), the consequence field, the quality metrics and
 * each population's. False when out of memory. */
static bool add_slot_keys(sfl_vcf_schema_t *s, const bcf_hdr_t *h, const style_table_t *st,
                          const char *sex, const char *csq_key, bool hist_on)
{
    char hemi_key[64] = "";
    if (sex)
        snprintf(hemi_key, sizeof hemi_key, "AC_%s", sex);
    if (!add_slot_key(s, SFL_SLOT_AC, st->ac, h, true) ||
        !add_slot_key(s, SFL_SLOT_AN, st->an, h, true) ||
        !add_slot_key(s, SFL_SLOT_HOM, st->hom, h, true) ||
        !add_slot_key(s, SFL_SLOT_HEMI, sex ? hemi_key : st->hemi, h, false) ||
        !add_slot_key(s, SFL_SLOT_DP_HIST, "DP_HIST", h, hist_on && info_declared(h, "DP_HIST")) ||
        !add_slot_key(s, SFL_SLOT_GQ_HIST, "GQ_HIST", h, hist_on && info_declared(h, "GQ_HIST")) ||
        !add_slot_key(s, SFL_SLOT_CSQ, csq_key ? csq_key : "CSQ", h, csq_key != NULL))
        return false;
    for (int i = 0; i < SFL_N_QUALITY_METRICS; i++)
        if (!add_slot_key(s, SFL_SLOT_QM0 + i, sfl_quality_metrics[i], h, false))
            return false;
    for (int p = 0; p < s->n_pops; p++) {
        char k[256];
        int base = SFL_SLOT_POP0 + 4 * p;
        const char *code = s->pops[p].code;
        snprintf(k, sizeof k, "%s%s", st->pop_ac, code);
        if (!add_slot_key(s, base + SFL_POP_AC, k, h, true))
            return false;
        snprintf(k, sizeof k, "%s%s", st->pop_an, code);
        if (!add_slot_key(s, base + SFL_POP_AN, k, h, true))
            return false;
        if (st->pop_hom) {
            snprintf(k, sizeof k, "%s%s", st->pop_hom, code);
            if (!add_slot_key(s, base + SFL_POP_HOM, k, h, true))
                return false;
        }
        if (st->pop_hemi || sex) {
            if (sex)
                snprintf(k, sizeof k, "%s%s_%s", st->pop_ac, code, sex);
            else
                snprintf(k, sizeof k, "%s%s", st->pop_hemi, code);
            if (!add_slot_key(s, base + SFL_POP_HEMI, k, h, false))
                return false;
            if (s->slot_declared[base + SFL_POP_HEMI])
                s->hemi_pops = true;
        }
    }
    return true;
}

/* The key -> slot hash (open addressing; the first slot of a key wins).
 * False when out of memory. */
static bool build_slot_hash(sfl_vcf_schema_t *s)
{
    uint32_t size = 16;
    while (size < 4u * (uint32_t)s->n_slots)
        size <<= 1;
    s->hash_mask = size - 1;
    s->hash_slot = malloc(sizeof *s->hash_slot * size);
    if (!s->hash_slot)
        return false;
    for (uint32_t i = 0; i < size; i++)
        s->hash_slot[i].slot = -1;
    for (int slot = 0; slot < s->n_slots; slot++) {
        const char *k = s->slot_key[slot];
        if (!k || sfl_vcf_schema_slot(s, k, strlen(k)) >= 0)
            continue;
        uint32_t h = key_hash(k, strlen(k)), i = h & s->hash_mask;
        while (s->hash_slot[i].slot >= 0)
            i = (i + 1) & s->hash_mask;
        s->hash_slot[i] = (struct sfl_slot_entry){slot, h, (uint32_t)strlen(k)};
    }
    return true;
}

/* The consequence field's Format (the header's or --csq-format), gnomAD
 * v4.0's repaired layout, and the checks that its entries can be matched
 * to alleles and scoped. */
static bool read_csq_format(sfl_vcf_schema_t *s, const bcf_hdr_t *h, const sfl_options_t *opt,
                            const char *csq_key, const char *path, sfl_error_t *err)
{
    const char *d = info_description(h, csq_key);
    const char *f = d ? strstr(d, "Format:") : NULL;
    if (!f && !opt->csq_format)
        return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_HEADER,
                             "%s: header: the ##INFO line for %s has no \"Format: A|B|...\" in "
                             "its Description, so its entries cannot be split into fields (or "
                             "give the Format: sfl_options_t.csq_format)",
                             path, csq_key);
    s->csq_declared = true;
    s->csq_overridden = opt->csq_format != NULL;
    if (!(s->csq_key = strdup(csq_key)))
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    if (!layout_parse(&s->csq[0], opt->csq_format ? opt->csq_format : f + 7, path, csq_key, err))
        return false;
    if (!(s->csq_format = layout_join(&s->csq[0])))
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    if (!opt->csq_format && strcmp(s->csq_format, sfl_gnomad_v40_format) == 0) {
        s->csq_v40_repair = true;
        if (!layout_parse(&s->csq[1], sfl_gnomad_v40_entries, path, csq_key, err))
            return false;
    }
    if (s->csq[0].allele_num < 0 && s->csq[0].allele < 0)
        return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_HEADER,
                             "%s: header: the %s Format has neither ALLELE_NUM nor Allele, so "
                             "annotations cannot be matched to alleles",
                             path, csq_key);
    if (s->vep_features == SFL_VEP_ENST && s->csq[0].feature < 0)
        return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_HEADER,
                             "%s: header: keeping only the entries whose Feature starts with "
                             "ENST (sfl_options_t.vep_features) needs a Feature field, but "
                             "the %s Format has none",
                             path, csq_key);
    return true;
}

sfl_vcf_schema_t *sfl_vcf_schema_new(const bcf_hdr_t *h, const sfl_options_t *opt,
                                     const char *path, sfl_error_t *err)
{
    const style_table_t *st = pick_style(h, opt->style, err);
    if (!st)
        return NULL;
    sfl_vcf_schema_t *s = calloc(1, sizeof *s);
    if (!s) {
        sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        return NULL;
    }
    s->style = st->style;
    s->histograms = opt->histograms;
    s->adj0_filter = st->adj0_filter;
    s->vep_features = opt->vep_features;
    int ns = bcf_hdr_nsamples(h);
    s->n_columns = ns > 0 ? 9 + ns : 8;
    read_contig_lengths(s, h);
    if (!find_populations(s, h, st, path, err))
        goto fail;
    if (!collect_declared_pop_keys(s, h, st))
        goto nomem;
    s->n_slots = SFL_SLOT_POP0 + 4 * s->n_pops;
    s->slot_key = calloc((size_t)s->n_slots, sizeof *s->slot_key);
    s->slot_declared = calloc((size_t)s->n_slots, sizeof(bool));
    s->slot_expected = calloc((size_t)s->n_slots, sizeof(bool));
    if (!s->slot_key || !s->slot_declared || !s->slot_expected)
        goto nomem;
    const char *csq_key = NULL, *sex;
    if (!find_csq_key(h, opt, path, &csq_key, err) ||
        !find_hemi_sex(s, h, st, opt, path, &sex, err))
        goto fail;
    if (!add_slot_keys(s, h, st, sex, csq_key, opt->histograms != SFL_HIST_NONE) ||
        !build_slot_hash(s))
        goto nomem;
    if (csq_key && !read_csq_format(s, h, opt, csq_key, path, err))
        goto fail;
    if (s->slot_expected[SFL_SLOT_DP_HIST] &&
        !parse_mids(h, "DP_HIST", path, &s->dp_n_mids, &s->dp_mids, err))
        goto fail;
    if (s->slot_expected[SFL_SLOT_GQ_HIST] &&
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
    free(s->csq_key);
    free(s->csq_format);
    layout_free(&s->csq[0]);
    layout_free(&s->csq[1]);
    free(s->dp_mids);
    free(s->gq_mids);
    for (size_t i = 0; i < s->n_declared_pop_keys; i++)
        free(s->declared_pop_keys[i]);
    free(s->declared_pop_keys);
    free(s->declared_set);
    free(s);
}

/* htslib's header parser skips or guesses at lines it cannot read, and
 * says so only on stderr (off while the library runs). Each "##" line is
 * checked here first: a structured line htslib cannot read whole (an
 * ##INFO=<... without its closing '>', a tag without an ID) is an error; a
 * line it would ignore or guess at (no KEY=VALUE, an INFO Type it does not
 * know) is a warning naming the line. */
static bool check_header_lines(sfl_header_warn_fn warn, void *warn_ud, const char *path,
                               const char *htxt, sfl_error_t *err)
{
    char msg[512];
    static const char *const types[] = {"Integer", "Float", "Flag", "Character", "String"};
    bcf_hdr_t *scratch = bcf_hdr_init("r");
    if (!scratch)
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    bool ok = true;
    unsigned long long ln = 0;
    for (const char *p = htxt; ok && *p; ln++) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        const char *line = p;
        p += len + (nl ? 1 : 0);
        if (len < 2 || line[0] != '#' || line[1] != '#')
            continue;
        int used = 0;
        bcf_hrec_t *h = bcf_hdr_parse_line(scratch, line, &used);
        const char *eq = memchr(line, '=', len);
        bool structured = eq && eq + 1 < line + len && eq[1] == '<';
        int id = -1;
        for (int k = 0; h && k < h->nkeys; k++)
            if (strcmp(h->keys[k], "ID") == 0)
                id = k;
        if (structured && (!h || line[len - 1] != '>' ||
                           (h->type != BCF_HL_GEN && (id < 0 || !*h->vals[id])))) {
            ok = sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_HEADER,
                               "%s: line %llu: a header line htslib cannot read whole (a "
                               "'##KEY=<ID=...,...>' line needs an ID and its closing '>'): "
                               "'%.*s'",
                               path, ln + 1, (int)(len > 80 ? 80 : len), line);
        } else if (!h) {
            snprintf(msg, sizeof msg,
                     "%s: line %llu: a header line that is not '##KEY=VALUE' is ignored: '%.*s'",
                     path, ln + 1, (int)(len > 80 ? 80 : len), line);
            if (!warn(warn_ud, msg))
                ok = sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        } else if (h->key && strcmp(h->key, "INFO") == 0) {
            const char *type = NULL;
            for (int k = 0; k < h->nkeys; k++)
                if (strcmp(h->keys[k], "Type") == 0)
                    type = h->vals[k];
            bool known = false;
            for (size_t t = 0; type && t < sizeof types / sizeof types[0]; t++)
                known = known || strcmp(type, types[t]) == 0;
            if (!known) {
                snprintf(msg, sizeof msg,
                         "%s: line %llu: INFO %s has %s Type; htslib reads it as a String", path,
                         ln + 1, id >= 0 ? h->vals[id] : "?", type ? "an unknown" : "no");
                if (!warn(warn_ud, msg))
                    ok = sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
            }
        }
        bcf_hrec_destroy(h);
    }
    bcf_hdr_destroy(scratch);
    return ok;
}

/* The value of `key` in header record `r`, or NULL. */
static const char *hrec_value(const bcf_hrec_t *r, const char *key)
{
    int i = bcf_hrec_find_key((bcf_hrec_t *)r, key);
    return i < 0 ? NULL : r->vals[i];
}

static bool same_value(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* htslib keeps the first ##INFO line of an ID and drops a later one. For
 * a field the schema reads (a slot key or the consequence field), a later
 * definition with another Number, Type or Description is refused: which
 * one the file's writer meant cannot be known. Other fields are not read,
 * so a repeat of theirs changes no document. */
static bool check_redefinitions(const sfl_vcf_schema_t *s, const bcf_hdr_t *h, const char *htxt,
                                const char *path, sfl_error_t *err)
{
    static const char lead[] = "##INFO=<ID=";
    unsigned long long ln = 0;
    bool ok = true;
    for (const char *p = htxt; ok && *p; ln++) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        const char *line = p;
        p += len + (nl ? 1 : 0);
        if (len <= sizeof lead - 1 || strncmp(line, lead, sizeof lead - 1) != 0)
            continue;
        const char *id = line + sizeof lead - 1, *ie = id;
        while (ie < line + len && *ie != ',' && *ie != '>')
            ie++;
        size_t il = (size_t)(ie - id);
        bool read = sfl_vcf_schema_slot(s, id, il) >= 0 ||
                    (s->csq_key && strlen(s->csq_key) == il && !strncmp(s->csq_key, id, il));
        if (!read)
            continue;
        char *copy = strndup(line, len), name[256];
        snprintf(name, sizeof name, "%.*s", (int)(il < 200 ? il : 200), id);
        int used = 0;
        bcf_hrec_t *mine = copy ? bcf_hdr_parse_line(h, copy, &used) : NULL;
        const bcf_hrec_t *kept = bcf_hdr_get_hrec(h, BCF_HL_INFO, "ID", name, NULL);
        static const char *const keys[] = {"Number", "Type", "Description"};
        for (int k = 0; mine && kept && ok && k < 3; k++)
            if (!same_value(hrec_value(mine, keys[k]), hrec_value(kept, keys[k])))
                ok = sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_HEADER,
                                   "%s: line %llu: a second ##INFO line for %s, with another "
                                   "%s than the first; the converter reads this field and "
                                   "cannot know which definition is meant",
                                   path, ln + 1, name, keys[k]);
        bcf_hrec_destroy(mine);
        free(copy);
    }
    return ok;
}

/* Does the converter read anything from this header line? The
 * ##fileformat and #CHROM lines; ##contig lines of contigs with an xpos
 * code (the build, the POS bound); ##INFO lines of the style's counts and
 * populations (every AC_/AN_/Hom_/Hemi_/nhomalt_ key), the histograms,
 * the quality metrics and the consequence field (CSQ, --csq-field, or any
 * described as VEP's). Nothing else reaches a document. */
static bool header_line_read(const char *line, size_t len, const char *csq_field)
{
    static const char *const prefixes[] = {"AC_", "AN_", "Hom_", "Hemi_", "nhomalt_"};
    static const char *const names[] = {"AC", "AN", "nhomalt", "Hom", "Hemi", "DP_HIST",
                                        "GQ_HIST", "CSQ"};
    if (len >= 2 && line[0] == '#' && line[1] != '#')
        return true; /* #CHROM */
    if (len >= 13 && strncmp(line, "##fileformat=", 13) == 0)
        return true;
    /* A structured line whose ID is not its first key: kept (htslib reads
     * it, and finding its ID is htslib's job). */
    if ((len > 9 && strncmp(line, "##contig=", 9) == 0 && strncmp(line, "##contig=<ID=", 13)) ||
        (len > 7 && strncmp(line, "##INFO=", 7) == 0 && strncmp(line, "##INFO=<ID=", 11)))
        return true;
    if (len > 14 && strncmp(line, "##contig=<ID=", 13) == 0) {
        const char *id = line + 13, *e = id;
        while (e < line + len && *e != ',' && *e != '>')
            e++;
        return sfl_contig_code(id, (size_t)(e - id)) != 0;
    }
    if (len <= 11 || strncmp(line, "##INFO=<ID=", 11) != 0)
        return false;
    const char *id = line + 11, *e = id;
    while (e < line + len && *e != ',' && *e != '>')
        e++;
    size_t il = (size_t)(e - id);
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (il > strlen(prefixes[i]) && strncmp(id, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (il == strlen(names[i]) && strncmp(id, names[i], il) == 0)
            return true;
    for (int i = 0; i < SFL_N_QUALITY_METRICS; i++)
        if (il == strlen(sfl_quality_metrics[i]) && strncmp(id, sfl_quality_metrics[i], il) == 0)
            return true;
    if (csq_field && il == strlen(csq_field) && strncmp(id, csq_field, il) == 0)
        return true;
    static const char vep[] = "Consequence annotations from Ensembl VEP";
    return memmem(line, len, vep, sizeof vep - 1) != NULL;
}

/* The header lines the converter reads (header_line_read), for htslib to
 * parse: htslib's parsed header takes about 8 times the text of its lines
 * (62 MB of ##contig lines: 830 MB), so a header of lines that no
 * document needs costs only its text. NULL when out of memory. */
static char *header_read_lines(const char *htxt, size_t hlen, const char *csq_field)
{
    char *out = malloc(hlen + 2), *o = out;
    if (!out)
        return NULL;
    for (const char *p = htxt; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (header_line_read(p, len, csq_field)) {
            memcpy(o, p, len);
            o += len;
            *o++ = '\n';
        }
        p += len + (nl ? 1 : 0);
    }
    *o = '\0';
    return out;
}

/* "##fileformat=VCFv4.N": the versions whose INFO this reader knows. */
static bool check_fileformat(const char *htxt, const char *path, sfl_error_t *err)
{
    const char *v = htxt + 16; /* after "##fileformat=VCF" */
    const char *e = v;
    while (*e && *e != '\n' && *e != '\r')
        e++;
    bool ok = e - v >= 4 && v[0] == 'v' && v[1] == '4' && v[2] == '.';
    for (const char *q = v + 3; ok && q < e; q++)
        ok = isdigit((unsigned char)*q);
    return ok || sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_HEADER,
                               "%s: line 1: '##fileformat=VCF%.*s': this reader knows VCF 4.x "
                               "(VCFv4.0 to VCFv4.5)",
                               path, (int)(e - v > 40 ? 40 : e - v), v);
}

sfl_vcf_schema_t *sfl_vcf_schema_from_header(char *htxt, size_t hlen, uint64_t header_lines,
                                             const sfl_options_t *opt, const char *path,
                                             sfl_header_warn_fn warn, void *warn_ud,
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
    if (!check_fileformat(htxt, path, err) || !check_header_lines(warn, warn_ud, path, htxt, err))
        return NULL;
    char *read_lines = header_read_lines(htxt, hlen, opt->csq_field);
    if (!read_lines) {
        sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        return NULL;
    }
    bcf_hdr_t *h = bcf_hdr_init("r");
    int rc = h ? bcf_hdr_parse(h, read_lines) : -1;
    free(read_lines);
    if (rc != 0) {
        if (h)
            bcf_hdr_destroy(h);
        sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_HEADER,
                      "%s: the VCF header could not be parsed by htslib (check the ##INFO "
                      "and #CHROM lines)",
                      path);
        return NULL;
    }
    sfl_vcf_schema_t *s = sfl_vcf_schema_new(h, opt, path, err);
    if (s && !check_redefinitions(s, h, htxt, path, err)) {
        sfl_vcf_schema_destroy(s);
        s = NULL;
    }
    bcf_hdr_destroy(h);
    return s;
}
