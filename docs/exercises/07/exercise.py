"""Exercise 07: constraints in the types. See README.md."""

from dataclasses import dataclass

from minimal_asgi import App


@dataclass
class Signup:  # TODO: constrain every field
    username: str
    password: str
    age: int
    plan: str = "free"
    interests: list[str] | None = None


app = App()


@app.post("/signup", status_code=201)
async def signup(form: Signup) -> dict:
    return {"username": form.username, "plan": form.plan, "interests": form.interests}
