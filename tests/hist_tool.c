/* hist_tool: the metrics' histogram (lib/metrics.c) on values from stdin,
 * for tests/metrics_test.py to compare with numpy.histogram.
 *
 * usage: hist_tool BINS [LO HI] < values (one per line, as %.17g)
 * prints: the BINS+1 edges on one line, the BINS counts on the next.
 */
#include <stdio.h>
#include <stdlib.h>

#include "metrics.h"

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 4)
        return 2;
    int nb = atoi(argv[1]);
    bool range = argc == 4;
    double lo = range ? strtod(argv[2], NULL) : 0, hi = range ? strtod(argv[3], NULL) : 0;
    size_t n = 0, cap = 1024;
    double *v = malloc(cap * sizeof *v), x;
    while (v && scanf("%lf", &x) == 1) {
        if (n == cap && !(v = realloc(v, (cap *= 2) * sizeof *v)))
            return 1;
        v[n++] = x;
    }
    if (!v || nb < 1 || nb > 1000)
        return 1;
    double mn = 0, mx = 0;
    for (size_t i = 0; i < n; i++) {
        mn = i == 0 || v[i] < mn ? v[i] : mn;
        mx = i == 0 || v[i] > mx ? v[i] : mx;
    }
    double *edges = malloc((size_t)(nb + 1) * sizeof *edges);
    long long *counts = calloc((size_t)nb, sizeof *counts);
    if (!edges || !counts)
        return 1;
    sfl_hist_edges(range, lo, hi, n, mn, mx, nb, edges);
    for (size_t i = 0; i < n; i++) {
        int b = sfl_hist_bin(v[i], edges, nb);
        if (b >= 0)
            counts[b]++;
    }
    for (int i = 0; i <= nb; i++)
        printf("%s%.17g", i ? " " : "", edges[i]);
    printf("\n");
    for (int i = 0; i < nb; i++)
        printf("%s%lld", i ? " " : "", counts[i]);
    printf("\n");
    free(v);
    free(edges);
    free(counts);
    return 0;
}
