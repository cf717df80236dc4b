"""Exercise 07, solved: constraints in the types, checked before the endpoint runs."""

from dataclasses import dataclass, field
from typing import Annotated, Literal

from minimal_asgi import App, Ge, MaxLen, MinLen, Pattern


@dataclass
class Signup:
    username: Annotated[str, MinLen(3), MaxLen(20), Pattern(r"[a-z0-9_]+")]
    password: Annotated[str, MinLen(12)]
    age: Annotated[int, Ge(13)]
    plan: Literal["free", "pro"] = "free"
    interests: list[str] = field(default_factory=list)


app = App()


@app.post("/signup", status_code=201)
async def signup(form: Signup) -> dict:
    return {"username": form.username, "plan": form.plan, "interests": form.interests}
