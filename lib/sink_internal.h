/* sink_internal.h: how the job drives a sink. Private to the library. */
#ifndef SFL_SINK_INTERNAL_H
#define SFL_SINK_INTERNAL_H

#include "swefreq/sink.h"

bool sfl_sink_begin_int(sfl_sink_t *s, const sfl_run_info_t *run, sfl_error_t *err);
bool sfl_sink_write_int(sfl_sink_t *s, const sfl_batch_t *b, sfl_error_t *err);
bool sfl_sink_commit_int(sfl_sink_t *s, const sfl_manifest_t *m, sfl_error_t *err);
void sfl_sink_abort_int(sfl_sink_t *s);

#endif
