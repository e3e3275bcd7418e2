"""Photos uploaded from the tablet: checked by their content, stored under names the
portal chooses, with a thumbnail for the screen."""
import io
import os
import uuid

from flask import current_app
from flask_babel import lazy_gettext as _l
from PIL import Image, UnidentifiedImageError

from models.base import DomainError

ACCEPTED_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
THUMBNAIL_SIZE = (360, 360)


class UploadError(DomainError, ValueError):
    """The file was refused."""


def upload_folder(kind):
    folder = os.path.join(current_app.instance_path, "uploads", kind)
    os.makedirs(folder, exist_ok=True)
    return folder


def check_image(data, max_bytes):
    """The image's format and size, or UploadError: decided by the bytes, never the name."""
    if len(data) > max_bytes:
        raise UploadError(_l("This photo is larger than %(mb)s MB.", mb=max_bytes // (1024 * 1024)))
    try:
        with Image.open(io.BytesIO(data)) as probe:
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image_format = image.format
            width, height = image.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise UploadError(_l("This file is not a photo (JPEG, PNG, WebP or GIF).")) from None
    if image_format not in ACCEPTED_FORMATS:
        raise UploadError(_l("This file is not a photo (JPEG, PNG, WebP or GIF)."))
    return image_format, width, height


def store_image(kind, data, image_format):
    """Write the photo and its thumbnail; returns the stored name (never the user's)."""
    name = f"{uuid.uuid4().hex}.{ACCEPTED_FORMATS[image_format]}"
    folder = upload_folder(kind)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)
    with Image.open(io.BytesIO(data)) as image:
        image = image.convert("RGB")
        image.thumbnail(THUMBNAIL_SIZE)
        image.save(os.path.join(folder, thumbnail_name(name)), "JPEG", quality=80)
    return name


#: Documents attached to records (quotations, specifications, invoices): the extension
#: the portal gives each kind it accepts, decided by the content.
DOCUMENT_TYPES = {
    "pdf": "application/pdf",
    "jpg": "image/jpeg",
    "png": "image/png",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


def check_document(data, max_bytes):
    """The document's extension, or UploadError: PDF, JPEG/PNG, XLSX or DOCX, by the bytes."""
    import zipfile
    if not data:
        raise UploadError(_l("Choose a file to attach."))
    if len(data) > max_bytes:
        raise UploadError(_l("This file is larger than %(mb)s MB.", mb=max_bytes // (1024 * 1024)))
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
        except zipfile.BadZipFile:
            names = set()
        if "xl/workbook.xml" in names:
            return "xlsx"
        if "word/document.xml" in names:
            return "docx"
    else:
        try:
            image_format, _width, _height = check_image(data, max_bytes)
            if image_format in ("JPEG", "PNG"):
                return ACCEPTED_FORMATS[image_format]
        except UploadError:
            pass
    raise UploadError(_l("Attach a PDF, a JPEG or PNG photo, an Excel (.xlsx) or a Word (.docx) file."))


def store_document(kind, data, extension):
    """Write the document under a name the portal chooses; returns that name."""
    name = f"{uuid.uuid4().hex}.{extension}"
    with open(os.path.join(upload_folder(kind), name), "wb") as f:
        f.write(data)
    return name


def thumbnail_name(name):
    return f"thumb-{name.rsplit('.', 1)[0]}.jpg"


def stored_path(kind, name, thumbnail=False):
    return os.path.join(upload_folder(kind), thumbnail_name(name) if thumbnail else name)


def print_data_uri(kind, name, longest_side=1200):
    """The photo scaled for an A4 page, inline: the PDF renderer reads no uploaded file."""
    import base64
    with Image.open(stored_path(kind, name)) as image:
        image = image.convert("RGB")
        image.thumbnail((longest_side, longest_side))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()
