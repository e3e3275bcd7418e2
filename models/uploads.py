"""Photos uploaded from the tablet: checked by their content, turned upright and stripped of
their metadata (a phone's photo carries where it was taken, the device, the time), stored under
names the portal chooses, with a thumbnail for the screen."""
import io
import os
import uuid
from typing import NamedTuple

from flask import current_app
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

from models.base import DomainError

ACCEPTED_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
THUMBNAIL_SIZE = (360, 360)
#: EXIF orientations that turn the picture a quarter: its upright width is the stored height.
QUARTER_TURNS = {5, 6, 7, 8}
ORIENTATION_TAG = 0x0112
#: Re-encoding a JPEG costs a little quality; at 90 the loss is not visible in a photo of a scene.
JPEG_QUALITY = 90


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
            if image.getexif().get(ORIENTATION_TAG) in QUARTER_TURNS:
                width, height = height, width  # the size it is stored at, upright
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise UploadError(_l("This file is not a photo (JPEG, PNG, WebP or GIF).")) from None
    if image_format not in ACCEPTED_FORMATS:
        raise UploadError(_l("This file is not a photo (JPEG, PNG, WebP or GIF)."))
    return image_format, width, height


def without_metadata(data, image_format):
    """The photo upright (its EXIF orientation applied) and re-encoded from its pixels alone:
    no EXIF (GPS, device, time), XMP, comments or colour profile survive."""
    with Image.open(io.BytesIO(data)) as image:
        frames = [ImageOps.exif_transpose(frame) for frame in ImageSequence.Iterator(image)]
        durations = [frame.info.get("duration", 100) for frame in ImageSequence.Iterator(image)]
        loop = image.info.get("loop")
    for frame in frames:
        # Only what the pixels need: a palette's transparent colour.
        frame.info = {key: value for key, value in frame.info.items() if key == "transparency"}
    buffer = io.BytesIO()
    options = {"quality": JPEG_QUALITY} if image_format == "JPEG" else {}
    if len(frames) > 1:  # an animated GIF or WebP keeps its frames and their timing
        options.update(save_all=True, append_images=frames[1:], duration=durations,
                       **({"loop": loop} if loop is not None else {}))
    frames[0].save(buffer, image_format, **options)
    return buffer.getvalue()


class StoredImage(NamedTuple):
    name: str  # the portal's, never the user's
    size: int  # bytes of the stored file: stripping and re-encoding change it from the upload's


def store_image(kind, data, image_format):
    """Write the photo (upright, without metadata) and its thumbnail; returns its StoredImage."""
    name = f"{uuid.uuid4().hex}.{ACCEPTED_FORMATS[image_format]}"
    folder = upload_folder(kind)
    clean = without_metadata(data, image_format)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(clean)
    with Image.open(io.BytesIO(clean)) as image:
        image = image.convert("RGB")
        image.thumbnail(THUMBNAIL_SIZE)
        image.save(os.path.join(folder, thumbnail_name(name)), "JPEG", quality=80)
    return StoredImage(name, len(clean))


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
