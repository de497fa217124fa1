#!/usr/bin/env bash
# Trains the built-in analyst's default model, crates/vigil-triage/models/default.json, from the
# labelled public data in ../shared/data. Reproducible: the same data and binary give the same
# weights.
#
# Training data (the rest is held out for `vigil eval triage`):
#   malicious: EVTX-to-MITRE recordings (every file is an attack), and Panther CloudTrail and
#              Okta tests labelled should-alert (even-numbered records);
#   benign:    Panther CloudTrail and Okta tests labelled should-not-alert (even-numbered).
# Held out: OTRF datasets, Stratus detonations, odd-numbered Panther records.
set -euo pipefail
cd "$(dirname "$0")/.."
data="${VIGIL_TEST_DATA:-$(cd .. && pwd)/shared/data}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cargo build --release --locked -q -p vigil-cli
vigil=target/release/vigil
sigma=(--rules "$data/sigma/rules" --rules "$data/sigma/rules-emerging-threats" --rules "$data/sigma/rules-threat-hunting")

python3 - "$data" "$work" <<'PY'
import json, os, sys
data, work = sys.argv[1], sys.argv[2]
for name, fmt in [("AWS_CloudTrail.jsonl", "cloudtrail"), ("Okta_SystemLog.jsonl", "okta")]:
    for i, line in enumerate(open(os.path.join(data, "panther-analysis/extracted_tests", name))):
        if i % 2:
            continue
        record = json.loads(line)
        label = "malicious" if record["expected_result"] else "benign"
        out = os.path.join(work, f"panther-{label}-{fmt}")
        os.makedirs(out, exist_ok=True)
        json.dump(record["log"], open(os.path.join(out, f"{i:04}.json"), "w"))
PY

hunt() { "$vigil" hunt "$@" "${sigma[@]}" --json 2>/dev/null || test $? -eq 1; }
hunt "$data/evtx-to-mitre-attack" > "$work/evtx-to-mitre-attack.jsonl"
for label in malicious benign; do
    for fmt in cloudtrail okta; do
        hunt "$work/panther-$label-$fmt" --format "$fmt" > "$work/panther-$label-$fmt.jsonl"
    done
done
"$vigil" train \
    --malicious "$work/evtx-to-mitre-attack.jsonl" "$work/panther-malicious-cloudtrail.jsonl" "$work/panther-malicious-okta.jsonl" \
    --benign "$work/panther-benign-cloudtrail.jsonl" "$work/panther-benign-okta.jsonl" \
    --out crates/vigil-triage/models/default.json
