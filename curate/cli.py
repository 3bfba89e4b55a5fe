"""The `curate` command line: thin click commands over library functions (heavy imports stay inside commands)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from curate.job import DEFAULT_SHARD_ROWS, DedupSpec
from curate.models import TASKS

EXIT_CONFIG = 2  # bad job, rule file or input configuration, or an unusable output folder: found up front
EXIT_RUN = 1  # the run started and stopped (e.g. a full disk): rerun into the same OUT to resume


def _fail(e: Exception) -> click.ClickException:
    err = click.ClickException(str(e))
    err.exit_code = EXIT_CONFIG
    return err


def _path(value: str) -> Path | str:
    """A command-line path: a local Path, or an object-store URL kept as given (`curate.io.storage`)."""
    from curate.io import paths

    return value if paths.is_url(value) else Path(value)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="curate")
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
def main(verbose: int) -> None:
    """curate: Chinese web text and dialogues to clean, deduplicated, scored Parquet shards.

    \b
    Start with the demo:   curate run jobs/demo.yaml
    Look at the output:    curate inspect out/demo
    See why a text drops:  curate rules explain "一段文字……"
    """
    logging.basicConfig(level=[logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)],
                        format="%(levelname)s %(name)s: %(message)s")


@main.command()
@click.argument("job_file", metavar="JOB.yaml")
@click.option("--input", "inputs", multiple=True, metavar="[NAME=]PATH",
              help="Replace an input's path (repeatable). PATH alone works for a one-input job.")
@click.option("--output", "-o", metavar="DIR", help="Output folder (default: the job's `output`, else out/JOB).")
@click.option("--limit", type=click.IntRange(min=1), help="Read only the first N records: a quick look.")
@click.option("--address", envvar="RAY_ADDRESS", metavar="ADDR",
              help="Ray cluster to join (also RAY_ADDRESS). Default: a local Ray on this machine.")
@click.option("--overwrite", is_flag=True, help="Use an output folder that holds something other than a curate run.")
@click.option("--keep-work", is_flag=True, help="Keep OUT/_work (phase checkpoints and dedup decisions) after the run.")
@click.option("--fresh", is_flag=True,
              help="Start over even if OUT holds an unfinished run of this job (by default it is resumed).")
@click.option("--dry-run", is_flag=True, help="Validate the job, print the resolved config and its hash, run nothing.")
def run(job_file: str, inputs: tuple[str, ...], output: str | None, limit: int | None, address: str | None,
        overwrite: bool, keep_work: bool, fresh: bool, dry_run: bool) -> None:
    """Run a job: read → normalise → rule filters → exact and near-duplicate removal across the whole run →
    scores and affect tags → kept and rejected shards, stats, a manifest and dashboards.

    \b
    Output (OUT = --output or the job's `output`):
      OUT/data/part-*.parquet     kept records (zstd Parquet, schema in schemas/record.json)
      OUT/rejects/part-*.parquet  every dropped record, with drop_reason and drop_detail
      OUT/stats/part-*.json       per-shard counts, histograms, label counts, samples (schemas/stats.json)
      OUT/manifest.json           inputs, counts per file, config hash, models, versions
      OUT/dashboard/index.html    run overview and one page per shard (offline HTML)
    \b
    Resuming: a run that was stopped (killed, disk full, machine lost) is resumed by running the same
    job into the same OUT again: finished read tasks, the dedup decisions and finished shards are kept
    (OUT/_work/plan.json says what they depend on), and the output is byte for byte that of an
    uninterrupted run. A changed job or input starts over; so does --fresh.
    \b
    Examples:
      curate run jobs/demo.yaml
      curate run jobs/demo.yaml --limit 100 -o /tmp/peek
      curate run jobs/web.yaml --input web=/data/crawl/*.jsonl.zst --address head-node:6379
    """
    import json

    import yaml

    from curate.job import JobError, RunError, load_job
    from curate.stages.rules import RuleError

    try:
        job = load_job(job_file, inputs=list(inputs), output=output, address=address)
        if dry_run:
            click.echo(yaml.safe_dump(json.loads(json.dumps(job.to_dict())), allow_unicode=True, sort_keys=False))
            click.echo(f"config hash: {job.config_hash()}")
            return
        from curate.report import summary_text
        from curate.run import run_job

        click.echo(f"curate: job {job.name!r}: {sum(len(s.files) for s in job.inputs)} input file(s) -> {job.output}",
                   err=True)
        from curate.progress import Progress

        result = run_job(job, overwrite=overwrite, limit=limit, keep_work=keep_work, resume=not fresh,
                         progress=Progress(sys.stderr),  # a live line per phase on a terminal, else a line each
                         stop_ray=True)  # the process ends with the run: Ray stops while the dashboards render
    except (JobError, RuleError, FileNotFoundError, yaml.YAMLError) as e:
        raise _fail(e) from None
    except RunError as e:
        raise click.ClickException(str(e)) from None  # exit 1
    from curate.dashboard import render_dashboard

    index = render_dashboard(result.out)
    click.echo(summary_text(result.manifest))
    click.echo(f"\noutput: {result.out}  (curate inspect {result.out}; dashboards: {index})")
    if not all(f["reconciled"] for f in result.manifest["inputs"]):
        click.echo("error: counts do not reconcile for some input; see manifest.json", err=True)
        sys.exit(1)


@main.command()
@click.argument("in_path", metavar="IN")
@click.argument("out", metavar="OUT")
@click.option("--threshold", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=DedupSpec.threshold, show_default=True,
              help="Jaccard similarity of character n-gram sets above which two texts are near duplicates.")
@click.option("--ngram", type=click.IntRange(min=1), default=DedupSpec.ngram, show_default=True, help="Character n-gram size.")
@click.option("--num-perm", type=click.IntRange(min=8), default=DedupSpec.num_perm, show_default=True, help="MinHash signature size.")
@click.option("--exact-only", is_flag=True, help="Only remove exact duplicates (same normalised text).")
@click.option("--shard-rows", type=click.IntRange(min=1), default=DEFAULT_SHARD_ROWS, show_default=True,
              help="Records per output shard.")
@click.option("--overwrite", is_flag=True, help="Use an output folder that holds something other than a curate run.")
@click.option("--address", envvar="RAY_ADDRESS", metavar="ADDR", help="Ray cluster to join (also RAY_ADDRESS).")
@click.option("--num-cpus", type=click.IntRange(min=1), help="CPUs of the local Ray (default: all).")
def dedup(in_path: str, out: str, threshold: float, ngram: int, num_perm: int, exact_only: bool, shard_rows: int,
          overwrite: bool, address: str | None, num_cpus: int | None) -> None:
    """Remove exact and near duplicates from record shards (IN: a run's OUT or a folder of shards).

    Duplicates stay in the output with drop_reason exact_duplicate / near_duplicate and dup_of naming the
    survivor. A cluster is split into stars so that every duplicate is itself similar to the text it is
    removed for; a star's centre is its most linked text, then the longest (without whitespace), then the
    smallest hash; among the records with the centre's text the smallest id survives, then file and line.

    \b
    Example:
      curate dedup out/crawl out/crawl-dedup --threshold 0.85
    """
    from curate.io.storage import StorageURLError
    from curate.job import JobError
    from curate.run import run_dedup

    spec = DedupSpec(near=not exact_only, threshold=threshold, ngram=ngram, num_perm=num_perm)
    try:
        result = run_dedup(in_path, out, spec, overwrite=overwrite, shard_rows=shard_rows, address=address,
                           num_cpus=num_cpus)
    except (JobError, FileNotFoundError, StorageURLError) as e:
        raise _fail(e) from None
    m = result.manifest
    d = m["dedup"]
    click.echo(f"{m['records_in']} records: {m['kept']} kept, {d['duplicates']} duplicates in {d['clusters']} "
               f"clusters ({m['seconds']:.1f} s); output {result.out}")


@main.group()
def rules() -> None:
    """Rule sets: explain verdicts on a text."""


@rules.command("explain")
@click.argument("text", required=False)
@click.option("--file", "-f", "file", type=click.File("r", encoding="utf-8"), help="Read the text from a file ('-' for stdin).")
@click.option("--kind", type=click.Choice(["web", "dialogue"]), default="web", show_default=True,
              help="dialogue: read the text as `speaker：utterance` lines.")
@click.option("--rules", "rule_files", multiple=True, default=("default.yaml", "dialogue.yaml"), show_default=True,
              help="Rule sets (files in rules/ or paths), in order.")
@click.option("--simplify", is_flag=True, help="Convert traditional to simplified first, as normalize.to_simplified.")
def rules_explain(text: str | None, file: object, kind: str, rule_files: tuple[str, ...], simplify: bool) -> None:
    """Show every signal, each rule's threshold and verdict, and the outcome for TEXT.

    Uses the run's own stages (normalise, pii, signals, rules), so the verdict is the one `curate run` gives
    with the shipped jobs' settings; the PII found (and the candidates turned down, with why) come first, the
    crisis-risk level of each seeker turn (the tagger's probabilities, the lexicon's cue, the evidence) last.

    \b
    Examples:
      curate rules explain "太短了"
      curate rules explain --file page.txt
      printf '来访者：我好难过\\n咨询师：发生什么了？' | curate rules explain --kind dialogue -f -
    """
    from curate.explain import explain_text
    from curate.job import NormalizeSpec
    from curate.stages.rules import RuleError

    if file is not None:
        text = file.read()  # type: ignore[attr-defined]
    if text is None:
        raise click.UsageError("give TEXT or --file")
    try:
        click.echo(explain_text(text, kind, rule_files, NormalizeSpec(to_simplified=simplify)))
    except (RuleError, FileNotFoundError) as e:
        raise _fail(e) from None


@main.command()
@click.argument("out", metavar="OUT")
@click.option("--serve", is_flag=True, help="Then serve OUT/dashboard on http://127.0.0.1:PORT (Ctrl-C stops).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port for --serve (0: any free port). Always bound to 127.0.0.1 only.")
def dashboard(out: str, serve: bool, port: int) -> None:
    """Write a run's quality dashboards to OUT/dashboard/ (index.html and one page per shard).

    Static HTML from OUT/stats/*.json: inline SVG charts, no script, nothing loaded from the network,
    so the pages open offline straight from disk. `curate run` writes them at the end too.

    \b
    Examples:
      curate dashboard out/demo              then open out/demo/dashboard/index.html
      curate dashboard out/demo --serve --port 8765
    """
    from curate.dashboard import render_dashboard

    where = _path(out)
    if isinstance(where, Path) and not where.is_dir():
        raise click.BadParameter(f"folder {out!r} does not exist", param_hint="'OUT'")
    if serve and not isinstance(where, Path):
        raise click.BadParameter("--serve serves a local folder; copy the dashboard/ objects down first",
                                 param_hint="'--serve'")
    try:
        index = render_dashboard(where)
    except (FileNotFoundError, ValueError) as e:
        raise _fail(e) from None
    click.echo(f"wrote {index}")
    if serve:
        assert isinstance(index, Path)
        from curate.dashboard.serve import dashboard_server

        server = dashboard_server(index.parent, port)
        host, bound = server.server_address[:2]
        click.echo(f"serving http://{host}:{bound}/index.html (Ctrl-C stops)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()


@main.command()
@click.argument("path")
@click.option("--rows", "-n", default=3, show_default=True, help="How many rows to show.")
def inspect(path: str, rows: int) -> None:
    """Schema, row counts, a few rows and a per-column summary of shards.

    PATH is a Parquet file, a folder of them, or a run's output folder (its data/ shards;
    use OUT/rejects for the rejects); a local path or a URL (s3://bucket/run).
    """
    from curate.io.storage import StorageURLError
    from curate.shard_summary import inspect_text

    try:
        click.echo(inspect_text(path, rows))
    except (FileNotFoundError, StorageURLError) as e:
        raise _fail(e) from None


@main.command()
@click.argument("task", type=click.Choice(list(TASKS)))
@click.option("--config", type=click.Path(exists=True, dir_okay=False),
              help="Training config (default: classifiers/train/TASK.yaml).")
@click.option("--data-root", type=click.Path(exists=True, file_okay=False),
              help="Folder of the shared datasets the config's `data:` paths are relative to "
                   "(default: $CURATE_DATA, else ../shared/data beside the checkout).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="Where to write TASK.ftz and its card TASK.yaml (default: the checkout's classifiers/).")
def train(task: str, config: str | None, data_root: str | None, out_dir: str | None) -> None:
    """Train TASK's fastText model from its config; write the quantised model and its card.

    \b
    Reproducible: one thread, fixed seed; the same checkout and data give the same bytes.
    Then check it:  curate eval TASK            (the config's valid split)
    """
    from curate.models.train import shell_command, train_task

    try:
        card = train_task(task, config=config, data_root=data_root, out_dir=out_dir,
                          command=shell_command(["curate", *sys.argv[1:]]) if sys.argv[0].endswith("curate") else None)
    except (FileNotFoundError, ValueError) as e:
        raise _fail(e) from None
    click.echo(f"{card.name} {card.version}: {card.model_path} ({card.training['size_bytes']:,} bytes), card {card.path}")
    if "select_cv" in card.metrics:  # a rank model fitted on hand ratings (dialogue_quality)
        cv = card.metrics["select_cv"]
        click.echo(f"select CV: n={cv['n']} spearman={cv['spearman']:.4f} (web quality {cv['baseline_web_quality']:.4f})")
        return
    valid = card.metrics["valid"]
    click.echo(f"valid: n={valid['n']} accuracy={valid['accuracy']:.4f} macro-F1={valid['macro_f1']:.4f} "
               f"(majority baseline {valid['baseline']['accuracy']:.4f})")


@main.command("eval")
@click.argument("task", type=click.Choice(list(TASKS)))
@click.option("--data", "data", multiple=True, metavar="FILE[=LABEL]",
              help="Labelled file (.txt fastText format, .jsonl, .csv); =LABEL labels every row. Repeatable. "
                   "Default: the valid split of TASK's training config.")
@click.option("--model", "card", type=click.Path(exists=True, dir_okay=False),
              help="Model card to evaluate (default: the card a run would use: classifiers/TASK.yaml; for a .tsv "
                   "of web text read with --map ewect or chnsenticorp, the web-register card classifiers/TASK-web.yaml "
                   "where one is shipped (emotion-web.yaml for EWECT's posts); for a CPED-style CSV, the "
                   "spoken-register card classifiers/TASK-spoken.yaml (emotion-spoken.yaml, sentiment-spoken.yaml)).")
@click.option("--config", type=click.Path(exists=True, dir_okay=False), help="Training config, for the default valid split.")
@click.option("--data-root", help="Folder of the shared datasets (default: $CURATE_DATA, else ../shared/data "
                                   "beside the checkout).")
@click.option("--map", "label_map_name", metavar="NAME",
              help="Map the file's label spellings with the card's label_maps[NAME] (ewect, chnsenticorp).")
@click.option("--column", help="The label column of a CPED-style CSV (Emotion, Sentiment, DA), or of a web-document "
                                "gold file (domains, domain, quality; default domains, quality for quality).")
@click.option("--part", type=click.Choice(["select", "test"]),
              help="Part of a gold file of turn, dialogue or document references.")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
def eval_(task: str, data: tuple[str, ...], card: str | None, config: str | None, data_root: str | None,
          label_map_name: str | None, column: str | None, part: str | None, as_json: bool) -> None:
    """Accuracy, macro-F1, per-label F1 and the confusion matrix of TASK's model on labelled data, with the
    majority baseline; for emotion also the six-way accuracy, and what the card's min_confidence emits.

    \b
    curate eval toxicity --data ../shared/data/cold/dev.csv
    curate eval domain --data ../shared/data/web/cwt2-domain-test.txt
    curate eval quality --data clean.jsonl=high --data dirty.jsonl=low
    curate eval emotion --data ../shared/data/ewect/usual-dev.tsv --map ewect      (web posts: emotion-web.yaml)
    curate eval emotion --model classifiers/emotion.yaml --data ../shared/data/ewect/usual-dev.tsv --map ewect
    curate eval emotion --data ../shared/data/cped/valid.csv --column Emotion       (TV utterances: emotion-spoken.yaml)
    curate eval emotion --data classifiers/annotations/emotion-hand-labels.jsonl --part test
    curate eval emotion --data classifiers/annotations/emotion-record-labels.jsonl --part test   (whole dialogues)
    curate eval sentiment --data classifiers/annotations/emotion-record-labels-5.jsonl --map emotion   (their sentiment)
    curate eval sentiment --data ../shared/data/chnsenticorp/dev.tsv --map chnsenticorp
    curate eval domain --data classifiers/annotations/web-hand-labels.jsonl --part test
    curate eval quality --data classifiers/annotations/web-hand-labels.jsonl --part test
    curate eval esc_relevance                       (held-out slice of its training data)
    curate eval dialogue_quality --part test        (its hand ratings; --data GOLD [--data SECOND_READING])
    """
    import json

    from curate.models.evaluate import eval_task
    from curate.models.metrics import format_graded, format_report

    if task == "dialogue_quality":  # rated dialogues, not labels: rank correlation on a part of the ratings
        from curate.assets import data_root as default_data_root
        from curate.models.dialogue_quality_train import evaluate_gold, format_rank_report
        from curate.models.evaluate import default_card

        try:
            rep = evaluate_gold(card or default_card(task), Path(data_root) if data_root else default_data_root(),
                                Path(config) if config else None, part, data)
        except (FileNotFoundError, ValueError) as e:
            raise _fail(e) from None
        click.echo(json.dumps(rep, ensure_ascii=False, indent=1) if as_json
                   else format_rank_report(rep, f"dialogue_quality on the {part or 'select and test'} ratings"
                                                + (f" of {data[0]}" if data else "")))
        return
    try:
        rep, what = eval_task(task, data, card=card, config=config, data_root=data_root,
                              label_map_name=label_map_name, column=column, part=part)
    except (FileNotFoundError, ValueError) as e:
        raise _fail(e) from None
    if as_json:
        click.echo(json.dumps(rep, ensure_ascii=False, indent=1))
    elif "graded" in rep:
        click.echo(format_graded(rep["graded"], f"{task} on {what}: the score by the reader's grade"))
    else:
        click.echo(format_report(rep, f"{task} on {what}"))


@main.command("list")
@click.argument("what", type=click.Choice(["signals", "rules", "labels", "models"]))
def list_(what: str) -> None:
    """List registered signals, the shipped rule sets' rules, the label sets, or the shipped model cards
    (on/OFF by default, valid accuracy against the majority class, and why a tagger is off)."""
    if what == "models":
        from curate.assets import asset_dir
        from curate.models.abstention import describe
        from curate.models.card import read_card

        for path in sorted(asset_dir("classifiers").glob("*.yaml")):
            c = read_card(path)
            valid = c.metrics.get("valid", {})
            base = valid.get("baseline", {}).get("accuracy", "?")
            state = "on " if c.default_on else "OFF"
            conf = f" min_confidence={describe(c.min_confidence)}" if c.min_confidence else ""
            if c.record_min_confidence is not None:  # the record-level tag's own thresholds
                conf += f" record_min_confidence={describe(c.record_min_confidence)}"
            if c.record_bias:  # help-seekers' records are corrected for label shift
                conf += " record_bias=" + ",".join(f"{lab}{v:+.1f}" for lab, v in c.record_bias.items())
            ranked = c.metrics.get("select_cv", {})
            if not valid and "spearman" in ranked:  # a graded score (dialogue quality): rank agreement, not accuracy
                figure = (f"select-CV Spearman={ranked['spearman']} "
                          f"(web quality's {ranked.get('baseline_web_quality', '?')})")
            else:
                figure = f"valid acc={valid.get('accuracy', '?')} (majority {base}) macro-F1={valid.get('macro_f1', '?')}"
            click.echo(f"{state} {c.task:14s} {c.version_tag:48s} {c.backend:9s} {figure}{conf}  {path.name}")
            if not c.default_on:
                click.echo(f"    {c.off_reason}")
    elif what == "signals":
        from curate.schema import record_schema
        from curate.stages.signals import REGISTRY

        docs = {f.name: f.description for f in record_schema().fields}
        for col, sig in REGISTRY.items():
            click.echo(f"{col:26s} {sig.name}/v{sig.version}  {docs.get(col, '')}")
    elif what == "rules":
        from curate.assets import asset_dir
        from curate.stages.rules import load_rule_set

        for path in sorted(asset_dir("rules").glob("*.yaml")):
            rs = load_rule_set(str(path))
            click.echo(f"{path.name} ({rs.name}, applies to {', '.join(rs.applies_to)})")
            for r in rs.rules:
                click.echo(f"  {'' if r.enabled else '(off) '}{r.id:26s} fires when {r.describe()}")
    else:
        from curate.schema import record_schema

        for name, labels in record_schema().label_sets.items():
            click.echo(f"{name} ({len(labels)}): {', '.join(labels)}")


@main.group()
def schema() -> None:
    """The record schema (schemas/record.json)."""


@schema.command("docs")
@click.option("--write", is_flag=True, help="Write schemas/README.md instead of printing.")
def schema_docs(write: bool) -> None:
    """Markdown docs of every field and label set, generated from schemas/record.json."""
    from curate.assets import asset_dir
    from curate.schema import render_docs

    doc = render_docs()
    if write:
        target = asset_dir("schemas") / "README.md"
        target.write_text(doc, encoding="utf-8")
        click.echo(f"wrote {target}")
    else:
        click.echo(doc)


@main.command()
@click.argument("out", metavar="OUT")
@click.option("--to", "to", required=True, metavar="DIR", help="Folder to write the export, its card and dataset_info.json.")
@click.option("--format", "fmt", type=click.Choice(["sharegpt", "messages", "alpaca", "parquet"]), default="sharegpt",
              show_default=True, help="sharegpt / messages / alpaca: dialogues as conversations; parquet: the records.")
@click.option("--where", metavar="EXPR", help="Keep records where EXPR holds (SQL over the record's columns; "
              "null never passes a comparison).")
@click.option("--sample", type=int, metavar="N", help="Keep N of the matching records, drawn with --seed.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of every draw (--sample, --max-per-source, --balance).")
@click.option("--max-per-source", type=int, metavar="N", help="Keep at most N records of each source.")
@click.option("--balance", metavar="COLUMN", help="Same number of records for every value of this label column "
              "(the rarest value's count; with --sample N, at most N / values each). Null labels are left out.")
@click.option("--role", "roles", multiple=True, metavar="ROLE=TARGET",
              help="Map a dialogue role (seeker, supporter, other) to user, assistant, drop (the turn) or skip "
                   "(the dialogue). Default: seeker=user supporter=assistant other=skip. Repeatable.")
@click.option("--system", metavar="TEXT", help="System prompt for every conversation (default: the dialogue's own).")
@click.option("--turn-tag", "turn_tags", multiple=True, metavar="FIELD",
              help="Carry a per-turn tag (strategy, emotion, dialogue_act, ...) on each turn. Repeatable.")
@click.option("--history", type=int, default=9, show_default=True, help="alpaca: earlier turn pairs kept as history.")
@click.option("--web-instruction", metavar="TEXT", help="alpaca: write web documents as rows with this instruction "
              "(default: web documents are left out of conversational formats).")
@click.option("--file-format", type=click.Choice(["jsonl", "parquet"]), default="jsonl", show_default=True,
              help="File format of sharegpt / messages / alpaca rows.")
@click.option("--name", metavar="NAME", help="Dataset name in dataset_info.json and the card (default: the folder's name).")
@click.option("--rows-per-file", type=int, default=100_000, show_default=True, help="Parquet: rows per output file.")
@click.option("--batch-rows", type=int, default=2_000, show_default=True,
              help="Records converted at a time: memory follows this, not the size of the run.")
@click.option("--overwrite", is_flag=True, help="Replace an earlier export in DIR.")
def export(out: str, to: str, fmt: str, where: str | None, sample: int | None, seed: int, max_per_source: int | None,
           balance: str | None, roles: tuple[str, ...], system: str | None, turn_tags: tuple[str, ...], history: int,
           web_instruction: str | None, file_format: str, name: str | None, rows_per_file: int, batch_rows: int,
           overwrite: bool) -> None:
    """Export a run's kept records (OUT: a run folder or shards) for a trainer, with a dataset card.

    Reads the shards lazily and streams them in batches, so a run of any size exports in bounded memory.
    Writes DIR/NAME.jsonl (or DIR/data/part-*.parquet), DIR/dataset_info.json (LLaMA-Factory),
    DIR/README.md (the dataset card: sources, licenses, counts, selection, labels, models) and
    DIR/export.json. Dialogues become alternating user/assistant conversations: empty turns are left
    out, consecutive turns of one side merged, a leading assistant / trailing user turn trimmed.

    \b
    Examples:
      curate export out/smile --to exports/smile-sft --format sharegpt \\
          --where "quality > 0.6 and toxicity < 0.2 and esc_relevance > 0.5"
      curate export out/smile --to exports/smile-msgs --format messages --turn-tag strategy \\
          --system "你是一位温暖、专业的心理咨询师。"
      curate export out/mix --to exports/mix --sample 10000 --seed 7 --max-per-source 3000
      curate export out/mix --to exports/by-emotion --format parquet --balance emotion
      curate export out/mix --to exports/mix-alpaca --format alpaca --history 4 --role other=drop
    """
    from curate.export import ExportError, ExportSpec, export_run, parse_roles
    from curate.io.storage import StorageURLError

    try:
        spec = ExportSpec(_path(out), _path(to), format=fmt, where=where, sample=sample, seed=seed,
                          max_per_source=max_per_source, balance=balance, roles=parse_roles(roles), system=system,
                          turn_tags=turn_tags, history=history, web_instruction=web_instruction,
                          file_format=file_format, name=name, rows_per_file=rows_per_file, batch_rows=batch_rows,
                          overwrite=overwrite)
        result = export_run(spec)
    except (ExportError, StorageURLError) as e:
        raise _fail(e) from None
    s = result.summary
    c = s["counts"]
    for warning in s["warnings"]:
        click.echo(f"warning: {warning}", err=True)
    skipped = "; left out: " + ", ".join(f"{n} ({why})" for why, n in c["skipped"].items()) if c["skipped"] else ""
    click.echo(f"{s['selection']['selected']} of {s['selection']['in_shards']} records selected; {c['records']} "
               f"exported as {c['rows']} {fmt} rows{skipped} ({s['seconds']:.1f} s)")
    click.echo(f"wrote {result.to}: {', '.join(s['files'])}, README.md, export.json"
               + (", dataset_info.json" if fmt != "parquet" else ""))


if __name__ == "__main__":
    main()
