"""PII detection and consistent redaction for Chinese text (issue #19).

- `config`: the settings file (rules/pii/pii.yaml) as `PiiRules`;
- `spec`: the job's `pii:` mapping as `PiiSpec`;
- `validators`: check digits, Luhn, phone shapes, IPs, personal URLs;
- `patterns`: the detectors' regular expressions and the gates in front of them;
- `detect`: candidates → findings over a column of texts;
- `words`: common words (jieba's dictionary) that contain a surname without being a name;
- `mentions`: a record's speaker names and cue-found values, wherever the record repeats them;
- `placeholders`: per-record numbering and replacement;
- `explain`: every finding (and turned-down candidate) in one text, for `curate rules explain`.

The batch stage is `curate.stages.pii.pii_stage`.
"""
