"""The annotated roster: the clerk's own workbook with every finding marked.

Every cell with a finding is coloured (red for an error, yellow for a warning) and commented,
and a first sheet 检查结果 lists every finding with a link to its cell.

Annotating does not load the workbook with openpyxl. A full load of a 100,000-row roster took
12.6 s and its save 8.8 s, peaking at 644 MB; a sheet formatted down to row 1,048,576 took 47 s
and 1.9 GB. Instead the package is copied part by part and only what must change is rewritten:
the roster sheet's XML is streamed in 1 MB chunks and only rows with findings are parsed;
styles.xml gains the fills and cell formats (each cloned from the cell's own format, so fonts,
borders and number formats stay); a comments part and its legacy VML drawing are created or
extended; and a summary sheet is written as raw XML. Other sheets, drawings and the rest pass
through, and no formula is evaluated. What would run when office staff open the file does not:
formulas (each cell keeps its cached value), external links, data connections, macros,
controls, and rules or names that call a function (``inert``).

The modules, each importing only those listed before it:

* ``base``: sheet names, colours and limits, and helpers for editing XML as text;
* ``package``: the zip package: parts, relationships, content types, copying entries;
* ``inert``: what is dropped or rewritten so that the copy runs nothing when opened;
* ``styles``: the fills and cell formats added to styles.xml;
* ``sheet``: streaming the roster sheet and colouring the cells with findings;
* ``comments``: the comments part and its legacy VML drawing;
* ``summary``: the summary sheet;
* ``workbook``: ``annotate_roster``, which puts these together, and workbook.xml.
"""

from enrollment.annotate.base import (
    AUTHOR,
    ERROR_RGB,
    HEADER_ROW,
    INSTRUCTIONS_SHEET,
    LAST_ROW,
    MARK,
    ROSTER_SHEET,
    SUMMARY_SHEET,
    WARNING_RGB,
)
from enrollment.annotate.workbook import annotate_roster

__all__ = [
    "AUTHOR",
    "ERROR_RGB",
    "HEADER_ROW",
    "INSTRUCTIONS_SHEET",
    "LAST_ROW",
    "MARK",
    "ROSTER_SHEET",
    "SUMMARY_SHEET",
    "WARNING_RGB",
    "annotate_roster",
]
