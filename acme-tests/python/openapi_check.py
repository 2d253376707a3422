"""Validates a JSON document (stdin) against a schema of docs/openapi.yaml.

usage: openapi_check.py <openapi.yaml> <SchemaName>
Exit 0 when valid, 1 with the error when not, 77 when PyYAML or jsonschema is missing.
"""
import json
import sys

try:
    import yaml
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012
except ImportError as e:  # pragma: no cover
    print(f"skipped: {e}")
    sys.exit(77)

spec = yaml.safe_load(open(sys.argv[1]))
registry = Registry().with_resource(
    "urn:stica:openapi", Resource.from_contents(spec, default_specification=DRAFT202012)
)
schema = {"$ref": f"urn:stica:openapi#/components/schemas/{sys.argv[2]}"}
validator = Draft202012Validator(schema, registry=registry)
errors = list(validator.iter_errors(json.load(sys.stdin)))
for e in errors:
    print(f"{list(e.absolute_path)}: {e.message}")
sys.exit(1 if errors else 0)
