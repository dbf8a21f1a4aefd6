"""Test inputs for `csto-bot ingest`, made at test time: PDFs with fpdf2 and DejaVu Sans (a Cyrillic
TrueType font: Debian's fonts-dejavu-core, or matplotlib's copy), HTML, DOCX (python-docx) and text."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

FONT_CANDIDATES = [
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
]


def font_path() -> Path | None:
    for path in FONT_CANDIDATES:
        if path.is_file():
            return path
    try:
        import matplotlib

        path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
        return path if path.is_file() else None
    except ImportError:
        return None


HEADER_RU = "Новизна. Эксперимент. Традиции. 2025. Т. 11, № 4 (32)"
TITLE_RU = "Угрозы безопасности на южных рубежах ОДКБ"
CITATION_RU = (
    "Для цитирования: Иванова А. С. Угрозы безопасности на южных рубежах ОДКБ // "
    "Новизна. Эксперимент. Традиции. 2025. Т. 11, № 4 (32). С. 47–49."
)
P1 = (
    "Граница Таджикистана с Афганистаном остаётся главным направлением угроз для государств-членов "
    "Организации Договора о коллективной безопасности. Терроризм и наркотрафик с афганской стороны "
    "требуют постоянной координации пограничных служб."
)
P2_LINES = [
    "Статья рассматривает механизмы региональной интегра-",
    "ции в сфере безопасности и роль коллективных сил быстрого",
    "развёртывания ОДКБ, созданных для отражения внешней",
    "агрессии и борьбы с международным терроризмом, а также",
]
P2_NEXT = [
    "вопрос о том, насколько готовы государства-члены к совместным",
    "действиям в случае обострения обстановки на границе.",
]
P3 = (
    "Договор о коллективной безопасности был подписан в Ташкенте, а в 2002 году на его основе "
    "была создана организация, объединившая шесть государств постсоветского пространства."
)
NOTE_RU = "1 Договор о коллективной безопасности подписан 15 мая 1992 года."
COL_LEFT = [
    "Левая колонка начинается здесь и",
    "продолжает мысль о том, что военное",
    "сотрудничество государств-членов",
    "зависит от доверия между ними.",
]
COL_RIGHT = [
    "Правая колонка говорит о другом: о",
    "миротворческом потенциале и учениях",
    "коллективных сил, проводимых каждый",
    "год на территории Таджикистана.",
]


def _pdf(font: Path):
    from fpdf import FPDF

    class Doc(FPDF):
        running = ""

        def header(self) -> None:
            if self.running:
                self.set_font("DejaVu", size=9)
                self.set_xy(20, 10)
                self.cell(170, 5, self.running, align="C")
                self.set_font("DejaVu", size=11)

        def footer(self) -> None:
            if self.running:
                self.set_font("DejaVu", size=9)
                self.set_xy(20, 285)
                self.cell(170, 5, self.get_page_label(), align="C")
                self.set_font("DejaVu", size=11)

    pdf = Doc(format="A4")
    pdf.add_font("DejaVu", "", str(font))
    pdf.set_creation_date(dt.datetime(2026, 3, 14, 9, 26, 53, tzinfo=dt.UTC))
    pdf.set_margins(20, 25, 20)
    return pdf


def russian_pdf(font: Path, *, labels: bool = True, xmp: bool = True) -> bytes:
    """Three pages, labelled 47–49: a running header and page numbers, a title, the source's own
    citation line, a hyphen across a line, a paragraph over the page break 47–48, a footnote on 48
    and a two-column page (49) written row by row."""
    pdf = _pdf(font)
    pdf.running = HEADER_RU
    pdf.set_auto_page_break(False)
    pdf.set_title(TITLE_RU)
    pdf.set_author("Иванова, Анна Сергеевна")
    pdf.set_creator("Microsoft Word")
    if xmp:
        pdf.set_xmp_metadata(
            '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:prism="http://prismstandard.org/namespaces/basic/2.0/">'
            "<dc:creator><rdf:Seq><rdf:li>Иванова, Анна Сергеевна</rdf:li></rdf:Seq></dc:creator>"
            "<prism:publicationName>Новизна. Эксперимент. Традиции</prism:publicationName>"
            "<prism:volume>11</prism:volume><prism:number>4 (32)</prism:number>"
            "<prism:startingPage>47</prism:startingPage><prism:endingPage>49</prism:endingPage>"
            "<prism:coverDate>2025-12-20</prism:coverDate>"
            "</rdf:Description></rdf:RDF></x:xmpmeta>"
        )
    pdf.add_page()
    if labels:
        pdf.set_page_label("D", None, 47)
    pdf.set_font("DejaVu", size=15)
    pdf.set_xy(20, 30)
    pdf.multi_cell(170, 8, TITLE_RU, align="L")
    pdf.set_font("DejaVu", size=11)
    pdf.ln(4)
    pdf.multi_cell(170, 6, "Иванова Анна Сергеевна", align="L")
    pdf.ln(4)
    pdf.multi_cell(170, 6, CITATION_RU, align="J")
    pdf.ln(4)
    pdf.multi_cell(170, 6, P1, align="J")
    pdf.ln(4)
    y = 240
    for line in P2_LINES:
        pdf.text(20, y, line)
        y += 6
    pdf.add_page()
    y = 32
    for line in P2_NEXT:
        pdf.text(20, y, line)
        y += 6
    pdf.set_xy(20, y + 2)
    pdf.multi_cell(170, 6, P3 + "¹", align="J")
    pdf.set_font("DejaVu", size=8)
    pdf.text(20, 272, NOTE_RU)
    pdf.set_font("DejaVu", size=11)
    pdf.add_page()
    y = 32
    for left, right in zip(COL_LEFT, COL_RIGHT):
        pdf.text(20, y, left)
        pdf.text(112, y, right)
        y += 6
    return bytes(pdf.output())


ENGLISH_TEXT = [
    "Collective security in Central Asia depends on the readiness of member states to act together.",
    "This paper reviews the rapid reaction forces and their exercises since 2009. The forces were "
    "designed to repel external aggression and to counter terrorism in the region.",
    "It concludes that trust between the partners matters more than the formal obligations of the treaty.",
]


def english_pdf(
    font: Path, *, pages: int = 2, title: str | None = "Microsoft Word - draft.docx", author: str | None = "User"
) -> bytes:
    """No page labels; placeholder metadata (Word's "Microsoft Word - …" title, author "User")."""
    pdf = _pdf(font)
    pdf.set_auto_page_break(False)
    if title:
        pdf.set_title(title)
    if author:
        pdf.set_author(author)
    for n in range(pages):
        pdf.add_page()
        pdf.set_font("DejaVu", size=11)
        pdf.set_xy(20, 30)
        for para in ENGLISH_TEXT:
            pdf.multi_cell(170, 6, para if n == 0 else f"Page {n + 1}. {para}", align="J")
            pdf.ln(4)
    return bytes(pdf.output())


def long_pdf(font: Path, pages: int = 300) -> bytes:
    pdf = _pdf(font)
    pdf.running = "Journal of Long Documents, vol. 3"
    pdf.set_auto_page_break(False)
    pdf.set_title("A long report")
    para = " ".join(ENGLISH_TEXT)
    for n in range(pages):
        pdf.add_page()
        pdf.set_xy(20, 30)
        pdf.set_font("DejaVu", size=11)
        for k in range(4):
            pdf.multi_cell(170, 6, f"Section {n}.{k}. {para}", align="J")
            pdf.ln(4)
    return bytes(pdf.output())


def password_pdf(font: Path) -> bytes:
    pdf = _pdf(font)
    pdf.set_encryption(owner_password="owner", user_password="secret")
    pdf.add_page()
    pdf.set_font("DejaVu", size=11)
    pdf.text(20, 30, "Секретный текст.")
    return bytes(pdf.output())


def scanned_pdf(font: Path) -> bytes:
    from PIL import Image

    pdf = _pdf(font)
    pdf.add_page()
    image = Image.new("L", (200, 100), 255)
    for x in range(20, 180):
        image.putpixel((x, 50), 0)
    pdf.image(image, x=20, y=20, w=100)
    return bytes(pdf.output())


def empty_pdf(font: Path) -> bytes:
    pdf = _pdf(font)
    pdf.add_page()
    return bytes(pdf.output())


def garbled_pdf(font: Path) -> bytes:
    """A text layer without a Unicode map: the font's /ToUnicode entry renamed (same length, so the
    cross-reference offsets stay right), as in PDFs whose fonts were embedded without one."""
    pdf = _pdf(font)
    pdf.add_page()
    pdf.set_font("DejaVu", size=11)
    pdf.set_xy(20, 30)
    pdf.multi_cell(170, 6, P1 + " " + P3, align="J")
    data = bytes(pdf.output())
    assert b"/ToUnicode" in data
    return data.replace(b"/ToUnicode", b"/ToUnicodX")


HTML_RU = """<!DOCTYPE html>
<html lang="ru">
<head>
<meta charset="{charset}">
<title>Сайт журнала — ОДКБ и Центральная Азия</title>
<meta name="citation_title" content="ОДКБ и безопасность Центральной Азии">
<meta name="citation_author" content="Иванова, Анна Сергеевна">
<meta name="citation_author" content="Petrov, Ivan">
<meta name="citation_publication_date" content="2023/05/17">
<meta name="citation_journal_title" content="Вестник евразийских исследований">
<meta name="citation_volume" content="7">
<meta name="citation_issue" content="2">
<meta name="citation_firstpage" content="10">
<meta name="citation_lastpage" content="25">
<meta name="DC.publisher" content="Издательство Евразия">
<meta name="DC.language" content="ru">
<link rel="canonical" href="https://journal.example.org/articles/csto-central-asia">
</head>
<body>
<nav><ul><li><a href="/">Главная</a></li><li><a href="/archive">Архив номеров</a></li><li>
<a href="/about">О журнале</a></li></ul></nav>
<div class="cookie-banner">Мы используем файлы cookie. Продолжая, вы соглашаетесь с политикой.</div>
<aside class="sidebar"><h3>Популярное</h3><p>Самые читаемые статьи месяца о футболе и погоде.</p></aside>
<main><article>
<h1>ОДКБ и безопасность Центральной Азии</h1>
<h2>Введение</h2>
<p>Организация Договора о коллективной безопасности объединяет Россию, Беларусь, Казахстан, Кыргызстан и Таджикистан;
её роль в Центральной Азии выросла после 2022 года.</p>
<h3>Методы</h3>
<p>Исследование опирается на анализ официальных документов ОДКБ и заявлений руководителей государств-членов за
2014–2024 годы.</p>
<h2>Результаты</h2>
<p>Председательство Казахстана в 2024 году было направлено на стабилизацию, а не на углубление интеграции.</p>
<p>Миротворческий потенциал организации остаётся ограниченным, хотя учения коллективных сил проводятся ежегодно.</p>
</article></main>
<section class="comments"><h2>Комментарии</h2><div class="comment">
<p>Отличная статья, спасибо автору за интересный материал!</p></div></section>
<footer><p>© 2024 Вестник евразийских исследований. Все права защищены.</p></footer>
</body>
</html>
"""


def russian_html(charset: str = "utf-8", *, meta: bool = True) -> bytes:
    text = HTML_RU.replace("{charset}", charset)
    if not meta:
        text = "\n".join(
            line for line in text.splitlines() if "citation_" not in line and "DC." not in line and "canonical" not in line
        )
    return text.encode("cp1251" if charset.lower() in ("windows-1251", "cp1251") else "utf-8")


def english_docx(
    *, author: str = "Smith, John A.", title: str | None = "Collective security in Central Asia", created_year: int = 2019
) -> bytes:
    import docx

    document = docx.Document()
    document.add_paragraph("Collective security in Central Asia", style="Title")
    document.add_heading("Introduction", level=1)
    document.add_paragraph("The Collective Security Treaty Organization brings together six post-Soviet states.")
    document.add_heading("Methods", level=2)
    document.add_paragraph("We read the treaty, the charter and the statements of the Secretary General.")
    document.add_paragraph("We also compared the exercises held between 2010 and 2020.")
    document.add_heading("Results", level=1)
    document.add_paragraph("Cooperation deepened in training but not in procurement.")
    props = document.core_properties
    props.author = author
    if title is not None:
        props.title = title
    props.created = dt.datetime(created_year, 1, 2, 3, 4, 5)
    props.last_modified_by = "Admin"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def zip_bomb_docx() -> bytes:
    """A DOCX-shaped zip whose document.xml inflates a thousandfold."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", b"<w:document>" + b" " * (20 * 1024 * 1024) + b"</w:document>")
    return out.getvalue()


def odt_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        z.writestr("content.xml", "<office:document-content/>")
    return out.getvalue()


DOC_BYTES = bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 504
PNG_BYTES = bytes.fromhex("89504e470d0a1a0a") + b"\0" * 64

TEXT_RU = """Первый абзац заметки об ОДКБ: организация была создана
в 2002 году на основе договора 1992 года.

Второй абзац: в 2024 году Казахстан председательствовал в организации.
"""

MARKDOWN_EN = """# Notes on the CSTO

Intro paragraph before any section.

## Members

The members are Armenia, Belarus, Kazakhstan, Kyrgyzstan, Russia and Tajikistan.

### Observers

There are *no* observers.

## History

The treaty was signed in 1992.
"""
