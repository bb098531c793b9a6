"""The public survey page: no sign-in, the signed link is the customer's proof.

GET never records anything: mail security scanners open every link in a
message, so the page shows the clicked score preselected and records it only
when the customer presses the button (POST, with an optional comment). The
page speaks the customer's language.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import override
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from .models import Survey
from .surveys import (
    MAX_COMMENT,
    AnsweredError,
    ExpiredError,
    InvalidLinkError,
    OutOfRangeError,
    SurveyError,
    choices_of,
    question_of,
    read_link,
    record_answer,
)


@never_cache
@require_http_methods(["GET", "POST"])
def answer(request: HttpRequest, token: str) -> HttpResponse:
    try:
        link = read_link(token)
    except SurveyError as exc:
        return _problem(request, exc, language=None)
    survey = Survey.objects.select_related("ticket__inbox").filter(pk=link.survey_id).first()
    if survey is None:
        return _problem(request, InvalidLinkError(_("This survey link is not valid.")), None)
    with override(survey.language):
        if survey.answered_at is not None:
            # A second click (or a scanner after the customer) shows the answer given.
            status = 409 if request.method == "POST" else 200
            return _render(request, "feedback/thanks.html", survey, status=status, again=True)
        if not survey.is_open():
            return _problem(request, ExpiredError(_("This survey has expired.")), survey.language)
        chosen = link.score if link.score is not None and survey.accepts(link.score) else None
        if request.method == "GET":
            return _render(request, "feedback/answer.html", survey, chosen=chosen, token=token)
        return _record(request, survey, token)


def _record(request: HttpRequest, survey: Survey, token: str) -> HttpResponse:
    comment = request.POST.get("comment", "")[:MAX_COMMENT]
    try:
        score = int(request.POST.get("score", ""))
    except ValueError:
        error: SurveyError = OutOfRangeError(
            _("Choose a number from %(low)s to %(high)s.")
            % {"low": survey.scale[0], "high": survey.scale[-1]}
        )
        score = None
    else:
        try:
            survey = record_answer(survey_id=survey.pk, score=score, comment=comment, via="link")
        except AnsweredError:
            survey.refresh_from_db()
            return _render(request, "feedback/thanks.html", survey, status=409, again=True)
        except SurveyError as exc:
            error = exc
        else:
            return _render(request, "feedback/thanks.html", survey)
    if isinstance(error, ExpiredError):
        return _problem(request, error, survey.language)
    return _render(
        request,
        "feedback/answer.html",
        survey,
        status=error.status,
        chosen=score if score is not None and survey.accepts(score) else None,
        token=token,
        error=str(error),
        comment=comment,
    )


def _render(
    request: HttpRequest, template: str, survey: Survey, *, status: int = 200, **context
) -> HttpResponse:
    return render(
        request,
        template,
        {
            "survey": survey,
            "question": question_of(survey),
            "choices": choices_of(survey),
            "max_comment": MAX_COMMENT,
            **context,
        },
        status=status,
    )


def _problem(request: HttpRequest, error: SurveyError, language: str | None) -> HttpResponse:
    # Without a valid link we do not know the customer: the request's language.
    with override(language or getattr(request, "LANGUAGE_CODE", None)):
        return render(
            request,
            "feedback/problem.html",
            {"message": str(error), "expired": isinstance(error, ExpiredError)},
            status=error.status,
        )
