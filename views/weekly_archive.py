"""The weekly complaint archives (/reports/weekly), kept with the monthly reports: each
week's stored PDF, exactly as the sweep printed it."""
from flask import Blueprint, abort, request

from models.weekly_archive import WeeklyArchive, listing
from views.access import allow
from views.fields import int_arg
from views.printing import pdf_response
from views.ui import render

bp = Blueprint("weekly_archive", __name__)

PAGE_SIZE = 26  # half a year of weeks
#: How many the reports page shows above its link to all of them.
RECENT = 5


def recent():
    """The newest archives for the reports page."""
    return list(listing().limit(RECENT))


@bp.route("/reports/weekly")
@allow("reports.weekly_archive")
def index():
    """Every weekly archive, newest week first, in pages revealed as the user scrolls."""
    page = int_arg(request.args, "page", 1)
    rows = list(listing().offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1))
    return render("weekly_archive/index.html", "rows" if page > 1 else None, archives=rows[:PAGE_SIZE],
                  has_more=len(rows) > PAGE_SIZE, page=page)


@bp.route("/reports/weekly/<int:archive_id>.pdf")
@allow("reports.weekly_archive")
def pdf(archive_id):
    """The archived PDF as stored at the sweep: later changes to the complaints do not touch it."""
    archive = WeeklyArchive.get_or_none(WeeklyArchive.id == archive_id)
    if archive is None or not archive.pdf:
        abort(404)
    return pdf_response(bytes(archive.pdf), f"投诉周汇总-{archive.week.key}.pdf")
