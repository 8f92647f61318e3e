from django.urls import include, path
from rest_framework.views import APIView


class BoomApi(APIView):
    permission_classes: list = []

    def get(self, request):
        raise RuntimeError("boom")


def boom_view(request):
    raise RuntimeError("boom")


urlpatterns = [
    path("api/boom", BoomApi.as_view()),
    path("api/plain-boom", boom_view),
    path("", include("stressapp.urls")),
]

handler404 = "stressapp.api_errors.handler404"
handler500 = "stressapp.api_errors.handler500"
