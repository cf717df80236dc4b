"""Exercise 03: the segment tree matches, prefers literals, backtracks, refuses conflicts."""

from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROUTES = {
    "/": "home",
    "/users": "list_users",
    "/users/me": "me",
    "/users/me/settings": "my_settings",
    "/users/{id}": "read_user",
    "/users/{id}/posts": "user_posts",
    "/users/{id}/posts/{post}": "user_post",
    "/files/static/app.js": "app_js",
}


def tree(module: ModuleType) -> object:
    routes = module.SegmentTree()
    for path, endpoint in ROUTES.items():
        routes.add(path, endpoint)
    return routes


def test_literal_paths_match(exercise: ModuleType) -> None:
    routes = tree(exercise)
    assert routes.match("/") == ("home", {})
    assert routes.match("/users") == ("list_users", {})
    assert routes.match("/files/static/app.js") == ("app_js", {})


def test_parameters_are_captured(exercise: ModuleType) -> None:
    routes = tree(exercise)
    assert routes.match("/users/42") == ("read_user", {"id": "42"})
    assert routes.match("/users/42/posts/7") == ("user_post", {"id": "42", "post": "7"})


def test_a_literal_wins_over_a_parameter(exercise: ModuleType) -> None:
    assert tree(exercise).match("/users/me") == ("me", {})


def test_a_dead_end_literal_backtracks_to_the_parameter(exercise: ModuleType) -> None:
    routes = tree(exercise)
    assert routes.match("/users/me/posts") == ("user_posts", {"id": "me"})
    assert routes.match("/users/me/settings") == ("my_settings", {})


def test_no_match_is_none(exercise: ModuleType) -> None:
    routes = tree(exercise)
    for path in ("/nope", "/users/1/comments", "/users/", "/users//posts", "/files/static"):
        assert routes.match(path) is None, path


def test_conflicts_are_refused_when_added(exercise: ModuleType) -> None:
    routes = tree(exercise)
    with pytest.raises(ValueError):
        routes.add("/users/{name}/friends", "friends")  # {id} is already there
    with pytest.raises(ValueError):
        routes.add("/users/me", "me_again")


# Parameter values drawn from characters no literal segment above uses.
values = st.text(alphabet="0123456789xyz", min_size=1, max_size=8)


# (the module fixture is loaded once for all examples: harmless here, since each
# example builds its own tree)
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(user=values, post=values)
def test_any_filled_in_path_matches_its_route(exercise: ModuleType, user: str, post: str) -> None:
    routes = tree(exercise)
    assert routes.match(f"/users/{user}") == ("read_user", {"id": user})
    assert routes.match(f"/users/{user}/posts/{post}") == ("user_post", {"id": user, "post": post})
