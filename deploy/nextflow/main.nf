#!/usr/bin/env nextflow
/*
 * A scale-out load as a Nextflow scatter (docs/scale.md "Nextflow"):
 * PLAN once, PART for each part 1..N (on any executor: local, Slurm, a
 * cloud batch service), FINISH when every part is done.
 *
 *   export SWEFREQ_MONGO_URI_FILE=$HOME/.swefreq/cluster.uri   # chmod 600
 *   nextflow run deploy/nextflow/main.nf --db swefreq --group v4g --parts 64 \
 *       --shard_key range \
 *       --sources '--vcf /data/gnomad.genomes.v4.sites.vcf.bgz --coverage /data/cov.tsv.bgz'
 *
 * The plan file (group-plan.json) and each part's manifest file
 * (part-K.manifest.json) are outputs that FINISH takes: finish checks the
 * database's records against them. A part rerun after it completed exits
 * 11 without a manifest file, which fails its task: run with -resume, so
 * that Nextflow keeps the completed parts' outputs.
 *
 * Each step runs with --json; its outcome (one JSON object: ok,
 * exit_code, error, ...) is the step's output file and is published to
 * params.outcomes. A part that exits 11 ("already complete: nothing
 * done", e.g. after a -resume or a rerun) counts as done; 12 ("not ready,
 * retry later") is retried with a growing wait; any other code stops the
 * run (README "Exit codes"). A failed part is continued by running the
 * pipeline again with -resume: the completed parts exit 11, the failed
 * one resumes where it stopped.
 *
 * The URI never goes into params (they are printed in logs, reports and
 * the trace): the tasks read SWEFREQ_MONGO_URI_FILE from the environment
 * (nextflow.config passes it on; the file must be on storage the tasks
 * can read).
 */
nextflow.enable.dsl = 2

params.db = null
params.group = null
params.parts = 4
params.shard_key = null          // 'hashed', 'range' or null
params.sources = null            // the sources and document options, for plan
params.tool = 'swefreq-load'
params.outcomes = "swefreq-outcomes"
params.retries = 30

if (!params.db || !params.group || !params.sources)
    error "give --db, --group and --sources (see the comment at the top of main.nf)"

// exit 11 counts as success; the outcome file is kept either way
def run_step(String cmd, String outcome) {
    """
    set +e
    ${cmd} --json > ${outcome}
    rc=\$?
    if [ \$rc -eq 11 ]; then
        echo "already complete: nothing to do" >&2
        rc=0
    fi
    exit \$rc
    """
}

process PLAN {
    publishDir params.outcomes, mode: 'copy'
    output:
    path 'plan.json', emit: outcome
    path 'group-plan.json', emit: plan_file
    script:
    def shard = params.shard_key ? "--shard-key ${params.shard_key}" : ''
    run_step("${params.tool} plan --db ${params.db} --group ${params.group} " +
             "--parts ${params.parts} --out group-plan.json ${shard} ${params.sources}",
             'plan.json')
}

process PART {
    tag "part ${k}"
    publishDir params.outcomes, mode: 'copy'
    // 12: retry after 60 s, 120 s, ... (at most 10 min); anything else: stop
    errorStrategy { task.exitStatus == 12 ?
        { sleep(Math.min(600000L, 30000L * (1L << Math.min(task.attempt, 5)))); 'retry' }() :
        'terminate' }
    maxRetries params.retries
    input:
    path plan_file
    val k
    output:
    path "part-${k}.json", emit: outcome
    path "part-${k}.manifest.json", emit: manifest
    script:
    run_step("${params.tool} load --db ${params.db} --group ${params.group} --part ${k} " +
             "--manifest part-${k}.manifest.json", "part-${k}.json")
}

process FINISH {
    publishDir params.outcomes, mode: 'copy'
    // 12: retry after 60 s, 120 s, ... (at most 10 min); anything else: stop
    errorStrategy { task.exitStatus == 12 ?
        { sleep(Math.min(600000L, 30000L * (1L << Math.min(task.attempt, 5)))); 'retry' }() :
        'terminate' }
    maxRetries params.retries
    input:
    path plan_file
    path manifests
    output:
    path 'finish.json'
    script:
    // the database's records checked against the plan file and every
    // part's manifest file (README "Partitioned loads")
    def files = manifests.collect { "--part-manifest ${it}" }.join(' ')
    run_step("${params.tool} finish --db ${params.db} --group ${params.group} " +
             "--plan ${plan_file} ${files}", 'finish.json')
}

workflow {
    plan = PLAN()
    parts = PART(plan.plan_file.first(), Channel.of(1..(params.parts as int)))
    FINISH(plan.plan_file.first(), parts.manifest.collect())
}
