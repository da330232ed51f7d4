from django.http import HttpRequest


def scope(request: HttpRequest) -> dict[str, object]:
    """The user's node, for the header of every page."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"scope_union": user.union}
