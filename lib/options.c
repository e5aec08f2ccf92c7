/* options.c: the job's options: defaults, names and checks.
 *
 * The design is simple: sfl_options_init() writes the defaults, the name
 * tables turn the enums into the words of the command line and the
 * manifest, and sfl_options_resolve() turns what a caller passed (of any
 * struct_size) into one checked copy that the rest of the library trusts.
 */
#include <string.h>
#include <unistd.h>

#include "options.h"

void sfl_options_init(sfl_options_t *o)
{
    if (!o)
        return;
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->threads = 0;
    o->style = SFL_STYLE_AUTO;
    o->histograms = SFL_HIST_PAIRS;
    o->coverage_step = 1;
    o->max_errors = 0;
    o->chunk_bytes = 1u << 20;
    o->queue_per_thread = 2;
}

/* The words of the command line and the manifest, indexed by enum value. */
static const char *const style_names[] = {"auto", "exac", "swegen", "gnomad", "gnomad2"};
static const char *const hist_names[] = {"pairs", "columns", "none"};
static const char *const vep_names[] = {"all", "enst"};
static const char *const genome_names[] = {"auto", "GRCh37", "GRCh38"};
#define N_NAMES(a) ((int)(sizeof(a) / sizeof *(a)))

static const char *name_of(const char *const *names, int n, int value)
{
    return value >= 0 && value < n ? names[value] : "unknown";
}

/* The index of `name` in `names`, or -1 (also for NULL). */
static int name_index(const char *const *names, int n, const char *name)
{
    for (int i = 0; name && i < n; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

const char *sfl_style_name(sfl_style_t s)
{
    return name_of(style_names, N_NAMES(style_names), (int)s);
}

bool sfl_style_parse(const char *name, sfl_style_t *out)
{
    int i = name_index(style_names, N_NAMES(style_names), name);
    if (i < 0 || !out)
        return false;
    *out = (sfl_style_t)i;
    return true;
}

const char *sfl_histograms_name(sfl_histograms_t h)
{
    return name_of(hist_names, N_NAMES(hist_names), (int)h);
}

bool sfl_histograms_parse(const char *name, sfl_histograms_t *out)
{
    int i = name_index(hist_names, N_NAMES(hist_names), name);
    if (i < 0 || !out)
        return false;
    *out = (sfl_histograms_t)i;
    return true;
}

const char *sfl_vep_features_name(sfl_vep_features_t v)
{
    return name_of(vep_names, N_NAMES(vep_names), (int)v);
}

bool sfl_vep_features_parse(const char *name, sfl_vep_features_t *out)
{
    int i = name_index(vep_names, N_NAMES(vep_names), name);
    if (i < 0 || !out)
        return false;
    *out = (sfl_vep_features_t)i;
    return true;
}

const char *sfl_genome_name(sfl_genome_t g)
{
    return name_of(genome_names, N_NAMES(genome_names), (int)g);
}

bool sfl_genome_parse(const char *name, sfl_genome_t *out)
{
    int i = name_index(genome_names, N_NAMES(genome_names), name);
    if (i < 0 || !out)
        return false;
    *out = (sfl_genome_t)i;
    return true;
}

bool sfl_options_resolve(const sfl_options_t *in, sfl_options_t *out, sfl_error_t *err)
{
    sfl_options_t o;
    sfl_options_init(&o);
    if (in) {
        if (in->struct_size < sizeof(size_t) || in->struct_size > sizeof o)
            return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                                 "sfl_options_t.struct_size is %zu; call sfl_options_init()",
                                 in->struct_size);
        memcpy(&o, in, in->struct_size);
        o.struct_size = sizeof o;
    }
    if (o.threads < 0 || o.threads > 256)
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                             "threads must be 0 to 256, not %d", o.threads);
    if (o.threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        o.threads = n > 0 ? (int)(n > 256 ? 256 : n) : 1;
    }
    if ((unsigned)o.style > SFL_STYLE_GNOMAD2 || (unsigned)o.histograms > SFL_HIST_NONE ||
        (unsigned)o.vep_features > SFL_VEP_ENST || (unsigned)o.genome > SFL_GENOME_GRCH38)
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                             "unknown style, histograms, vep_features or genome value");
    if (o.coverage_step == 0)
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                             "coverage step must be at least 1");
    if (o.chunk_bytes < 4096 || o.chunk_bytes > (256u << 20))
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                             "the chunk size (sfl_options_t.chunk_bytes, text per parser job) "
                             "must be 4096 to %u bytes, "
                             "not %zu",
                             256u << 20, o.chunk_bytes);
    if (o.queue_per_thread < 1 || o.queue_per_thread > 64)
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                             "the queue per thread (parser jobs in flight per thread) must be "
                             "1 to 64, not %d",
                             o.queue_per_thread);
    *out = o;
    return true;
}
