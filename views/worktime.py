"""The working-hours calendar an admin edits: weekly hours, holidays, make-up working days (调休)."""
import datetime as dt

from flask import Blueprint, abort, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, ValidationError

from models import complaints, settings, worktime
from models.base import utcnow
from models.submissions import submit_once
from models.timezone import local_now
from models.worktime import DAY_KINDS, HOLIDAY, MAX_RANGE_DAYS, WEEKDAYS, CalendarDay
from views.access import allow
from views.fields import strip, whole_number
from views.ui import PortalForm, redirect_to, render, toast

bp = Blueprint("worktime", __name__, url_prefix="/admin")

PERIODS_HINT = _l("Like 09:00-12:00, 13:30-18:00. Empty: not a working day.")


def periods_text(form, field):
    try:
        worktime.parse_periods(field.data)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


class WeekForm(PortalForm):
    day0 = StringField(WEEKDAYS[0], filters=[strip], validators=[Length(max=200), periods_text],
                       description=PERIODS_HINT)
    day1 = StringField(WEEKDAYS[1], filters=[strip], validators=[Length(max=200), periods_text])
    day2 = StringField(WEEKDAYS[2], filters=[strip], validators=[Length(max=200), periods_text])
    day3 = StringField(WEEKDAYS[3], filters=[strip], validators=[Length(max=200), periods_text])
    day4 = StringField(WEEKDAYS[4], filters=[strip], validators=[Length(max=200), periods_text])
    day5 = StringField(WEEKDAYS[5], filters=[strip], validators=[Length(max=200), periods_text])
    day6 = StringField(WEEKDAYS[6], filters=[strip], validators=[Length(max=200), periods_text])

    def day_fields(self):
        return [getattr(self, f"day{d}") for d in range(7)]

    def validate_day0(self, field):
        if not any((f.data or "").strip() for f in self.day_fields()):
            raise ValidationError(_l("Give at least one weekday working hours."))


def _date(text):
    try:
        value = dt.date.fromisoformat(text)
    except ValueError:
        return None
    return value if 2000 <= value.year <= 2100 else None


class DayForm(PortalForm):
    first = StringField(_l("Date"), filters=[strip], render_kw={"type": "date"})
    last = StringField(_l("Until (for several days in a row)"), filters=[strip], render_kw={"type": "date"},
                       description=_l("Leave empty for a single day."))
    kind = RadioField(_l("Kind of day"), default=HOLIDAY,
                      choices=[SelectChoice(k, v) for k, v in DAY_KINDS.items()])
    label = StringField(_l("Label"), filters=[strip], validators=[DataRequired(), Length(max=60)],
                        description=_l("For example 2026 国庆节 or 国庆调休."))
    periods = StringField(_l("Hours of the make-up day"), filters=[strip], validators=[Length(max=200)],
                          description=_l("Empty: the hours of an ordinary working day."))

    def validate_first(self, field):
        if not field.data:
            raise ValidationError(_l("Enter the date."))
        if _date(field.data) is None:
            raise ValidationError(_l("Enter a date like 2026-10-01."))

    def validate_last(self, field):
        if not field.data:
            return
        last, first = _date(field.data), _date(self.first.data or "")
        if last is None:
            raise ValidationError(_l("Enter a date like 2026-10-07."))
        if first and last < first:
            raise ValidationError(_l("The last day is before the first."))
        if first and (last - first).days + 1 > MAX_RANGE_DAYS:
            raise ValidationError(_l("At most %(n)d days at once.", n=MAX_RANGE_DAYS))

    def validate_periods(self, field):
        if self.kind.data == HOLIDAY:
            if field.data:
                raise ValidationError(_l("A holiday has no working hours; leave this empty."))
            return
        periods_text(self, field)

    def dates(self):
        first = _date(self.first.data)
        last = _date(self.last.data) if self.last.data else first
        return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]

    def check_against(self, calendar):
        """What the calendar already says about these dates; True when nothing is in the way."""
        taken = {row.day: row for row in CalendarDay.select().where(CalendarDay.day.in_(self.dates()))}
        if taken:
            self.first.errors.append(_("Already in the calendar: %(days)s.", days="、".join(
                f"{day.isoformat()} ({row.label})" for day, row in sorted(taken.items()))))
            return False
        if self.kind.data == HOLIDAY:
            idle = [d for d in self.dates() if not calendar.week[d.weekday()]]
            if idle and len(idle) == len(self.dates()):
                self.kind.errors.append(_("%(days)s: no working day anyway; a holiday changes nothing.",
                                          days="、".join(d.isoformat() for d in idle)))
                return False
        elif not self.periods.data:
            working = [d for d in self.dates() if calendar.week[d.weekday()]]
            if working:
                self.kind.errors.append(_("%(days)s: a working day already. A make-up day is a day off that is "
                                          "worked; to shorten a working day give its hours.",
                                          days="、".join(d.isoformat() for d in working)))
                return False
        return True


def _page(status=200, week_form=None, day_form=None, block=None, year=None, import_error=None):
    week = worktime.week_texts()
    week_form = week_form or WeekForm(data={f"day{d}": week[d] for d in range(7)})
    day_form = day_form or DayForm()
    calendar = worktime.calendar()
    today = utcnow()
    try:
        sample = calendar.add(today, dt.timedelta(hours=24))
    except worktime.NoWorkingTime:
        sample = None
    # One year at a time: the calendar gains a year of holidays every year.
    asked = request.args.get("year", "")
    if year is None:
        year = int(asked) if whole_number(asked) and 2000 <= int(asked) <= 2100 else local_now().year
    official = worktime.official_years()
    return render("admin/working_hours.html", block, status=status, week_form=week_form, day_form=day_form,
                  rows=list(worktime.days(year)), year=year, sample=sample, now=today,
                  official_known=year in official, official_first=official[0], official_last=official[-1],
                  import_error=import_error,
                  counts=bool(settings.get(complaints.WORKING_TIME)), weekdays=WEEKDAYS)


@bp.route("/working-hours")
@allow("settings.edit")
def index():
    """The calendar: weekly hours, then the holidays and make-up working days."""
    return _page()


@bp.route("/working-hours/week", methods=["POST"])
@allow("settings.edit")
def save_week():
    """Change the weekly working hours."""
    form = WeekForm()
    if not form.validate_on_submit():
        return _page(422, week_form=form, block="week_form")
    worktime.save_week(current_user, {d: f.data for d, f in enumerate(form.day_fields())})
    toast(_("Weekly working hours saved."))
    return redirect_to(url_for("worktime.index"))


@bp.route("/working-hours/days", methods=["POST"])
@allow("settings.edit")
def add_days():
    """Enter a holiday or a make-up working day, or a run of them, with a label."""
    form = DayForm()
    if earlier := form.earlier_result():
        return redirect_to(earlier)
    if not form.validate_on_submit() or not form.check_against(worktime.calendar()):
        return _page(422, day_form=form, block="day_form")
    dates = form.dates()

    def create():
        worktime.add_days(current_user, dates[0], dates[-1], form.kind.data, form.label.data, form.periods.data)
        return url_for("worktime.index", year=dates[0].year)

    url, created = submit_once(form.submission_key.data, current_user, create)
    if created:
        toast(_("%(label)s: %(n)d day(s) entered.", label=form.label.data, n=len(dates)))
    return redirect_to(url)


@bp.route("/working-hours/days/<int:day_id>/remove", methods=["POST"])
@allow("settings.edit")
def remove_day(day_id):
    """Take a mistaken date out of the calendar."""
    row = CalendarDay.get_or_none(CalendarDay.id == day_id) or abort(404)
    worktime.remove_day(current_user, row)
    toast(_("%(day)s taken out of the calendar.", day=row.day.isoformat()))
    return redirect_to(url_for("worktime.index", year=row.day.year))


@bp.route("/working-hours/import/<int:year>", methods=["POST"])
@allow("settings.edit")
def import_official(year):
    """Enter a year's public holidays and 调休 days as the State Council announced them."""
    if not 2000 <= year <= 2100:
        abort(404)
    try:
        added, kept = worktime.import_official(current_user, year)
    except worktime.UnknownYear as refusal:
        return _page(422, year=year, import_error=str(refusal))
    toast(_("%(year)s: %(added)d day(s) added from the State Council's arrangement, %(kept)d already entered kept.",
            year=year, added=added, kept=kept))
    return redirect_to(url_for("worktime.index", year=year))
