#!/usr/bin/env python3
"""Synthetic hospital generator (CHU Val-de-Loire) for black-box tests of an EHR access monitor.

python3 gen2.py --out DIR --seed N [--days 21] [--patients 4000] [--staff 400] [--incidents-per-kind 2]
"""
import argparse
import datetime as dt
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import chronic  # noqa: E402
import clinical  # noqa: E402
import incident_kinds  # noqa: E402
import people  # noqa: E402
import scen_admin  # noqa: E402
import scen_clinical  # noqa: E402
import scen_support  # noqa: E402
import specials  # noqa: E402
import writers  # noqa: E402
from common import Clock  # noqa: E402
from org import Org  # noqa: E402
from scen_base import Ctx  # noqa: E402
from schedule import Roster  # noqa: E402


def build(args):
    rng = random.Random(args.seed)
    start = dt.date.fromisoformat(args.start)
    clock = Clock(start, args.days)
    pop = people.Population(rng, start, args.patients, args.staff)
    staff_people = pop.pick_staff_people(args.staff)
    org = Org(rng, args.staff, staff_people, start)
    patients = pop.choose_patients(args.patients, staff_people)
    chronic.assign_profiles(rng, patients, start)
    chronic.assign_labels(rng, patients, start)
    vips = chronic.pick_celebrities(rng, patients, start, 2)
    roster = Roster(rng, org, clock)
    clinic = clinical.Clinic(rng, org, roster, clock, patients, start)
    teams = chronic.build_careteams(rng, org, patients, clock)
    stories = specials.add_vips(rng, clinic, org, clock, vips, teams)
    specials.staff_treated_by_colleagues(rng, clinic, org, clock, patients)
    clinic.encounters.sort(key=lambda e: (e.start, e.eid))
    ctx = Ctx(rng, org, roster, clock, clinic, teams, patients)
    ctx.pop = pop
    scen_admin.plan_backoffice(ctx)
    for i in range(clock.days):
        scen_clinical.ward_nursing(ctx, i)
        scen_clinical.physician_rounds(ctx, i)
        scen_clinical.night_cover(ctx, i)
        scen_clinical.remote_evening(ctx, i)
        scen_clinical.consults(ctx, i)
        scen_support.ed_care(ctx, i)
        scen_support.ed_admission_review(ctx, i)
        scen_support.outpatient(ctx, i)
        scen_support.orders(ctx, i)
        scen_admin.backoffice(ctx, i)
        scen_admin.registration(ctx, i)
        scen_admin.roi(ctx, i)
        scen_admin.research(ctx, i)
        scen_admin.careteam_followup(ctx, i)
        scen_admin.deaths(ctx, i)
        scen_admin.vip_care(ctx, i, stories)
        scen_admin.operating_room(ctx, i)
    planted = incident_kinds.plant(ctx, args.incidents_per_kind, vips)
    return rng, clock, org, patients, clinic, teams, ctx, planted


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--days", type=int, default=21)
    ap.add_argument("--patients", type=int, default=4000)
    ap.add_argument("--staff", type=int, default=400)
    ap.add_argument("--incidents-per-kind", type=int, default=2)
    ap.add_argument("--start", default="2025-03-17", help="first local day (default 2025-03-17)")
    args = ap.parse_args(argv)
    t0 = time.time()
    rng, clock, org, patients, clinic, teams, ctx, planted = build(args)
    os.makedirs(args.out, exist_ok=True)
    writers.write_context(args.out, rng, org, patients, clinic.encounters, teams, clock)
    n = writers.write_events(args.out, rng, ctx.sessions, clock, clinic.encounters)
    print("wrote %d AuditEvents, %d patients, %d staff, %d encounters, %d incidents in %.1fs -> %s"
          % (n, len(patients), len(org.staff), len(clinic.encounters), len(planted), time.time() - t0, args.out),
          file=sys.stderr)


if __name__ == "__main__":
    main()
