"""Black-box tests of `enclave data ...` (issue 4): every step on fixtures
made here (text, Markdown, JSONL, HTML, a DOCX with a table, a PDF with a
running header and a hyphenated line break, and hostile files), each step
writing a dataset version whose report `enclave datasets show` prints, a
recipe run, and bad input ending with one stderr line and a non-zero code.

    /usr/bin/python3 tests/data_cli_test.py --enclave build/src/cli/enclave --workdir /tmp/data_cli [-k pattern]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import unittest
import zipfile
import harness

ENCLAVE = None
WORKDIR = None


def run(*args, timeout=300, cwd=None):
    return subprocess.run([ENCLAVE, *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=cwd)


def fresh_dir(name):
    path = os.path.join(WORKDIR, name)
    if os.path.exists(path):
        shutil.rmtree(path)
    os.makedirs(path)
    return path


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb" if isinstance(data, bytes) else "w", encoding=None if isinstance(data, bytes) else "utf-8") as f:
        f.write(data)


def make_pdf(pages, encrypted=False):
    """A minimal PDF: each page a list of (x, y_from_top, size, text) in Helvetica."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", None,
               "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"]
    kids = []
    for page in pages:
        content = "".join(
            "BT /F1 %g Tf %.2f %.2f Td (%s) Tj ET\n" % (size, x, 792 - y - size,
                                                        text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)"))
            for x, y, size, text in page)
        objects.append("<< /Length %d >>\nstream\n%s\nendstream" % (len(content.encode("latin-1")), content))
        objects.append("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
                       "/Contents %d 0 R >>" % len(objects))
        kids.append("%d 0 R" % len(objects))
    objects[1] = "<< /Type /Pages /Kids [%s] /Count %d >>" % (" ".join(kids), len(pages))
    trailer_extra = ""
    if encrypted:
        objects.append("<< /Filter /Standard /V 1 /R 2 /O <%s> /U <%s> /P -44 >>" % ("41" * 32, "41" * 32))
        trailer_extra = " /Encrypt %d 0 R /ID [<00112233445566778899AABBCCDDEEFF> <00112233445566778899AABBCCDDEEFF>]" % len(objects)
    out = b"%PDF-1.4\n"
    offsets = []
    for i, body in enumerate(objects):
        offsets.append(len(out))
        out += ("%d 0 obj\n%s\nendobj\n" % (i + 1, body)).encode("latin-1")
    xref = len(out)
    out += ("xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)).encode()
    for o in offsets:
        out += ("%010d 00000 n \n" % o).encode()
    out += ("trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, trailer_extra, xref)).encode()
    return out


W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def make_docx(path, body, extra_entries=()):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>')
        z.writestr("word/document.xml",
                   '<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="%s"><w:body>%s</w:body></w:document>' % (W_NS, body))
        for name, data in extra_entries:
            z.writestr(name, data)


def para(text, style=None):
    ppr = '<w:pPr><w:pStyle w:val="%s"/></w:pPr>' % style if style else ""
    return "<w:p>%s<w:r><w:t>%s</w:t></w:r></w:p>" % (ppr, text)


def table(rows):
    return "<w:tbl>%s</w:tbl>" % "".join(
        "<w:tr>%s</w:tr>" % "".join("<w:tc>%s</w:tc>" % para(c) for c in row) for row in rows)


GOOD_EN = "The committee reviewed the quarterly budget and approved funding for three new research projects this year."
GOOD_KO = "회사는 올해 새로운 연구 과제 세 건에 예산을 배정했으며 회의에서는 채용 계획과 일정이 자세히 논의되었다."


def make_corpus(root):
    docs = os.path.join(root, "docs")
    write(os.path.join(docs, "a.txt"), GOOD_EN)
    write(os.path.join(docs, "notes", "b.md"), "# 회의록\n\n" + GOOD_KO + "\n")
    write(os.path.join(docs, "c.jsonl"),
          json.dumps({"text": GOOD_EN}) + "\n" +  # exact duplicate of a.txt
          json.dumps({"text": "홍길동 주민등록번호 900101-1234568, 연락처 010-1234-5678, 메일 hong@example.co.kr 로 " + GOOD_KO}, ensure_ascii=False) + "\n" +
          "{broken json\n" +
          json.dumps({"text": "buy now buy now buy now buy now buy now buy now buy now"}) + "\n" +
          json.dumps({"text": "What is the capital of France? Everyone knows the answer is Paris, of course."}) + "\n")
    write(os.path.join(docs, "page.html"),
          "<html><head><title>t</title><script>x()</script></head><body><h1>Notice</h1><p>" + GOOD_EN.replace("three", "four") + "</p></body></html>")
    make_docx(os.path.join(docs, "report.docx"),
              para("Annual Report", "Heading1") + para("Staff by team is listed below for the whole company.") +
              table([["Name", "Team"], ["Kim", "Research"], ["Lee", "Sales"]]))
    body = {1: ("The new policy explains how teams share their quarterly results and",
                "how the company will support every depart-", "ment during the coming year."),
            2: ("Each team reviews its budget with the finance office before the",
                "spring planning meeting, and managers collect feed-", "back from their staff every month.")}
    page = lambda n: [(72, 30, 9, "ACME Internal Report"),
                      (72, 120, 11, body[n][0]), (72, 134, 11, body[n][1]), (72, 148, 11, body[n][2]),
                      (300, 760, 9, str(n))]
    write(os.path.join(docs, "policy.pdf"), make_pdf([page(1), page(2)]))
    # Hostile and broken files: reported and skipped.
    write(os.path.join(docs, "locked.pdf"), make_pdf([[(72, 72, 11, "secret")]], encrypted=True))
    write(os.path.join(docs, "garbage.pdf"), b"%PDF-1.4\nnot really\n")
    write(os.path.join(docs, "old.hwp"), b"HWP Document File V3.00 \x1a\x01\x02\x03\x04\x05")
    make_docx(os.path.join(docs, "escape.docx"), para("evil"), [("../../escaped.txt", "owned")])
    make_docx(os.path.join(docs, "laughs.docx"), "")
    with zipfile.ZipFile(os.path.join(docs, "laughs.docx"), "w") as z:
        z.writestr("word/document.xml",
                   '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
                   '<w:document xmlns:w="%s"><w:body><w:p><w:r><w:t>&b;</w:t></w:r></w:p></w:body></w:document>' % W_NS)
    with zipfile.ZipFile(os.path.join(docs, "bomb.docx"), "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("word/document.xml", '<w:document xmlns:w="%s"><w:body>%s</w:body></w:document>' % (W_NS, para("x")))
        z.writestr("word/media/zeros.bin", b"\0" * (300 << 20))
    return docs


class DataCli(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = fresh_dir("chain")
        cls.ws = os.path.join(cls.root, "ws")
        r = run("init", cls.ws)
        assert r.returncode == 0, r.stderr
        cls.docs = make_corpus(cls.root)

    def data(self, *args):
        r = run("data", *args, "--workspace", self.ws, "--threads", 2)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r

    def data_json(self, *args):
        return json.loads(self.data(*args, "--json").stdout)

    def records(self, ref, name="data.jsonl"):
        r = run("datasets", "path", ref, "--workspace", self.ws)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(r.stdout.strip(), name), encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]

    def test_chain(self):
        ingest = self.data_json("ingest", self.docs, "--out", "corpus")
        self.assertEqual(ingest["version"], "corpus@1")
        report = ingest["report"]
        skipped = {os.path.basename(s["path"]): s["reason"] for s in report["skipped_files"]}
        self.assertIn("encrypted", skipped["locked.pdf"])
        self.assertIn("not a readable PDF", skipped["garbage.pdf"])
        self.assertIn("escapes the archive", skipped["escape.docx"])
        self.assertIn("entity expansion", skipped["laughs.docx"])
        self.assertIn("zip bomb", skipped["bomb.docx"])
        self.assertIn("HWP 3.x", skipped["old.hwp"])  # .hwp reaches the HWP reader
        self.assertFalse(os.path.exists(os.path.join(self.root, "escaped.txt")))
        self.assertFalse(os.path.exists(os.path.join(self.docs, "..", "..", "escaped.txt")))
        self.assertEqual(report["bad_lines"], 1)
        self.assertEqual(report["documents_out"], 9)
        docs = self.records("corpus@1")
        by_type = {}
        for d in docs:
            self.assertEqual(len(d["id"]), 16)
            by_type.setdefault(d["type"], []).append(d)
        pdf = by_type["pdf"][0]
        self.assertNotIn("ACME Internal Report", pdf["text"])  # running header dropped
        self.assertIn("every department during", pdf["text"])  # hyphenation undone, lines rejoined
        self.assertIn("collect feedback from", pdf["text"])
        self.assertEqual(pdf["meta"]["pages"], 2)
        docx = by_type["docx"][0]
        self.assertIn("| Name | Team |\n| --- | --- |\n| Kim | Research |", docx["text"])
        self.assertEqual(docx["meta"]["sections"], ["Annual Report"])
        self.assertEqual(by_type["md"][0]["meta"]["sections"], ["회의록"])
        self.assertNotIn("x()", by_type["html"][0]["text"])

        shown = run("datasets", "show", "corpus@1", "--workspace", self.ws)
        self.assertEqual(shown.returncode, 0, shown.stderr)
        self.assertIn("step        ingest", shown.stdout)
        self.assertIn("locked.pdf: encrypted", shown.stdout)

        self.data("normalize", "--in", "corpus@1", "--out", "corpus")
        filt = self.data_json("filter", "--in", "corpus@2", "--out", "corpus", "--keep-rejected", "--min-words", 5)
        self.assertEqual(filt["report"]["removed"], {"top_ngram:2": 1})
        rejected = self.records("corpus@3", "rejected.jsonl")
        self.assertEqual(rejected[0]["rejected_by"], "top_ngram:2")
        dedup = self.data_json("dedup", "--in", "corpus@3", "--out", "corpus", "--threshold", 0.7, "--num-perm", 64,
                               "--bands", 16)
        self.assertEqual(dedup["report"]["duplicates"]["exact"], 1)
        self.assertEqual(dedup["report"]["duplicates"]["near"], 1)  # the HTML page rewrites a.txt
        pii = self.data_json("pii", "--in", "corpus@4", "--out", "corpus", "--mode", "redact")
        self.assertEqual(pii["report"]["pii"]["RRN"], 1)
        self.assertEqual(pii["report"]["pii"]["PHONE"], 1)
        self.assertEqual(pii["report"]["pii"]["EMAIL"], 1)
        texts = " ".join(d["text"] for d in self.records("corpus@5"))
        self.assertIn("<RRN>", texts)
        self.assertNotIn("900101-1234568", texts)
        evals = os.path.join(self.root, "eval.jsonl")
        write(evals, json.dumps({"question": "What is the capital of France?", "answer": "Paris"}) + "\n")
        decon = self.data_json("decontaminate", "--in", "corpus@5", "--out", "corpus", "--eval", evals, "--ngram", 6)
        self.assertEqual(decon["report"]["removed"], {"contaminated": 1})
        split = self.data_json("split", "--in", "corpus@6", "--out", "corpus", "--train", 0.8, "--validation", 0.2,
                               "--test", 0)
        self.assertEqual(sum(split["report"]["splits"].values()), decon["report"]["documents_out"])
        fmt = self.data_json("format", "--in", "corpus@7", "--out", "corpus", "--to", "text")
        self.assertEqual(fmt["report"]["documents_out"], decon["report"]["documents_out"])
        for rec in self.records("corpus@8", "train.jsonl"):
            self.assertEqual(list(rec.keys()), ["text"])

        shown = run("datasets", "show", "corpus@5", "--workspace", self.ws)
        self.assertIn("parent      corpus@4", shown.stdout)
        self.assertIn("pii found", shown.stdout)
        shown_json = json.loads(run("datasets", "show", "corpus@3", "--workspace", self.ws, "--json").stdout)
        self.assertEqual(shown_json["report"]["step"], "filter")
        self.assertEqual(shown_json["report"]["parent"], "corpus@2")
        self.assertEqual(shown_json["report"]["params"]["min_words"], 5)
        self.assertIsNotNone(shown_json["run_id"])

    def test_recipe(self):
        recipe_dir = os.path.join(self.root, "recipe")
        write(os.path.join(recipe_dir, "in", "a.txt"), GOOD_KO)
        write(os.path.join(recipe_dir, "in", "b.txt"), GOOD_KO)
        write(os.path.join(recipe_dir, "in", "c.txt"), "contact kim@example.com please: " + GOOD_EN)
        write(os.path.join(recipe_dir, "recipe.yaml"),
              "output: clean\nsteps:\n  - ingest: {paths: [in]}\n  - normalize\n  - filter: {min_words: 3}\n"
              "  - dedup: {threshold: 0.9}\n  - pii: {mode: drop}\n  - format: {to: text}\n")
        r = run("data", "run", os.path.join(recipe_dir, "recipe.yaml"), "--workspace", self.ws, "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        results = json.loads(r.stdout)
        self.assertEqual([x["version"] for x in results], ["clean@%d" % i for i in range(1, 7)])
        self.assertEqual(results[3]["report"]["duplicates"]["exact"], 1)
        self.assertEqual(results[4]["report"]["removed"], {"pii": 1})
        self.assertEqual(results[5]["report"]["documents_out"], 1)
        self.assertEqual(results[5]["report"]["recipe"]["step_index"], 5)

    def ingest_records(self, name, texts):
        """A dataset NAME@1 of JSONL records with these texts; returns its records."""
        path = os.path.join(self.root, name + ".jsonl")
        write(path, "".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts))
        self.assertEqual(self.data_json("ingest", path, "--out", name)["version"], name + "@1")
        return self.records(name + "@1")

    def test_pii_report_and_drop(self):
        korean = ("홍길동 주민등록번호 900101-1234568, 연락처 010-1234-5678, 메일 hong@example.co.kr 로 "
                  "| 성명 | 김영수 |, 주소: 서울특별시 강남구 테헤란로 123, password=hunter2024 " + GOOD_KO)
        english = "Mail a@b.com and c@d.org, card 4111 1111 1111 1111. " + GOOD_EN
        source = self.ingest_records("piicli", [korean, english, GOOD_EN])
        expected = {"EMAIL": 3, "PHONE": 1, "RRN": 1, "BRN": 0, "CARD": 1, "IP": 0, "ACCOUNT": 0, "PASSPORT": 0,
                    "DRIVER_LICENSE": 0, "PERSON_NAME": 1, "ADDRESS": 1, "SECRET": 1}

        # report: every document and every character unchanged, PII counted per type
        rep = self.data_json("pii", "--in", "piicli@1", "--out", "piicli", "--mode", "report")
        self.assertEqual(rep["report"]["pii"], expected)
        self.assertEqual(rep["report"]["documents_with_pii"], 2)
        self.assertEqual(rep["report"]["documents_out"], 3)
        self.assertEqual(rep["report"]["chars_out"], rep["report"]["chars_in"])
        self.assertEqual(rep["report"].get("removed", {}), {})
        self.assertEqual(rep["report"]["params"]["mode"], "report")
        self.assertEqual([(d["id"], d["text"]) for d in self.records(rep["version"])],
                         [(d["id"], d["text"]) for d in source])
        shown = run("datasets", "show", rep["version"], "--workspace", self.ws)
        self.assertEqual(shown.returncode, 0, shown.stderr)
        pii_line = [l for l in shown.stdout.splitlines() if "pii found" in l]
        self.assertEqual(len(pii_line), 1, shown.stdout)
        for kind, n in expected.items():
            self.assertIn("%s=%d" % (kind, n), pii_line[0])
        only_email = self.data_json("pii", "--in", "piicli@1", "--out", "piicli", "--mode", "report", "--types", "email")
        self.assertEqual(only_email["report"]["pii"], dict({k: 0 for k in expected}, EMAIL=3))
        self.assertEqual(only_email["report"]["documents_with_pii"], 2)

        # drop on its own: documents with PII go, the rest stay as they were
        drop = self.data_json("pii", "--in", "piicli@1", "--out", "piicli", "--mode", "drop")
        self.assertEqual(drop["report"]["removed"], {"pii": 2})
        self.assertEqual(drop["report"]["documents_out"], 1)
        self.assertEqual(drop["report"]["pii"], expected)
        self.assertEqual([d["text"] for d in self.records(drop["version"])], [GOOD_EN])
        cards = self.data_json("pii", "--in", "piicli@1", "--out", "piicli", "--mode", "drop", "--types", "card")
        self.assertEqual(cards["report"]["removed"], {"pii": 1})
        kept = [d["text"] for d in self.records(cards["version"])]
        self.assertEqual(kept, [korean, GOOD_EN])  # kept documents are not redacted by drop

    def test_normalize_forms(self):
        """The default form keeps Korean compatibility characters (issue 25); --no-nfkc still works, as nfc."""
        self.ingest_records("forms", ["ㅋㅋ ①번 ㈜ＡＢＣ\u3000１２３ \uF914 " + GOOD_KO])
        safe = self.data_json("normalize", "--in", "forms@1", "--out", "forms")
        self.assertEqual(safe["report"]["params"]["form"], "safe")
        self.assertEqual(self.records(safe["version"])[0]["text"], "ㅋㅋ ①번 ㈜ABC 123 \uF914 " + GOOD_KO)
        nfc = self.data_json("normalize", "--in", "forms@1", "--out", "forms", "--no-nfkc")
        self.assertEqual(nfc["report"]["params"]["form"], "nfc")
        self.assertEqual(self.records(nfc["version"])[0]["text"], "ㅋㅋ ①번 ㈜ＡＢＣ １２３ \u6A02 " + GOOD_KO)

    def test_filter_script_flags(self):
        han = "大韓民國 憲法 第一條 大韓民國은 民主共和國이다"  # 18 Han letters, 3 Hangul
        mixed = "Enclave 문서는 회사의 데이터를 안전하게 정리한다"  # 7 Latin letters, 18 Hangul
        self.ingest_records("scripts", [GOOD_EN, GOOD_KO, han, mixed])

        def kept(result):
            return [d["text"] for d in self.records(result["version"])]

        r = self.data_json("filter", "--in", "scripts@1", "--out", "scripts", "--min-script", "hangul=0.5")
        self.assertEqual(r["report"]["removed"], {"script_min:hangul": 2})
        self.assertEqual(r["report"]["params"]["script_min"], {"hangul": 0.5})
        self.assertEqual(kept(r), [GOOD_KO, mixed])
        r = self.data_json("filter", "--in", "scripts@1", "--out", "scripts", "--max-script", "han=0.3")
        self.assertEqual(r["report"]["removed"], {"script_max:han": 1})
        self.assertEqual(r["report"]["params"]["script_max"], {"han": 0.3})
        self.assertEqual(kept(r), [GOOD_EN, GOOD_KO, mixed])
        r = self.data_json("filter", "--in", "scripts@1", "--out", "scripts", "--min-script", "han=0.5")
        self.assertEqual(r["report"]["removed"], {"script_min:han": 3})
        self.assertEqual(kept(r), [han])
        r = self.data_json("filter", "--in", "scripts@1", "--out", "scripts", "--min-script", "hangul=0.5",
                           "--min-script", "latin=0.2", "--max-script", "han=0.3")
        self.assertEqual(r["report"]["removed"], {"script_min:hangul": 2, "script_min:latin": 1})
        self.assertEqual(r["report"]["params"]["script_min"], {"hangul": 0.5, "latin": 0.2})
        self.assertEqual(kept(r), [mixed])

    # The bug: `data format --to messages` on plain documents printed
    # "3 -> 0 documents; removed invalid=3", exited 0 and recorded an empty
    # dataset that only failed later, in training.
    def test_step_that_keeps_nothing_fails_and_says_why(self):
        self.ingest_records("plain", [GOOD_EN, GOOD_KO])

        def error_line(*args):
            r = run("data", *args, "--workspace", self.ws)
            self.assertEqual(r.returncode, 1, (args, r.stdout, r.stderr))
            lines = [l for l in r.stderr.splitlines() if l.strip()]
            self.assertEqual(len(lines), 1, r.stderr)
            return lines[0]

        line = error_line("format", "--in", "plain@1", "--out", "plain-sft", "--to", "messages")
        self.assertIn("kept 0 of 2 documents", line)
        self.assertIn("no 'messages'", line)       # why: the rows lack the fields
        self.assertIn("--to text", line)           # what to do
        self.assertFalse(self._has("plain-sft"))   # nothing recorded
        line = error_line("filter", "--in", "plain@1", "--out", "plain-none", "--min-words", 1000)
        self.assertIn("2 min_words", line)
        self.assertIn("--keep-rejected", line)
        self.assertFalse(self._has("plain-none"))
        # A step that keeps something still succeeds.
        self.data("filter", "--in", "plain@1", "--out", "plain-en", "--min-script", "latin=0.5")

    def test_flag_values_are_checked_by_the_data_library(self):
        self.ingest_records("flags", [GOOD_EN])
        for args, message in [
            (("filter", "--min-words", "many"), "--min-words 'many': expected a number"),
            (("dedup", "--num-perm", "1.5"), "--num-perm '1.5': expected a whole number"),
            (("filter", "--set", "=3"), "--set =3: expected KEY=VALUE"),
            (("normalize", "--form", "nfkd"), "'form': unknown normal form 'nfkd' (expected safe, nfc, nfkc or none)"),
            (("pii", "--types", "email,ssn"), "unknown PII type 'ssn'"),
        ]:
            r = run("data", args[0], "--in", "flags@1", "--out", "x", *args[1:], "--workspace", self.ws)
            self.assertEqual(r.returncode, 1, (args, r.stderr))
            self.assertIn(message, r.stderr)
        # Comma-separated lists split, repeated flags add up.
        r = self.data_json("pii", "--in", "flags@1", "--out", "flags-pii", "--types", "email,rrn", "--types", "ip",
                           "--mode", "report")
        self.assertEqual([t.lower() for t in r["report"]["params"]["types"]], ["email", "rrn", "ip"])

    def test_bad_input_is_one_line(self):
        cases = [
            (("data", "filter", "--in", "nosuch@1", "--out", "x"), 2),
            (("data", "filter", "--in", "scratch@1", "--out", "x", "--set", "min_wordz=3"), 1),
            (("data", "pii", "--in", "scratch@1", "--out", "x", "--mode", "shred"), 1),
            (("data", "dedup", "--in", "scratch@1", "--out", "x", "--num-perm", 100, "--bands", 16), 1),
            (("data", "split", "--in", "scratch@1", "--out", "x", "--train", 0.9, "--validation", 0.9), 1),
            (("data", "format", "--in", "scratch@1", "--out", "x", "--to", "yaml"), 1),
            (("data", "ingest", os.path.join(self.root, "nope"), "--out", "x"), 2),
            (("data", "run", os.path.join(self.root, "nope.yaml")), 2),
            (("data", "filter", "--out", "x"), 64),
            (("data", "filter", "--in", "scratch@1", "--out", "x", "--min-script", "klingon=0.5"), 1),
            (("data", "filter", "--in", "scratch@1", "--out", "x", "--min-script", "hangul"), 1),
            (("data", "filter", "--in", "scratch@1", "--out", "x", "--max-script", "han=lots"), 1),
        ]
        # its own dataset, so the order of the tests does not matter
        run("data", "ingest", self.docs, "--out", "scratch", "--workspace", self.ws) if not self._has("scratch") else None
        for args, code in cases:
            r = run(*args, "--workspace", self.ws)
            self.assertEqual(r.returncode, code, (args, r.stdout, r.stderr))
            lines = [l for l in r.stderr.splitlines() if l.strip()]
            self.assertEqual(len(lines), 1, (args, r.stderr))
            self.assertTrue(lines[0].startswith("enclave: error:"), lines[0])
        bad_recipe = os.path.join(self.root, "bad.yaml")
        write(bad_recipe, "output: x\nsteps: [normalize]\n")
        r = run("data", "run", bad_recipe, "--workspace", self.ws)
        self.assertEqual(r.returncode, 1)
        self.assertIn("'input' is required", r.stderr)

    def _has(self, name):
        return run("datasets", "show", name, "--workspace", self.ws).returncode == 0


def main():
    global ENCLAVE, WORKDIR
    a, rest = harness.parse(__doc__, "data_cli_test")
    ENCLAVE, WORKDIR = a.enclave, a.workdir
    return harness.run(rest)

if __name__ == "__main__":
    sys.exit(main())
