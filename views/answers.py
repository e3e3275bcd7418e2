"""A host's one-tap answer from a message (e-mail, WeCom, DingTalk, Feishu), without logging in."""
from flask import Blueprint, current_app, request
from flask_babel import force_locale

from models import answers
from views.access import signed_link
from views.ui import render

bp = Blueprint("answers", __name__)


def _page(host, status=200, **context):
    """The small page, in the host's language (as their messages are) when the link's signature
    held; a forged link names nobody to trust, so the reader's browser decides."""
    if host is None:
        response = render("answers/reply.html", status=status, **context)
    else:
        with force_locale(host.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
            response = render("answers/reply.html", status=status, **context)
    # The token is in the address: it is not handed on to whatever the page links to.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.route("/visitors/<int:visit_id>/reply/<token>", methods=["GET", "POST"])
@signed_link
def reply(visit_id, token):
    """GET asks (link previewers in the chat apps fetch links, so a GET changes nothing); POST answers."""
    try:
        if request.method == "POST":
            visit = answers.answer(visit_id, token)
            return _page(visit.host, visit=visit, done=True)
        asked = answers.question(visit_id, token)
    except answers.LinkRefused as refused:
        return _page(refused.host, status=refused.status, refused=refused, visit=refused.visit)
    return _page(asked.host, asked=asked, visit=asked.visit)
