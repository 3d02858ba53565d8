// Writes the HWP/HWPX test documents of src/data/hwp_test.cpp into OUTDIR:
//
//   node tests/hwp_fixtures/make_fixtures.mjs OUTDIR
//
// Each document is built from one model (headings, paragraphs with
// footnotes and endnotes, numbered and bulleted lists, a table with merged
// cells, a text box) twice: as HWP 5.0 (records per Hancom's "한글 문서 파일
// 형식 5.0", raw-deflated, in a compound file written by the `cfb` package)
// and as HWPX (OWPML parts in a ZIP written by `jszip`). Every file is then
// read back by readers that are not ours: hwp.js for HWP (paragraph text,
// table cells with their spans, text boxes) and hwpxjs for HWPX (paragraph
// text); a difference exits non-zero, so the fixtures are what the format
// says and not only what our reader expects. OUTDIR/expected.json holds,
// per file, the Markdown our readers should write and the table grids.
// Hostile variants (truncated, a FAT chain that loops, a huge declared
// size, a record past its stream, encrypted and distribution flags, an
// encrypted HWPX package) are written beside them.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const CFB = require("cfb");
const pako = require("pako");
const JSZip = require("jszip");
const hwpjs = require("hwp.js");
const { HwpxReader } = await import("@ssabrojs/hwpxjs");

const outDir = process.argv[2];
if (!outDir) {
  console.error("usage: make_fixtures.mjs OUTDIR");
  process.exit(2);
}
fs.mkdirSync(outDir, { recursive: true });

// ---------------------------------------------------------------- models

// Deterministic pseudo-random Korean and English sentences, so that the long
// document's streams pass the compound file's 4096-byte mini-stream cutoff.
let seed = 12345;
const rand = (n) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n);
const syllable = () => String.fromCharCode(0xac00 + rand(11172));
const word = () => Array.from({ length: 1 + rand(4) }, syllable).join("");
const sentence = (i) =>
  Array.from({ length: 6 + rand(8) }, word).join(" ") + ` (${i}) sample text ${rand(1000)}.`;

const reportModel = [
  { h: 1, text: "2024년 연간 보고서" },
  { p: "올해 매출은 전년보다 12% 증가했다. Revenue grew 12% this year." },
  { p: "주요 수치는 내부 자료를 따른다", notes: [{ kind: "fn", text: "출처: 재무팀 내부 자료, 2024년 12월." }] },
  { h: 2, text: "세부 내역" },
  { list: "number", items: ["첫째, 인건비가 줄었다.", "둘째, 수출이 늘었다.", "셋째, 환율이 안정되었다."] },
  { list: "bullet", items: ["서울 본사", "부산 지사"] },
  {
    table: {
      rows: 4,
      cols: 3,
      cells: [
        { r: 0, c: 0, text: "구분" },
        { r: 0, c: 1, cs: 2, text: "2024년 실적" },
        { r: 1, c: 0, rs: 2, text: "국내" },
        { r: 1, c: 1, text: "매출" },
        { r: 1, c: 2, text: "1,200억 원" },
        { r: 2, c: 1, text: "이익" },
        { r: 2, c: 2, text: "150억 원" },
        { r: 3, c: 0, text: "해외" },
        { r: 3, c: 1, text: "매출" },
        { r: 3, c: 2, text: "800억 원" },
      ],
    },
  },
  { box: ["글상자: 본 보고서는 외부 감사를 거쳤다."], caption: "그림 1. 감사 의견" },
  { p: "자세한 방법은 부록에 있다", notes: [{ kind: "en", text: "부록 A: 산출 방법." }] },
];

const longModel = [{ h: 1, text: "긴 문서 Long document" }];
for (let i = 0; i < 300; ++i) longModel.push({ p: sentence(i) });
longModel.push({
  table: {
    rows: 3,
    cols: 2,
    cells: [
      { r: 0, c: 0, text: "항목" },
      { r: 0, c: 1, text: "값" },
      { r: 1, c: 0, text: "가" },
      { r: 1, c: 1, text: "1" },
      { r: 2, c: 0, text: "나" },
      { r: 2, c: 1, text: "2" },
    ],
  },
});
const longSection2 = [{ h: 2, text: "둘째 구역" }];
for (let i = 0; i < 60; ++i) longSection2.push({ p: sentence(1000 + i) });

// --------------------------------------------- what our readers should write

function tableGrid(t) {
  const rows = Array.from({ length: t.rows }, () => Array(t.cols).fill(""));
  for (const c of t.cells) rows[c.r][c.c] = c.text;
  return rows;
}

function markdownTable(rows) {
  const lines = rows.map((r) => "|" + r.map((c) => " " + c.replace(/\|/g, "\\|") + " |").join(""));
  lines.splice(1, 0, "|" + rows[0].map(() => " --- |").join(""));
  return lines.join("\n");
}

function expected(sections) {
  const blocks = [];
  const notes = [];
  const tables = [];
  for (const model of sections) {
    for (const b of model) {
      if (b.h) blocks.push("#".repeat(b.h) + " " + b.text);
      if (b.p) {
        let text = b.p;
        for (const n of b.notes ?? []) {
          notes.push(`[^${notes.length + 1}]: ${n.text}`);
          text += `[^${notes.length}]`;
        }
        blocks.push(text);
      }
      if (b.list)
        blocks.push(b.items.map((t, i) => (b.list === "number" ? `${i + 1}. ` : "- ") + t).join("\n"));
      if (b.table) {
        tables.push(tableGrid(b.table));
        blocks.push(markdownTable(tableGrid(b.table)));
      }
      if (b.caption) blocks.push(b.caption);
      if (b.box) blocks.push(...b.box);
    }
  }
  let markdown = blocks.join("\n\n");
  if (notes.length) markdown += "\n\n" + notes.join("\n");
  return { markdown, tables };
}

// ------------------------------------------------------------------ HWP 5.0

const TAG = {
  DOCUMENT_PROPERTIES: 16,
  PARA_SHAPE: 25,
  STYLE: 26,
  PARA_HEADER: 66,
  PARA_TEXT: 67,
  PARA_CHAR_SHAPE: 68,
  CTRL_HEADER: 71,
  LIST_HEADER: 72,
  PAGE_DEF: 73,
  SHAPE_COMPONENT: 76,
  TABLE: 77,
  SHAPE_COMPONENT_RECTANGLE: 79,
};
const ctrlId = (s) => ((s.charCodeAt(0) << 24) | (s.charCodeAt(1) << 16) | (s.charCodeAt(2) << 8) | s.charCodeAt(3)) >>> 0;

class Bytes {
  constructor() {
    this.parts = [];
  }
  u8(v) { this.parts.push(Buffer.from([v & 0xff])); return this; }
  u16(v) { const b = Buffer.alloc(2); b.writeUInt16LE(v & 0xffff); this.parts.push(b); return this; }
  u32(v) { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); this.parts.push(b); return this; }
  zeros(n) { this.parts.push(Buffer.alloc(n)); return this; }
  wstr(s) { this.u16(s.length); this.parts.push(Buffer.from(s, "utf16le")); return this; }
  raw(b) { this.parts.push(b); return this; }
  get() { return Buffer.concat(this.parts); }
}

function record(tag, level, payload) {
  const size = payload.length;
  const b = new Bytes();
  if (size >= 0xfff) b.u32((tag | (level << 10) | (0xfff << 20)) >>> 0).u32(size);
  else b.u32((tag | (level << 10) | (size << 20)) >>> 0);
  return b.raw(payload).get();
}

// Paragraph shapes: 0 body, 1-2 outline levels 0-1, 3 numbering, 4 bullet.
const PARA_SHAPES = [0, 1 << 23, (1 << 23) | (1 << 25), 2 << 23, 3 << 23];
// Styles: 0 바탕글, 1 개요 1, 2 개요 2 (as Hancom's default template names them).
const STYLES = [["바탕글", "Normal", 0], ["개요 1", "Outline 1", 1], ["개요 2", "Outline 2", 2]];

function docInfo(nSections) {
  const recs = [record(TAG.DOCUMENT_PROPERTIES, 0, new Bytes().u16(nSections).u16(1).u16(1).u16(1).u16(1).u16(1).u16(1).zeros(12).get())];
  for (const attr of PARA_SHAPES) recs.push(record(TAG.PARA_SHAPE, 0, new Bytes().u32(attr).zeros(50).get()));
  for (const [name, english, shape] of STYLES)
    recs.push(record(TAG.STYLE, 0, new Bytes().wstr(name).wstr(english).u8(0).u8(0).u16(1042).u16(shape).u16(0).zeros(2).get()));
  return Buffer.concat(recs);
}

// An extended control character: 8 UTF-16 units carrying the control's id.
function extendedChar(code, id) {
  return new Bytes().u16(code).u32(id).zeros(8).u16(code).get();
}

// A paragraph: header, text (with controls), one char shape, then the
// control records made by `controls(level + 1)`.
function paragraph(level, text, { shape = 0, style = 0, prefix = [], controls = [] } = {}) {
  const textBytes = Buffer.concat([...prefix.map(([c, id]) => extendedChar(c, id)), Buffer.from(text, "utf16le"), ...controls.map((c) => extendedChar(c.code, c.id)), new Bytes().u16(13).get()]);
  const nChars = textBytes.length / 2;
  const header = new Bytes().u32(nChars).u32(0).u16(shape).u8(style).u8(0).u16(1).u16(0).u16(0).u32(0).u16(0).get();
  const out = [record(TAG.PARA_HEADER, level, header), record(TAG.PARA_TEXT, level + 1, textBytes), record(TAG.PARA_CHAR_SHAPE, level + 1, new Bytes().u32(0).u32(0).get())];
  for (const c of controls) out.push(c.records(level + 1));
  return Buffer.concat(out);
}

// Object controls (tables, drawing objects) start with the common object
// properties; 40 bytes after the id.
const objectHeader = (id) => new Bytes().u32(id).u32(0).u32(0).u32(0).u32(1000).u32(1000).u32(0).zeros(8).u32(0).u32(0).get();

function listHeader(nParas, extra = Buffer.alloc(0)) {
  return new Bytes().u16(nParas).u16(0).u32(0).raw(extra).get();
}

function tableControl(t) {
  return {
    code: 11,
    id: ctrlId("tbl "),
    records: (level) => {
      const recs = [record(TAG.CTRL_HEADER, level, objectHeader(ctrlId("tbl ")))];
      const tb = new Bytes().u32(0).u16(t.rows).u16(t.cols).u16(0).zeros(8);
      for (let r = 0; r < t.rows; ++r) tb.u16(t.cols);
      recs.push(record(TAG.TABLE, level + 1, tb.u16(1).u16(0).get()));
      const cells = [...t.cells].sort((a, b) => a.r - b.r || a.c - b.c);
      for (const c of cells) {
        const cell = new Bytes().u16(c.c).u16(c.r).u16(c.cs ?? 1).u16(c.rs ?? 1).u32(1000).u32(300).zeros(8).u16(1).get();
        recs.push(record(TAG.LIST_HEADER, level + 1, listHeader(1, cell)));
        recs.push(paragraph(level + 1, c.text));
      }
      return Buffer.concat(recs);
    },
  };
}

function textBoxControl(texts, caption) {
  return {
    code: 11,
    id: ctrlId("gso "),
    records: (level) => {
      const recs = [record(TAG.CTRL_HEADER, level, objectHeader(ctrlId("gso ")))];
      // A caption: a list right under the control (list header with caption properties).
      if (caption) recs.push(record(TAG.LIST_HEADER, level + 1, listHeader(1, Buffer.alloc(14))), paragraph(level + 1, caption));
      recs.push(record(TAG.SHAPE_COMPONENT, level + 1, new Bytes().u32(ctrlId("$rec")).u32(ctrlId("$rec")).zeros(200).get()));
      recs.push(record(TAG.LIST_HEADER, level + 2, listHeader(texts.length, Buffer.alloc(13))));
      for (const t of texts) recs.push(paragraph(level + 2, t));
      recs.push(record(TAG.SHAPE_COMPONENT_RECTANGLE, level + 2, Buffer.alloc(33)));
      return Buffer.concat(recs);
    },
  };
}

function noteControl(kind, text) {
  const id = ctrlId(kind === "fn" ? "fn  " : "en  ");
  return {
    code: 17,
    id,
    records: (level) => Buffer.concat([record(TAG.CTRL_HEADER, level, new Bytes().u32(id).zeros(8).get()), record(TAG.LIST_HEADER, level + 1, listHeader(1, Buffer.alloc(8))), paragraph(level + 1, text)]),
  };
}

function sectionStream(model, first) {
  const recs = [];
  // The first paragraph of a section carries the section definition.
  const secd = {
    code: 2,
    id: ctrlId("secd"),
    records: (level) => Buffer.concat([record(TAG.CTRL_HEADER, level, new Bytes().u32(ctrlId("secd")).zeros(32).get()), record(TAG.PAGE_DEF, level + 1, new Bytes().u32(59528).u32(84188).zeros(32).get())]),
  };
  let pending = first ? [secd] : [];
  const take = () => { const p = pending; pending = []; return p; };
  for (const b of model) {
    if (b.h) recs.push(paragraph(0, b.text, { shape: b.h, style: b.h, controls: take() }));
    if (b.p) recs.push(paragraph(0, b.p, { controls: [...take(), ...(b.notes ?? []).map((n) => noteControl(n.kind, n.text))] }));
    if (b.list) for (const t of b.items) recs.push(paragraph(0, t, { shape: b.list === "number" ? 3 : 4, controls: take() }));
    if (b.table) recs.push(paragraph(0, "", { controls: [...take(), tableControl(b.table)] }));
    if (b.box) recs.push(paragraph(0, "", { controls: [...take(), textBoxControl(b.box, b.caption)] }));
  }
  return Buffer.concat(recs);
}

function fileHeader(flags) {
  const b = Buffer.alloc(256);
  b.write("HWP Document File", 0, "latin1");
  b.writeUInt32LE(0x05000300, 32);  // 5.0.3.0
  b.writeUInt32LE(flags >>> 0, 36);
  return b;
}

function writeHwp(sections, { flags = 1 } = {}) {
  const deflate = (b) => (flags & 1 ? Buffer.from(pako.deflateRaw(b)) : b);
  const cfb = CFB.utils.cfb_new();
  CFB.utils.cfb_add(cfb, "/FileHeader", fileHeader(flags));
  CFB.utils.cfb_add(cfb, "/DocInfo", deflate(docInfo(sections.length)));
  sections.forEach((model, i) => CFB.utils.cfb_add(cfb, `/BodyText/Section${i}`, deflate(sectionStream(model, true))));
  CFB.utils.cfb_del(cfb, "/\u0001Sh33tJ5");
  return Buffer.from(CFB.write(cfb, { type: "buffer" }));
}

// What hwp.js reads back: body paragraph texts, table cells, text boxes.
function hwpjsView(buf) {
  const doc = hwpjs.parse(buf, { type: "buffer" });
  const paragraphs = [];
  const cells = [];
  const boxes = [];
  const text = (p) => p.content.filter((c) => typeof c.value === "string").map((c) => c.value).join("");
  for (const section of doc.sections) {
    for (const p of section.content) {
      const t = text(p);
      if (t) paragraphs.push(t);
      for (const control of p.controls) {
        if (control.id === ctrlId("tbl ")) {
          for (const row of control.content)
            for (const list of row) {
              const a = list.attribute;
              cells.push(`${a.row},${a.column},${a.rowSpan},${a.colSpan}:${list.items.map(text).join(" ")}`);
            }
        } else if (control.id === ctrlId("gso ")) {
          for (const list of control.content) boxes.push(...list.items.map(text));
        }
      }
    }
  }
  return { paragraphs, cells, boxes };
}

function modelView(sections) {
  const paragraphs = [];
  const cells = [];
  const boxes = [];
  for (const model of sections)
    for (const b of model) {
      if (b.h) paragraphs.push(b.text);
      if (b.p) paragraphs.push(b.p);
      if (b.list) paragraphs.push(...b.items);
      if (b.table)
        for (const c of [...b.table.cells].sort((x, y) => x.r - y.r || x.c - y.c)) cells.push(`${c.r},${c.c},${c.rs ?? 1},${c.cs ?? 1}:${c.text}`);
      if (b.box) boxes.push(...b.box);
    }
  return { paragraphs, cells, boxes };
}

function checkSame(what, got, want) {
  for (const key of Object.keys(want)) {
    if (JSON.stringify(got[key]) !== JSON.stringify(want[key])) {
      console.error(`${what}: the independent reader sees other ${key}:\n  got  ${JSON.stringify(got[key])}\n  want ${JSON.stringify(want[key])}`);
      process.exit(1);
    }
  }
}

// --------------------------------------------------------------------- HWPX

const NS = 'xmlns:hp="http://www.hancom.co.kr/hwpml/2011/paragraph" xmlns:hs="http://www.hancom.co.kr/hwpml/2011/section" xmlns:hh="http://www.hancom.co.kr/hwpml/2011/head" xmlns:hc="http://www.hancom.co.kr/hwpml/2011/core"';
const esc = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
let paraId = 0;

function xmlPara(text, { paraPr = 0, style = 0, extra = "" } = {}) {
  const t = text ? `<hp:run charPrIDRef="0"><hp:t>${esc(text)}</hp:t></hp:run>` : "";
  return `<hp:p id="${paraId++}" paraPrIDRef="${paraPr}" styleIDRef="${style}" pageBreak="0" columnBreak="0" merged="0">${t}${extra}</hp:p>`;
}

const subList = (texts) => `<hp:subList id="" textDirection="HORIZONTAL" lineWrap="BREAK" vertAlign="TOP">${texts.map((t) => xmlPara(t)).join("")}</hp:subList>`;

function xmlTable(t) {
  let rows = "";
  for (let r = 0; r < t.rows; ++r) {
    const cells = t.cells.filter((c) => c.r === r).sort((a, b) => a.c - b.c);
    rows += "<hp:tr>" + cells.map((c) => `<hp:tc name="" header="0" borderFillIDRef="1">${subList([c.text])}<hp:cellAddr colAddr="${c.c}" rowAddr="${c.r}"/><hp:cellSpan colSpan="${c.cs ?? 1}" rowSpan="${c.rs ?? 1}"/><hp:cellSz width="1000" height="300"/></hp:tc>`).join("") + "</hp:tr>";
  }
  return `<hp:run charPrIDRef="0"><hp:tbl id="${paraId++}" rowCnt="${t.rows}" colCnt="${t.cols}" cellSpacing="0" borderFillIDRef="1"><hp:sz width="3000" height="1200"/><hp:pos treatAsChar="1"/>${rows}</hp:tbl><hp:t/></hp:run>`;
}

function xmlSection(model, first) {
  let body = "";
  let secPr = first ? '<hp:run charPrIDRef="0"><hp:secPr id="" textDirection="HORIZONTAL"><hp:pagePr landscape="WIDELY" width="59528" height="84188"/></hp:secPr><hp:ctrl><hp:colPr id="" type="NEWSPAPER" colCount="1"/></hp:ctrl></hp:run>' : "";
  const take = () => { const s = secPr; secPr = ""; return s; };
  const para = (text, opts = {}) => {
    const s = take();
    const t = text ? `<hp:run charPrIDRef="0"><hp:t>${esc(text)}</hp:t></hp:run>` : "";
    return `<hp:p id="${paraId++}" paraPrIDRef="${opts.paraPr ?? 0}" styleIDRef="${opts.style ?? 0}" pageBreak="0" columnBreak="0" merged="0">${s}${t}${opts.extra ?? ""}</hp:p>`;
  };
  for (const b of model) {
    if (b.h) body += para(b.text, { paraPr: b.h, style: b.h });
    if (b.p) {
      const notes = (b.notes ?? []).map((n) => `<hp:run charPrIDRef="0"><hp:ctrl><hp:${n.kind === "fn" ? "footNote" : "endNote"} number="1" instId="${paraId++}">${subList([n.text])}</hp:${n.kind === "fn" ? "footNote" : "endNote"}></hp:ctrl></hp:run>`).join("");
      body += para(b.p, { extra: notes });
    }
    if (b.list) for (const t of b.items) body += para(t, { paraPr: b.list === "number" ? 3 : 4 });
    if (b.table) body += para("", { extra: xmlTable(b.table) });
    if (b.box) body += para("", { extra: `<hp:run charPrIDRef="0"><hp:rect id="${paraId++}"><hp:sz width="3000" height="1000"/><hp:drawText lastWidth="3000" name="" editable="0">${subList(b.box)}</hp:drawText>${b.caption ? `<hp:caption side="BOTTOM">${subList([b.caption])}</hp:caption>` : ""}</hp:rect><hp:t/></hp:run>` });
  }
  return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><hs:sec ${NS}>${body}</hs:sec>`;
}

function xmlHeader() {
  const heads = [["NONE", 0], ["OUTLINE", 0], ["OUTLINE", 1], ["NUMBER", 0], ["BULLET", 0]];
  const paraPrs = heads.map(([type, level], i) => `<hh:paraPr id="${i}" tabPrIDRef="0" condense="0"><hh:align horizontal="JUSTIFY" vertical="BASELINE"/><hh:heading type="${type}" idRef="${type === "NONE" ? 0 : 1}" level="${level}"/></hh:paraPr>`).join("");
  const styles = STYLES.map(([name, english, shape], i) => `<hh:style id="${i}" type="PARA" name="${name}" engName="${english}" paraPrIDRef="${shape}" charPrIDRef="0" nextStyleIDRef="${i}" langID="1042" lockForm="0"/>`).join("");
  return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><hh:head ${NS} version="1.4" secCnt="1"><hh:refList><hh:paraProperties itemCnt="${heads.length}">${paraPrs}</hh:paraProperties><hh:styles itemCnt="${STYLES.length}">${styles}</hh:styles></hh:refList></hh:head>`;
}

async function writeHwpx(sections, { encrypted = false } = {}) {
  const zip = new JSZip();
  zip.file("mimetype", "application/hwp+zip", { compression: "STORE" });
  zip.file("version.xml", '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><hv:HCFVersion xmlns:hv="http://www.hancom.co.kr/hwpml/2011/version" tagetApplication="WORDPROCESSOR" major="5" minor="1" micro="0" buildNumber="1"/>');
  zip.file("META-INF/container.xml", '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><ocf:container xmlns:ocf="urn:oasis:names:tc:opendocument:xmlns:container"><ocf:rootfiles><ocf:rootfile full-path="Contents/content.hpf" media-type="application/hwpml-package+xml"/></ocf:rootfiles></ocf:container>');
  const encryption = encrypted ? '<odf:file-entry odf:full-path="Contents/section0.xml" odf:media-type="application/xml"><odf:encryption-data odf:checksum-type="SHA1"><odf:algorithm odf:algorithm-name="AES"/></odf:encryption-data></odf:file-entry>' : "";
  zip.file("META-INF/manifest.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><odf:manifest xmlns:odf="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">${encryption}</odf:manifest>`);
  const items = sections.map((_, i) => `<opf:item id="section${i}" href="Contents/section${i}.xml" media-type="application/xml"/>`).join("");
  const refs = sections.map((_, i) => `<opf:itemref idref="section${i}" linear="yes"/>`).join("");
  zip.file("Contents/content.hpf", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><opf:package xmlns:opf="http://www.idpf.org/2007/opf/" version="" unique-identifier="" id=""><opf:metadata><opf:title/></opf:metadata><opf:manifest><opf:item id="header" href="Contents/header.xml" media-type="application/xml"/>${items}</opf:manifest><opf:spine><opf:itemref idref="header" linear="yes"/>${refs}</opf:spine></opf:package>`);
  zip.file("Contents/header.xml", xmlHeader());
  sections.forEach((model, i) => zip.file(`Contents/section${i}.xml`, xmlSection(model, i === 0)));
  return zip.generateAsync({ type: "nodebuffer", compression: "DEFLATE" });
}

async function hwpxjsParagraphs(buf) {
  const reader = new HwpxReader();
  await reader.loadFromArrayBuffer(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
  return (await reader.extractText({ joinParagraphs: "\n" })).split("\n").filter((t) => t.length > 0);
}

// ------------------------------------------------------------------ writing

const expectedFiles = {};
const documents = { report: [reportModel], long: [longModel, longSection2] };
for (const [name, sections] of Object.entries(documents)) {
  const hwp = writeHwp(sections);
  checkSame(`${name}.hwp`, hwpjsView(hwp), modelView(sections));
  fs.writeFileSync(path.join(outDir, `${name}.hwp`), hwp);
  const hwpx = await writeHwpx(sections);
  // hwpxjs reads body paragraphs only (not cells, notes or text boxes).
  checkSame(`${name}.hwpx`, { paragraphs: await hwpxjsParagraphs(hwpx) }, { paragraphs: modelView(sections).paragraphs });
  fs.writeFileSync(path.join(outDir, `${name}.hwpx`), hwpx);
  expectedFiles[`${name}.hwp`] = expected(sections);
  expectedFiles[`${name}.hwpx`] = expected(sections);
}
{
  // Uncompressed streams (FileHeader flag bit 0 clear) are valid too.
  // hwp.js reads only compressed files: check that each stream is the
  // inflated stream of report.hwp, which hwp.js has read.
  const plain = writeHwp(documents.report, { flags: 0 });
  const packed = CFB.read(writeHwp(documents.report), { type: "buffer" });
  const unpacked = CFB.read(plain, { type: "buffer" });
  for (const name of ["Root Entry/DocInfo", "Root Entry/BodyText/Section0"]) {
    const want = Buffer.from(pako.inflateRaw(CFB.find(packed, name).content));
    if (!Buffer.from(CFB.find(unpacked, name).content).equals(want)) {
      console.error(`plain.hwp: stream ${name} is not report.hwp's, inflated`);
      process.exit(1);
    }
  }
  fs.writeFileSync(path.join(outDir, "plain.hwp"), plain);
  expectedFiles["plain.hwp"] = expected(documents.report);
}
fs.writeFileSync(path.join(outDir, "expected.json"), JSON.stringify(expectedFiles, null, 1));

// ------------------------------------------------------------------ hostile

const hostile = path.join(outDir, "hostile");
fs.mkdirSync(hostile, { recursive: true });
const put = (name, buf) => fs.writeFileSync(path.join(hostile, name), buf);
const long = writeHwp(documents.long);

// The directory entry of a stream, found by its UTF-16 name on a 128-byte slot.
function entryOffset(buf, name) {
  const needle = Buffer.from(name, "utf16le");
  for (let off = 512; off + 128 <= buf.length; off += 128)
    if (buf.subarray(off, off + needle.length).equals(needle) && buf.readUInt16LE(off + 0x40) === needle.length + 2) return off;
  throw new Error(`no directory entry ${name}`);
}
const fatEntryOffset = (buf, sector) => (buf.readUInt32LE(0x4c + 4 * Math.floor(sector / 128)) + 1) * 512 + 4 * (sector % 128);

put("truncated.hwp", long.subarray(0, Math.floor(long.length / 2)));
{
  // Section0 is past the mini-stream cutoff: its first sector points to itself.
  const b = Buffer.from(long);
  const e = entryOffset(b, "Section0");
  if (b.readUInt32LE(e + 0x78) < 4096) throw new Error("Section0 should be a regular stream");
  const start = b.readUInt32LE(e + 0x74);
  b.writeUInt32LE(start, fatEntryOffset(b, start));
  put("loop.hwp", b);
}
{
  const b = Buffer.from(long);
  b.writeUInt32LE(0xfffffff0, entryOffset(b, "Section0") + 0x78);
  put("huge.hwp", b);
}
put("encrypted.hwp", writeHwp(documents.report, { flags: 1 | 2 }));
put("distribution.hwp", writeHwp(documents.report, { flags: 1 | 4 }));
{
  // A record that declares more bytes than its (uncompressed) stream holds.
  const cfb = CFB.utils.cfb_new();
  CFB.utils.cfb_add(cfb, "/FileHeader", fileHeader(0));
  CFB.utils.cfb_add(cfb, "/DocInfo", docInfo(1));
  CFB.utils.cfb_add(cfb, "/BodyText/Section0", Buffer.concat([sectionStream(reportModel, true), new Bytes().u32((TAG.PARA_HEADER | (4000 << 20)) >>> 0).zeros(10).get()]));
  CFB.utils.cfb_del(cfb, "/\u0001Sh33tJ5");
  put("bad_record.hwp", Buffer.from(CFB.write(cfb, { type: "buffer" })));
}
put("encrypted.hwpx", await writeHwpx(documents.report, { encrypted: true }));
console.log(`make_fixtures: ${Object.keys(expectedFiles).length} documents and 7 hostile files in ${outDir}`);
