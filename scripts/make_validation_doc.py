"""Write docs/validation.md from the output of ``reporting-sim check-study --markdown``.

The page is never typed by hand: this script runs the command (with this checkout's
package, through ``python -m reporting_sim``) and writes what it prints, whole or not
at all. Rerun it after any change to the model or to the claims:

    python scripts/make_validation_doc.py                      # 4 replications of 240 days
    python scripts/make_validation_doc.py --replications 10 --days 365

Exit status: the command's (2 with its one-line error on bad input).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replications", type=int, default=4)
    ap.add_argument("--days", type=float, default=240.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "validation.md")
    args = ap.parse_args(argv)
    cmd = [sys.executable, "-m", "reporting_sim", "check-study", "--markdown", "--no-progress",
           "--replications", str(args.replications), "--days", f"{args.days:g}", "--seed", str(args.seed)]
    if args.jobs is not None:
        cmd += ["--jobs", str(args.jobs)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        return done.returncode
    sys.path.insert(0, str(ROOT))
    from reporting_sim.study.execution import write_atomic

    write_atomic(args.out, done.stdout)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
