"""The schema's marks that the models act on: the one list that codegen and the runtime share.

codegen (build time) reads this file by path, before the package can be imported, to carry
these marks into the generated models; the mark engine (_marks) reads them back from there.
Adding a mark: add it here, then its behaviour in _marks (or _soft for a warning mark).
Pure data: this module imports nothing.
"""

#: Field marks whose value is a string, by the _Marks attribute that collects them
#: ({field name: value}). See _marks' docstring for what each does.
STRING_MARKS = {
    "x-pii": "pii",
    "x-normalize": "normalize",
    "x-coerce": "coerce",
    "x-known-values": "known",
    "x-convert": "convert",
    "x-default": "defaults",
    "x-check": "checks",
    "x-message": "messages",
}

#: Field marks of what TikTok takes but probably wastes: a warning, never a refusal (_soft).
#: x-normalize is also one: a value it cannot normalize is sent as given, with a warning.
WARNING_MARKS = (
    "x-expected-pattern",
    "x-expected-values",
    "x-deprecated-values",
    "x-max-age",
    "x-max-ahead",
    "x-warn-given",
    "x-normalize",
)

#: Field marks read from the schema document at run time only, never by the models: x-match-key
#: (the match key a field carries: _schema.match_key_plan, counted by _coverage). Not carried
#: into the generated models: no model acts on them, and a model marked for them alone would
#: take the mark engine's base class for nothing.
DOCUMENT_MARKS = ("x-match-key",)

#: Every field mark the generator carries into Field(json_schema_extra=...): a model with any
#: of them gets the mark engine's base class (MarkedModel).
FIELD_MARKS = tuple(dict.fromkeys([*STRING_MARKS, *WARNING_MARKS]))

#: Object-level rules the generator does not turn into code: they travel into model_config.
MODEL_MARKS = ("x-min-properties", "x-forbidden-properties", "x-warn-unknown", "x-conditions")
