"""Reading a PDF as a person would: its text and its fonts (poppler's tools)."""
import subprocess
import tempfile


def pdf_text(data):
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(data)
        f.flush()
        return subprocess.run(["pdftotext", "-layout", f.name, "-"], capture_output=True, text=True,
                              check=True).stdout


def pdf_fonts(data):
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(data)
        f.flush()
        return subprocess.run(["pdffonts", f.name], capture_output=True, text=True, check=True).stdout


def assert_embedded_cjk_font(data):
    fonts = pdf_fonts(data)
    cjk = [line for line in fonts.splitlines() if "CJK" in line]
    assert cjk, fonts
    # pdffonts columns: name type encoding emb sub uni object ID
    assert all(" yes " in line for line in cjk), fonts


def pdf_page_sizes(data):
    """Each page's size in millimetres (width, height), rounded, from poppler's pdfinfo."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(data)
        f.flush()
        info = subprocess.run(["pdfinfo", "-f", "1", "-l", "9999", f.name], capture_output=True, text=True,
                              check=True).stdout
    sizes = []
    for line in info.splitlines():
        if line.startswith("Page") and "size:" in line:
            width, height = line.split("size:")[1].split("pts")[0].split("x")
            sizes.append((round(float(width) * 25.4 / 72), round(float(height) * 25.4 / 72)))
    return sizes


def pdf_pages_text(data):
    """The text of each page, in order."""
    return pdf_text(data).split("\f")[:-1]
