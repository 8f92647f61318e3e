from django.urls import include, path

from accounts import views

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("", views.account, name="account"),
    path("integrations/", views.integrations, name="integrations"),
    path("tokens/", views.token_create, name="token-create"),
    path("tokens/<int:token_id>/revoke/", views.token_revoke, name="token-revoke"),
    path("delete/", views.delete_account, name="account-delete"),
    # login, logout, password change and reset
    path("", include("django.contrib.auth.urls")),
]
