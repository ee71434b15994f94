"""Write the MRPC-shaped fixture that ``course_utils.load_mrpc()`` uses offline.

    python authoring/course_authoring/make_mrpc_fixture.py            # rewrites course_utils/data/mrpc_fixture/*.jsonl

The sentence pairs are written for this project from the templates below (no text comes from
MRPC). Each template has several wordings of one statement. An *equivalent* pair is two
different wordings with the same facts; a *not_equivalent* pair is two wordings where two facts
changed: a number, a name, a place, a day, or the direction of an event ("rose" vs "fell").
(With a single change, a 22M-parameter BERT needed far more steps than a quick CPU run allows.)
The output is deterministic (fixed seed), so rerunning it gives the committed files.
"""

from __future__ import annotations

import json
import random

from course_authoring.repo import ROOT

SEED = 20261124
SPLITS = {"train": 400, "validation": 100, "test": 100}
EQUIVALENT_SHARE = 0.55  # MRPC has 68 %; a milder skew keeps the majority baseline modest
OUT_DIR = ROOT / "course_utils" / "data" / "mrpc_fixture"

PEOPLE = [
    "Maria Lopez",
    "Thomas Becker",
    "Aisha Khan",
    "Daniel Okafor",
    "Yuki Tanaka",
    "Elena Petrova",
    "Samuel Reed",
    "Priya Sharma",
    "Lucas Moreau",
    "Hannah Fischer",
    "Omar Haddad",
    "Grace Liu",
    "Peter Novak",
    "Fatima Diallo",
    "Jonas Berg",
    "Clara Romano",
    "Victor Alves",
    "Nina Kowalski",
    "Ahmed Salem",
    "Laura Jensen",
    "Kenji Mori",
    "Sofia Rossi",
    "David Cohen",
    "Rita Mendes",
]
COMPANIES = [
    "Northwind Systems",
    "Bluefield Energy",
    "Harbor Logistics",
    "Crestline Foods",
    "Vantage Motors",
    "Silverpine Bank",
    "Orion Telecom",
    "Maple Pharma",
    "Summit Airlines",
    "Redwood Software",
    "Atlas Steel",
    "Keystone Retail",
    "Lumen Media",
    "Granite Insurance",
]
CITIES = [
    "Chicago",
    "Denver",
    "Boston",
    "Seattle",
    "Atlanta",
    "Dallas",
    "Phoenix",
    "Portland",
    "Toronto",
    "Dublin",
    "Lisbon",
    "Madrid",
    "Vienna",
    "Prague",
    "Oslo",
    "Sydney",
    "Nairobi",
    "Lagos",
    "Mumbai",
    "Osaka",
]
TEAMS = [
    "the Rivermen",
    "the Falcons",
    "the Miners",
    "the Comets",
    "the Pilots",
    "the Wolves",
    "the Hornets",
    "the Rangers",
    "the Mariners",
    "the Titans",
]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
PRODUCTS = ["tablet", "electric van", "smartwatch", "vaccine", "router", "drone", "laptop"]
BODIES = ["Senate", "city council", "state assembly", "school board", "House"]
BILLS = ["budget", "housing", "transport", "water", "energy", "education", "tax"]
UNIVERSITIES = [
    "the University of Leeds",
    "Stanford University",
    "the University of Toronto",
    "Kyoto University",
    "the University of Cape Town",
    "McGill University",
]
ANIMALS = ["honeybees", "crows", "octopuses", "dolphins", "bats", "salmon", "ants"]
ABILITIES = [
    "recognise human faces",
    "count up to five",
    "use simple tools",
    "sleep with half the brain",
    "find their way by the stars",
    "remember places for years",
]
DISEASES = ["influenza", "measles", "malaria", "tuberculosis", "cholera"]
# A "fact" slot lists opposite wordings: index 0 and 1 mean different things.
DIRECTIONS = [("rose", "fell"), ("increased", "decreased"), ("climbed", "dropped")]


def number(rng: random.Random, low: int, high: int) -> int:
    return rng.randint(low, high)


def other(rng: random.Random, pool: list, current):
    choice = current
    while choice == current:
        choice = rng.choice(pool)
    return choice


def other_number(rng: random.Random, value: int, low: int, high: int, gap: int = 1) -> int:
    choice = value
    while abs(choice - value) < gap:
        choice = rng.randint(low, high)
    return choice


# Every template: slot makers, the slots a not_equivalent pair may change, and wordings.
# Wordings are str.format strings over the slots; "dir" is an index into DIRECTIONS' pair,
# rendered through the "{up}" helper slot.
TEMPLATES = [
    {
        "slots": lambda r: {
            "company": r.choice(COMPANIES),
            "pct": number(r, 3, 48),
            "quarter": r.choice(["first", "second", "third", "fourth"]),
            "dir": r.randint(0, 1),
            "verbs": r.choice(DIRECTIONS),
        },
        "change": {"company": "name", "pct": "number", "dir": "fact", "quarter": "fact"},
        "wordings": [
            "{company} said its {quarter}-quarter profit {up} {pct} percent.",
            "Profit at {company} {up} by {pct} percent in the {quarter} quarter, the company said.",
            "In the {quarter} quarter, {company} reported that profit {up} {pct} %.",
            "{company}'s profit {up} {pct} percent in the {quarter} quarter of the year.",
        ],
    },
    {
        "slots": lambda r: {
            "team": r.choice(TEAMS),
            "team2": r.choice(TEAMS),
            "s1": number(r, 2, 9),
            "s2": number(r, 0, 1),
            "city": r.choice(CITIES),
            "day": r.choice(DAYS),
        },
        "change": {"team": "name", "s1": "number", "city": "place", "day": "day"},
        "wordings": [
            "{team} beat {team2} {s1}-{s2} in {city} on {day}.",
            "On {day}, {team} defeated {team2} by a score of {s1} to {s2} in {city}.",
            "{team2} lost {s1}-{s2} to {team} in {city} on {day}.",
            "Playing in {city} on {day}, {team} won {s1}-{s2} against {team2}.",
        ],
    },
    {
        "slots": lambda r: {
            "person": r.choice(PEOPLE),
            "company": r.choice(COMPANIES),
            "month": r.choice(MONTHS),
            "role": r.choice(["chief executive", "chief financial officer", "chairman"]),
        },
        "change": {"person": "name", "company": "name", "month": "day", "role": "fact"},
        "wordings": [
            "{person} was named {role} of {company} in {month}.",
            "{company} appointed {person} as its {role} in {month}.",
            "In {month}, {company} said {person} would become {role}.",
            "{person} became the {role} of {company} in {month}, the company announced.",
        ],
    },
    {
        "slots": lambda r: {
            "company": r.choice(COMPANIES),
            "n": number(r, 120, 4800),
            "city": r.choice(CITIES),
            "year": number(r, 2019, 2031),
        },
        "change": {"company": "name", "n": "number", "city": "place", "year": "number"},
        "wordings": [
            "{company} will cut {n} jobs at its {city} plant by {year}.",
            "By {year}, {company} plans to eliminate {n} positions at the {city} factory.",
            "{company} said {n} jobs would go at its plant in {city} before {year}.",
            "The {city} plant of {company} will lose {n} jobs by {year}, the company said.",
        ],
    },
    {
        "slots": lambda r: {
            "city": r.choice(CITIES),
            "n": number(r, 3, 95),
            "day": r.choice(DAYS),
        },
        "change": {"city": "place", "n": "number", "day": "day"},
        "wordings": [
            "Police in {city} arrested {n} people after the protest on {day}.",
            "{n} people were arrested by {city} police following {day}'s protest.",
            "After the protest on {day}, police in {city} detained {n} people.",
            "The {city} police said {n} protesters were arrested on {day}.",
        ],
    },
    {
        "slots": lambda r: {
            "body": r.choice(BODIES),
            "yes": number(r, 30, 70),
            "no": number(r, 5, 29),
            "bill": r.choice(BILLS),
        },
        "change": {"yes": "number", "bill": "fact", "body": "name"},
        "wordings": [
            "The {body} voted {yes} to {no} to approve the {bill} bill.",
            "By a vote of {yes}-{no}, the {body} approved the {bill} bill.",
            "The {bill} bill passed the {body} {yes} to {no}.",
            "Members of the {body} backed the {bill} bill by {yes} votes to {no}.",
        ],
    },
    {
        "slots": lambda r: {
            "city": r.choice(CITIES),
            "city2": r.choice(CITIES),
            "hours": number(r, 2, 14),
            "airline": r.choice(["Summit Airlines", "Skyway", "Aerolinea Sur", "Polar Air"]),
        },
        "change": {"city": "place", "city2": "place", "hours": "number", "airline": "name"},
        "wordings": [
            "The {airline} flight from {city} to {city2} was delayed by {hours} hours.",
            "Passengers on {airline}'s {city}-{city2} flight waited {hours} hours to take off.",
            "A {hours}-hour delay hit the {airline} flight from {city} to {city2}.",
            "{airline} said its flight from {city} to {city2} left {hours} hours late.",
        ],
    },
    {
        "slots": lambda r: {
            "person": r.choice(PEOPLE),
            "n": number(r, 12, 480) * 1000,
            "weeks": number(r, 1, 6),
        },
        "change": {"person": "name", "n": "number", "weeks": "number"},
        "wordings": [
            "{person}'s new novel sold {n} copies in its first {weeks} weeks.",
            "In its first {weeks} weeks, the new novel by {person} sold {n} copies.",
            "The latest book from {person} has sold {n} copies in {weeks} weeks.",
            "Sales of {person}'s new novel reached {n} copies after {weeks} weeks.",
        ],
    },
    {
        "slots": lambda r: {
            "uni": r.choice(UNIVERSITIES),
            "animal": r.choice(ANIMALS),
            "ability": r.choice(ABILITIES),
        },
        "change": {"uni": "name", "animal": "fact", "ability": "fact"},
        "wordings": [
            "Researchers at {uni} found that {animal} can {ability}.",
            "A study by {uni} shows {animal} are able to {ability}.",
            "{animal} can {ability}, according to scientists at {uni}.",
            "Scientists from {uni} reported that {animal} are able to {ability}.",
        ],
    },
    {
        "slots": lambda r: {
            "company": r.choice(COMPANIES),
            "product": r.choice(PRODUCTS),
            "price": number(r, 99, 1900),
            "month": r.choice(MONTHS),
        },
        "change": {"company": "name", "product": "fact", "price": "number", "month": "day"},
        "wordings": [
            "{company} will launch its new {product} in {month} at a price of ${price}.",
            "The new {product} from {company} goes on sale in {month} for ${price}.",
            "In {month}, {company} will start selling a ${price} {product}.",
            "{company} said its {product} would cost ${price} when it launches in {month}.",
        ],
    },
    {
        "slots": lambda r: {
            "city": r.choice(CITIES),
            "disease": r.choice(DISEASES),
            "n": number(r, 14, 900),
            "month": r.choice(MONTHS),
        },
        "change": {"city": "place", "disease": "fact", "n": "number", "month": "day"},
        "wordings": [
            "Health officials in {city} reported {n} new cases of {disease} in {month}.",
            "{city} recorded {n} new {disease} cases in {month}, officials said.",
            "In {month}, {n} new cases of {disease} were confirmed in {city}.",
            "There were {n} new {disease} cases in {city} during {month}, health officials said.",
        ],
    },
    {
        "slots": lambda r: {
            "index": r.choice(["the Dow", "the Nasdaq", "the FTSE 100", "the Nikkei"]),
            "points": number(r, 15, 640),
            "dir": r.randint(0, 1),
            "verbs": r.choice(DIRECTIONS),
            "day": r.choice(DAYS),
        },
        "change": {"index": "name", "points": "number", "dir": "fact", "day": "day"},
        "wordings": [
            "{index} {up} {points} points on {day}.",
            "On {day}, {index} {up} by {points} points.",
            "{index} {up} {points} points in trading on {day}.",
            "{index} {up} {points} points by the close on {day}.",
        ],
    },
]

RANGES = {
    "pct": (3, 48),
    "s1": (2, 9),
    "n": (3, 4800),
    "year": (2019, 2031),
    "yes": (30, 70),
    "hours": (2, 14),
    "weeks": (1, 6),
    "price": (99, 1900),
    "points": (15, 640),
}
POOLS = {
    "company": COMPANIES,
    "team": TEAMS,
    "person": PEOPLE,
    "city": CITIES,
    "city2": CITIES,
    "day": DAYS,
    "month": MONTHS,
    "role": ["chief executive", "chief financial officer", "chairman"],
    "quarter": ["first", "second", "third", "fourth"],
    "body": BODIES,
    "bill": BILLS,
    "airline": ["Summit Airlines", "Skyway", "Aerolinea Sur", "Polar Air"],
    "uni": UNIVERSITIES,
    "animal": ANIMALS,
    "ability": ABILITIES,
    "product": PRODUCTS,
    "disease": DISEASES,
    "index": ["the Dow", "the Nasdaq", "the FTSE 100", "the Nikkei"],
}


def render(wording: str, slots: dict) -> str:
    values = dict(slots)
    if "dir" in slots:
        values["up"] = slots["verbs"][slots["dir"]]
    text = wording.format(**values).replace("s's ", "s' ")
    return text[0].upper() + text[1:]


def changed(rng: random.Random, template: dict, slots: dict, count: int = 2) -> dict:
    """The same slots with ``count`` different facts changed."""
    new = dict(slots)
    for key in rng.sample(sorted(template["change"]), count):
        if key == "dir":
            new["dir"] = 1 - slots["dir"]
        elif key == "n" and slots["n"] >= 12000:  # book sales, in thousands
            new["n"] = other_number(rng, slots["n"] // 1000, 12, 480) * 1000
        elif key in RANGES:
            low, high = RANGES[key]
            if key == "n":
                low, high = max(3, slots[key] // 3), max(slots[key] * 3, 10)
            gap = 1 if key == "year" else max(1, slots[key] // 10)
            new[key] = other_number(rng, slots[key], low, high, gap)
        else:
            new[key] = other(rng, POOLS[key], slots[key])
    return new


def make_pair(rng: random.Random, equivalent: bool) -> tuple[str, str]:
    template = rng.choice(TEMPLATES)
    slots = template["slots"](rng)
    if "team2" in slots:
        slots["team2"] = other(rng, TEAMS, slots["team"])
    if "city2" in slots:
        slots["city2"] = other(rng, CITIES, slots["city"])
    first, second = rng.sample(template["wordings"], 2)
    other_slots = slots if equivalent else changed(rng, template, slots)
    return render(first, slots), render(second, other_slots)


def build(seed: int = SEED) -> dict[str, list[dict]]:
    rng = random.Random(seed)
    seen: set[tuple[str, str]] = set()
    splits: dict[str, list[dict]] = {}
    for split, size in SPLITS.items():
        n_equivalent = round(size * EQUIVALENT_SHARE)
        labels = [1] * n_equivalent + [0] * (size - n_equivalent)
        rng.shuffle(labels)
        rows = []
        for idx, label in enumerate(labels):
            while True:
                pair = make_pair(rng, equivalent=bool(label))
                if pair not in seen:
                    seen.add(pair)
                    break
            rows.append({"sentence1": pair[0], "sentence2": pair[1], "label": label, "idx": idx})
        splits[split] = rows
    return splits


def main() -> None:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for split, rows in build().items():
        path = OUT_DIR / f"{split}.jsonl"
        with path.open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(f"wrote {len(rows)} pairs to {path}")


if __name__ == "__main__":
    main()
