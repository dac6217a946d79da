#!/usr/bin/env python3
"""Writes telemetry.jsonl, the bundled sample: 20 simulated devices reporting
once a second for five minutes. Device dev-07 overheats between 02:00 and
02:45; a few readings arrive out of order, and two lines are malformed, so
the sample shows alerts, reordering and the error output.

Deterministic: the same seed always writes the same file. Until the device
simulator (`sluice simulate`) exists, this script is how the sample is made.
"""
import datetime
import json
import random

SEED = 20240101
DEVICES = 20
SECONDS = 300
START = datetime.datetime(2024, 1, 1, 8, 0, 0, tzinfo=datetime.timezone.utc)


def stamp(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def main():
    rng = random.Random(SEED)
    base = {f"dev-{d:02d}": 55 + rng.uniform(-8, 8) for d in range(DEVICES)}
    events = []
    for second in range(SECONDS):
        for device, normal in base.items():
            t = START + datetime.timedelta(seconds=second, milliseconds=rng.randrange(1000))
            temp = normal + rng.gauss(0, 1.5)
            if device == "dev-07" and 120 <= second < 165:
                temp += min(35.0, (second - 120) * 2.5)  # heating up
            events.append({
                "deviceId": device,
                "temperature": round(temp, 2),
                "humidity": round(40 + rng.uniform(-5, 5), 1),
                "eventTime": stamp(t),
            })
    events.sort(key=lambda e: e["eventTime"])
    # A few readings arrive late, within the default 5 s late-arrival tolerance.
    for i in range(200, len(events) - 40, 997):
        events.insert(i + 30, events.pop(i))
    lines = [json.dumps(e, separators=(",", ":")) for e in events]
    lines.insert(1500, '{"deviceId":"dev-03","temperature":')  # truncated
    lines.insert(4200, '{"deviceId":"dev-11","temperature":57.1,"eventTime":"yesterday"}')
    with open("telemetry.jsonl", "w") as out:
        out.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
