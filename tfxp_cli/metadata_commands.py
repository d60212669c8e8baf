"""`tfxp metadata check|rebuild`: a dataset's ML Metadata store, checked, or moved aside for a new one."""
from __future__ import annotations

import os
import sys
import time

from tfxp_cli.arguments import add_dataset, add_output_dir, add_output_format, json_text
from tfxp_contract.dataset_spec import load_spec
from tfxp_contract.run_folders import RunFolders


def _store(args) -> tuple[str, RunFolders]:
    folders = RunFolders(args.output_dir, load_spec(args.dataset).name)
    return folders.metadata_path, folders


def cmd_metadata(args) -> int:
    from tfxp_cli.run_lock import RunLockedError, running
    from tfxp_reports.metadata_store import open_store, sqlite_problem
    path, folders = _store(args)
    exists = os.path.exists(path)
    problem = sqlite_problem(path) if exists else None
    if args.action == "check":
        found = {"store": path, "exists": exists, "ok": exists and not problem, "problem": problem}
        if found["ok"]:
            store = open_store(path)
            found.update(executions=len(store.get_executions()), artifacts=len(store.get_artifacts()))
        if args.output == "json":
            print(json_text(found))
        elif not exists:
            print(f"{path}: no ML Metadata store yet (a run creates it)", file=sys.stderr)
        elif problem:
            print(f"error: {path}: the ML Metadata store {problem}; `tfxp metadata rebuild {args.dataset}` moves it "
                  "aside and starts a new one", file=sys.stderr)
        else:
            print(f"{path}: ok ({found['executions']} executions, {found['artifacts']} artifacts)")
        return 1 if problem else 0
    if not exists:
        print(f"{path}: no ML Metadata store yet (a run creates it)", file=sys.stderr)
        return 1
    if not problem and not args.force:
        print(f"error: {path}: the store is healthy; rebuilding it loses the history of runs (reports, lineage, "
              "cached components): add --force to do it anyway", file=sys.stderr)
        return 1
    holder = running(folders.home)
    if holder is not None:
        raise RunLockedError(f"a run is using {folders.home} (pid {holder.get('pid', '?')}); rebuild when it ends")
    suffix = f".{'damaged' if problem else 'old'}-{time.strftime('%Y%m%d-%H%M%S')}"
    os.replace(path, path + suffix)
    moved = [path + suffix]
    # The old artifacts belong to the old store; a new store numbers its executions from 1 again.
    if os.path.isdir(folders.pipeline_root):
        os.replace(folders.pipeline_root, folders.pipeline_root + suffix)
        moved.append(folders.pipeline_root + suffix)
    print(f"{path} (and the artifacts it recorded) moved to {', '.join(moved)}; the next run starts a new store. "
          f"Served models are kept ({folders.serving_root}); the history of runs before now is in the old files only.")
    return 0


def add_metadata_commands(commands) -> None:
    p = commands.add_parser("metadata", help="check a dataset's ML Metadata store, or move a damaged one aside",
                            description="check: says whether the SQLite store opens and is whole. rebuild: moves a "
                                        "damaged store aside (a healthy one only with --force) so that the next run "
                                        "starts a new one; served models stay, the run history starts over.")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, help_text in [("check", "say whether the store is whole"),
                              ("rebuild", "move a damaged store aside; the next run starts a new one")]:
        q = actions.add_parser(action, help=help_text)
        add_dataset(q)
        add_output_dir(q)
        if action == "check":
            add_output_format(q)
        if action == "rebuild":
            q.add_argument("--force", action="store_true", help="rebuild a healthy store too")
        q.set_defaults(func=cmd_metadata)
