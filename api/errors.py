from rest_framework.views import exception_handler


def json_exception_handler(exc, context):
    return exception_handler(exc, context)
