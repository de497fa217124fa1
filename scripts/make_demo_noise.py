#!/usr/bin/env python3
"""Writes the background of `vigil demo`'s scenario: ordinary Okta sign-ins and ordinary AWS
read calls on the same morning as the intrusion in samples/, and the stolen ops session's look
around before it stops the trail (calls no rule alerts on: what the learning loop drafts a
detection from once the case is resolved). Deterministic."""
import json
import random

rng = random.Random(20260302)
users = ["bob", "carol", "dave", "erin", "frank", "grace"]

okta = []
for i in range(48):
    user = rng.choice(users)
    minute = rng.randrange(8 * 60, 12 * 60)
    okta.append({
        "uuid": f"5f1e1000-0000-4000-8000-{i:012d}",
        "published": f"2026-03-02T{minute // 60:02d}:{minute % 60:02d}:{rng.randrange(60):02d}.000Z",
        "eventType": "user.session.start",
        "version": "0",
        "severity": "INFO",
        "displayMessage": "User login to Okta",
        "actor": {"id": f"00u1{user}", "type": "User", "alternateId": f"{user}@corp.example", "displayName": user.title()},
        "client": {"ipAddress": f"10.20.{rng.randrange(1, 9)}.{rng.randrange(2, 250)}", "userAgent": {"rawUserAgent": "Mozilla/5.0"},
                   "geographicalContext": {"city": "Amsterdam", "country": "Netherlands"}},
        "outcome": {"result": "SUCCESS"},
        "target": [],
    })
okta.sort(key=lambda e: e["published"])
with open("demo/noise-okta.json", "w") as f:
    for e in okta:
        f.write(json.dumps(e, separators=(",", ":")) + "\n")

calls = [("ec2.amazonaws.com", "DescribeInstances"), ("s3.amazonaws.com", "ListBuckets"),
         ("s3.amazonaws.com", "GetBucketLocation"), ("cloudwatch.amazonaws.com", "GetMetricData"),
         ("sts.amazonaws.com", "GetCallerIdentity")]
records = []
for i in range(40):
    source, name = rng.choice(calls)
    role = rng.choice(["ci-deploy", "monitoring"])
    minute = rng.randrange(8 * 60, 12 * 60)
    records.append({
        "eventVersion": "1.08",
        "userIdentity": {"type": "AssumedRole", "principalId": f"AROAEXAMPLE{role.upper()}:session",
                         "arn": f"arn:aws:sts::111122223333:assumed-role/{role}/session", "accountId": "111122223333",
                         "sessionContext": {"sessionIssuer": {"type": "Role", "userName": role}}},
        "eventTime": f"2026-03-02T{minute // 60:02d}:{minute % 60:02d}:{rng.randrange(60):02d}Z",
        "eventSource": source,
        "eventName": name,
        "awsRegion": "eu-west-1",
        "sourceIPAddress": f"10.30.{rng.randrange(1, 5)}.{rng.randrange(2, 250)}",
        "userAgent": "aws-sdk-go-v2/1.30.0",
        "requestParameters": None,
        "responseElements": None,
        "eventID": f"00000000-0000-4000-9000-{i:012d}",
        "readOnly": True,
        "eventType": "AwsApiCall",
        "recipientAccountId": "111122223333",
    })
# The intruder with ops' session key checks who it is and looks at the trails, minutes before
# samples/cloudtrail.json has it stop logging.
for i, (time, source, name, params) in enumerate([
        ("2026-03-02T09:52:10Z", "sts.amazonaws.com", "GetCallerIdentity", None),
        ("2026-03-02T09:54:40Z", "cloudtrail.amazonaws.com", "DescribeTrails", {"includeShadowTrails": True})]):
    records.append({
        "eventVersion": "1.09",
        "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::111122223333:assumed-role/ops/alice",
                         "accountId": "111122223333", "accessKeyId": "ASIAEXAMPLE00000002",
                         "sessionContext": {"sessionIssuer": {"type": "Role", "arn": "arn:aws:iam::111122223333:role/ops",
                                                              "userName": "ops"},
                                            "attributes": {"mfaAuthenticated": "true"}}},
        "eventTime": time,
        "eventSource": source,
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "075.050.255.067",
        "userAgent": "aws-cli/2.15.0",
        "requestParameters": params,
        "responseElements": None,
        "eventID": f"3b5c2f9e-0000-4000-8000-{41 + i:012d}",
        "readOnly": True,
        "eventType": "AwsApiCall",
        "recipientAccountId": "111122223333",
    })
records.sort(key=lambda r: r["eventTime"])
with open("demo/noise-cloudtrail.json", "w") as f:
    json.dump({"Records": records}, f, indent=1)
    f.write("\n")
