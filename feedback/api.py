"""GET /api/v1/surveys/: the surveys sent and their answers, newest first, read-only.

Wired in api/urls.py (`path("surveys/", feedback.api.surveys, name="surveys")`).
An agent sees the surveys of the tickets they may open (tickets.access).
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from api.pagination import DefaultCursorPagination
from api.views import CURSOR_PARAMETER, PAGE_SIZE_PARAMETER, _errors, endpoint
from tickets.access import sees_everything, visible_tickets

from .models import Survey, SurveyKind


class SurveySerializer(serializers.ModelSerializer):
    ticket = serializers.IntegerField(source="ticket_id", read_only=True)
    customer = serializers.IntegerField(source="customer_id", read_only=True)
    inbox = serializers.IntegerField(source="inbox_id", read_only=True, allow_null=True)
    scale = serializers.SerializerMethodField(help_text="The lowest and highest score.")

    class Meta:
        model = Survey
        fields = [
            "id",
            "ticket",
            "customer",
            "inbox",
            "kind",
            "channel",
            "language",
            "sent_at",
            "expires_at",
            "scale",
            "score",
            "comment",
            "answered_at",
            "answered_via",
        ]
        read_only_fields = fields

    def get_scale(self, survey: Survey) -> list[int]:
        return [survey.scale[0], survey.scale[-1]]


class SurveyPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = SurveySerializer(many=True)


@extend_schema(
    operation_id="surveys_list",
    tags=["surveys"],
    summary="Surveys sent when tickets were solved, with their answers",
    parameters=[
        OpenApiParameter("kind", OpenApiTypes.STR, enum=SurveyKind.values),
        OpenApiParameter("ticket", OpenApiTypes.INT),
        OpenApiParameter("customer", OpenApiTypes.INT),
        OpenApiParameter("answered", OpenApiTypes.BOOL),
        CURSOR_PARAMETER,
        PAGE_SIZE_PARAMETER,
    ],
    responses={200: SurveyPageSerializer, **_errors()},
)
@endpoint(["GET"])
def surveys(request: Request) -> Response:
    queryset = Survey.objects.all()
    if not sees_everything(request.user):
        queryset = queryset.filter(ticket__in=visible_tickets(request.user))
    params = request.query_params
    kind = params.get("kind")
    if kind:
        if kind not in SurveyKind.values:
            raise ValidationError({"kind": f"Choose one of {', '.join(SurveyKind.values)}."})
        queryset = queryset.filter(kind=kind)
    for name in ("ticket", "customer"):
        if params.get(name):
            try:
                queryset = queryset.filter(**{f"{name}_id": int(params[name])})
            except ValueError:
                raise ValidationError({name: "Give a number."}) from None
    answered = params.get("answered")
    if answered in ("true", "false"):
        queryset = queryset.filter(answered_at__isnull=answered == "false")
    elif answered:
        raise ValidationError({"answered": "Give true or false."})
    paginator = DefaultCursorPagination()
    page = paginator.paginate_queryset(queryset, request)
    return paginator.get_paginated_response(SurveySerializer(page, many=True).data)
