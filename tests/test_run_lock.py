"""One run per dataset output folder: a second `tfxp run` on a folder in use exits 1 naming
the run that holds it, before it fetches or builds anything; the lock goes with its holder."""
import subprocess
import sys
import time

from tfxp_cli.main import main
from tfxp_cli.run_lock import LOCK_FILE

HOLDER = """
import sys, time
from pathlib import Path
from tfxp_cli.run_lock import run_lock
with run_lock(Path(sys.argv[1]), "holder"):
    print("holding", flush=True)
    time.sleep(120)
"""


def test_a_second_run_on_the_same_folder_names_the_first(tmp_path, data_dir, capsys):
    folder = tmp_path / "out" / "house_votes"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        started = time.monotonic()
        assert main(["run", "house_votes", "--data-dir", str(data_dir), "--output-dir", str(tmp_path / "out")]) == 1
        err = capsys.readouterr().err
        assert f"error: another run is using {folder}: pid {holder.pid}, started " in err
        assert "(holder); wait for it to end, or give another --output-dir" in err and err.count("\n") == 1
        assert time.monotonic() - started < 10 and not (folder / "pipeline_root").exists()
    finally:
        holder.kill()
        holder.wait()
    # Killed, the holder's lock is gone with it: the folder is free again (the file stays).
    from tfxp_cli.run_lock import run_lock
    with run_lock(folder, "tfxp run house_votes"):
        assert (folder / LOCK_FILE).exists()
