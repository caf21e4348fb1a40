#!/usr/bin/env python3
"""Check the held-out set: python3 check.py [SET_DIR]

- every question has the dev-set fields, a unique id and a known kind;
- every source file exists in corpus/ and has the front matter (title, lang, date);
- every answer string appears in the BODY (front matter excluded) of at least one of
  its sources, compared with score.py's norm (as the scorer requires);
- outofscope questions have no sources/answers, others have both;
- followup conversations have >= 2 turns, same kind, consecutive in file order;
- prints counts by kind/lang and, as information, other corpus files that also hold an answer.
Exit status 0 only when all checks pass.
"""
import collections
import importlib.util
import json
import os
import re
import sys

SCORE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "eval", "score.py")
if os.path.exists(SCORE):
    spec = importlib.util.spec_from_file_location("score", SCORE)
    score = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(score)
    norm = score.norm
else:  # verbatim copy of score.py's norm
    import unicodedata

    def norm(text):
        text = (text or "").replace("\u2019", "'").replace("\u00a0", " ").replace("\u202f", " ").lower()
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c))
        return re.sub(r"\s+", " ", text)

FIELDS = ["id", "question", "kind", "lang", "sources", "answers", "conversation"]
KINDS = {"direct", "paraphrase", "crosslingual", "distractor", "followup", "outofscope"}
FM = re.compile(r"\A---\n(.*?)\n---\n", re.S)


def load_corpus(cdir):
    docs, errors = {}, []
    for name in sorted(os.listdir(cdir)):
        if not name.endswith(".md"):
            continue
        text = open(os.path.join(cdir, name), encoding="utf-8").read()
        m = FM.match(text)
        if not m:
            errors.append(f"{name}: no front matter")
            continue
        meta = dict(line.split(":", 1) for line in m.group(1).splitlines() if ":" in line)
        meta = {k.strip(): v.strip() for k, v in meta.items()}
        for key in ("title", "lang") + (() if name == "openai-amd.md" else ("date",)):
            if key not in meta:
                errors.append(f"{name}: front matter lacks {key}")
        if meta.get("lang") not in ("fr", "en"):
            errors.append(f"{name}: bad lang {meta.get('lang')!r}")
        docs[name] = {"meta": meta, "body": text[m.end():], "words": len(text[m.end():].split())}
    return docs, errors


def main(argv):
    sdir = argv[1] if len(argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    docs, errors = load_corpus(os.path.join(sdir, "corpus"))
    qs = [json.loads(line) for line in open(os.path.join(sdir, "questions.jsonl"), encoding="utf-8") if line.strip()]
    seen = set()
    convs = collections.OrderedDict()
    info = []
    for i, q in enumerate(qs):
        qid = q.get("id", f"line{i + 1}")
        if list(q.keys()) != FIELDS:
            errors.append(f"{qid}: fields {list(q.keys())} != {FIELDS}")
        if qid in seen:
            errors.append(f"{qid}: duplicate id")
        seen.add(qid)
        if q.get("kind") not in KINDS:
            errors.append(f"{qid}: unknown kind {q.get('kind')!r}")
        if q.get("lang") not in ("fr", "en"):
            errors.append(f"{qid}: bad lang")
        if not isinstance(q.get("question"), str) or not q["question"].strip():
            errors.append(f"{qid}: empty question")
        if q.get("conversation") is not None:
            convs.setdefault(q["conversation"], []).append((i, q))
        elif q.get("kind") == "followup":
            errors.append(f"{qid}: followup without conversation")
        if q.get("kind") == "outofscope":
            if q.get("sources") or q.get("answers"):
                errors.append(f"{qid}: outofscope with sources/answers")
            continue
        if not q.get("sources") or not q.get("answers"):
            errors.append(f"{qid}: no sources or no answers")
            continue
        for s in q["sources"]:
            if s not in docs:
                errors.append(f"{qid}: source {s} does not exist")
        for a in q["answers"]:
            if not a.strip():
                errors.append(f"{qid}: empty answer")
                continue
            if not any(s in docs and norm(a) in norm(docs[s]["body"]) for s in q["sources"]):
                errors.append(f"{qid}: answer {a!r} not in body of {q['sources']}")
            others = [n for n, d in docs.items() if n not in q["sources"] and norm(a) in norm(d["body"])]
            if others:
                info.append(f"{qid}: answer {a!r} also occurs in {others}")
        if q["kind"] == "crosslingual":
            langs = {docs[s]["meta"].get("lang") for s in q["sources"] if s in docs}
            if q["lang"] in langs:
                errors.append(f"{qid}: crosslingual but question lang {q['lang']} = article lang")
    for cid, turns in convs.items():
        idx = [i for i, _ in turns]
        if len(turns) < 2:
            errors.append(f"conversation {cid}: only one turn")
        if idx != list(range(idx[0], idx[0] + len(idx))):
            errors.append(f"conversation {cid}: turns not consecutive")
        if any(q["kind"] != "followup" for _, q in turns):
            errors.append(f"conversation {cid}: a turn is not kind followup")

    print("corpus:")
    for n, d in docs.items():
        print(f"  {n:<36} {d['meta'].get('lang')}  {d['words']:>4} words (body)")
    print(f"questions: {len(qs)}")
    print("  by kind:", dict(collections.Counter(q["kind"] for q in qs)))
    print("  by lang:", dict(collections.Counter(q["lang"] for q in qs)))
    print("  conversations:", {c: len(t) for c, t in convs.items()})
    for line in info:
        print("  info:", line)
    if errors:
        print("FAILED:")
        for e in errors:
            print("  " + e)
        return 1
    print("OK: all checks pass")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
