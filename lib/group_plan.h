/* group_plan.h: the plan of a partitioned load as a document, for the
 * MongoDB side (mongo/group.c). Private to the library; the public side
 * is swefreq/group.h.
 *
 * The document: {format: "swefreq-load-plan", format_version: 1, group,
 * created, parts_n, allow_empty, bytes, plan: <the run's plan: options and
 * hashed sources as a manifest>, parts: [{part, bytes, sources: [{source
 * (1-based), path, read: "whole" | "regions" | "none", regions: [{chrom,
 * start, end}] (end absent: to the contig's end)}]}], indexes: [...] (the
 * indexes checked and their record counts: group_check.h)}.
 */
#ifndef SFL_GROUP_PLAN_H
#define SFL_GROUP_PLAN_H

#include <bson/bson.h>

#include "swefreq/group.h"

/* The plan's document (owned by the plan). */
const bson_t *sfl_group_plan_doc(const sfl_group_plan_t *p);

/* A plan from its document (copied) and id; NULL with SFL_E_MANIFEST when
 * the document is not a plan. */
sfl_group_plan_t *sfl_group_plan_from_doc(const bson_t *doc, const char *id, sfl_error_t *err);

/* Sets the id (at most 47 characters). */
void sfl_group_plan_set_id(sfl_group_plan_t *p, const char *id);

/* The run's plan (options and sources) as a manifest; NULL with err. */
sfl_manifest_t *sfl_group_plan_manifest(const sfl_group_plan_t *p, sfl_error_t *err);

/* Part `part`'s entry {part, bytes, sources} of the document, in *out
 * (static view, valid while the plan lives); false when out of range. */
bool sfl_group_plan_part_doc(const sfl_group_plan_t *p, int part, bson_t *out);

/* Whether part `part` reads source `source` (0-based) at all. */
bool sfl_group_plan_part_reads(const sfl_group_plan_t *p, int part, size_t source);

/* Every region of every part and source, in the plan's order, as
 * manifest regions (end -1: to the contig's end; chrom points into the
 * plan); malloc'd array of *n (NULL when none or out of memory: *n 0).
 * Where a range-sharded group's staging is split (mongo/shard.c). */
sfl_manifest_region_t *sfl_group_plan_regions(const sfl_group_plan_t *p, size_t *n);

/* Whether the plan's job accepted empty sources. */
bool sfl_group_plan_allow_empty(const sfl_group_plan_t *p);

#endif
