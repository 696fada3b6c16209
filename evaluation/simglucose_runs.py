"""Write simglucose runs for ``monitoring evaluate --simglucose DIR``.

    pip install simglucose   # MIT; the UVA/Padova 2008 type 1 model; not a dependency of this project
    python -m evaluation.simglucose_runs --out DIR [--days 3] [--seed 11] [--groups adult,adolescent,child]

Each virtual patient (ten per group) lives ``--days`` days of random meals
under simglucose's basal-bolus controller, read by a CGM with 5-minute
sampling (its GuardianRT model), and is written as ``<patient>.csv`` with the
true blood glucose (``BG``) beside the sensor's (``CGM``).
"""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from pathlib import Path


def run(name: str, out: Path, days: int, seed: int) -> None:
    try:
        from simglucose.actuator.pump import InsulinPump
        from simglucose.controller.basal_bolus_ctrller import BBController
        from simglucose.patient.t1dpatient import T1DPatient
        from simglucose.sensor.cgm import CGMSensor
        from simglucose.simulation.env import T1DSimEnv
        from simglucose.simulation.scenario_gen import RandomScenario
        from simglucose.simulation.sim_engine import SimObj, sim
    except ImportError:
        raise SystemExit("simglucose is not installed: pip install simglucose") from None
    start = datetime(2024, 1, 1)
    env = T1DSimEnv(
        T1DPatient.withName(name),
        CGMSensor.withName("GuardianRT", seed=seed),
        InsulinPump.withName("Insulet"),
        RandomScenario(start_time=start, seed=seed),
    )
    sim(SimObj(env, BBController(), timedelta(days=days), animate=False, path=str(out)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--groups", default="adult,adolescent,child")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for group in args.groups.split(","):
        for number in range(1, 11):
            run(f"{group}#{number:03d}", args.out, args.days, args.seed)


if __name__ == "__main__":
    main()
