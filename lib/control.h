/* control.h: progress and cancellation of verify and export
 * (sfl_run_control_t, swefreq/verify.h). Private.
 *
 * The public _ctl functions open a control on their own thread
 * (sfl_ctl_begin): the loops they call on that thread report with
 * sfl_ctl_tick, which is a no-op when no control is open (the same loops
 * run for a load's staging check on other threads). */
#ifndef SFL_CONTROL_H
#define SFL_CONTROL_H

#include <stdint.h>
#include <time.h>

#include "swefreq/swefreq.h"

typedef struct {
    sfl_run_control_t c; /* the caller's, resolved (defaults past struct_size) */
    struct timespec t0, last;
    uint64_t done, total, docs;
    const char *what;
} sfl_ctl_t;

/* False with SFL_E_USAGE for a bad control; ctl may be NULL. */
bool sfl_ctl_begin(sfl_ctl_t *k, const sfl_run_control_t *ctl, sfl_error_t *err);
/* A last progress call; closes the control. */
void sfl_ctl_end(sfl_ctl_t *k);
/* Adds to the expected total of bytes. */
void sfl_ctl_add_total(uint64_t bytes);
/* Counts bytes and documents done on `what` (borrowed until the next
 * call); calls the progress callback about 4 times a second. False (with
 * SFL_E_CANCELLED in err, naming `when`) once the caller asked to stop. */
bool sfl_ctl_tick(uint64_t bytes, uint64_t docs, const char *what, const char *when,
                  sfl_error_t *err);
/* The open control's cancel handle, or NULL (for helper threads). */
sfl_cancel_t *sfl_ctl_cancel_handle(void);
/* Calls progress now, for a caller that counts itself (export). */
void sfl_ctl_report(uint64_t done, uint64_t docs, const char *what);

#endif
