"""The wall board (/board?token=…) and the admin's screen links."""
from flask import Blueprint, abort, make_response, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.http import unquote_etag
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from models import board
from models.submissions import submit_once
from models.timezone import local_now
from views.access import allow, public
from views.fields import strip
from views.ui import PortalForm, is_htmx, one_page, redirect_to, render, render_fragment, toast

bp = Blueprint("board", __name__)

CHART_WIDTH, CHART_HEIGHT = 760, 220
#: The key figures' names on the wall, in both languages at once.
TARGET_LABELS = {"handled": ("投诉处理率", "complaints handled"), "on_time": ("按时处理率", "handled on time"),
                 "callback_pass": ("回访合格率", "callback pass rate"), "satisfied": ("客户满意度", "satisfaction"),
                 "repair_pass": ("维修质量合格率", "repair quality pass rate")}


def complaint_state(state):
    """The state's name in Chinese and in English: the wall board shows both."""
    from flask_babel import force_locale

    from models.complaints import STATES
    with force_locale("zh_Hans"):
        chinese = str(STATES[state])
    with force_locale("en"):
        english = str(STATES[state])
    return chinese, english


def trend_lines(trend):
    """Server-drawn chart: each series as SVG polyline points on a shared scale."""
    peak = max([1] + [value for series in trend.values() for value in series])
    step = CHART_WIDTH / 29
    lines = {}
    for name, series in trend.items():
        lines[name] = " ".join(f"{i * step:.1f},{CHART_HEIGHT - value / peak * (CHART_HEIGHT - 10):.1f}"
                               for i, value in enumerate(series))
    return {"lines": lines, "peak": peak, "width": CHART_WIDTH, "height": CHART_HEIGHT}


@bp.route("/board")
@public
def show():
    """The board for a wall screen; polled every 5 s, answered 304 when nothing changed."""
    token = request.args.get("token", "")
    if board.valid_token(token) is None:
        if is_htmx():
            response = render_fragment("board/board.html", "revoked")
        else:
            response = render("board/board.html", revoked_page=True, now=local_now())
        response.status_code = 403
        return response
    values, etag = board.cached_figures()
    tag, _weak = unquote_etag(etag)
    # Werkzeug parses the header: behind a compressing proxy the ETag comes back weak
    # (W/"…"), and a client may send several; the figures are the same either way.
    if request.if_none_match.contains_weak(tag):
        response = make_response("", 304)
    elif is_htmx():
        response = render_fragment("board/board.html", "figures", f=values, chart=trend_lines(values["trend"]),
                                   complaint_state=complaint_state, TARGET_LABELS=TARGET_LABELS)
    else:
        response = render("board/board.html", f=values, chart=trend_lines(values["trend"]), token=token,
                          now=local_now(), etag=etag, complaint_state=complaint_state, TARGET_LABELS=TARGET_LABELS)
    response.set_etag(tag)
    response.headers["Cache-Control"] = "no-store"
    return response


class TokenForm(PortalForm):
    label = StringField(_l("Where the screen hangs"), filters=[strip], validators=[DataRequired(), Length(max=80)])


@bp.route("/admin/board-tokens", methods=["GET", "POST"])
@allow("board.tokens")
def tokens():
    """Links for the wall screens: create one per screen, revoke it to switch the screen off."""
    form = TokenForm()
    new_link = None
    if request.method == "POST":
        if form.earlier_result():
            toast(_("That link was already created; its address is shown only once."), "info")
            return redirect_to(url_for("board.tokens"))
        if form.validate():
            created = {}

            def create():
                row, token = board.create_token(current_user, form.label.data)
                created["link"] = url_for("board.show", token=token, _external=True)
                return url_for("board.tokens")
            submit_once(form.submission_key.data, current_user, create)
            new_link = created.get("link")
            form = TokenForm(formdata=None)
    # Revoked links stay listed (who switched which screen off), so the list grows: the newest first, in pages.
    rows, more_url, page = one_page(board.BoardToken.select().order_by(board.BoardToken.created_at.desc(),
                                                                       board.BoardToken.id.desc()), "board.tokens")
    if page > 1 and request.method == "GET":
        return render_fragment("board/tokens.html", "more_tokens", rows=rows, more_url=more_url)
    status = 422 if request.method == "POST" and form.errors else 200
    return render("board/tokens.html", status=status, form=form, rows=rows, more_url=more_url, new_link=new_link)


@bp.route("/admin/board-tokens/<int:token_id>/revoke", methods=["POST"])
@allow("board.tokens")
def revoke(token_id):
    """Revoke a screen's link: the screen stops at its next refresh."""
    row = board.BoardToken.get_or_none(board.BoardToken.id == token_id) or abort(404)
    board.revoke_token(current_user, row)
    toast(_("Revoked: that screen stops at its next refresh."))
    return redirect_to(url_for("board.tokens"))
