// Writes the rosters described in a JSON file with SheetJS and ExcelJS (see generate.py).
//
//     node write.js SPEC.json OUTDIR
//
// SPEC is {"rosters": [{"name": ..., "rows": [[cell, ...], ...], "far": [row, col, text] | null}],
//          "sheetjs_only": [{"name": ..., "bookType": "xlsb" | "xlml", "rows": ...}]}.
// A cell is null, {"s": text} or {"n": number as text}; a number is written as a number cell,
// as the writers do when a web system hands them a JavaScript number.
"use strict";

const fs = require("fs");
const path = require("path");
const XLSX = require("xlsx");
const ExcelJS = require("exceljs");

const [specPath, outDir] = process.argv.slice(2);
const spec = JSON.parse(fs.readFileSync(specPath, "utf8"));

function value(cell) {
  if (cell === null) return null;
  if ("n" in cell) return Number(cell.n);
  return cell.s;
}

function sheetjsSheet(roster) {
  const aoa = roster.rows.map((row) => row.map(value));
  const sheet = XLSX.utils.aoa_to_sheet(aoa);
  if (roster.far) {
    const [row, col, text] = roster.far;
    XLSX.utils.sheet_add_aoa(sheet, [[text]], { origin: { r: row - 1, c: col - 1 } });
  }
  return sheet;
}

function writeSheetJS(roster, bookType, extension) {
  const book = XLSX.utils.book_new();
  XLSX.utils.book_append_sheet(book, sheetjsSheet(roster), "参保名单");
  const file = path.join(outDir, `${roster.name}.${extension}`);
  XLSX.writeFile(book, file, { bookType, compression: true });
}

async function writeExcelJS(roster) {
  const book = new ExcelJS.Workbook();
  book.creator = "generate.py";
  book.created = new Date(Date.UTC(2026, 0, 1));
  book.modified = book.created;
  const sheet = book.addWorksheet("参保名单");
  roster.rows.forEach((row, index) => {
    row.forEach((cell, col) => {
      const v = value(cell);
      if (v !== null) sheet.getCell(index + 1, col + 1).value = v;
    });
  });
  if (roster.far) {
    const [row, col, text] = roster.far;
    sheet.getCell(row, col).value = text;
  }
  await book.xlsx.writeFile(path.join(outDir, `exceljs-${roster.name}.xlsx`));
}

(async () => {
  for (const roster of spec.rosters) {
    writeSheetJS({ ...roster, name: `sheetjs-${roster.name}` }, "xlsx", "xlsx");
    await writeExcelJS(roster);
  }
  for (const other of spec.sheetjs_only) {
    writeSheetJS({ ...other, name: `sheetjs-${other.name}` }, other.bookType, other.extension);
  }
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
