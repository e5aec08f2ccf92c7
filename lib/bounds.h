/* bounds.h: the bounds that keep memory flat and documents storable, in
 * one place (the README's "Bounds" lists them). Private. */
#ifndef SFL_BOUNDS_H
#define SFL_BOUNDS_H

/* A line of text. */
#define SFL_MAX_LINE (256 << 20)
/* A header: the '#' lines of a VCF. */
#define SFL_MAX_HEADER (64 << 20)
/* The documents of one VCF line as far as they grow with the square of
 * its ALT count (each lists every ALT's variant_id in orig_alt_alleles). */
#define SFL_MAX_LINE_ALT_BYTES (64 << 20)
/* A document: MongoDB's maxBsonObjectSize. The writer refuses larger ones
 * and verify reads no larger ones back. */
#define SFL_MAX_DOC_BYTES (16 << 20)

#endif
