"""The command line, ``tfxp``: the top layer. Local commands (run, schedule, report, lineage,
...) and cloud commands (compile, submit, cloud-schedule, stage, job-spec), progress output,
turning known errors into one line, and the local cron scheduler."""
