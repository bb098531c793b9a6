from django.urls import path

from . import views

app_name = "feedback"

urlpatterns = [
    # Public, no sign-in: the signed token is the proof (surveys.read_link).
    path("<str:token>/", views.answer, name="answer"),
]
