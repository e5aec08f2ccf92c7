/* cli.h: what the command files share: exit codes, terminal output,
 * option helpers. The CLI uses only the public API of libswefreq-load. */
#ifndef SFL_CLI_H
#define SFL_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "swefreq/swefreq.h"

/* Exit codes (documented in the README and --help). */
enum {
    EXIT_OK = 0,
    EXIT_INTERNAL = 1,    /* out of memory, threads, a bug            */
    EXIT_USAGE = 2,       /* bad command line                         */
    EXIT_INPUT = 3,       /* a source file or manifest is bad         */
    EXIT_OUTPUT = 4,      /* cannot write the dump/manifest/rejects   */
    EXIT_MISMATCH = 5,    /* verify found a difference                */
    EXIT_UNREACHABLE = 6, /* server unreachable or timed out          */
    EXIT_AUTH = 7,        /* authentication failed                    */
    EXIT_SERVER = 8,      /* the server refused a write or a shape    */
    EXIT_STATE = 9,       /* refused by the database's state (lock,
                             seal, role)                              */
    EXIT_SIGNATURE = 10,  /* signature refused: the manifest is
                             unsigned, the signature is wrong, or the
                             key is not trusted                       */
    EXIT_PART_DONE = 11,  /* a partitioned load's part (or group) is
                             already complete: nothing was done       */
    EXIT_NOT_READY = 12,  /* not ready, retry later (a group's plan not
                             recorded yet, parts still running)       */
    EXIT_INTERRUPTED = 130
};

extern const char *cli_prog;
extern const char *cli_exit_codes_help;

int cli_exit_code(const sfl_error_t *err);
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_print_error(const sfl_error_t *err);

/* The library names an option as a C caller sets it, in parentheses:
 * "(sfl_options_t.max_errors)", "(sfl_mongo_options_t.break_lock)", "(the
 * reason argument)". These return the text with the CLI's flags instead
 * ("(--max-errors)"): cli_flags in a buffer valid until its next call,
 * cli_flags_dup malloc'd (NULL when out of memory). */
const char *cli_flags(const char *msg);
/* s for a terminal: every control character (below 0x20 but a newline
 * when keep_newline, 0x7f, and the C1 controls U+0080..U+009F, of which
 * U+009B starts an escape sequence) written as \xNN or \uNNNN, so that
 * text from a database or a file (a collection named
 * "x\nverify: OK\n" or holding "\033[8m") cannot forge or hide lines.
 * The result stays valid until eight further calls; "" for NULL. */
const char *cli_visible(const char *s, bool keep_newline);
char *cli_flags_dup(const char *msg);

/* Terminal output for a job: log messages, progress on a TTY. */
typedef struct {
    bool quiet;
    bool verbose;
    bool tty;
    unsigned warnings;
    bool progress_shown;
} cli_term_t;
void cli_term_init(cli_term_t *t, bool quiet);
void cli_log(void *ud, sfl_log_level_t level, const char *msg);
void cli_progress(void *ud, const sfl_progress_t *p);
void cli_progress_done(cli_term_t *t);

/* Parses a non-negative integer option; false (and a message) if bad. */
bool cli_parse_u64(const char *opt, const char *s, unsigned long long *out);

/* A human summary of a finished job, to stderr. */
void cli_print_summary(const sfl_job_t *job, const char *what);

/* With --json: the job's summary plus "ok", "exit_code" and "error", as
 * one JSON object on stdout. */
void cli_print_json_outcome(const sfl_job_t *job, int rc, const sfl_error_t *err);
/* The same with `extra` (may be NULL), one more `"key" : value` member. */
void cli_print_json_outcome_with(const sfl_job_t *job, int rc, const sfl_error_t *err,
                                 const char *extra);

/* Prints a verify report (JSON or human), destroys it, returns the exit
 * code: 0 when everything matched, 5 otherwise. */
int cli_finish_verify(sfl_verify_report_t *r, bool json);

/* When verify cannot run (--json): one object on stdout, { "ok" : false,
 * "exit_code" : rc, "swap_pending" : bool, "error" : message }. */
void cli_print_verify_failure(int rc, const sfl_error_t *err, bool swap_pending);

/* The verify report, human form, to stdout. */
void cli_print_verify(const sfl_verify_report_t *r);

/* s as a JSON string (quoted, escaped). */
void cli_json_string(FILE *f, const char *s);
/* `, "manifest_format_version" : N, "warnings" : [...]` for a JSON report
 * on manifest m (NULL: null and []): a format-1 manifest's warning that it
 * is not forgery-resistant. */
void cli_json_manifest_fields(FILE *f, const sfl_manifest_t *m);

int cmd_dump(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_load(int argc, char **argv);
int cmd_recover(int argc, char **argv);
int cmd_promote(int argc, char **argv);
int cmd_unseal(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_demote(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_finish(int argc, char **argv);

/* Signs `manifest` with the private key file `key` into `out` (NULL:
 * manifest.sig); returns the exit code (message printed on failure). */
int cli_sign_manifest(const char *key, const char *manifest, const char *out, bool quiet);

#endif
