#!/usr/bin/env python3
"""Validates G2P Connect messages against the shared YAML's schemas (issue 12).

Usage: test/g2p_shapes.py SPEC.yaml KIND FILE
  KIND disburse: FILE holds a JSON array of disburse requests (sp.disburse_request);
  KIND on-disburse: FILE holds one on-disburse callback a provider would send.

The schemas are read from the YAML, not restated here: for the header
(MsgHeader_V1.0.0 / MsgCallbackHeader_V1.0.0), the message (DisburseRequest /
DisburseResponse) and each item, every property sent must be one the schema
declares (stricter than JSON Schema's default, to catch a misspelt field;
objects the schema leaves free-form, such as Meta, take any), every required property must be there (the spec's misspelt
"disburemsents" aside: its properties call the list "disbursements"), types,
patterns, maxLength and enums are checked, and date-times parsed. The
financial addresses are checked against the form the schema's description
gives (type:id@provider), since its own regex admits none of its examples.
Prints TAP.
"""
import datetime
import json
import re
import sys

import yaml

spec_path, kind, path = sys.argv[1:4]
with open(spec_path) as f:
    spec = yaml.safe_load(f)
schemas = spec["components"]["schemas"]
tests = []


def resolve(s):
    while isinstance(s, dict) and "$ref" in s:
        s = schemas[s["$ref"].split("/")[-1]]
    if isinstance(s, dict) and "allOf" in s:
        merged = {"properties": {}, "required": []}
        for part in s["allOf"]:
            part = resolve(part)
            for k, v in part.items():
                if k == "properties":
                    merged["properties"].update(v)
                elif k == "required":
                    merged["required"] += v
                else:
                    merged.setdefault(k, v)
        return merged
    return s


def check(value, schema, where, problems):
    schema = resolve(schema)
    t = schema.get("type")
    if t == "object" or "properties" in schema:
        if not isinstance(value, dict):
            problems.append(f"{where}: not an object")
            return
        props = schema.get("properties")
        if props is None:
            return                          # a free-form object (Meta: "defined as per implementation context")
        for k, v in value.items():
            if k not in props:
                problems.append(f"{where}.{k}: not a property of the schema")
            else:
                check(v, props[k], f"{where}.{k}", problems)
        for r in schema.get("required", []):
            if r == "disburemsents":       # the spec's typo for its own "disbursements"
                r = "disbursements"
            if r not in value:
                problems.append(f"{where}.{r}: required, missing")
    elif t == "array":
        if not isinstance(value, list):
            problems.append(f"{where}: not an array")
            return
        for i, v in enumerate(value):
            check(v, schema.get("items", {}), f"{where}[{i}]", problems)
    elif t == "string":
        if not isinstance(value, str):
            problems.append(f"{where}: not a string")
            return
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            problems.append(f"{where}: longer than {schema['maxLength']}")
        if "enum" in schema and value not in schema["enum"]:
            problems.append(f"{where}: {value!r} not in {schema['enum']}")
        if schema.get("format") == "date-time":
            try:
                datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                problems.append(f"{where}: {value!r} is not a date-time")
        desc = schema.get("description", "")
        if "id-type:id@provider" in desc:
            if not re.fullmatch(r"[a-z]+:[^@\s]+@[a-zA-Z0-9.-]+", value):
                problems.append(f"{where}: {value!r} is not type:id@provider")
        elif "pattern" in schema and not re.search(schema["pattern"], value):
            problems.append(f"{where}: {value!r} does not match {schema['pattern']}")
    elif t == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            problems.append(f"{where}: not an integer")
    elif t == "boolean":
        if not isinstance(value, bool):
            problems.append(f"{where}: not a boolean")


def ok(cond, name, problems=()):
    tests.append((cond, name, list(problems)))


with open(path) as f:
    doc = json.load(f)

if kind == "disburse":
    header_schema = {"allOf": [{"$ref": "#/components/schemas/MsgHeader_V1.0.0"}]}
    requests = doc
    ok(isinstance(requests, list) and len(requests) > 0, "at least one disburse request")
    for n, r in enumerate(requests):
        p = []
        check(r.get("header"), header_schema, f"[{n}].header", p)
        ok(not p, f"request {n + 1}: header is a MsgHeader_V1.0.0", p)
        p = []
        check(r.get("message"), {"$ref": "#/components/schemas/DisburseRequest"}, f"[{n}].message", p)
        ok(not p, f"request {n + 1}: message is a DisburseRequest", p)
        h, m = r.get("header", {}), r.get("message", {})
        ok(h.get("action") == "disburse", f"request {n + 1}: action is disburse")
        ok(h.get("total_count") == len(m.get("disbursements", [])),
           f"request {n + 1}: total_count equals the disbursements sent")
        ok(set(r) <= {"signature", "header", "message"}, f"request {n + 1}: only signature, header and message")
elif kind == "on-disburse":
    p = []
    check(doc.get("header"), {"allOf": [{"$ref": "#/components/schemas/MsgCallbackHeader_V1.0.0"}]}, "header", p)
    ok(not p, "on-disburse header is a MsgCallbackHeader_V1.0.0", p)
    p = []
    check(doc.get("message"), {"$ref": "#/components/schemas/DisburseResponse"}, "message", p)
    ok(not p, "on-disburse message is a DisburseResponse", p)
else:
    sys.exit(f"unknown kind {kind}")

print(f"1..{len(tests)}")
failed = 0
for i, (cond, name, problems) in enumerate(tests, 1):
    print(f"{'ok' if cond else 'not ok'} {i} - {name}")
    for pr in problems[:20]:
        print(f"#   {pr}")
    failed += not cond
sys.exit(1 if failed else 0)
