"""``python -m tfxp_cli`` is ``tfxp``."""
from tfxp_cli.main import run

run()
